// Which tokens may come next under a grammar, and the sampler hook that masks the others.
//
// The vocabulary's token pieces (their raw bytes, as the tokenizer decodes them) are stored in a
// byte trie. The mask walks the trie depth-first carrying the grammar's stack set: each edge
// feeds one byte, a completed code point steps the stacks, and a subtree is skipped as soon as
// no stack survives. Tokens sharing a prefix share its work, and most subtrees die at their
// first byte. End-of-generation tokens are allowed exactly when the grammar can end; control
// tokens (whose piece is empty) never are otherwise.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "grammar/grammar_matcher.h"

namespace trident {

class Tokenizer;

class VocabTrie {
 public:
  // pieces[id]: the bytes token id adds to the text ("" for tokens the grammar never allows);
  // end_ids: the tokens that end generation.
  VocabTrie(const std::vector<std::string>& pieces, std::vector<int32_t> end_ids);
  // From a tokenizer: token_to_piece without special tokens, end ids from is_eog.
  explicit VocabTrie(const Tokenizer& tok);

  int32_t n_vocab() const { return n_vocab_; }
  const std::string& piece(int32_t id) const { return pieces_.at(size_t(id)); }
  bool is_end(int32_t id) const;

  // allowed[id] = 1 for every token that may come next (allowed is resized to n_vocab).
  // Returns how many are allowed.
  size_t allowed(GrammarMatcher& m, std::vector<uint8_t>& allowed) const;

 private:
  struct Node {
    uint32_t child_begin = 0, child_end = 0;  // children are nodes [child_begin, child_end)
    uint32_t token_begin = 0, token_end = 0;  // tokens whose piece ends here: ids_[...]
    uint8_t byte = 0;                         // the edge into this node
  };
  int32_t n_vocab_ = 0;
  std::vector<std::string> pieces_;
  std::vector<int32_t> end_ids_;
  std::vector<Node> nodes_;
  std::vector<int32_t> ids_;  // token ids sorted by piece
  size_t max_depth_ = 0;

  void build(uint32_t node, size_t lo, size_t hi, size_t depth);
  size_t walk(StackArena& arena, uint32_t node, const StackSet& stacks, Utf8Partial partial, size_t depth,
              std::vector<StackSet>& levels, std::vector<uint8_t>& allowed) const;
};

// The last few masks of one matcher, keyed by its state (stack set and partial character).
// Generation often returns to a state it has just been in (every ordinary character inside a
// JSON string leads back to the same stacks), and then the mask is a copy instead of a walk.
// One per matcher: stack pointers mean nothing to another matcher's arena.
class MaskCache {
 public:
  // The cached mask for m's state, or null.
  const std::vector<uint8_t>* find(const GrammarMatcher& m, size_t& count) const;
  void store(const GrammarMatcher& m, const std::vector<uint8_t>& allowed, size_t count);

 private:
  struct Entry {
    StackSet stacks;
    Utf8Partial partial;
    std::vector<uint8_t> allowed;
    size_t count = 0;
  };
  static constexpr size_t kEntries = 4;
  std::vector<Entry> entries_;
  size_t next_ = 0;  // the entry replaced next (oldest first)
};

// The sampler hook: sets logits[id] = -inf for every token the grammar does not allow next.
// logits has one value per model token (ids past the vocabulary are masked too). Returns how
// many tokens stay allowed (0: the grammar cannot continue with this vocabulary). With a cache,
// a state seen in the last few calls costs no trie walk.
size_t apply_grammar(GrammarMatcher& m, const VocabTrie& vocab, std::span<float> logits, MaskCache* cache = nullptr);

// Feeds the chosen token to the matcher: true when the grammar allowed it (an end token is
// allowed only when the grammar can end, and changes nothing).
bool accept_token(GrammarMatcher& m, const VocabTrie& vocab, int32_t id);

}  // namespace trident
