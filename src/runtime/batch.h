// A batch of token rows from one or more sequences, as llama.cpp's llama_batch: row i is token
// token[i] of sequence seq[i] at position pos[i]; logits[i] != 0 asks for its logits. Views of
// the caller's arrays (all four the same length).
//
// The rows of one sequence must continue its cache in order: its first row in the batch sits at
// the sequence's current length, each further row at the next position. Rows of different
// sequences may interleave freely (prompt chunks of some, single decode tokens of others).
#pragma once
#include <cstdint>
#include <span>

namespace trident {

struct BatchView {
  std::span<const int32_t> token;
  std::span<const int64_t> pos;
  std::span<const int32_t> seq;
  std::span<const uint8_t> logits;
};

}  // namespace trident
