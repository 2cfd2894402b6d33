// Private to the recurrent kernels: the scalar pieces of the definitions (recurrent.h) that the
// reference and the SIMD variants share, so that they compute them with the same operations.
// Every function here is static (one copy per file): a copy compiled with a SIMD file's flags
// must never be the one the linker keeps for the scalar reference.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/recurrent.h"

namespace trident {

// The final step of dot16 (recurrent.h): sixteen lane sums to one.
static inline float rec_reduce16(const float v[16]) {
  float w[8];
  for (int l = 0; l < 8; ++l) w[l] = v[l] + v[l + 8];
  return ((w[0] + w[4]) + (w[2] + w[6])) + ((w[1] + w[5]) + (w[3] + w[7]));
}

// dot16 of a[0..n) and b[0..n).
static inline float rec_dot16(const float* a, const float* b, int64_t n) {
  float v[16] = {};
  for (int64_t i = 0; i < n; ++i) v[i % 16] = std::fma(a[i], b[i], v[i % 16]);
  return rec_reduce16(v);
}

// The value head's query/key head.
static inline int64_t rec_k_head(const DeltaNet& op, int64_t h) {
  return op.k_head_map == KHeadMap::Tiled ? h % op.n_k_heads : h / (op.n_v_heads / op.n_k_heads);
}

static inline float rec_delta_scale(const DeltaNet& op) { return 1.0f / std::sqrt(float(op.head_k_dim)); }

// What one (token t, value head h) step of the delta rule reads and writes.
struct DeltaStep {
  const float* q;  // [head_k_dim] of the key head
  const float* k;  // [head_k_dim]
  const float* v;  // [head_v_dim]
  float decay;     // std::exp(g) (delta_net)
  float beta;
  float* out;    // [head_v_dim]
  float* state;  // [head_v_dim][head_k_dim]
  const float* decay_k;  // kda: [head_k_dim] std::exp(g[i]) per key channel (decay unused); else null
};
// decay_k: kda's per-channel decays for this step (null: delta_net's one per head, from g).
static inline DeltaStep rec_delta_step(const DeltaNet& op, const DeltaNetRows& io, int64_t t, int64_t h,
                                       const float* decay_k = nullptr) {
  const int64_t kh = rec_k_head(op, h), dk = op.head_k_dim, dv = op.head_v_dim;
  return {io.q + t * io.q_stride + kh * dk,
          io.k + t * io.k_stride + kh * dk,
          io.v + t * io.v_stride + h * dv,
          decay_k ? 1.0f : std::exp(io.g[t * io.gate_stride + h]),
          io.beta[t * io.gate_stride + h],
          io.out + t * io.out_stride + h * dv,
          io.state + h * dv * dk,
          decay_k};
}

// kda's decays of (token t, value head h): decay[i] = std::exp(g[h][i]).
static inline void rec_kda_decay(const DeltaNet& op, const DeltaNetRows& io, int64_t t, int64_t h, float* decay) {
  const float* g = io.g + t * io.g_stride + h * op.head_k_dim;
  for (int64_t i = 0; i < op.head_k_dim; ++i) decay[i] = std::exp(g[i]);
}

// What one (token t, head h) step of the scan reads: softplus(dt), and B, C of h's group.
struct ScanStep {
  float dt_sp;
  const float* B;  // [d_state]
  const float* C;  // [d_state]
};
static inline ScanStep rec_scan_step(const SsmScan& op, const SsmScanRows& io, int64_t t, int64_t h) {
  const int64_t g = h / (op.n_head / op.n_group);
  return {softplus(io.dt[t * io.dt_stride + h]), io.B + t * io.b_stride + g * op.d_state,
          io.C + t * io.c_stride + g * op.d_state};
}

// The loops of the SIMD delta rules: head_step(st) runs one (token, value head) step, in
// tokens' order (each head's steps are sequential; heads are independent).
template <class HeadStep>
static void rec_delta_heads(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1, HeadStep&& head_step) {
  for (int64_t t = 0; t < io.n_tokens; ++t)
    for (int64_t h = h0; h < h1; ++h) head_step(rec_delta_step(op, io, t, h));
}

// The same for kda: each step's per-channel decays computed first (scalar std::exp, the same
// bits in every variant) into a buffer the step points to.
template <class HeadStep>
static void rec_kda_heads(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1, HeadStep&& head_step) {
  std::vector<float> decay(static_cast<size_t>(op.head_k_dim));
  for (int64_t t = 0; t < io.n_tokens; ++t)
    for (int64_t h = h0; h < h1; ++h) {
      rec_kda_decay(op, io, t, h, decay.data());
      head_step(rec_delta_step(op, io, t, h, decay.data()));
    }
}

// The SIMD files' delta_net (PerChannel false) and kda (true), from their one step function
// head(st, head_k_dim, head_v_dim, scale).
template <bool PerChannel, class Head>
static void rec_delta_kernel(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1, Head&& head) {
  const float scale = rec_delta_scale(op);
  auto step = [&](const DeltaStep& st) { head(st, op.head_k_dim, op.head_v_dim, scale); };
  if constexpr (PerChannel)
    rec_kda_heads(op, io, h0, h1, step);
  else
    rec_delta_heads(op, io, h0, h1, step);
}

// The loops of the SIMD scans: head_step(st, h, x, y) runs head h of one token, whose rows
// x and y hold the head's channels at h * head_dim; heads in tokens' order.
template <class HeadStep>
static void rec_scan_heads(const SsmScan& op, const SsmScanRows& io, int64_t h0, int64_t h1, HeadStep&& head_step) {
  for (int64_t t = 0; t < io.n_tokens; ++t)
    for (int64_t h = h0; h < h1; ++h) head_step(rec_scan_step(op, io, t, h), h, io.x + t * io.x_stride, io.y + t * io.y_stride);
}

// A channel's output from its dot16(s, C): the skip term added when the layer has one.
static inline float rec_scan_out(const SsmScan& op, float dot, float x, int64_t h) { return op.D ? dot + x * op.D[h] : dot; }

// The short convolution's state after a call, for channels [c0, c1): row r (of d_conv - 1)
// takes input n_tokens + r - (d_conv - 1), from the old state's rows when that is negative.
// Copies only, shared by every variant (recurrent_ref.cpp).
void short_conv_store_state(const ShortConv& cv, const ShortConvRows& io, int64_t c0, int64_t c1);

}  // namespace trident
