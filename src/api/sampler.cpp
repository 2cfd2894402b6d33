// The public Sampler over runtime/'s.
#include <trident/sampler.h>

#include <algorithm>
#include <cmath>

#include "format/error.h"
#include "runtime/sampler.h"

namespace trident::api {
namespace {

SamplerParams runtime_params(const SamplingParams& p) {
  SamplerParams r;
  r.temp = p.temperature;
  r.top_k = p.top_k;
  r.top_p = p.top_p;
  r.min_p = p.min_p;
  r.repeat_penalty = p.repeat_penalty;
  r.repeat_last_n = p.penalty_last_n;
  r.presence_penalty = p.presence_penalty;
  r.frequency_penalty = p.frequency_penalty;
  r.logit_bias = p.logit_bias;
  r.seed = p.seed;
  return r;
}

}  // namespace

struct Sampler::Impl {
  SamplingParams params;
  int64_t n_vocab;
  trident::Sampler sampler;
};

Sampler::Sampler(const SamplingParams& params, int64_t n_vocab) {
  const SamplerParams r = runtime_params(params);
  validate_sampler_params(r);
  validate_logit_bias(r, n_vocab);
  impl_ = std::make_unique<Impl>(Impl{params, n_vocab, trident::Sampler(r)});
}

Sampler::~Sampler() = default;
Sampler::Sampler(Sampler&&) noexcept = default;
Sampler& Sampler::operator=(Sampler&&) noexcept = default;

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  if (int64_t(logits.size()) != impl_->n_vocab)
    fail("sample: {} logits, expected one row of {} (the vocabulary)", logits.size(), impl_->n_vocab);
  return impl_->sampler.sample(logits.data(), impl_->n_vocab, history);
}

const SamplingParams& Sampler::params() const { return impl_->params; }

namespace {

// max and log(sum exp(l - max)) of a row.
std::pair<double, double> log_normalizer(std::span<const float> logits) {
  if (logits.empty()) fail("logprobs: no logits");
  double mx = -INFINITY;
  for (float l : logits) mx = std::max(mx, double(l));
  if (std::isinf(mx) && mx < 0) fail("logprobs: every logit is -inf");
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l) - mx);
  return {mx, std::log(sum)};
}

}  // namespace

float logprob(std::span<const float> logits, int32_t id) {
  const auto [mx, log_sum] = log_normalizer(logits);
  if (id < 0 || size_t(id) >= logits.size()) fail("logprobs: token id {} is outside the row (0..{})", id, logits.size() - 1);
  return float(double(logits[size_t(id)]) - mx - log_sum);
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, size_t n) {
  const auto [mx, log_sum] = log_normalizer(logits);
  std::vector<int32_t> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(i);
  const size_t k = std::min(n, ids.size());
  std::partial_sort(ids.begin(), ids.begin() + long(k), ids.end(), [&](int32_t a, int32_t b) {
    return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b);
  });
  std::vector<TokenLogprob> out;
  for (size_t i = 0; i < k; ++i) out.push_back({ids[i], float(double(logits[size_t(ids[i])]) - mx - log_sum)});
  return out;
}

int32_t argmax(std::span<const float> logits) {
  if (logits.empty()) fail("argmax: no logits");
  return trident::argmax(logits.data(), int64_t(logits.size()));
}

}  // namespace trident::api
