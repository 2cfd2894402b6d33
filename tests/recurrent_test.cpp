// Recurrent-layer ops (kernels/recurrent.h) on every kernel table this CPU supports:
//  - each SIMD kernel bit-identical to the scalar reference (outputs and the updated state),
//    on shapes that take every SIMD tail, strided rows, and a channel/head range split in two;
//  - the drivers: a prompt in one call equals the same tokens one call each and in uneven
//    chunks, and 1 thread equals 2, bit for bit (the state carries across calls);
//  - Kimi delta attention (kda): the same checks, and its decay per key channel by hand;
//  - the row helpers (L2 norm, gates, group and gated RMS norm) against their formulas.
// The reference against llama.cpp's own ops is tests/recurrent_oracle_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "format/error.h"
#include "kernels/dispatch.h"
#include "kernels/ops.h"
#include "kernels/recurrent.h"
#include "kernels/thread_pool.h"

namespace trident {
namespace {

std::vector<float> uniform(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  // memcmp of empty vectors would pass null pointers (undefined behaviour, UBSan reports it).
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// ---- short convolution ----

struct ConvData {
  std::vector<float> w, bias, x, y, state;
  int64_t x_stride, y_stride;
};

ConvData conv_data(const ShortConv& shape, int64_t n_tokens, bool bias, uint32_t seed) {
  std::mt19937 rng(seed);
  ConvData d;
  d.x_stride = shape.n_ch + 3;  // rows are views into wider rows
  d.y_stride = shape.n_ch + 1;
  d.w = uniform(size_t(shape.d_conv * shape.n_ch), rng, -1, 1);
  if (bias) d.bias = uniform(size_t(shape.n_ch), rng, -1, 1);
  d.x = uniform(size_t(n_tokens * d.x_stride), rng, -2, 2);
  d.y.assign(size_t(n_tokens * d.y_stride), 7.0f);
  d.state = uniform(size_t((shape.d_conv - 1) * shape.n_ch), rng, -2, 2);
  return d;
}

ShortConv conv_op(ShortConv shape, const ConvData& d) {
  shape.w = d.w.data();
  shape.bias = d.bias.empty() ? nullptr : d.bias.data();
  return shape;
}

ShortConvRows conv_rows(ConvData& d, int64_t t0, int64_t n) {
  return {d.x.data() + t0 * d.x_stride, d.x_stride, d.y.data() + t0 * d.y_stride, d.y_stride, n, d.state.data()};
}

TEST(ShortConv, SimdMatchesReferenceBitwise) {
  for (const KernelTable* kt : supported_kernel_tables())
    for (int64_t n_ch : {1, 7, 16, 33, 300})
      for (int d_conv : {1, 2, 3, 4})
        for (int64_t n_tokens : {1, 5})
          for (bool bias : {false, true}) {
            const ShortConv shape{n_ch, d_conv};
            ConvData want = conv_data(shape, n_tokens, bias, uint32_t(n_ch * 10 + d_conv));
            ConvData got = want;
            short_conv_reference(conv_op(shape, want), conv_rows(want, 0, n_tokens), 0, n_ch);
            const int64_t mid = n_ch / 2;  // two ranges, as the driver splits channels
            kt->recurrent.short_conv(conv_op(shape, got), conv_rows(got, 0, n_tokens), 0, mid);
            kt->recurrent.short_conv(conv_op(shape, got), conv_rows(got, 0, n_tokens), mid, n_ch);
            EXPECT_TRUE(same_bits(got.y, want.y)) << kt->isa << " n_ch=" << n_ch << " d_conv=" << d_conv;
            EXPECT_TRUE(same_bits(got.state, want.state)) << kt->isa << " n_ch=" << n_ch << " d_conv=" << d_conv;
          }
}

TEST(ShortConv, DefinitionOnOneChannel) {
  // d_conv 3, state {s0, s1}, inputs x0..x2: y_t = w0 in(t-2) + w1 in(t-1) + w2 in(t), then bias.
  const float w[3] = {0.5f, -2.0f, 3.0f}, bias = 0.25f;
  float state[2] = {1.0f, 2.0f};
  const float x[3] = {4.0f, 8.0f, -1.0f};
  float y[3];
  short_conv_reference(ShortConv{1, 3, w, &bias}, ShortConvRows{x, 1, y, 1, 3, state}, 0, 1);
  EXPECT_EQ(y[0], 0.5f * 1 - 2.0f * 2 + 3.0f * 4 + 0.25f);
  EXPECT_EQ(y[1], 0.5f * 2 - 2.0f * 4 + 3.0f * 8 + 0.25f);
  EXPECT_EQ(y[2], 0.5f * 4 - 2.0f * 8 + 3.0f * -1 + 0.25f);
  EXPECT_EQ(state[0], 8.0f);  // the last two inputs, oldest first
  EXPECT_EQ(state[1], -1.0f);
}

TEST(ShortConv, FileWeightToTimeMajor) {
  const float file_w[6] = {1, 2, 3, 4, 5, 6};  // 2 channels x d_conv 3
  float out[6];
  conv_weight_time_major(file_w, 2, 3, out);
  EXPECT_EQ(std::vector<float>(out, out + 6), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(ShortConv, ChunksEqualTokenByTokenAndThreads) {
  ThreadPool pool(2);
  const ShortConv shape{1000, 4};
  const int64_t n = 9;
  ConvData whole = conv_data(shape, n, true, 5);
  ConvData steps = whole, chunks = whole;
  short_conv(conv_op(shape, whole), conv_rows(whole, 0, n), nullptr);
  for (int64_t t = 0; t < n; ++t) short_conv(conv_op(shape, steps), conv_rows(steps, t, 1), &pool);
  for (auto [t0, len] : {std::pair<int64_t, int64_t>{0, 2}, {2, 5}, {7, 2}})
    short_conv(conv_op(shape, chunks), conv_rows(chunks, t0, len), &pool);
  EXPECT_TRUE(same_bits(steps.y, whole.y));
  EXPECT_TRUE(same_bits(steps.state, whole.state));
  EXPECT_TRUE(same_bits(chunks.y, whole.y));
  EXPECT_TRUE(same_bits(chunks.state, whole.state));
}

// ---- selective scan ----

struct ScanData {
  std::vector<float> A, D, x, dt, B, C, y, state;
  int64_t x_stride, dt_stride, bc_stride, y_stride;
};

ScanData scan_data(const SsmScan& s, int64_t n_tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  ScanData d;
  const int64_t d_inner = s.n_head * s.head_dim;
  d.x_stride = d_inner + 2;
  d.dt_stride = s.n_head + 1;
  d.bc_stride = s.n_group * s.d_state + 5;
  d.y_stride = d_inner;
  d.A = uniform(size_t(s.a_per_state ? s.n_head * s.d_state : s.n_head), rng, -3, 0.5f);
  for (float& a : d.A) a = -std::exp(a);  // the file stores -exp(A_log)
  if (s.D) d.D = uniform(size_t(s.n_head), rng, -1, 1);
  d.x = uniform(size_t(n_tokens * d.x_stride), rng, -2, 2);
  d.dt = uniform(size_t(n_tokens * d.dt_stride), rng, -4, 3);
  d.dt[0] = 25.0f;  // softplus's linear branch
  d.B = uniform(size_t(n_tokens * d.bc_stride), rng, -1, 1);
  d.C = uniform(size_t(n_tokens * d.bc_stride), rng, -1, 1);
  d.y.assign(size_t(n_tokens * d.y_stride), 7.0f);
  d.state = uniform(size_t(d_inner * s.d_state), rng, -1, 1);
  return d;
}

SsmScan scan_op(SsmScan s, const ScanData& d) {
  s.A = d.A.data();
  s.D = d.D.empty() ? nullptr : d.D.data();
  return s;
}

SsmScanRows scan_rows(ScanData& d, int64_t t0, int64_t n) {
  return {d.x.data() + t0 * d.x_stride,   d.x_stride,  d.dt.data() + t0 * d.dt_stride, d.dt_stride,
          d.B.data() + t0 * d.bc_stride,  d.bc_stride, d.C.data() + t0 * d.bc_stride,  d.bc_stride,
          d.y.data() + t0 * d.y_stride,   d.y_stride,  n,                              d.state.data()};
}

const float kWithD = 1.0f;  // a non-null marker: scan_data fills D when the shape's D is set

std::vector<SsmScan> scan_shapes() {
  return {
      {37, 1, 16, 1, true, nullptr, &kWithD},   // Mamba-1
      {20, 1, 13, 1, true, nullptr, nullptr},   // Mamba-1, odd d_state
      {4, 8, 128, 2, false, nullptr, &kWithD},  // Mamba-2, two groups
      {3, 5, 40, 1, false, nullptr, nullptr},   // Mamba-2, tails
      {6, 4, 8, 3, false, nullptr, &kWithD},    // Mamba-2, d_state < 16
      {3, 6, 32, 1, false, nullptr, &kWithD},   // Mamba-2, channels in blocks of 4, then one
      {9, 1, 32, 1, true, nullptr, &kWithD},    // Mamba-1, heads in blocks of 4, then one
      {4, 5, 64, 2, false, nullptr, &kWithD},   // Mamba-2 prompts: states in registers, odd channel
  };
}

TEST(SsmScan, SimdMatchesReferenceBitwise) {
  for (const KernelTable* kt : supported_kernel_tables())
    for (const SsmScan& shape : scan_shapes())
      for (int64_t n_tokens : {1, 4}) {
        ScanData want = scan_data(shape, n_tokens, uint32_t(shape.n_head + shape.d_state));
        ScanData got = want;
        ssm_scan_reference(scan_op(shape, want), scan_rows(want, 0, n_tokens), 0, shape.n_head);
        const int64_t mid = shape.n_head / 2;
        kt->recurrent.ssm_scan(scan_op(shape, got), scan_rows(got, 0, n_tokens), 0, mid);
        kt->recurrent.ssm_scan(scan_op(shape, got), scan_rows(got, 0, n_tokens), mid, shape.n_head);
        EXPECT_TRUE(same_bits(got.y, want.y)) << kt->isa << " n_head=" << shape.n_head << " d_state=" << shape.d_state;
        EXPECT_TRUE(same_bits(got.state, want.state)) << kt->isa << " n_head=" << shape.n_head;
      }
}

TEST(SsmScan, DefinitionOnOneState) {
  // Mamba-2, one head, one channel, d_state 1: s' = s * exp(sp(dt) A) + B x sp(dt); y = s' C + x D.
  const float A = -0.5f, D = 2.0f, x = 3.0f, dt = 0.25f, B = 0.75f, C = -1.5f;
  float s = 0.125f, y = 0;
  ssm_scan_reference(SsmScan{1, 1, 1, 1, false, &A, &D}, SsmScanRows{&x, 1, &dt, 1, &B, 1, &C, 1, &y, 1, 1, &s}, 0, 1);
  const float sp = std::log(1.0f + std::exp(dt));
  const float want_s = 0.125f * std::exp(sp * A) + B * (x * sp);
  EXPECT_EQ(s, want_s);
  EXPECT_EQ(y, want_s * C + x * D);
}

TEST(SsmScan, ChunksEqualTokenByTokenAndThreads) {
  ThreadPool pool(2);
  for (const SsmScan& shape : {SsmScan{600, 1, 16, 1, true, nullptr, &kWithD}, SsmScan{8, 16, 64, 2, false, nullptr, &kWithD}}) {
    const int64_t n = 7;
    ScanData whole = scan_data(shape, n, 11);
    ScanData steps = whole, chunks = whole;
    ssm_scan(scan_op(shape, whole), scan_rows(whole, 0, n), nullptr);
    for (int64_t t = 0; t < n; ++t) ssm_scan(scan_op(shape, steps), scan_rows(steps, t, 1), &pool);
    ssm_scan(scan_op(shape, chunks), scan_rows(chunks, 0, 3), &pool);
    ssm_scan(scan_op(shape, chunks), scan_rows(chunks, 3, 4), &pool);
    EXPECT_TRUE(same_bits(steps.y, whole.y)) << shape.n_head;
    EXPECT_TRUE(same_bits(steps.state, whole.state)) << shape.n_head;
    EXPECT_TRUE(same_bits(chunks.y, whole.y)) << shape.n_head;
    EXPECT_TRUE(same_bits(chunks.state, whole.state)) << shape.n_head;
  }
}

// ---- gated delta rule ----

struct DeltaData {
  std::vector<float> q, k, v, g, beta, out, state;
  int64_t qk_stride, v_stride, gate_stride, out_stride;
};

DeltaData delta_data(const DeltaNet& op, int64_t n_tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  DeltaData d;
  const int64_t nk = op.n_k_heads * op.head_k_dim;
  d.qk_stride = 2 * nk + 3;  // q and k side by side in one row, as after the convolution
  d.v_stride = op.n_v_heads * op.head_v_dim + 1;
  d.gate_stride = op.n_v_heads;
  d.out_stride = op.n_v_heads * op.head_v_dim;
  d.q = uniform(size_t(n_tokens * d.qk_stride), rng, -1, 1);
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t h = 0; h < 2 * op.n_k_heads; ++h) {
      float* head = d.q.data() + t * d.qk_stride + h * op.head_k_dim;
      l2_norm(head, head, op.head_k_dim, 1e-6f);
    }
  d.v = uniform(size_t(n_tokens * d.v_stride), rng, -2, 2);
  d.g = uniform(size_t(n_tokens * d.gate_stride), rng, -2, 0);
  d.beta = uniform(size_t(n_tokens * d.gate_stride), rng, 0, 1);
  d.out.assign(size_t(n_tokens * d.out_stride), 7.0f);
  d.state = uniform(size_t(op.n_v_heads * op.head_v_dim * op.head_k_dim), rng, -0.5f, 0.5f);
  return d;
}

DeltaNetRows delta_rows(DeltaData& d, const DeltaNet& op, int64_t t0, int64_t n) {
  const float* q = d.q.data() + t0 * d.qk_stride;
  return {q,
          d.qk_stride,
          q + op.n_k_heads * op.head_k_dim,
          d.qk_stride,
          d.v.data() + t0 * d.v_stride,
          d.v_stride,
          d.g.data() + t0 * d.gate_stride,
          d.beta.data() + t0 * d.gate_stride,
          d.gate_stride,
          d.out.data() + t0 * d.out_stride,
          d.out_stride,
          n,
          d.state.data()};
}

std::vector<DeltaNet> delta_shapes() {
  return {
      {4, 2, 128, 128, KHeadMap::Tiled},        // Qwen3.5's head size
      {6, 3, 37, 20, KHeadMap::Interleaved},    // tails, value heads != key size
      {2, 2, 16, 16, KHeadMap::Tiled},
      {3, 1, 9, 24, KHeadMap::Interleaved},
      {2, 1, 64, 6, KHeadMap::Tiled},           // rows in blocks of 4, then one by one
      {2, 2, 32, 7, KHeadMap::Interleaved},
  };
}

TEST(DeltaNet, SimdMatchesReferenceBitwise) {
  for (const KernelTable* kt : supported_kernel_tables())
    for (const DeltaNet& op : delta_shapes())
      for (int64_t n_tokens : {1, 3}) {
        DeltaData want = delta_data(op, n_tokens, uint32_t(op.head_k_dim));
        DeltaData got = want;
        delta_net_reference(op, delta_rows(want, op, 0, n_tokens), 0, op.n_v_heads);
        const int64_t mid = op.n_v_heads / 2;
        kt->recurrent.delta_net(op, delta_rows(got, op, 0, n_tokens), 0, mid);
        kt->recurrent.delta_net(op, delta_rows(got, op, 0, n_tokens), mid, op.n_v_heads);
        EXPECT_TRUE(same_bits(got.out, want.out)) << kt->isa << " dk=" << op.head_k_dim;
        EXPECT_TRUE(same_bits(got.state, want.state)) << kt->isa << " dk=" << op.head_k_dim;
      }
}

TEST(DeltaNet, KeyHeadMaps) {
  // 4 value heads over 2 key heads: Tiled reads key heads 0,1,0,1; Interleaved 0,0,1,1. With a
  // zero state and beta 1 the first output of head h is (k_kh . q_kh) v_h / sqrt(dk).
  const int64_t dk = 2, dv = 1;
  const float k[4] = {1, 0, 0, 1}, v[4] = {1, 2, 3, 4}, g[4] = {}, beta[4] = {1, 1, 1, 1};
  const float qx[4] = {1, 0, 1, 0};  // q of key head 1 orthogonal to k of key head 1
  for (KHeadMap map : {KHeadMap::Tiled, KHeadMap::Interleaved}) {
    const DeltaNet op{4, 2, dk, dv, map};
    std::vector<float> state(4 * dk * dv, 0.0f), out(4);
    delta_net_reference(op, DeltaNetRows{qx, 4, k, 4, v, 4, g, beta, 4, out.data(), 4, 1, state.data()}, 0, 4);
    const float s = 1.0f / std::sqrt(2.0f);
    if (map == KHeadMap::Tiled)
      EXPECT_EQ(out, (std::vector<float>{1 * s, 0, 3 * s, 0}));
    else
      EXPECT_EQ(out, (std::vector<float>{1 * s, 2 * s, 0, 0}));
  }
}

TEST(DeltaNet, ChunksEqualTokenByTokenAndThreads) {
  ThreadPool pool(2);
  const DeltaNet op{8, 4, 64, 64, KHeadMap::Tiled};
  const int64_t n = 6;
  DeltaData whole = delta_data(op, n, 3);
  DeltaData steps = whole, chunks = whole;
  delta_net(op, delta_rows(whole, op, 0, n), nullptr);
  for (int64_t t = 0; t < n; ++t) delta_net(op, delta_rows(steps, op, t, 1), &pool);
  delta_net(op, delta_rows(chunks, op, 0, 4), &pool);
  delta_net(op, delta_rows(chunks, op, 4, 2), &pool);
  EXPECT_TRUE(same_bits(steps.out, whole.out));
  EXPECT_TRUE(same_bits(steps.state, whole.state));
  EXPECT_TRUE(same_bits(chunks.out, whole.out));
  EXPECT_TRUE(same_bits(chunks.state, whole.state));
}

// ---- Kimi delta attention: the delta rule with a decay per key channel ----

// delta_data plus a gate per key channel (g rows of n_v_heads * head_k_dim, padded).
DeltaData kda_data(const DeltaNet& op, int64_t n_tokens, uint32_t seed, int64_t& g_stride) {
  DeltaData d = delta_data(op, n_tokens, seed);
  std::mt19937 rng(seed + 1);
  g_stride = op.n_v_heads * op.head_k_dim + 5;
  d.g = uniform(size_t(n_tokens * g_stride), rng, -2, 0);
  return d;
}

DeltaNetRows kda_rows(DeltaData& d, const DeltaNet& op, int64_t t0, int64_t n, int64_t g_stride) {
  DeltaNetRows io = delta_rows(d, op, t0, n);
  io.g = d.g.data() + t0 * g_stride;
  io.g_stride = g_stride;
  return io;
}

TEST(Kda, SimdMatchesReferenceBitwise) {
  for (const KernelTable* kt : supported_kernel_tables())
    for (const DeltaNet& op : delta_shapes())
      for (int64_t n_tokens : {1, 3}) {
        int64_t gs = 0;
        DeltaData want = kda_data(op, n_tokens, uint32_t(op.head_k_dim), gs);
        DeltaData got = want;
        kda_reference(op, kda_rows(want, op, 0, n_tokens, gs), 0, op.n_v_heads);
        const int64_t mid = op.n_v_heads / 2;
        kt->recurrent.kda(op, kda_rows(got, op, 0, n_tokens, gs), 0, mid);
        kt->recurrent.kda(op, kda_rows(got, op, 0, n_tokens, gs), mid, op.n_v_heads);
        EXPECT_TRUE(same_bits(got.out, want.out)) << kt->isa << " dk=" << op.head_k_dim;
        EXPECT_TRUE(same_bits(got.state, want.state)) << kt->isa << " dk=" << op.head_k_dim;
      }
}

TEST(Kda, DecayIsPerKeyChannel) {
  // k = 0 and beta = 0 leave only the decay: out[j] = sum_i M[j][i] exp(g[i]) q[i] / sqrt(dk),
  // and the state becomes M[j][i] exp(g[i]) (column i of S scaled by key channel i's decay).
  const int64_t dk = 2, dv = 2;
  const float q[4] = {1, 2, 0, 0}, v[2] = {5, 6}, g[2] = {0.0f, -1.0f}, beta[1] = {0};
  std::vector<float> state = {1, 1, 2, 3}, out(2);
  DeltaNetRows io{q, 4, q + 2, 4, v, 2, g, beta, 1, out.data(), 2, 1, state.data()};
  io.g_stride = 2;
  kda_reference(DeltaNet{1, 1, dk, dv}, io, 0, 1);
  const float e = std::exp(-1.0f), s = 1.0f / std::sqrt(2.0f);
  EXPECT_EQ(state, (std::vector<float>{1, e, 2, 3 * e}));
  EXPECT_FLOAT_EQ(out[0], (1 + e * 2) * s);
  EXPECT_FLOAT_EQ(out[1], (2 + 3 * e * 2) * s);
}

TEST(Kda, ChunksEqualTokenByTokenAndThreads) {
  ThreadPool pool(2);
  const DeltaNet op{8, 8, 128, 128, KHeadMap::Tiled};  // Kimi-Linear's head size
  const int64_t n = 5;
  int64_t gs = 0;
  DeltaData whole = kda_data(op, n, 3, gs);
  DeltaData steps = whole, chunks = whole;
  kda(op, kda_rows(whole, op, 0, n, gs), nullptr);
  for (int64_t t = 0; t < n; ++t) kda(op, kda_rows(steps, op, t, 1, gs), &pool);
  kda(op, kda_rows(chunks, op, 0, 3, gs), &pool);
  kda(op, kda_rows(chunks, op, 3, 2, gs), &pool);
  EXPECT_TRUE(same_bits(steps.out, whole.out));
  EXPECT_TRUE(same_bits(steps.state, whole.state));
  EXPECT_TRUE(same_bits(chunks.out, whole.out));
  EXPECT_TRUE(same_bits(chunks.state, whole.state));
}

TEST(RecurrentDrivers, RefuseShapesTheKernelsCannotTake) {
  auto error_of = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(error_of([] { short_conv(ShortConv{4, 0}, ShortConvRows{}, nullptr); }),
            "short convolution: kernel width 0 (expected at least 1)");
  EXPECT_EQ(error_of([] { ssm_scan(SsmScan{6, 2, 16, 4}, SsmScanRows{}, nullptr); }),
            "SSM scan: 6 heads do not split into 4 groups");
  EXPECT_EQ(error_of([] { ssm_scan(SsmScan{6, 2, 16, 0}, SsmScanRows{}, nullptr); }),
            "SSM scan: 6 heads do not split into 0 groups");
  EXPECT_EQ(error_of([] { delta_net(DeltaNet{6, 4, 8, 8}, DeltaNetRows{}, nullptr); }),
            "delta net: 6 value heads are not a multiple of 4 key heads");
  EXPECT_EQ(error_of([] { delta_net(DeltaNet{6, 0, 8, 8}, DeltaNetRows{}, nullptr); }),
            "delta net: 6 value heads are not a multiple of 0 key heads");
  EXPECT_EQ(error_of([] { kda(DeltaNet{6, 4, 8, 8}, DeltaNetRows{}, nullptr); }),
            "delta net: 6 value heads are not a multiple of 4 key heads");
}

// ---- row helpers ----

TEST(RecurrentRows, L2Norm) {
  std::mt19937 rng(1);
  std::vector<float> x = uniform(100, rng, -3, 3), y(100);
  l2_norm(x.data(), y.data(), 100, 1e-6f);
  double sum = 0;
  for (float v : y) sum += double(v) * v;
  EXPECT_NEAR(sum, 1.0, 1e-6);  // 100 roundings of about 6e-8 each, relative
  std::vector<float> zero(8, 0.0f);
  l2_norm(zero.data(), zero.data(), 8, 1e-6f);  // eps keeps the zero vector finite
  EXPECT_EQ(zero, std::vector<float>(8, 0.0f));
}

TEST(RecurrentRows, Gates) {
  const float a[2] = {0.5f, 30.0f}, b[2] = {-1.0f, 2.0f}, dt_bias[2] = {0.25f, -5.0f}, ssm_a[2] = {-2.0f, -0.5f};
  float g[2], beta[2];
  delta_net_gates(a, b, dt_bias, ssm_a, 2, g, beta);
  EXPECT_EQ(beta[0], 1.0f / (1.0f + std::exp(1.0f)));
  EXPECT_EQ(g[0], std::log(1.0f + std::exp(0.75f)) * -2.0f);
  EXPECT_EQ(g[1], 25.0f * -0.5f);  // softplus(v) = v above 20
}

TEST(RecurrentRows, GatedAttentionOutput) {
  const float q_full[8] = {1, 2, 10, 20, 3, 4, 30, 40};  // 2 heads of 2: query, then gate
  float q[4], gate[4];
  split_query_gate(q_full, 2, 2, q, gate);
  EXPECT_EQ(std::vector<float>(q, q + 4), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(std::vector<float>(gate, gate + 4), (std::vector<float>{10, 20, 30, 40}));
  float x[3] = {2.0f, -1.0f, 0.5f};
  const float g[3] = {0.0f, 3.0f, -2.0f};
  sigmoid_gate_mul(x, g, 3);
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[1], -1.0f * (1.0f / (1.0f + std::exp(-3.0f))));
  EXPECT_EQ(x[2], 0.5f * (1.0f / (1.0f + std::exp(2.0f))));
}

TEST(RecurrentRows, GroupAndGatedRmsNorm) {
  std::mt19937 rng(2);
  const int64_t n = 48, group = 16;
  std::vector<float> x = uniform(n, rng, -2, 2), w_full = uniform(n, rng, 0, 2), z = uniform(n, rng, -4, 4);
  std::vector<float> want(n), got(n);
  for (bool shared : {false, true}) {
    for (int64_t g0 = 0; g0 < n; g0 += group)
      rms_norm(x.data() + g0, w_full.data() + (shared ? 0 : g0), want.data() + g0, group, 1e-5f);
    group_rms_norm(x.data(), w_full.data(), shared, got.data(), n, group, 1e-5f);
    EXPECT_TRUE(same_bits(got, want)) << shared;
    std::vector<float> sz = z;
    silu_inplace(sz.data(), n);
    for (int64_t i = 0; i < n; ++i) want[size_t(i)] = want[size_t(i)] * sz[size_t(i)];
    got = x;  // in place
    gated_rms_norm(got.data(), w_full.data(), shared, z.data(), got.data(), n, group, 1e-5f);
    EXPECT_TRUE(same_bits(got, want)) << shared;
  }
}

}  // namespace
}  // namespace trident
