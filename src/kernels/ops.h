// Row-wise operations of the transformer block. Scalar code written so the compiler can
// vectorise it; each output depends only on its own row, so results do not depend on how
// rows are split across threads or batches.
#pragma once
#include <cmath>
#include <cstdint>

namespace trident {

// y = x / sqrt(mean(x^2) + eps) (* w if w). x, y, w: [n]. y may alias x.
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
// y = (x - mean) / sqrt(var + eps) * w + b (w, b optional). y may alias x.
void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);

enum class RopeLayout : uint8_t { Adjacent, Neox };

// Rotation angles for one position: cs[2 i] = cos, cs[2 i + 1] = sin of pair i, i < n_rot / 2.
// theta_i = pos * freq_scale * base^(-2 i / n_rot) / factor_i (factors: optional [n_rot / 2]).
void rope_angles(int64_t pos, int n_rot, float base, float freq_scale, const float* factors,
                 float attn_factor, float* cs);
// YaRN's angles as ggml computes them (ext_factor > 0): per pair, theta blends the
// interpolated pos * base^(-2 i / n_rot) * freq_scale and the extrapolated angle by a ramp over
// the correction dims corr[0..1]; cos and sin are scaled by attn_factor * (1 + 0.1 ln(1 / freq_scale)).
void rope_angles_yarn(int64_t pos, int n_rot, float base, float freq_scale, const float* factors, float attn_factor,
                      float ext_factor, const float corr[2], float* cs);
// ggml_rope_yarn_corr_dims: the first and last pair dims the ramp spans.
void rope_yarn_corr_dims(int n_rot, int64_t n_ctx_orig, float base, float beta_fast, float beta_slow, float corr[2]);
// Rotates the first n_rot dims of each of n_heads heads of length head_dim in x (contiguous).
void rope_apply(float* x, int n_heads, int head_dim, int n_rot, RopeLayout layout, const float* cs);

// The logistic function as ggml_sigmoid computes it (libm exp): MoE gates, shared-expert gates,
// the delta rule's beta.
inline float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// silu(x) = x / (1 + exp_poly(-x)) (kernels/exp_poly.h), in place over n values.
void silu_inplace(float* x, int64_t n);
// out[i] = gate[i] > 0 ? gate[i] * up[i] : 0, i < n (ggml_reglu: smallthinker's experts).
void relu_glu(const float* gate, const float* up, float* out, int64_t n);
// x = max(x, 0)^2 (ggml_relu then ggml_sqr, as arcee's FFN).
void relu_sqr_inplace(float* x, int64_t n);
// out[i] = silu(gate[i]) * up[i], i < n: the reference of KernelTable::silu_glu, which the
// SIMD variants equal bit for bit.
void silu_glu_reference(const float* gate, const float* up, float* out, int64_t n);
// tanh-approximated GELU as ggml's CPU backend computes it: the input rounded to fp16 and
// looked up in gelu_fp16_table (0 at or below -10, x at or above 10). x = gelu(x): the
// reference of KernelTable::gelu; out[i] = gelu(gate[i]) * up[i]: of KernelTable::gelu_glu.
void gelu_reference(float* x, int64_t n);
void gelu_glu_reference(const float* gate, const float* up, float* out, int64_t n);
// ggml's GELU table: entry h is fp16(gelu_tanh(h)) for the half with bits h; one entry past
// the end (0) so that SIMD gathers of 32 bits at entry 0xffff stay inside.
const uint16_t* gelu_fp16_table();

// gpt-oss's clamped SwiGLU, as ggml_swiglu_oai (libm exp): g = min(gate, limit),
// u = clamp(up, -limit, limit), out = g / (1 + exp(-alpha g)) * (u + 1). Scalar only: it is
// its own reference (one expert's rows per call, a small share of the step's time).
void swiglu_oai(const float* gate, const float* up, float* out, int64_t n, float alpha, float limit);

// x[i] = exp(x[i] - max) / sum, sum accumulated in double (as ggml does). Returns nothing.
void softmax_inplace(float* x, int64_t n);

// y[i] += b[i]
void add_inplace(float* y, const float* b, int64_t n);

}  // namespace trident
