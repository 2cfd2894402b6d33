// Fuzz target: arbitrary bytes as GBNF text. A grammar that parses is then run: its initial
// stacks, a token mask over a small vocabulary, and a few bytes of the input fed as text, under
// small bounds so every input stays fast. Any outcome but success or trident::Error is a bug.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "format/error.h"
#include "grammar/gbnf.h"
#include "grammar/grammar_matcher.h"
#include "grammar/json_schema.h"
#include "grammar/token_mask.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trident;
  static const VocabTrie vocab({"a", "b", "ab", "{", "}", "\"", " ", "\n", "0", "1", "\xC3", "\xA9", "\xC3\xA9", "true", "</s>"},
                               {14});
  const std::string text(reinterpret_cast<const char*>(data), size);
  GrammarLimits glimits;
  glimits.max_symbols = 1 << 16;
  MatchLimits mlimits;
  mlimits.max_stacks = 256;
  mlimits.max_nodes = 1 << 16;
  mlimits.max_depth = 200;
  mlimits.max_work = 1 << 16;
  mlimits.max_cached = 1 << 18;
  try {
    auto g = std::make_shared<const Grammar>(parse_gbnf(text, "root", glimits));
    GrammarMatcher m(g, mlimits);
    std::vector<uint8_t> allowed;
    (void)vocab.allowed(m, allowed);
    (void)m.accept(text.substr(0, 64));
    (void)vocab.allowed(m, allowed);
  } catch (const Error&) {
  }
  // The same bytes as a JSON schema: whatever the converter accepts must give a grammar that
  // parses (only the symbol budget may refuse it).
  std::string gbnf;
  try {
    gbnf = json_schema_to_gbnf(std::string_view(text));
  } catch (const Error&) {
    return 0;
  }
  try {
    (void)parse_gbnf(gbnf, "root", glimits);
  } catch (const Error& e) {
    if (std::string(e.what()).find("symbols once repetitions are expanded") == std::string::npos) std::abort();
  }
  return 0;
}
