// Grammar-constrained sampling: GBNF grammars (llama.cpp's syntax) and JSON schemas limit which
// tokens may be sampled next. docs/grammar.md describes the syntax and what is supported.
//
//   auto vocab = std::make_shared<const GrammarVocab>(model);           // once per model
//   Grammar g(vocab, json_schema_to_grammar(R"({"type": "object", ...})"));
//   loop: g.apply(logits); id = sampler.sample(logits, history); if (model.is_eog(id)) break;
//         g.accept(id);
//
// Thread-safety: a GrammarVocab is immutable (share it between threads and sequences); a Grammar
// holds one sequence's matching state (one per sequence, one thread at a time).
#pragma once
#include <trident/error.h>
#include <trident/model.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace trident::api {

// GBNF for a JSON schema, in the shape of llama.cpp's json-schema-to-grammar. Throws Error for
// invalid JSON or an unsupported keyword, naming it and where it is ("json schema: unsupported
// keyword 'pattern' at #/properties/id").
std::string json_schema_to_grammar(std::string_view schema_json);
// GBNF for any JSON object (OpenAI's response_format {"type": "json_object"}).
std::string json_object_grammar();
// A GBNF string literal matching exactly `text` (quotes, backslashes, \n and \r escaped), for
// grammars built around the ones above.
std::string grammar_literal(std::string_view text);

// A model's token pieces arranged for the grammar's token mask (a byte trie). Building it costs
// tens of milliseconds for a 150k vocabulary, so build it once per model and share it.
class GrammarVocab {
 public:
  explicit GrammarVocab(const Model& model);
  ~GrammarVocab();
  GrammarVocab(GrammarVocab&&) noexcept;
  GrammarVocab& operator=(GrammarVocab&&) noexcept;
  int64_t n_vocab() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }  // for the library's own use

 private:
  std::unique_ptr<Impl> impl_;
};

class Grammar {
 public:
  // Parses GBNF text with start rule `root`. Throws Error with one line for a syntax error
  // ("grammar: line 2, column 7: expected ...", an undefined rule, left recursion).
  Grammar(std::shared_ptr<const GrammarVocab> vocab, std::string_view gbnf, std::string_view root = "root");
  ~Grammar();
  Grammar(Grammar&&) noexcept;
  Grammar& operator=(Grammar&&) noexcept;

  // Sets logits[id] = -inf for every token that cannot continue the grammar (end-of-generation
  // tokens stay only when the grammar can end here). logits: one row of the model's n_vocab.
  // Throws Error when no token at all can continue (the vocabulary cannot spell what the
  // grammar requires) or the grammar is too ambiguous to follow.
  void apply(std::span<float> logits);
  // Advances past the sampled token. Throws Error when the grammar does not allow it. An
  // end-of-generation token is allowed when can_end() and changes nothing.
  void accept(int32_t id);
  // Advances past text (bytes) that was generated before the grammar applied: a lazy grammar's
  // trigger and whatever followed it in the same token. Throws Error, changing nothing, when
  // the grammar does not allow the text.
  void accept_text(std::string_view text);
  bool can_end() const;   // the text so far is a complete match
  bool finished() const;  // complete and nothing more may follow
  void reset();           // back to the start (same grammar)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trident::api
