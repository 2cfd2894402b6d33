// The public Sampler over runtime/'s.
#include <trident/sampler.h>

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

int32_t argmax(std::span<const float> logits) {
  if (logits.empty()) fail("argmax: no logits");
  return trident::argmax(logits.data(), int64_t(logits.size()));
}

}  // namespace trident::api
