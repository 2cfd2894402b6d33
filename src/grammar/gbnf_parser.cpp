// GBNF text -> Grammar: a recursive-descent parser over llama.cpp's syntax, then the checks a
// top-down matcher needs (every rule defined, a start rule, no left recursion).
#include <algorithm>
#include <limits>
#include <unordered_map>

#include "format/error.h"
#include "grammar/gbnf.h"
#include "tokenizer/utf8.h"

namespace trident {

bool CharSet::contains(uint32_t cp) const {
  bool in = false;
  for (const auto& [lo, hi] : ranges) {
    if (cp < lo) break;
    if (cp <= hi) {
      in = true;
      break;
    }
  }
  return in != negated;
}

bool CharSet::intersects(uint32_t lo, uint32_t hi) const {
  if (!negated) {
    for (const auto& [a, b] : ranges)
      if (a <= hi && lo <= b) return true;
    return false;
  }
  // Some code point of [lo, hi] escapes every range: walk the gaps.
  uint32_t next = lo;
  for (const auto& [a, b] : ranges) {
    if (b < next) continue;
    if (a > next) return true;
    if (b >= hi) return false;
    next = b + 1;
  }
  return next <= hi;
}

namespace {

constexpr uint64_t kNoMax = std::numeric_limits<uint64_t>::max();
constexpr size_t kNoItem = std::numeric_limits<size_t>::max();

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

using Seq = std::vector<GrammarSymbol>;

class GbnfParser {
 public:
  GbnfParser(std::string_view text, const GrammarLimits& limits) : s_(text), limits_(limits) {}

  Grammar parse(std::string_view root) {
    skip_space(true);
    while (!at_end()) parse_rule();
    for (uint32_t id = 0; id < rules_.size(); ++id)
      if (!defined_[id]) error_at(first_use_[id], fmt::format("undefined rule '{}'", names_[id]));
    const auto it = ids_.find(std::string(root));
    if (it == ids_.end()) fail("grammar: no rule named '{}' (the start rule)", printable(root));
    Grammar g = compile();
    g.root = it->second;
    check_left_recursion(g);
    return g;
  }

 private:
  std::string_view s_;
  size_t p_ = 0;
  GrammarLimits limits_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::string> names_;
  std::vector<std::vector<Seq>> rules_;  // per rule id: its alternatives
  std::vector<bool> defined_;
  std::vector<size_t> first_use_;
  std::vector<CharSet> charsets_;
  size_t n_symbols_ = 0;
  int depth_ = 0;

  bool at_end() const { return p_ >= s_.size(); }
  char peek(size_t k = 0) const { return p_ + k < s_.size() ? s_[p_ + k] : '\0'; }

  [[noreturn]] void error_at(size_t pos, const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    fail("grammar: line {}, column {}: {}", line, col, what);
  }

  std::string found() const {
    if (at_end()) return "the end of the grammar";
    if (s_[p_] == '\n' || s_[p_] == '\r') return "the end of the line";
    const int n = utf8_check(s_, p_);
    return "'" + printable(s_.substr(p_, n > 0 ? size_t(n) : 1)) + "'";
  }

  [[noreturn]] void expected(const std::string& what) const {
    error_at(p_, fmt::format("expected {}, found {}", what, found()));
  }

  // Spaces, tabs and '#' comments; newlines too where the rule may continue on the next line.
  void skip_space(bool newline_ok) {
    while (!at_end()) {
      const char c = s_[p_];
      if (c == '#') {
        while (!at_end() && s_[p_] != '\n' && s_[p_] != '\r') ++p_;
      } else if (c == ' ' || c == '\t' || (newline_ok && (c == '\n' || c == '\r'))) {
        ++p_;
      } else {
        break;
      }
    }
  }

  std::string name(const char* what) {
    const size_t start = p_;
    while (!at_end() && is_word_char(s_[p_])) ++p_;
    if (p_ == start) expected(what);
    return std::string(s_.substr(start, p_ - start));
  }

