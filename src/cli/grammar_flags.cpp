#include "cli/grammar_flags.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "format/error.h"
#include "grammar/gbnf.h"
#include "grammar/json_schema.h"
#include "tokenizer/tokenizer.h"

namespace trident::cli {

void add_grammar_flags(CLI::App* cmd, GrammarFlags& f) {
  cmd->add_option("--grammar", f.gbnf, "constrain the output to a GBNF grammar (llama.cpp's syntax; docs/grammar.md)");
  cmd->add_option("--grammar-file", f.gbnf_file, "constrain the output to the GBNF grammar in FILE");
  cmd->add_option("--json-schema", f.json_schema, "constrain the output to JSON matching this JSON schema");
}

std::optional<std::string> grammar_text(const GrammarFlags& f) {
  if (int(!f.gbnf.empty()) + int(!f.gbnf_file.empty()) + int(!f.json_schema.empty()) > 1)
    fail("--grammar, --grammar-file and --json-schema are mutually exclusive: give one");
  std::string text;
  if (!f.gbnf.empty()) {
    text = f.gbnf;
  } else if (!f.gbnf_file.empty()) {
    std::ifstream in(f.gbnf_file, std::ios::binary);
    if (!in) fail("--grammar-file {}: cannot read: {}", f.gbnf_file, std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else if (!f.json_schema.empty()) {
    text = json_schema_to_gbnf(std::string_view(f.json_schema));
  } else {
    return std::nullopt;
  }
  (void)parse_gbnf(text);  // report a malformed grammar before the model loads
  return text;
}

RunGrammar::RunGrammar(const std::string& gbnf, const Tokenizer& tok)
    : vocab_(tok), matcher_(std::make_shared<const Grammar>(parse_gbnf(gbnf))) {}

bool RunGrammar::mask(std::span<float> logits) { return apply_grammar(matcher_, vocab_, logits, &cache_) > 0; }

void RunGrammar::accept(int32_t id) {
  if (!accept_token(matcher_, vocab_, id)) fail("grammar: the sampled token {} does not continue the grammar", id);
}

}  // namespace trident::cli
