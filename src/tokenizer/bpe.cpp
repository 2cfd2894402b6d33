// GPT-2 byte-level BPE as llama.cpp runs it: the pre-tokenizer cuts raw text into words, each
// word is rewritten in the byte-level alphabet, then within the word the adjacent pair with the
// lowest merge rank is merged (leftmost on ties) until no listed pair remains.
#include <queue>

#include "tokenizer/byte_unicode.h"
#include "tokenizer/pair_merge.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace trident {
namespace {

struct BpeCandidate {
  int32_t rank;
  int32_t left, right;
  uint32_t size;  // bytes of the pair when queued; a mismatch later means it is stale

  bool operator<(const BpeCandidate& o) const {  // priority_queue pops the "largest"
    return rank > o.rank || (rank == o.rank && left > o.left);
  }
};

}  // namespace

BpeEncoder::BpeEncoder(const TokenIndex& index, std::span<const std::string> merges,
                   const PreTokenizerSpec& spec, int32_t unk)
    : index_(index), splitter_(spec.patterns), ignore_merges_(spec.ignore_merges), unk_(unk) {
  ranks_.reserve(merges.size());
  // A repeated merge keeps its first (best) rank, as llama.cpp's emplace does.
  for (size_t i = 0; i < merges.size(); ++i) ranks_.emplace(merges[i], int32_t(i));
}

void BpeEncoder::encode(std::string_view text, std::vector<int32_t>& out) const {
  std::string word;
  for (std::string_view piece : splitter_.split(text)) {
    word.clear();
    append_byte_level(piece, word);
    encode_word(word, out);
  }
}

void BpeEncoder::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (auto it = index_.find(word); it != index_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  std::vector<MergeSymbol> syms;
  syms.reserve(word.size());
  for (size_t off = 0; off < word.size();) {
    const size_t n = std::min(utf8_seq_len(static_cast<uint8_t>(word[off])), word.size() - off);
    const auto idx = int32_t(syms.size());
    syms.push_back({uint32_t(off), uint32_t(n), idx - 1, off + n == word.size() ? -1 : idx + 1});
    off += n;
  }

  std::priority_queue<BpeCandidate> queue;
  std::string key;
  auto try_pair = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    key.assign(word.substr(syms[l].offset, syms[l].n));
    key += ' ';
    key.append(word.substr(syms[r].offset, syms[r].n));
    auto it = ranks_.find(key);
    if (it == ranks_.end()) return;
    queue.push({it->second, l, r, syms[l].n + syms[r].n});
  };
  merge_pairs(syms, queue, try_pair);

  for (int32_t i = 0; i != -1; i = syms[i].next) {
    const std::string_view piece = word.substr(syms[i].offset, syms[i].n);
    if (auto it = index_.find(piece); it != index_.end()) {
      out.push_back(it->second);
      continue;
    }
    // A merge whose result is not in the vocabulary (a broken file): spell the piece with its
    // single characters, which a byte-level vocabulary always has; unk for anything else.
    for (size_t off = 0; off < piece.size();) {
      const size_t n = std::min(utf8_seq_len(static_cast<uint8_t>(piece[off])), piece.size() - off);
      if (auto it = index_.find(piece.substr(off, n)); it != index_.end()) {
        out.push_back(it->second);
      } else if (unk_ >= 0) {
        out.push_back(unk_);
      }
      off += n;
    }
  }
}

}  // namespace trident
