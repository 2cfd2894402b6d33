// Operations of the recurrent layers (Mamba-1/2, LFM2's short convolution, the gated delta
// rule of Qwen3-Next / Qwen3.5 and Kimi's per-key-channel variant): each has a scalar reference
// (the definition, recurrent_ref.cpp), SIMD variants in the kernel table
// (recurrent_{avx2,avx512}.cpp) that give the reference's bits, and a driver here that splits
// channels or heads over the thread pool. docs/recurrent.md gives each op's definition, shapes
// and the llama.cpp op it matches.
//
// All tensors are f32 and row-major: a "row" is one token's values; rows are `*_stride` floats
// apart so they may be views into a wider projection output. States are owned by the caller
// (runtime/recurrent_state.h) and updated in place, so calls carry a sequence across chunks:
// a prompt run in one call gives the same bits as the same tokens one call each.
#pragma once
#include <cstdint>

namespace trident {

class ThreadPool;

// Every sum in these ops is dot16: sixteen lanes, lane l the fma-chain over elements
// i = l, l + 16, ... in ascending order (from +0), then w[l] = v[l] + v[l + 8] (l < 8) and
// ((w0 + w4) + (w2 + w6)) + ((w1 + w5) + (w3 + w7)). One AVX-512 register or two AVX2 ones hold
// the sixteen lanes, so every variant computes each sum with the same operations.

// ---- Causal short convolution (ggml_ssm_conv, then the bias as ggml_add) ----
struct ShortConv {
  int64_t n_ch = 0;          // channels
  int d_conv = 0;            // kernel width, >= 1
  const float* w = nullptr;  // [d_conv][n_ch], time-major (conv_weight_time_major of the file's)
  const float* bias = nullptr;  // [n_ch] or null
};
struct ShortConvRows {
  const float* x = nullptr;  // [n_tokens] rows of n_ch inputs, x_stride apart
  int64_t x_stride = 0;
  float* y = nullptr;        // [n_tokens] rows of n_ch outputs, y_stride apart; must not overlap x
  int64_t y_stride = 0;
  int64_t n_tokens = 0;
  float* state = nullptr;    // [d_conv - 1][n_ch]: the previous d_conv - 1 inputs, oldest first
};
// For channels [c0, c1): y[t][c] = sum over k < d_conv of w[k][c] * in(t + k - (d_conv - 1))[c]
// as an fma-chain in k from +0 (in(p) = x[p] for p >= 0, the state's rows before), then
// + bias[c]; the state becomes the last d_conv - 1 inputs.
using ShortConvFn = void (*)(const ShortConv& cv, const ShortConvRows& io, int64_t c0, int64_t c1);
void short_conv_reference(const ShortConv& cv, const ShortConvRows& io, int64_t c0, int64_t c1);
// The file's conv1d weight [n_ch][d_conv] (ggml ne = {d_conv, n_ch}) as [d_conv][n_ch].
void conv_weight_time_major(const float* file_w, int64_t n_ch, int d_conv, float* out);

// ---- Selective state-space scan (ggml_ssm_scan, then the skip term as ggml_mul + ggml_add) ----
// Mamba-2: n_head heads of head_dim channels, A scalar per head, B/C per group of heads.
// Mamba-1: n_head = d_inner, head_dim = 1, n_group = 1, A per (channel, state): a_per_state.
struct SsmScan {
  int64_t n_head = 0, head_dim = 0, d_state = 0, n_group = 1;
  bool a_per_state = false;  // true: A is [n_head][d_state] (Mamba-1); false: [n_head]
  const float* A = nullptr;  // as stored in the file (already -exp(A_log))
  const float* D = nullptr;  // [n_head] skip weights, or null for no skip term
};
struct SsmScanRows {
  const float* x = nullptr;  // [n_tokens] rows of n_head * head_dim
  int64_t x_stride = 0;
  const float* dt = nullptr;  // [n_tokens] rows of n_head, dt bias already added
  int64_t dt_stride = 0;
  const float* B = nullptr;  // [n_tokens] rows of n_group * d_state
  int64_t b_stride = 0;
  const float* C = nullptr;  // [n_tokens] rows of n_group * d_state
  int64_t c_stride = 0;
  float* y = nullptr;        // [n_tokens] rows of n_head * head_dim
  int64_t y_stride = 0;
  int64_t n_tokens = 0;
  float* state = nullptr;    // [n_head][head_dim][d_state]
};
// For heads [h0, h1), per token, head h (group g = h / (n_head / n_group)), channel p:
//   dt_sp = softplus(dt[h]); x_dt = x[h][p] * dt_sp
//   decay_n = Mamba-2: std::exp(dt_sp * A[h]) (one per head); Mamba-1: exp_poly(dt_sp * A[h][n])
//   s[h][p][n] = s[h][p][n] * decay_n + B[g][n] * x_dt      (two products, then the sum)
//   y[h][p] = dot16(s[h][p], C[g]) over d_state, then + x[h][p] * D[h] if D
// softplus(v) = v > 20 ? v : log(1 + exp(v)), in float, as ggml.
using SsmScanFn = void (*)(const SsmScan& op, const SsmScanRows& io, int64_t h0, int64_t h1);
void ssm_scan_reference(const SsmScan& op, const SsmScanRows& io, int64_t h0, int64_t h1);

// ---- Gated delta rule (ggml_gated_delta_net with a scalar gate per head) ----
// How value head h finds its query/key head when n_k_heads < n_v_heads: Tiled is
// h % n_k_heads (ggml_gated_delta_net's own broadcast, Qwen3.5), Interleaved is
// h / (n_v_heads / n_k_heads) (Qwen3-Next's repeat-interleave).
enum class KHeadMap : uint8_t { Tiled, Interleaved };
struct DeltaNet {
  int64_t n_v_heads = 0, n_k_heads = 0, head_k_dim = 0, head_v_dim = 0;
  KHeadMap k_head_map = KHeadMap::Tiled;
};
struct DeltaNetRows {
  const float* q = nullptr;  // [n_tokens] rows of n_k_heads * head_k_dim, L2-normalised
  int64_t q_stride = 0;
  const float* k = nullptr;  // [n_tokens] rows of n_k_heads * head_k_dim, L2-normalised
  int64_t k_stride = 0;
  const float* v = nullptr;  // [n_tokens] rows of n_v_heads * head_v_dim
  int64_t v_stride = 0;
  const float* g = nullptr;     // [n_tokens] rows of n_v_heads: log of the decay (delta_net_gates)
  const float* beta = nullptr;  // [n_tokens] rows of n_v_heads: the write strength, in (0, 1)
  int64_t gate_stride = 0;      // of g and beta
  float* out = nullptr;      // [n_tokens] rows of n_v_heads * head_v_dim
  int64_t out_stride = 0;
  int64_t n_tokens = 0;
  float* state = nullptr;    // [n_v_heads][head_v_dim][head_k_dim]: row j is column j of S
  int64_t g_stride = 0;      // kda only: g's rows hold n_v_heads * head_k_dim, g_stride apart
};
// For value heads [h0, h1), per token, with M = the head's state, kh its key head:
//   M *= std::exp(g[h])                                  (every element)
//   delta[j] = (v[h][j] - dot16(M[j], k[kh])) * beta[h]
//   M[j][i] = fma(k[kh][i], delta[j], M[j][i])
//   out[h][j] = dot16(M[j], q[kh]) * (1 / sqrt(head_k_dim))
using DeltaNetFn = void (*)(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1);
void delta_net_reference(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1);

// ---- Kimi delta attention (ggml_gated_delta_net with a gate per key channel) ----
// The gated delta rule whose decay is per key channel: g holds head_k_dim values per value head
// (rows g_stride apart), and the first step becomes
//   M[j][i] *= std::exp(g[h][i])                          (every row j)
// the others as delta_net's. llama.cpp's kimi-linear graph (its KDA layers) runs this op.
using KdaFn = void (*)(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1);
void kda_reference(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1);

// The kernel table's entries for these ops (kernels/dispatch.h).
struct RecurrentKernels {
  ShortConvFn short_conv = short_conv_reference;
  SsmScanFn ssm_scan = ssm_scan_reference;
  DeltaNetFn delta_net = delta_net_reference;
  KdaFn kda = kda_reference;
};

// Drivers: the whole op with the selected kernel table, channels / heads split over `pool`
// (null: the calling thread). Results do not depend on the split. Each throws Error for a shape
// the kernels cannot take (d_conv < 1; n_head not a multiple of n_group; n_v_heads not a
// multiple of n_k_heads): these come from a file's hyper-parameters.
void short_conv(const ShortConv& cv, const ShortConvRows& io, ThreadPool* pool);
void ssm_scan(const SsmScan& op, const SsmScanRows& io, ThreadPool* pool);
void delta_net(const DeltaNet& op, const DeltaNetRows& io, ThreadPool* pool);
void kda(const DeltaNet& op, const DeltaNetRows& io, ThreadPool* pool);

// ---- Row helpers (scalar; not hot) ----
// softplus as ggml computes it.
float softplus(float v);
// y = x / max(sqrt(sum x^2), eps), the sum in double (ggml_l2_norm). y may alias x.
void l2_norm(const float* x, float* y, int64_t n, float eps);
// Qwen3-Next / Qwen3.5 gates per value head, as their graphs build them:
// beta = 1 / (1 + exp(-b)); g = softplus(a + dt_bias) * ssm_a. a, b, dt_bias, ssm_a: [n].
void delta_net_gates(const float* a, const float* b, const float* dt_bias, const float* ssm_a,
                     int64_t n, float* g, float* beta);
// RMS norm of each group of `group` values (n a multiple of group), times the weight: w is
// [group] shared by every group (w_shared, Qwen3-Next's ssm_norm) or [n] (Mamba-2's). Each
// group as kernels/ops.h rms_norm. y may alias x.
void group_rms_norm(const float* x, const float* w, bool w_shared, float* y, int64_t n,
                    int64_t group, float eps);
// Qwen3-Next's gated output norm: y = group_rms_norm(x) * silu(z) (z: [n]); silu as
// KernelTable::silu_glu. y may alias x but not z.
void gated_rms_norm(const float* x, const float* w, bool w_shared, const float* z, float* y,
                    int64_t n, int64_t group, float eps);

// Qwen3-Next / Qwen3.5's gated attention (their full-attention layers): the Q projection is
// twice as wide, per head head_dim query values then head_dim gate values; split_query_gate
// copies them apart (q_full: [n_head][2 head_dim]; q, gate: [n_head][head_dim]). After
// attention, sigmoid_gate_mul does x[i] = x[i] * (1 / (1 + exp(-gate[i]))) (ggml_sigmoid, then
// ggml_mul).
void split_query_gate(const float* q_full, int64_t n_head, int64_t head_dim, float* q, float* gate);
void sigmoid_gate_mul(float* x, const float* gate, int64_t n);

}  // namespace trident
