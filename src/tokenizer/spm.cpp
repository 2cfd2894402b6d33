// SentencePiece BPE as llama.cpp runs it: start from single UTF-8 characters, repeatedly merge
// the adjacent pair whose concatenation is the highest-scoring vocabulary entry (leftmost on
// ties), then emit each final piece, falling back to <0xNN> byte tokens for pieces the
// vocabulary lacks.
#include <queue>

#include "format/error.h"
#include "tokenizer/pair_merge.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace trident {
namespace {

struct SpmCandidate {
  float score;
  int32_t left, right;
  uint32_t size;  // bytes of the pair when queued; a mismatch later means it is stale

  bool operator<(const SpmCandidate& o) const {  // priority_queue pops the "largest"
    return score < o.score || (score == o.score && left > o.left);
  }
};

}  // namespace

void SpmEncoder::encode(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  std::vector<MergeSymbol> syms;
  syms.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    const size_t n = std::min(utf8_seq_len(static_cast<uint8_t>(text[off])), text.size() - off);
    const auto idx = int32_t(syms.size());
    syms.push_back({uint32_t(off), uint32_t(n), idx - 1, off + n == text.size() ? -1 : idx + 1});
    off += n;
  }

  std::priority_queue<SpmCandidate> queue;
  auto try_pair = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const uint32_t size = syms[l].n + syms[r].n;
    auto it = index->find(text.substr(syms[l].offset, size));
    if (it == index->end()) return;
    const float score = scores.empty() ? 0.0f : scores[size_t(it->second)];
    queue.push({score, l, r, size});
  };
  merge_pairs(syms, queue, try_pair);

  // Symbol 0 is never merged away (merges fold right into left), so the chain starts there.
  for (int32_t i = 0; i != -1; i = syms[i].next) {
    const std::string_view piece = text.substr(syms[i].offset, syms[i].n);
    if (auto it = index->find(piece); it != index->end()) {
      out.push_back(it->second);
      continue;
    }
    // Only single characters can get here: every merged pair was a vocabulary entry.
    for (char ch : piece) {
      const auto b = static_cast<uint8_t>(ch);
      if (byte_tokens[b] >= 0) {
        out.push_back(byte_tokens[b]);
      } else if (unk >= 0) {
        out.push_back(unk);
      } else {
        fail("tokenizer: cannot encode byte 0x{:02X}: the vocabulary has neither <0x{:02X}> "
             "nor an unknown token",
             b, b);
      }
    }
  }
}

}  // namespace trident
