// The public Grammar over grammar/'s matcher and token mask.
#include <trident/grammar.h>

#include "api/model_impl.h"
#include "format/error.h"
#include "grammar/gbnf.h"
#include "grammar/json_schema.h"
#include "grammar/token_mask.h"

namespace trident::api {

std::string json_schema_to_grammar(std::string_view schema_json) { return trident::json_schema_to_gbnf(schema_json); }
std::string json_object_grammar() { return trident::json_object_gbnf(); }
std::string grammar_literal(std::string_view text) { return trident::gbnf_literal(text); }

struct GrammarVocab::Impl {
  VocabTrie trie;
  int64_t n_vocab;
};

GrammarVocab::GrammarVocab(const Model& model)
    : impl_(std::make_unique<Impl>(Impl{VocabTrie(model.impl().tokenizer), model.n_vocab()})) {}
GrammarVocab::~GrammarVocab() = default;
GrammarVocab::GrammarVocab(GrammarVocab&&) noexcept = default;
GrammarVocab& GrammarVocab::operator=(GrammarVocab&&) noexcept = default;
int64_t GrammarVocab::n_vocab() const { return impl_->n_vocab; }

struct Grammar::Impl {
  std::shared_ptr<const GrammarVocab> vocab;
  GrammarMatcher matcher;
  MaskCache cache;
};

Grammar::Grammar(std::shared_ptr<const GrammarVocab> vocab, std::string_view gbnf, std::string_view root) {
  if (!vocab) fail("grammar: no vocabulary given");
  auto g = std::make_shared<const trident::Grammar>(parse_gbnf(gbnf, root));
  impl_ = std::make_unique<Impl>(Impl{std::move(vocab), GrammarMatcher(std::move(g)), MaskCache{}});
}
Grammar::~Grammar() = default;
Grammar::Grammar(Grammar&&) noexcept = default;
Grammar& Grammar::operator=(Grammar&&) noexcept = default;

void Grammar::apply(std::span<float> logits) {
  if (int64_t(logits.size()) != impl_->vocab->n_vocab())
    fail("grammar: logits row of {} values, expected the model's {}", logits.size(), impl_->vocab->n_vocab());
  if (apply_grammar(impl_->matcher, impl_->vocab->impl().trie, logits, &impl_->cache) == 0)
    fail("grammar: no token of the vocabulary can continue the grammar here");
}

void Grammar::accept(int32_t id) {
  if (!accept_token(impl_->matcher, impl_->vocab->impl().trie, id))
    fail("grammar: token {} does not continue the grammar", id);
}

void Grammar::accept_text(std::string_view text) {
  if (!impl_->matcher.accept(text)) fail("grammar: the text does not continue the grammar");
}

bool Grammar::can_end() const { return impl_->matcher.can_end(); }
bool Grammar::finished() const { return impl_->matcher.finished(); }
void Grammar::reset() { impl_->matcher.reset(); }

}  // namespace trident::api
