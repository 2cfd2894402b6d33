// GBNF grammars, llama.cpp's syntax (docs/grammar.md), compiled to flat rules.
//
//   root  ::= "{" ws item ("," ws item)* "}"   # rules, literals with escapes, comments
//   item  ::= [a-z_]+ | "x"{2,5} | ( "y" | [^"\\] )? | .
//
// Repetitions are rewritten into helper rules as llama.cpp does (S{m,n} -> S..S S'(n-m)), so
// the matcher only ever sees sequences of terminals and rule references.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trident {

// A set of code points: sorted, disjoint inclusive ranges, or their complement ('.' is the
// complement of nothing).
struct CharSet {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  bool negated = false;
  bool contains(uint32_t cp) const;
  bool intersects(uint32_t lo, uint32_t hi) const;  // some code point of [lo, hi] is in the set
};

// One symbol of an alternative: a terminal (one code point of a CharSet), a rule reference,
// or the end of the alternative.
struct GrammarSymbol {
  enum Kind : uint8_t { End, Chars, Rule };
  Kind kind = End;
  uint32_t index = 0;  // CharSet index for Chars, rule id for Rule
};

struct Grammar {
  std::vector<GrammarSymbol> symbols;             // every alternative's symbols, each ending in End
  std::vector<CharSet> charsets;
  std::vector<std::vector<uint32_t>> rule_alts;   // per rule id: start indices into `symbols`
  std::vector<std::string> rule_names;            // per rule id (helper rules: "name_N")
  uint32_t root = 0;
};

struct GrammarLimits {
  size_t max_symbols = 1 << 20;   // after repetitions are expanded
  int max_group_depth = 100;      // nested ( ) in the text
  uint64_t max_repeat = 2000;     // m and n of {m,n}, as llama.cpp
};

// Parses GBNF text. Throws Error with one line: "grammar: line L, column C: expected ...,
// found ...", an undefined rule (named, at its first use), a missing start rule, or a
// left-recursive rule (which a top-down matcher cannot run).
Grammar parse_gbnf(std::string_view text, std::string_view root = "root", const GrammarLimits& limits = {});

}  // namespace trident
