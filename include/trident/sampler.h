// Choosing the next token from a row of logits.
//
// Order, as llama.cpp's default chain: logit bias, then the penalties over the last
// penalty_last_n tokens of the history (repetition: positive logits divided, negative
// multiplied; frequency: minus count x frequency_penalty; presence: minus presence_penalty),
// then greedy (temperature <= 0: argmax, ties to the lowest id) or top-k -> top-p -> min-p ->
// softmax at the temperature -> a draw from a seeded mt19937_64.
//
// Thread-safety: a Sampler holds its random state; use one per sequence, from one thread at a
// time. Same seed, logits and history give the same token on every machine.
#pragma once
#include <trident/error.h>

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace trident::api {

struct SamplingParams {
  float temperature = 0.8f;  // <= 0: greedy
  int32_t top_k = 40;        // <= 0: off
  float top_p = 0.95f;       // 1: off (0 < p <= 1)
  float min_p = 0.05f;       // 0: off (0 <= p <= 1)
  float repeat_penalty = 1.0f;     // 1: off (> 0)
  float presence_penalty = 0.0f;   // 0: off (OpenAI's presence_penalty)
  float frequency_penalty = 0.0f;  // 0: off (OpenAI's frequency_penalty)
  int32_t penalty_last_n = 64;     // history window of the three penalties; 0: off
  std::vector<std::pair<int32_t, float>> logit_bias;  // (token id, added to its logit); -inf bans
  uint64_t seed = 0;
};

class Sampler {
 public:
  // Throws Error naming the field for an out-of-range value or a logit_bias id outside
  // 0..n_vocab-1.
  Sampler(const SamplingParams& params, int64_t n_vocab);
  ~Sampler();
  Sampler(Sampler&&) noexcept;
  Sampler& operator=(Sampler&&) noexcept;

  // logits: one row of n_vocab values (Context::decode's output for a row); history: the
  // sequence's tokens so far (for the penalties). Throws Error when logits has the wrong size.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);
  const SamplingParams& params() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Index of the largest logit, ties to the lowest id (greedy decoding without a Sampler).
// Throws Error for an empty row.
int32_t argmax(std::span<const float> logits);

// Log-probabilities under softmax(logits) of one row (OpenAI's logprobs / top_logprobs), in
// double precision: log p(id) = (logit - max) - log(sum exp(logit_j - max)). Throws Error for
// an empty row, a row of only -inf, or an id outside the row.
struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0;
};
float logprob(std::span<const float> logits, int32_t id);
// The n most probable tokens, most probable first, ties to the lowest id (n past the row's
// size gives the whole row).
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, size_t n);

}  // namespace trident::api
