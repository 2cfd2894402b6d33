// A batch of token rows from one or more sequences, evaluated together by Context::decode.
//
// Row i is token[i] of sequence seq[i] at position pos[i]; logits[i] != 0 asks for that row's
// logits. The rows of one sequence must continue it in order: its first row in the batch sits
// at position Context::seq_length(seq), each further row at the next position. Rows of
// different sequences may interleave freely, so one batch can hold the prompt chunk of a new
// request and the single decode tokens of running ones (continuous batching).
//
// A plain value type: not thread-safe, cheap to clear and refill every step.
#pragma once
#include <cstdint>
#include <iterator>
#include <vector>

namespace trident::api {

using SeqId = int32_t;

struct Batch {
  std::vector<int32_t> token;
  std::vector<int64_t> pos;
  std::vector<SeqId> seq;
  std::vector<uint8_t> logits;

  void add(SeqId s, int64_t position, int32_t tok, bool want_logits) {
    token.push_back(tok);
    pos.push_back(position);
    seq.push_back(s);
    logits.push_back(want_logits ? 1 : 0);
  }
  // Rows of sequence s for `tokens` at positions from `first_pos` on; only the last asks for
  // logits when last_logits (what a prompt chunk followed by sampling needs).
  template <class Tokens>
  void add_tokens(SeqId s, int64_t first_pos, const Tokens& tokens, bool last_logits = true) {
    int64_t p = first_pos;
    size_t i = 0;
    for (int32_t t : tokens) add(s, p++, t, last_logits && ++i == std::size(tokens));
  }
  void clear() {
    token.clear();
    pos.clear();
    seq.clear();
    logits.clear();
  }
  size_t size() const { return token.size(); }
  bool empty() const { return token.empty(); }
};

}  // namespace trident::api
