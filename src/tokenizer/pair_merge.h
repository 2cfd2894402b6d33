// The pair-merging loop SentencePiece (spm.cpp) and byte-level BPE (bpe.cpp) share: symbols
// form a linked list over a string; candidate pairs wait in a priority queue ordered by the
// tokenizer's own Candidate (score or rank); a merge folds the right symbol into the left one
// and queues the two new neighbour pairs. Candidates made stale by an earlier merge are
// recognised by their size and skipped.
#pragma once
#include <cstdint>
#include <queue>
#include <vector>

namespace trident {

struct MergeSymbol {
  uint32_t offset;  // into the string being tokenized
  uint32_t n;       // bytes; 0 once merged into its left neighbour
  int32_t prev, next;
};

// Candidate: has left, right and size (bytes of the pair when queued). try_pair(l, r) queues
// the pair of symbols l and r if the tokenizer knows it (l or r may be -1). Symbol 0 is never
// merged away, so the chain still starts at 0 afterwards.
template <class Candidate, class TryPair>
void merge_pairs(std::vector<MergeSymbol>& syms, std::priority_queue<Candidate>& queue, TryPair try_pair) {
  for (int32_t i = 1; i < int32_t(syms.size()); ++i) try_pair(i - 1, i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    MergeSymbol& l = syms[size_t(c.left)];
    MergeSymbol& r = syms[size_t(c.right)];
    if (l.n == 0 || r.n == 0 || l.n + r.n != c.size) continue;
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) syms[size_t(r.next)].prev = c.left;
    try_pair(l.prev, c.left);
    try_pair(c.left, l.next);
  }
}

}  // namespace trident
