#include "grammar/grammar_matcher.h"

#include <algorithm>

#include "format/error.h"

namespace trident {
namespace {

// Smallest code point of an n-byte sequence (anything lower is an overlong encoding).
constexpr uint32_t kMinOfLength[5] = {0, 0, 0x80, 0x800, 0x10000};
constexpr uint32_t kMaxCodePoint = 0x10FFFF;

bool all_surrogates(uint32_t lo, uint32_t hi) { return lo >= 0xD800 && hi <= 0xDFFF; }

}  // namespace

uint32_t Utf8Partial::lowest() const {
  return std::max(value << (6 * remain), kMinOfLength[length]);
}

uint32_t Utf8Partial::highest() const {
  return std::min(uint32_t((value << (6 * remain)) | ((1u << (6 * remain)) - 1)), kMaxCodePoint);
}

bool Utf8Partial::push(uint8_t b) {
  if (remain == 0) {
    if (b < 0x80) {
      value = b, remain = 0, length = 1;
      return true;
    }
    if (b >= 0xC2 && b <= 0xDF) value = b & 0x1F, remain = 1, length = 2;
    else if (b >= 0xE0 && b <= 0xEF) value = b & 0x0F, remain = 2, length = 3;
    else if (b >= 0xF0 && b <= 0xF4) value = b & 0x07, remain = 3, length = 4;
    else return false;
  } else {
    if ((b & 0xC0) != 0x80) return false;
    value = (value << 6) | (b & 0x3F);
    --remain;
  }
  // Reject as soon as no well-formed character can start with these bytes.
  const uint32_t lo = lowest(), hi = highest();
  return lo <= hi && !all_surrogates(lo, hi);
}

StackArena::StackArena(std::shared_ptr<const Grammar> g, const MatchLimits& limits)
    : g_(std::move(g)), limits_(limits) {
  for (uint32_t start : g_->rule_alts.at(g_->root)) expand(start, nullptr, initial_, 0);
  finish(initial_);
}

Stack StackArena::intern(uint32_t pos, Stack parent) {
  const auto [it, added] = index_.try_emplace(Key{pos, parent}, nullptr);
  if (added) {
    if (nodes_.size() >= limits_.max_nodes)
      fail("grammar: more than {} parse-stack nodes (the text nests too deeply for this grammar)", limits_.max_nodes);
    nodes_.push_back(StackNode{pos, parent, false, {}});
    it->second = &nodes_.back();
  }
  return it->second;
}

// Appends the stacks with a terminal on top reachable from `pos` (continuing with `parent` when
// the alternative ends) by following rule references and ends of alternatives.
void StackArena::expand(uint32_t pos, Stack parent, StackSet& out, int depth) {
  if (depth > limits_.max_depth)
    fail("grammar: rules nest deeper than {} levels without matching a character", limits_.max_depth);
  if (++work_ > limits_.max_work)
    fail("grammar: matching took more than {} expansion steps (the grammar is too ambiguous)", limits_.max_work);
  const GrammarSymbol& sym = g_->symbols[pos];
  switch (sym.kind) {
    case GrammarSymbol::End:
      if (!parent) out.push_back(nullptr);
      else expand(parent->pos, parent->parent, out, depth + 1);
      break;
    case GrammarSymbol::Chars:
      out.push_back(intern(pos, parent));
      break;
    case GrammarSymbol::Rule: {
      // A reference in tail position continues straight with the parent: right recursion
      // (list ::= item list | item) then runs in constant stack depth.
      const Stack cont = g_->symbols[pos + 1].kind == GrammarSymbol::End ? parent : intern(pos + 1, parent);
      for (uint32_t start : g_->rule_alts[sym.index]) expand(start, cont, out, depth + 1);
      break;
    }
  }
  if (out.size() > 8 * limits_.max_stacks) finish(out);
}

void StackArena::finish(StackSet& set) const {
  std::sort(set.begin(), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
  if (set.size() > limits_.max_stacks)
    fail("grammar: more than {} parse stacks alive at once (the grammar is too ambiguous)", limits_.max_stacks);
}

const StackSet& StackArena::advance(Stack s) {
  if (!s->next_done) {
    StackSet next;
    expand(s->pos + 1, s->parent, next, 0);
    finish(next);
    cached_ += next.size();
    if (cached_ > limits_.max_cached)
      fail("grammar: the parse state grew past {} cached stacks (the grammar is too ambiguous)", limits_.max_cached);
    s->next = std::move(next);
    s->next_done = true;
  }
  return s->next;
}

const StackSet& StackArena::step_view(const StackSet& in, uint32_t cp, StackSet& scratch) {
  Stack first = nullptr;
  int sources = 0;
  for (Stack s : in) {
    if (!s || !top(s).contains(cp)) continue;
    if (sources == 0) {
      first = s;
    } else {
      if (sources == 1) scratch.assign(advance(first).begin(), advance(first).end());
      const StackSet& next = advance(s);
      scratch.insert(scratch.end(), next.begin(), next.end());
    }
    ++sources;
  }
  if (sources == 1) return advance(first);
  if (sources == 0) scratch.clear();
  else finish(scratch);
  return scratch;
}

void StackArena::step(const StackSet& in, uint32_t cp, StackSet& out) {
  const StackSet& next = step_view(in, cp, out);
  if (&next != &out) out = next;
}

bool StackArena::could_continue(const StackSet& in, const Utf8Partial& partial) const {
  const uint32_t lo = partial.lowest(), hi = partial.highest();
  for (Stack s : in)
    if (s && top(s).intersects(lo, hi)) return true;
  return false;
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> g, const MatchLimits& limits)
    : arena_(std::move(g), limits), stacks_(arena_.initial()) {}

// Steps `stacks` and `partial` through bytes; false as soon as the grammar rejects one.
bool GrammarMatcher::feed(std::string_view bytes, StackSet& stacks, Utf8Partial& partial) {
  arena_.begin_operation();
  for (char c : bytes) {
    if (!partial.push(uint8_t(c))) return false;
    if (partial.remain > 0) continue;
    arena_.step(stacks, partial.value, scratch_);
    if (scratch_.empty()) return false;
    stacks.swap(scratch_);
  }
  return partial.remain == 0 || arena_.could_continue(stacks, partial);
}

bool GrammarMatcher::accept(std::string_view bytes) {
  StackSet stacks = stacks_;
  Utf8Partial partial = partial_;
  if (!feed(bytes, stacks, partial)) return false;
  stacks_ = std::move(stacks);
  partial_ = partial;
  return true;
}

bool GrammarMatcher::allows(std::string_view bytes) {
  StackSet stacks = stacks_;
  Utf8Partial partial = partial_;
  return feed(bytes, stacks, partial);
}

bool GrammarMatcher::can_end() const {
  return partial_.remain == 0 && !stacks_.empty() && stacks_.front() == nullptr;
}

void GrammarMatcher::reset() {
  stacks_ = arena_.initial();
  partial_ = {};
}

}  // namespace trident
