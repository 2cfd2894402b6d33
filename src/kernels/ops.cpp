#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/exp_poly.h"
#include "tensor/fp16.h"

namespace trident {

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i] * x[i]);
  const float mean = float(sum / double(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  // The sum of squares stays sequential in double, as ggml computes it; the scaling is
  // elementwise and vectorised.
  if (w) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
  }
}

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i]);
  const float mean = float(sum / double(n));
  double var = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float d = x[i] - mean;
    y[i] = d;
    var += double(d * d);
  }
  const float scale = 1.0f / std::sqrt(float(var / double(n)) + eps);
  for (int64_t i = 0; i < n; ++i) {
    float v = y[i] * scale;
    if (w) v *= w[i];
    if (b) v += b[i];
    y[i] = v;
  }
}

void rope_angles(int64_t pos, int n_rot, float base, float freq_scale, const float* factors,
                 float attn_factor, float* cs) {
  // Angles advance by a constant ratio per pair, as ggml computes them, so results track it.
  const float theta_scale = std::pow(base, -2.0f / float(n_rot));
  float theta = float(pos) * freq_scale;
  for (int i = 0; i < n_rot / 2; ++i) {
    const float t = factors ? theta / factors[i] : theta;
    cs[2 * i] = std::cos(t) * attn_factor;
    cs[2 * i + 1] = std::sin(t) * attn_factor;
    theta *= theta_scale;
  }
}

void rope_angles_yarn(int64_t pos, int n_rot, float base, float freq_scale, const float* factors, float attn_factor,
                      float ext_factor, const float corr[2], float* cs) {
  const float theta_scale = std::pow(base, -2.0f / float(n_rot));
  const float mscale = ext_factor != 0.0f ? attn_factor * (1.0f + 0.1f * std::log(1.0f / freq_scale)) : attn_factor;
  float theta_base = float(pos);
  for (int i = 0; i < n_rot / 2; ++i) {
    const float extrap = factors ? theta_base / factors[i] : theta_base, interp = freq_scale * extrap;
    const float y = (float(i) - corr[0]) / std::max(0.001f, corr[1] - corr[0]);
    const float ramp = (1.0f - std::min(1.0f, std::max(0.0f, y))) * ext_factor;
    const float theta = interp * (1.0f - ramp) + extrap * ramp;
    cs[2 * i] = std::cos(theta) * mscale;
    cs[2 * i + 1] = std::sin(theta) * mscale;
    theta_base *= theta_scale;
  }
}

void rope_yarn_corr_dims(int n_rot, int64_t n_ctx_orig, float base, float beta_fast, float beta_slow, float corr[2]) {
  const auto dim = [&](float n) {
    return float(n_rot) * std::log(float(n_ctx_orig) / (n * 2.0f * float(M_PI))) / (2.0f * std::log(base));
  };
  corr[0] = std::max(0.0f, std::floor(dim(beta_fast)));
  corr[1] = std::min(float(n_rot - 1), std::ceil(dim(beta_slow)));
}

void rope_apply(float* x, int n_heads, int head_dim, int n_rot, RopeLayout layout, const float* cs) {
  const int half = n_rot / 2;
  // One loop per layout, each element on its own (no reductions), so `omp simd` vectorises
  // them with the same bits as the scalar order.
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + int64_t(h) * head_dim;
    if (layout == RopeLayout::Neox) {
#pragma omp simd
      for (int i = 0; i < half; ++i) {
        const float c = cs[2 * i], s = cs[2 * i + 1], x0 = v[i], x1 = v[i + half];
        v[i] = x0 * c - x1 * s;
        v[i + half] = x0 * s + x1 * c;
      }
    } else {
#pragma omp simd
      for (int i = 0; i < half; ++i) {
        const float c = cs[2 * i], s = cs[2 * i + 1], x0 = v[2 * i], x1 = v[2 * i + 1];
        v[2 * i] = x0 * c - x1 * s;
        v[2 * i + 1] = x0 * s + x1 * c;
      }
    }
  }
}

namespace {
// Division, not multiplication by a reciprocal: exact in every ISA, so SIMD lanes match.
inline float silu(float x) { return x / (1.0f + exp_poly(-x)); }
}  // namespace

void relu_glu(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] > 0.0f ? gate[i] * up[i] : 0.0f;
}

void relu_sqr_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float r = x[i] > 0.0f ? x[i] : 0.0f;
    x[i] = r * r;
  }
}

void silu_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = silu(x[i]);
}

void silu_glu_reference(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}

namespace {

inline float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
  constexpr float kCoef = 0.044715f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoef * x * x)));
}

// ggml's GELU: the input rounded to half, looked up in a table of half results
// (gelu_fp16_table).
inline float gelu_one(float x, const f16_bits* table) {
  if (x <= -10.0f) return 0.0f;
  if (x >= 10.0f) return x;
  return fp16_to_fp32(table[fp32_to_fp16(x)]);
}

}  // namespace

// The table holds exactly fp16(gelu_tanh(h)) for every half h, built once, so a lookup gives
// the bits the formula gives and costs no tanh (libm tanh was ~10% of Gemma 2 decode).
const f16_bits* gelu_fp16_table() {
  static const std::vector<f16_bits> table = [] {
    std::vector<f16_bits> t((size_t(1) << 16) + 1, 0);
    for (size_t h = 0; h < (size_t(1) << 16); ++h)
      t[h] = fp32_to_fp16(gelu_tanh(fp16_to_fp32(f16_bits(h))));
    return t;
  }();
  return table.data();
}

void gelu_reference(float* x, int64_t n) {
  const f16_bits* table = gelu_fp16_table();
  for (int64_t i = 0; i < n; ++i) x[i] = gelu_one(x[i], table);
}

void gelu_glu_reference(const float* gate, const float* up, float* out, int64_t n) {
  const f16_bits* table = gelu_fp16_table();
  for (int64_t i = 0; i < n; ++i) out[i] = gelu_one(gate[i], table) * up[i];
}

void swiglu_oai(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = std::min(gate[i], limit), u = std::clamp(up[i], -limit, limit);
    out[i] = g / (1.0f + std::exp(alpha * -g)) * (u + 1.0f);
  }
}

void softmax_inplace(float* x, int64_t n) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp(x[i] - mx);
    x[i] = e;
    sum += double(e);
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void add_inplace(float* y, const float* b, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += b[i];
}

}  // namespace trident