  uint32_t new_rule(const std::string& name, size_t pos) {
    const auto id = uint32_t(rules_.size());
    names_.push_back(name);
    rules_.emplace_back();
    defined_.push_back(false);
    first_use_.push_back(pos);
    return id;
  }

  uint32_t rule_id(const std::string& name, size_t pos) {
    const auto [it, added] = ids_.try_emplace(name, uint32_t(rules_.size()));
    if (added) new_rule(name, pos);
    return it->second;
  }

  void define(uint32_t id, std::vector<Seq> alts) {
    for (const Seq& a : alts) count(a.size() + 1);
    rules_[id] = std::move(alts);  // a second definition replaces the first, as llama.cpp
    defined_[id] = true;
  }

  void count(size_t n) {
    n_symbols_ += n;
    if (n_symbols_ > limits_.max_symbols)
      error_at(p_, fmt::format("the grammar grows past {} symbols once repetitions are expanded", limits_.max_symbols));
  }

  uint32_t hex(size_t digits, char esc) {
    uint32_t v = 0;
    for (size_t i = 0; i < digits; ++i) {
      const char c = peek();
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      if (d < 0) expected(fmt::format("{} hex digits after \\{}", digits, esc));
      v = v * 16 + uint32_t(d);
      ++p_;
    }
    return v;
  }

  // One code point of a string literal or character class (escapes decoded).
  uint32_t parse_char() {
    if (s_[p_] == '\\') {
      ++p_;
      const char e = peek();
      ++p_;
      switch (e) {
        case 'x': return hex(2, e);
        case 'u': return hex(4, e);
        case 'U': return hex(8, e);
        case 't': return '\t';
        case 'r': return '\r';
        case 'n': return '\n';
        case '\\': case '"': case '[': case ']': return uint32_t(e);
        default:
          p_ -= 2;
          error_at(p_, fmt::format("expected an escape (\\x \\u \\U \\t \\r \\n \\\\ \\\" \\[ \\]), found '\\{}'",
                                   printable(s_.substr(p_ + 1, 1))));
      }
    }
    const int n = utf8_check(s_, p_);
    if (n <= 0) error_at(p_, fmt::format("expected UTF-8 text, found byte 0x{:02x}", uint8_t(s_[p_])));
    const uint32_t cp = utf8_decode(s_, p_, n);
    p_ += size_t(n);
    return cp;
  }

