// Token sampling: logit bias -> penalties -> greedy, or top-k -> top-p -> min-p -> temperature
// -> draw.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace trident {

struct SamplerParams {
  float temp = 0.8f;          // <= 0: greedy (argmax, ties to the lowest id)
  int32_t top_k = 40;         // <= 0: off
  float top_p = 0.95f;        // >= 1: off
  float min_p = 0.05f;        // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int32_t repeat_last_n = 64;   // window of the three penalties (0: off)
  float presence_penalty = 0.0f;   // subtracted once from every token in the window (0: off)
  float frequency_penalty = 0.0f;  // subtracted per occurrence in the window (0: off)
  std::vector<std::pair<int32_t, float>> logit_bias;  // added to the token's logit first
  uint64_t seed = 0;
};

// Throws Error naming the option for out-of-range values.
void validate_sampler_params(const SamplerParams& p);
// Throws Error for a logit_bias id outside 0..n_vocab-1 or a NaN bias.
void validate_logit_bias(const SamplerParams& p, int64_t n_vocab);

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p);
  // logits: [n_vocab]; history: tokens so far (for the repetition penalty).
  int32_t sample(const float* logits, int64_t n_vocab, std::span<const int32_t> history);

 private:
  struct Cand {
    int32_t id;
    float logit;
  };
  SamplerParams p_;
  std::mt19937_64 rng_;
  std::vector<Cand> cand_;
  std::vector<float> probs_;
};

int32_t argmax(const float* logits, int64_t n);

}  // namespace trident
