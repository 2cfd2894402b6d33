// `trident run`'s grammar flags, llama.cpp's spellings: --grammar TEXT, --grammar-file FILE,
// --json-schema TEXT (docs/grammar.md). The generation is then constrained token by token.
#pragma once
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "grammar/grammar_matcher.h"
#include "grammar/token_mask.h"

namespace trident {
class Tokenizer;
}

namespace trident::cli {

struct GrammarFlags {
  std::string gbnf, gbnf_file, json_schema;
};

void add_grammar_flags(CLI::App* cmd, GrammarFlags& f);

// The GBNF text the flags ask for, or nullopt when none was given. Throws Error naming the flag
// (unreadable file, malformed schema, two of them given) so that nothing runs first.
std::optional<std::string> grammar_text(const GrammarFlags& f);

// A grammar over one tokenizer's vocabulary for a single generation.
class RunGrammar {
 public:
  RunGrammar(const std::string& gbnf, const Tokenizer& tok);
  // Masks the logits of tokens the grammar does not allow; false when none is allowed.
  bool mask(std::span<float> logits);
  void accept(int32_t id);  // throws Error if the sampled token does not fit (a bug)
  bool finished() const { return matcher_.finished(); }

 private:
  VocabTrie vocab_;
  GrammarMatcher matcher_;
  MaskCache cache_;
};

}  // namespace trident::cli