  GrammarSymbol chars(CharSet cs) {
    std::sort(cs.ranges.begin(), cs.ranges.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (const auto& r : cs.ranges) {
      if (r.first > r.second) continue;  // [z-a] matches nothing, as llama.cpp
      if (!merged.empty() && r.first <= merged.back().second + 1)
        merged.back().second = std::max(merged.back().second, r.second);
      else
        merged.push_back(r);
    }
    cs.ranges = std::move(merged);
    charsets_.push_back(std::move(cs));
    return {GrammarSymbol::Chars, uint32_t(charsets_.size() - 1)};
  }

  void parse_rule() {
    const size_t start = p_;
    const std::string nm = name("a rule name");
    skip_space(false);
    if (s_.substr(p_, 3) != "::=") expected(fmt::format("'::=' after the rule name '{}'", nm));
    p_ += 3;
    skip_space(true);
    const uint32_t id = rule_id(nm, start);
    std::vector<Seq> alts = parse_alternates(nm, false);
    if (peek() == '\r') {
      ++p_;
      if (peek() == '\n') ++p_;
    } else if (peek() == '\n') {
      ++p_;
    } else if (!at_end()) {
      expected(fmt::format("a symbol, '|' or the end of the line in rule '{}'", nm));
    }
    define(id, std::move(alts));
    skip_space(true);
  }

  std::vector<Seq> parse_alternates(const std::string& rule, bool nested) {
    std::vector<Seq> alts;
    alts.push_back(parse_sequence(rule, nested));
    while (peek() == '|') {
      ++p_;
      skip_space(true);
      alts.push_back(parse_sequence(rule, nested));
    }
    return alts;
  }

  Seq parse_sequence(const std::string& rule, bool nested) {
    Seq seq;
    size_t item = kNoItem;  // where the last item (what a repetition applies to) starts
    while (!at_end()) {
      const char c = s_[p_];
      if (c == '"') {
        ++p_;
        item = seq.size();
        while (true) {
          if (at_end()) expected("'\"' closing the string");
          if (s_[p_] == '"') break;
          const uint32_t cp = parse_char();
          seq.push_back(chars(CharSet{{{cp, cp}}, false}));
        }
        ++p_;
        if (item == seq.size()) item = kNoItem;  // "" is nothing to repeat
      } else if (c == '[') {
        ++p_;
        CharSet cs;
        if (peek() == '^') {
          cs.negated = true;
          ++p_;
        }
        while (true) {
          if (at_end()) expected("']' closing the character class");
          if (s_[p_] == ']') break;
          const uint32_t lo = parse_char();
          uint32_t hi = lo;
          if (peek() == '-' && p_ + 1 < s_.size() && s_[p_ + 1] != ']') {
            ++p_;
            hi = parse_char();
          }
          cs.ranges.emplace_back(lo, hi);
        }
        ++p_;
        item = seq.size();
        seq.push_back(chars(std::move(cs)));
      } else if (is_word_char(c)) {
        const size_t at = p_;
        const std::string ref = name("a rule name");
        item = seq.size();
        seq.push_back({GrammarSymbol::Rule, rule_id(ref, at)});
      } else if (c == '(') {
        if (++depth_ > limits_.max_group_depth)
          error_at(p_, fmt::format("groups nested deeper than {}", limits_.max_group_depth));
        const size_t at = p_;
        ++p_;
        skip_space(true);
        const uint32_t id = new_rule(fmt::format("{}_{}", rule, rules_.size()), at);
        std::vector<Seq> alts = parse_alternates(rule, true);
        if (peek() != ')') expected("')' closing the group");
        ++p_;
        --depth_;
        define(id, std::move(alts));
        item = seq.size();
        seq.push_back({GrammarSymbol::Rule, id});
      } else if (c == '.') {
        ++p_;
        item = seq.size();
        seq.push_back(chars(CharSet{{}, true}));
      } else if (c == '*' || c == '+' || c == '?') {
        const size_t at = p_;
        ++p_;
        repeat(seq, item, at, c == '+' ? 1 : 0, c == '?' ? 1 : kNoMax, rule);
      } else if (c == '{') {
        const size_t at = p_;
        ++p_;
        skip_space(nested);
        const uint64_t min = count_number();
        skip_space(nested);
        uint64_t max = min;
        if (peek() == ',') {
          ++p_;
          skip_space(nested);
          max = (peek() >= '0' && peek() <= '9') ? count_number() : kNoMax;
          skip_space(nested);
        }
        if (peek() != '}') expected("'}' closing the repetition");
        ++p_;
        if (max != kNoMax && max < min)
          error_at(at, fmt::format("repetition {{{},{}}} has its maximum below its minimum", min, max));
        // As llama.cpp: a minimum past the bound is refused, a maximum past it means unbounded.
        if (min > limits_.max_repeat)
          error_at(at, fmt::format("expected a repetition count of at most {}, found {}", limits_.max_repeat, min));
        if (max != kNoMax && max > limits_.max_repeat) max = kNoMax;
        repeat(seq, item, at, min, max, rule);
      } else if (c == '<' || c == '!') {
        error_at(p_, "token references (<...>, !<...>) are not supported; write the text as a string");
      } else {
        break;
      }
      skip_space(nested);
    }
    return seq;
  }

  uint64_t count_number() {
    if (!(peek() >= '0' && peek() <= '9')) expected("a repetition count");
    uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      v = std::min<uint64_t>(v * 10 + uint64_t(peek() - '0'), kNoMax / 16);  // saturates; bounded below
      ++p_;
    }
    return v;
  }

