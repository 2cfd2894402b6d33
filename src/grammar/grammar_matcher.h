// Matching text against a Grammar incrementally, one UTF-8 byte at a time.
//
// The state is a set of parse stacks, as in llama.cpp: each stack is a path of positions in the
// rules, its top a terminal (a CharSet) the next code point must match; a null stack means the
// start rule has matched completely. Stacks are hash-consed (a node is (position, parent) and
// exists once), so a set is a sorted vector of pointers, equal stacks are equal pointers, and
// the stacks that follow a node's terminal are computed once and cached on the node. That
// makes a step a few pointer reads, which is what lets the token mask walk a 150k vocabulary.
//
// Bounds, each an Error rather than a hang or exhausted memory: a stack set holds at most
// max_stacks stacks (an ambiguous grammar that doubles its stacks per character is refused, not
// followed into exponential memory), the arena at most max_nodes nodes and max_cached cached
// stack pointers, one accept() or one token mask at most max_work expansion steps, and expanding
// rule references recurses at most max_depth levels.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "grammar/gbnf.h"

namespace trident {

struct MatchLimits {
  size_t max_stacks = 4096;
  size_t max_nodes = size_t(1) << 20;
  size_t max_cached = size_t(1) << 23;
  size_t max_work = size_t(1) << 22;
  int max_depth = 2000;
};

struct StackNode {
  uint32_t pos;                 // index into Grammar::symbols
  const StackNode* parent;      // where to continue once this rule ends; null: the start rule
  // The stacks after this node's terminal matched, computed on first use (StackArena::advance).
  mutable bool next_done = false;
  mutable std::vector<const StackNode*> next;
};
using Stack = const StackNode*;  // nullptr: the grammar has matched completely
using StackSet = std::vector<Stack>;  // sorted, unique

// A UTF-8 sequence in progress: the bits so far and how many continuation bytes are missing.
struct Utf8Partial {
  uint32_t value = 0;
  uint8_t remain = 0;  // 0: between characters
  uint8_t length = 0;  // bytes of the whole sequence
  // Pushes one byte. Returns false for an ill-formed sequence (overlong, surrogate, past
  // U+10FFFF, stray continuation); when it returns true and remain == 0, `value` is the code point.
  bool push(uint8_t b);
  // The code points this prefix may still become.
  uint32_t lowest() const;
  uint32_t highest() const;
};

// The hash-consed stacks of one grammar. Not thread-safe: grows as text is matched.
class StackArena {
 public:
  StackArena(std::shared_ptr<const Grammar> g, const MatchLimits& limits);
  const Grammar& grammar() const { return *g_; }
  const StackSet& initial() const { return initial_; }
  // The stacks that follow `s` once its terminal has matched a code point.
  const StackSet& advance(Stack s);
  // in --cp--> out (out is cleared first). Throws Error when out would exceed max_stacks.
  void step(const StackSet& in, uint32_t cp, StackSet& out);
  // The same set without a copy: the cached set of the one stack that matched, or `scratch`
  // holding the merge of several (or nothing). Valid until the next call with this scratch.
  const StackSet& step_view(const StackSet& in, uint32_t cp, StackSet& scratch);
  // Whether some stack of `in` could accept a character starting with partial's bytes.
  bool could_continue(const StackSet& in, const Utf8Partial& partial) const;
  const CharSet& top(Stack s) const { return g_->charsets[g_->symbols[s->pos].index]; }
  // Starts the work budget of one accept() or one token mask.
  void begin_operation() { work_ = 0; }

 private:
  std::shared_ptr<const Grammar> g_;
  MatchLimits limits_;
  struct Key {
    uint32_t pos;
    Stack parent;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<const void*>()(k.parent) * 31 + k.pos; }
  };
  std::deque<StackNode> nodes_;
  std::unordered_map<Key, Stack, KeyHash> index_;
  size_t work_ = 0;    // expansion steps since begin_operation()
  size_t cached_ = 0;  // stack pointers held by the nodes' `next` sets
  StackSet initial_;

  Stack intern(uint32_t pos, Stack parent);
  void expand(uint32_t pos, Stack parent, StackSet& out, int depth);
  void finish(StackSet& set) const;  // sort, unique, check the bound
};

class GrammarMatcher {
 public:
  GrammarMatcher(std::shared_ptr<const Grammar> g, const MatchLimits& limits = {});
  // Consumes bytes (a token's piece; a character may be split across calls). Returns false and
  // leaves the state unchanged when the grammar cannot continue with them.
  bool accept(std::string_view bytes);
  // Whether accept(bytes) would succeed, without changing the state.
  bool allows(std::string_view bytes);
  // The grammar has matched completely and no character is half-way.
  bool can_end() const;
  // Nothing at all can follow (matched completely, nothing optional left).
  bool finished() const { return partial_.remain == 0 && stacks_.size() == 1 && stacks_[0] == nullptr; }
  void reset();
  const StackSet& stacks() const { return stacks_; }
  const Utf8Partial& partial() const { return partial_; }
  StackArena& arena() { return arena_; }

 private:
  StackArena arena_;
  StackSet stacks_;
  Utf8Partial partial_;
  StackSet scratch_;

  bool feed(std::string_view bytes, StackSet& stacks, Utf8Partial& partial);
};

}  // namespace trident
