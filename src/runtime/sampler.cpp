#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "format/error.h"

namespace trident {

void validate_sampler_params(const SamplerParams& p) {
  if (!(p.temp >= 0.0f) || !std::isfinite(p.temp)) fail("invalid --temp {} (expected >= 0)", p.temp);
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) fail("invalid --top-p {} (expected 0 < p <= 1)", p.top_p);
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) fail("invalid --min-p {} (expected 0 <= p <= 1)", p.min_p);
  if (p.top_k < 0) fail("invalid --top-k {} (expected >= 0)", p.top_k);
  if (!(p.repeat_penalty > 0.0f)) fail("invalid --repeat-penalty {} (expected > 0)", p.repeat_penalty);
  if (p.repeat_last_n < 0) fail("invalid --repeat-last-n {} (expected >= 0)", p.repeat_last_n);
  if (!std::isfinite(p.presence_penalty)) fail("invalid --presence-penalty {} (expected a finite number)", p.presence_penalty);
  if (!std::isfinite(p.frequency_penalty)) fail("invalid --frequency-penalty {} (expected a finite number)", p.frequency_penalty);
}

void validate_logit_bias(const SamplerParams& p, int64_t n_vocab) {
  for (const auto& [id, bias] : p.logit_bias) {
    if (id < 0 || id >= n_vocab) fail("logit bias: token id {} is outside the vocabulary (0..{})", id, n_vocab - 1);
    if (std::isnan(bias)) fail("logit bias: token id {} has a NaN bias", id);
  }
}

int32_t argmax(const float* logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (logits[i] > logits[best]) best = i;
  return int32_t(best);
}

Sampler::Sampler(const SamplerParams& p) : p_(p), rng_(p.seed) {}

int32_t Sampler::sample(const float* logits, int64_t n_vocab, std::span<const int32_t> history) {
  cand_.resize(size_t(n_vocab));
  for (int64_t i = 0; i < n_vocab; ++i) cand_[size_t(i)] = {int32_t(i), logits[i]};

  for (const auto& [id, bias] : p_.logit_bias)
    if (id >= 0 && id < n_vocab) cand_[size_t(id)].logit += bias;
  const bool penalize = p_.repeat_penalty != 1.0f || p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f;
  if (penalize && p_.repeat_last_n > 0) {
    // llama.cpp's penalties: repetition scales, then frequency and presence subtract, over the
    // last repeat_last_n tokens.
    const size_t from = history.size() > size_t(p_.repeat_last_n) ? history.size() - size_t(p_.repeat_last_n) : 0;
    std::unordered_map<int32_t, int> count;
    for (size_t i = from; i < history.size(); ++i) ++count[history[i]];
    for (const auto& [id, c] : count) {
      if (id < 0 || id >= n_vocab) continue;
      float& l = cand_[size_t(id)].logit;
      if (p_.repeat_penalty != 1.0f) l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
      l -= float(c) * p_.frequency_penalty + p_.presence_penalty;
    }
  }
  if (p_.temp <= 0.0f) {
    size_t best = 0;
    for (size_t i = 1; i < cand_.size(); ++i)
      if (cand_[i].logit > cand_[best].logit) best = i;
    return cand_[best].id;
  }

  // Sort descending (ties to the lower id) and keep the top k.
  auto by_logit = [](const Cand& a, const Cand& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
  size_t keep = cand_.size();
  if (p_.top_k > 0 && size_t(p_.top_k) < keep) {
    keep = size_t(p_.top_k);
    std::partial_sort(cand_.begin(), cand_.begin() + long(keep), cand_.end(), by_logit);
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  cand_.resize(keep);

  auto softmax = [&](float temp) {
    probs_.resize(cand_.size());
    const float mx = cand_[0].logit;
    double sum = 0;
    for (size_t i = 0; i < cand_.size(); ++i) sum += probs_[i] = std::exp((cand_[i].logit - mx) / temp);
    for (float& p : probs_) p = float(p / sum);
  };
  softmax(1.0f);
  if (p_.top_p < 1.0f) {
    double cum = 0;
    size_t n = 0;
    while (n < cand_.size()) {
      cum += probs_[n++];
      if (cum >= p_.top_p) break;
    }
    cand_.resize(n);
    probs_.resize(n);
  }
  if (p_.min_p > 0.0f) {
    const float limit = probs_[0] * p_.min_p;
    size_t n = 1;
    while (n < cand_.size() && probs_[n] >= limit) ++n;
    cand_.resize(n);
  }
  softmax(p_.temp);
  std::discrete_distribution<size_t> dist(probs_.begin(), probs_.end());
  return cand_[dist(rng_)].id;
}

}  // namespace trident
