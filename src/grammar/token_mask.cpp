#include "grammar/token_mask.h"

#include <algorithm>
#include <limits>

#include "tokenizer/tokenizer.h"

namespace trident {
namespace {

std::vector<std::string> token_pieces(const Tokenizer& tok) {
  std::vector<std::string> pieces(size_t(tok.n_vocab()));
  for (int32_t id = 0; id < tok.n_vocab(); ++id) pieces[size_t(id)] = tok.token_to_piece(id, false);
  return pieces;
}

std::vector<int32_t> end_tokens(const Tokenizer& tok) {
  std::vector<int32_t> ids;
  for (int32_t id = 0; id < tok.n_vocab(); ++id)
    if (tok.is_eog(id)) ids.push_back(id);
  return ids;
}

}  // namespace

VocabTrie::VocabTrie(const Tokenizer& tok) : VocabTrie(token_pieces(tok), end_tokens(tok)) {}

VocabTrie::VocabTrie(const std::vector<std::string>& pieces, std::vector<int32_t> end_ids)
    : n_vocab_(int32_t(pieces.size())), pieces_(pieces), end_ids_(std::move(end_ids)) {
  std::sort(end_ids_.begin(), end_ids_.end());
  for (int32_t id = 0; id < n_vocab_; ++id)
    if (!pieces_[size_t(id)].empty() && !is_end(id)) ids_.push_back(id);
  std::sort(ids_.begin(), ids_.end(), [&](int32_t a, int32_t b) {
    const std::string& pa = pieces_[size_t(a)];
    const std::string& pb = pieces_[size_t(b)];
    return pa != pb ? pa < pb : a < b;
  });
  nodes_.emplace_back();
  build(0, 0, ids_.size(), 0);
}

bool VocabTrie::is_end(int32_t id) const { return std::binary_search(end_ids_.begin(), end_ids_.end(), id); }

// ids_[lo, hi) share their first `depth` bytes; those exactly `depth` long sort first and end at
// `node`, the rest are grouped by their next byte into consecutive children.
void VocabTrie::build(uint32_t node, size_t lo, size_t hi, size_t depth) {
  max_depth_ = std::max(max_depth_, depth);
  size_t i = lo;
  while (i < hi && pieces_[size_t(ids_[i])].size() == depth) ++i;
  nodes_[node].token_begin = uint32_t(lo);
  nodes_[node].token_end = uint32_t(i);
  std::vector<std::pair<size_t, size_t>> groups;
  while (i < hi) {
    const char b = pieces_[size_t(ids_[i])][depth];
    size_t j = i + 1;
    while (j < hi && pieces_[size_t(ids_[j])][depth] == b) ++j;
    groups.emplace_back(i, j);
    i = j;
  }
  const auto first = uint32_t(nodes_.size());
  nodes_[node].child_begin = first;
  nodes_[node].child_end = first + uint32_t(groups.size());
  for (const auto& [glo, ghi] : groups) {
    Node child;
    child.byte = uint8_t(pieces_[size_t(ids_[glo])][depth]);
    nodes_.push_back(child);
  }
  for (size_t k = 0; k < groups.size(); ++k) build(first + uint32_t(k), groups[k].first, groups[k].second, depth + 1);
}

// Marks the tokens under `node`'s children that the grammar allows after `stacks` (with
// `partial` bytes of a character already fed). levels[depth] is this depth's scratch set.
size_t VocabTrie::walk(StackArena& arena, uint32_t node, const StackSet& stacks, Utf8Partial partial, size_t depth,
                       std::vector<StackSet>& levels, std::vector<uint8_t>& allowed) const {
  size_t count = 0;
  const auto mark = [&](const Node& n) {
    for (uint32_t t = n.token_begin; t < n.token_end; ++t) allowed[size_t(ids_[t])] = 1;
    count += n.token_end - n.token_begin;
  };
  for (uint32_t c = nodes_[node].child_begin; c < nodes_[node].child_end; ++c) {
    const Node& child = nodes_[c];
    Utf8Partial p = partial;
    if (!p.push(child.byte)) continue;
    if (p.remain > 0) {
      if (!arena.could_continue(stacks, p)) continue;
      mark(child);
      count += walk(arena, c, stacks, p, depth + 1, levels, allowed);
      continue;
    }
    const StackSet& next = arena.step_view(stacks, p.value, levels[depth]);
    if (next.empty()) continue;
    mark(child);
    const bool only_end = next.size() == 1 && next[0] == nullptr;
    if (child.child_begin < child.child_end && !only_end)
      count += walk(arena, c, next, Utf8Partial{}, depth + 1, levels, allowed);
  }
  return count;
}

size_t VocabTrie::allowed(GrammarMatcher& m, std::vector<uint8_t>& allowed) const {
  allowed.assign(size_t(n_vocab_), 0);
  m.arena().begin_operation();
  std::vector<StackSet> levels(max_depth_ + 2);
  size_t count = walk(m.arena(), 0, m.stacks(), m.partial(), 0, levels, allowed);
  if (m.can_end()) {
    for (int32_t id : end_ids_) allowed[size_t(id)] = 1;
    count += end_ids_.size();
  }
  return count;
}

namespace {

bool same_partial(const Utf8Partial& a, const Utf8Partial& b) {
  return a.remain == b.remain && (a.remain == 0 || (a.value == b.value && a.length == b.length));
}

}  // namespace

const std::vector<uint8_t>* MaskCache::find(const GrammarMatcher& m, size_t& count) const {
  for (const Entry& e : entries_)
    if (same_partial(e.partial, m.partial()) && e.stacks == m.stacks()) {
      count = e.count;
      return &e.allowed;
    }
  return nullptr;
}

void MaskCache::store(const GrammarMatcher& m, const std::vector<uint8_t>& allowed, size_t count) {
  if (entries_.size() < kEntries) entries_.emplace_back();
  Entry& e = entries_[next_];
  next_ = (next_ + 1) % kEntries;
  e.stacks = m.stacks();
  e.partial = m.partial();
  e.allowed = allowed;
  e.count = count;
}

size_t apply_grammar(GrammarMatcher& m, const VocabTrie& vocab, std::span<float> logits, MaskCache* cache) {
  size_t count = 0;
  const std::vector<uint8_t>* allowed = cache ? cache->find(m, count) : nullptr;
  std::vector<uint8_t> computed;
  if (!allowed) {
    count = vocab.allowed(m, computed);
    if (cache) cache->store(m, computed, count);
    allowed = &computed;
  }
  const size_t n = std::min(logits.size(), allowed->size());
  for (size_t id = 0; id < n; ++id)
    if (!(*allowed)[id]) logits[id] = -std::numeric_limits<float>::infinity();
  for (size_t id = n; id < logits.size(); ++id) logits[id] = -std::numeric_limits<float>::infinity();
  return count;
}

bool accept_token(GrammarMatcher& m, const VocabTrie& vocab, int32_t id) {
  if (id < 0 || id >= vocab.n_vocab()) return false;
  if (vocab.is_end(id)) return m.can_end();
  const std::string& piece = vocab.piece(id);
  return !piece.empty() && m.accept(piece);
}

}  // namespace trident