  // S{m,n} -> S x m, then S'(n-m) with S'(k) ::= S S'(k-1) | "" ; S{m,} -> S x m, S' ::= S S' | "".
  void repeat(Seq& seq, size_t item, size_t at, uint64_t min, uint64_t max, const std::string& rule) {
    if (item == kNoItem) error_at(at, fmt::format("expected a symbol before '{}'", s_[at]));
    const Seq rep(seq.begin() + long(item), seq.end());
    seq.resize(item);
    for (uint64_t i = 0; i < min; ++i) {
      count(rep.size());
      seq.insert(seq.end(), rep.begin(), rep.end());
    }
    if (max == kNoMax) {
      const uint32_t id = new_rule(fmt::format("{}_{}", rule, rules_.size()), at);
      Seq loop = rep;
      loop.push_back({GrammarSymbol::Rule, id});
      define(id, {loop, {}});
      seq.push_back({GrammarSymbol::Rule, id});
      return;
    }
    uint32_t last = 0;
    for (uint64_t i = 0; i < max - min; ++i) {
      const uint32_t id = new_rule(fmt::format("{}_{}", rule, rules_.size()), at);
      Seq opt = rep;
      if (i > 0) opt.push_back({GrammarSymbol::Rule, last});
      define(id, {opt, {}});
      last = id;
    }
    if (max > min) seq.push_back({GrammarSymbol::Rule, last});
  }

  Grammar compile() {
    Grammar g;
    g.charsets = std::move(charsets_);
    g.rule_names = names_;
    g.symbols.reserve(n_symbols_);
    for (const auto& alts : rules_) {
      auto& starts = g.rule_alts.emplace_back();
      for (const Seq& a : alts) {
        starts.push_back(uint32_t(g.symbols.size()));
        g.symbols.insert(g.symbols.end(), a.begin(), a.end());
        g.symbols.push_back({GrammarSymbol::End, 0});
      }
    }
    return g;
  }

  // A rule that can reach itself through references at the start of alternatives (after only
  // rules that may match nothing) would make a top-down matcher loop: refuse it, as llama.cpp.
  static void check_left_recursion(const Grammar& g) {
    const size_t n = g.rule_alts.size();
    std::vector<bool> nullable(n, false);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (uint32_t start : g.rule_alts[r]) {
          size_t i = start;
          while (g.symbols[i].kind == GrammarSymbol::Rule && nullable[g.symbols[i].index]) ++i;
          if (g.symbols[i].kind == GrammarSymbol::End) {
            nullable[r] = changed = true;
            break;
          }
        }
      }
    }
    std::vector<std::vector<uint32_t>> first(n);  // rules referenced before any character
    for (size_t r = 0; r < n; ++r)
      for (uint32_t start : g.rule_alts[r])
        for (size_t i = start; g.symbols[i].kind == GrammarSymbol::Rule; ++i) {
          first[r].push_back(g.symbols[i].index);
          if (!nullable[g.symbols[i].index]) break;
        }
    // Iterative depth-first search (helper-rule chains can be long): 0 new, 1 on path, 2 done.
    std::vector<uint8_t> state(n, 0);
    std::vector<std::pair<uint32_t, size_t>> path;
    for (uint32_t r0 = 0; r0 < n; ++r0) {
      if (state[r0]) continue;
      path.push_back({r0, 0});
      state[r0] = 1;
      while (!path.empty()) {
        auto& [r, next] = path.back();
        if (next == first[r].size()) {
          state[r] = 2;
          path.pop_back();
          continue;
        }
        const uint32_t to = first[r][next++];
        if (state[to] == 1)
          fail("grammar: rule '{}' is left-recursive (it can reach itself before matching a character)",
               g.rule_names[to]);
        if (state[to] == 0) {
          state[to] = 1;
          path.push_back({to, 0});
        }
      }
    }
  }
};

}  // namespace

Grammar parse_gbnf(std::string_view text, std::string_view root, const GrammarLimits& limits) {
  return GbnfParser(text, limits).parse(root);
}

}  // namespace trident
