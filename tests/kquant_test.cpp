// K-quants (Q2_K..Q6_K weights, Q8_K activations): dequantization, the Q8_K quantizer and the
// Qx_K . Q8_K dot kernels of every kernel table this CPU supports (the reference weight
// quantizers are in kquant_quantize_test.cpp).
//
// Expected values come from three places: hand computation (crafted blocks), ggml itself
// (hashes and float bits recorded from llama.cpp 3f545bec's ggml-quants.c and x86 quants.c
// on the deterministic inputs below), and llama-quantize's output files in ../shared/golden.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <thread>
#include <vector>

#include "format/error.h"
#include "format/gguf.h"
#include "kernels/dispatch.h"
#include "kquant_inputs.h"
#include "tensor/blocks.h"
#include "tensor/quant_fns.h"
#include "tensor/types.h"

namespace trident {
namespace {

using namespace kquant_test;

constexpr GgmlType kWeightTypes[] = {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                     GgmlType::Q6_K};
constexpr uint32_t idx(GgmlType t) { return uint32_t(t); }

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

std::vector<BlockQ8_K> quantize_q8k(const std::vector<float>& x) {
  std::vector<BlockQ8_K> q(x.size() / QK_K);
  quantize_row_q8_K(x.data(), q.data(), int64_t(x.size()));
  return q;
}
float dot(const KernelTable& t, GgmlType type, int64_t n, const void* w, const void* x) {
  float s = std::numeric_limits<float>::quiet_NaN();
  t.vec_dot[idx(type)](n, &s, w, x);
  return s;
}
// ---- dequantization of crafted blocks (expected values computed by hand) ----

TEST(KQuantDequant, Q4_K) {
  // scales {1,2,3,4,33,50,63,8}, mins {0,1,2,3,40,17,63,5}, packed by hand.
  const uint8_t sc[8] = {1, 2, 3, 4, 33, 50, 63, 8}, mn[8] = {0, 1, 2, 3, 40, 17, 63, 5};
  BlockQ4_K b{};
  b.d = 0x3c00;     // 1.0
  b.dmin = 0x3800;  // 0.5
  const uint8_t packed[12] = {129, 194, 195, 4, 128, 65, 194, 3, 129, 18, 255, 88};
  std::memcpy(b.scales, packed, 12);
  for (int l = 0; l < 32; ++l)
    for (int c = 0; c < 4; ++c) b.qs[32 * c + l] = uint8_t((l % 16) | ((15 - l % 16) << 4));
  float y[QK_K];
  dequantize_row_q4_K(&b, y, QK_K);
  for (int e = 0; e < QK_K; ++e) {
    const int sub = e / 32, l = e % 32, q = sub % 2 ? 15 - l % 16 : l % 16;
    ASSERT_EQ(y[e], 1.0f * sc[sub] * q - 0.5f * mn[sub]) << e;
  }
  EXPECT_EQ(y[0], 0.f);
  EXPECT_EQ(y[37], 19.5f);    // 2 * 10 - 0.5 * 1
  EXPECT_EQ(y[140], 376.f);   // 33 * 12 - 0.5 * 40
  EXPECT_EQ(y[223], 913.5f);  // 63 * 15 - 0.5 * 63
  EXPECT_EQ(y[255], -2.5f);   // 8 * 0 - 0.5 * 5
}

TEST(KQuantDequant, Q5_K) {
  const uint8_t sc[8] = {1, 2, 3, 4, 33, 50, 63, 8}, mn[8] = {0, 1, 2, 3, 40, 17, 63, 5};
  BlockQ5_K b{};
  b.d = 0x3c00;
  b.dmin = 0x3800;
  const uint8_t packed[12] = {129, 194, 195, 4, 128, 65, 194, 3, 129, 18, 255, 88};
  std::memcpy(b.scales, packed, 12);
  for (int l = 0; l < 32; ++l) {
    for (int c = 0; c < 4; ++c) b.qs[32 * c + l] = uint8_t((l % 16) | ((15 - l % 16) << 4));
    b.qh[l] = (l & 1) ? 0xaa : 0x55;  // bit 4 set for odd sub-blocks at odd l, even at even l
  }
  float y[QK_K];
  dequantize_row_q5_K(&b, y, QK_K);
  for (int e = 0; e < QK_K; ++e) {
    const int sub = e / 32, l = e % 32;
    const int q = (sub % 2 ? 15 - l % 16 : l % 16) + ((sub % 2) == (l % 2) ? 16 : 0);
    ASSERT_EQ(y[e], 1.0f * sc[sub] * q - 0.5f * mn[sub]) << e;
  }
  EXPECT_EQ(y[0], 16.f);    // 1 * (0 + 16) - 0
  EXPECT_EQ(y[37], 51.5f);  // 2 * (10 + 16) - 0.5
}

TEST(KQuantDequant, Q6_K) {
  BlockQ6_K b{};
  b.d = 0x3400;  // 0.25
  for (int j = 0; j < 16; ++j) b.scales[j] = int8_t(9 * j - 70);
  // stored quant of element e is e % 64 (value e % 64 - 32)
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const int q0 = l, q1 = 32 + l;  // groups 0 and 2 store l, groups 1 and 3 store 32 + l
      b.ql[64 * h + l] = uint8_t((q0 & 15) | ((q0 & 15) << 4));
      b.ql[64 * h + 32 + l] = uint8_t((q1 & 15) | ((q1 & 15) << 4));
      b.qh[32 * h + l] =
          uint8_t((q0 >> 4) | ((q1 >> 4) << 2) | ((q0 >> 4) << 4) | ((q1 >> 4) << 6));
    }
  float y[QK_K];
  dequantize_row_q6_K(&b, y, QK_K);
  for (int e = 0; e < QK_K; ++e)
    ASSERT_EQ(y[e], 0.25f * float(9 * (e / 16) - 70) * float(e % 64 - 32)) << e;
  EXPECT_EQ(y[0], 560.f);      // 0.25 * -70 * -32
  EXPECT_EQ(y[100], -16.f);    // 0.25 * -16 * 4
  EXPECT_EQ(y[255], 503.75f);  // 0.25 * 65 * 31
}

TEST(KQuantDequant, Q3_K) {
  BlockQ3_K b{};
  b.d = 0x3800;  // 0.5
  // biased scales 4 j + 1 (signed 4 j - 31), packed per the layout
  for (int j = 0; j < 16; ++j) {
    const int s = 4 * j + 1;
    b.scales[j % 8] |= uint8_t((s & 15) << (j < 8 ? 0 : 4));
    b.scales[8 + j % 4] |= uint8_t((s >> 4) << (2 * (j / 4)));
  }
  // quant of element e is e % 8 - 4: low 2 bits in qs, bit 2 in hmask
  for (int e = 0; e < QK_K; ++e) {
    const int u = e % 8, h = e / 128, g = (e % 128) / 32, l = e % 32;
    b.qs[32 * h + l] |= uint8_t((u & 3) << (2 * g));
    if (u & 4) b.hmask[l] |= uint8_t(1 << (4 * h + g));
  }
  float y[QK_K];
  dequantize_row_q3_K(&b, y, QK_K);
  for (int e = 0; e < QK_K; ++e)
    ASSERT_EQ(y[e], 0.5f * float(4 * (e / 16) - 31) * float(e % 8 - 4)) << e;
  EXPECT_EQ(y[0], 62.f);     // 0.5 * -31 * -4
  EXPECT_EQ(y[255], 43.5f);  // 0.5 * 29 * 3
}

TEST(KQuantDequant, Q2_K) {
  BlockQ2_K b{};
  b.d = 0x3800;     // 0.5
  b.dmin = 0x3400;  // 0.25
  for (int j = 0; j < 16; ++j) b.scales[j] = uint8_t(j | ((15 - j) << 4));
  for (int e = 0; e < QK_K; ++e) {
    const int q = (e / 3) % 4, h = e / 128, g = (e % 128) / 32, l = e % 32;
    b.qs[32 * h + l] |= uint8_t(q << (2 * g));
  }
  float y[QK_K];
  dequantize_row_q2_K(&b, y, QK_K);
  for (int e = 0; e < QK_K; ++e) {
    const int j = e / 16;
    ASSERT_EQ(y[e], 0.5f * float(j) * float((e / 3) % 4) - 0.25f * float(15 - j)) << e;
  }
  EXPECT_EQ(y[0], -3.75f);  // 0 - 0.25 * 15
  EXPECT_EQ(y[255], 7.5f);  // 0.5 * 15 * 1 - 0
}

TEST(KQuantDequant, Q8_K) {
  BlockQ8_K b{};
  b.d = 0.5f;
  for (int e = 0; e < QK_K; ++e) b.qs[e] = int8_t(e - 128);
  float y[QK_K];
  dequantize_row_q8_K(&b, y, QK_K);
  for (int e = 0; e < QK_K; ++e) ASSERT_EQ(y[e], 0.5f * float(e - 128));
}

TEST(KQuantDequant, RejectsPartialBlocks) {
  std::vector<float> x(300);
  std::vector<uint8_t> q(1024);
  EXPECT_THROW(dequantize_row_q4_K(q.data(), x.data(), 300), Error);
  EXPECT_THROW(quantize_row_q6_K(x.data(), q.data(), 300), Error);
  EXPECT_THROW(quantize_row_q8_K(x.data(), q.data(), 300), Error);
}

// ---- Q8_K activation quantizer ----

BlockQ8_K q8k_of(const float* x) {
  BlockQ8_K b;
  std::memset(&b, 0x5a, sizeof b);
  quantize_row_q8_K(x, &b, QK_K);
  return b;
}

TEST(KQuantQ8K, RoundsTiesToEvenAndClampsAt127) {
  float x[QK_K] = {};
  // max magnitude -127 -> iscale = -127 / -127 = 1, so quants are x rounded to nearest even
  const float in[] = {-127.f, 2.5f, 3.5f, -2.5f, 126.5f, 0.49999997f, 127.f, -0.5f};
  const int8_t want[] = {-127, 2, 4, -2, 126, 0, 127, 0};
  std::memcpy(x, in, sizeof in);
  const BlockQ8_K b = q8k_of(x);
  EXPECT_EQ(b.d, 1.0f);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(b.qs[i], want[i]) << i;
  for (int i = 8; i < QK_K; ++i) ASSERT_EQ(b.qs[i], 0);
  EXPECT_EQ(b.bsums[0], -127 + 2 + 4 - 2 + 126 + 0 + 127 + 0);
  for (int k = 1; k < 16; ++k) EXPECT_EQ(b.bsums[k], 0);
}

TEST(KQuantQ8K, FirstLargestMagnitudeMapsToMinus127) {
  float x[QK_K] = {};
  x[10] = 5.f;
  x[20] = -5.f;  // same magnitude, later: the sign comes from x[10]
  x[30] = 2.5f;
  BlockQ8_K b = q8k_of(x);
  const float iscale = -127.f / 5.f;
  EXPECT_EQ(bits_of(b.d), bits_of(1 / iscale));
  EXPECT_EQ(b.qs[10], -127);
  EXPECT_EQ(b.qs[20], 127);
  EXPECT_EQ(b.qs[30], -64);  // -63.5 rounds to even
  std::swap(x[10], x[20]);
  b = q8k_of(x);
  EXPECT_EQ(bits_of(b.d), bits_of(1 / -iscale));
  EXPECT_EQ(b.qs[10], -127);
  EXPECT_EQ(b.qs[20], 127);
  EXPECT_EQ(b.qs[30], 64);
}

TEST(KQuantQ8K, ZeroBlock) {
  float x[QK_K] = {};
  x[3] = -0.0f;
  const BlockQ8_K b = q8k_of(x);
  EXPECT_EQ(bits_of(b.d), 0u);
  for (int i = 0; i < QK_K; ++i) ASSERT_EQ(b.qs[i], 0);
  for (int k = 0; k < 16; ++k) ASSERT_EQ(b.bsums[k], 0);
}

TEST(KQuantQ8K, BsumsAndReconstruction) {
  const std::vector<float> x = test_row(7, 16 * QK_K);
  const std::vector<BlockQ8_K> q = quantize_q8k(x);
  for (size_t b = 0; b < q.size(); ++b) {
    for (int k = 0; k < 16; ++k) {
      int s = 0;
      for (int e = 0; e < 16; ++e) s += q[b].qs[16 * k + e];
      ASSERT_EQ(q[b].bsums[k], s);
    }
    // |x - d q| <= |d| / 2, up to the rounding of iscale * x and of d = 1 / iscale
    for (int e = 0; e < QK_K; ++e) {
      const float xe = x[b * QK_K + size_t(e)];
      ASSERT_LE(std::fabs(xe - q[b].d * float(q[b].qs[e])),
                0.5f * std::fabs(q[b].d) * 1.0001f + 1e-30f);
    }
  }
}

// SIMD quantizers promise the scalar bits exactly, for any input and pointer alignment.
TEST(KQuantQ8K, AllTablesBitIdentical) {
  const int64_t n = 24 * QK_K;
  std::vector<float> x = test_row(11, n);
  const float specials[] = {std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            1e-40f,
                            -1e-38f,
                            3.4e38f};
  for (int k = 0; k < 6; ++k) x[size_t(QK_K * (16 + k) + 7 * k)] = specials[k];
  for (int e = 0; e < QK_K; ++e) x[size_t(22 * QK_K + e)] = float(e % 9) - 4.f;  // many ties
  std::vector<uint8_t> want(sizeof(BlockQ8_K) * size_t(n / QK_K));
  quantize_row_q8_K(x.data(), want.data(), n);
  for (const KernelTable* t : supported_kernel_tables())
    for (int shift : {0, 1, 3}) {
      std::vector<float> xs(x.size() + 4);
      std::memcpy(xs.data() + shift, x.data(), x.size() * sizeof(float));
      std::vector<uint8_t> got(want.size() + 8, 0xee);
      t->quantize_act[idx(GgmlType::Q8_K)](xs.data() + shift, got.data() + shift, n);
      ASSERT_EQ(std::memcmp(got.data() + shift, want.data(), want.size()), 0)
          << t->isa << " shift " << shift;
    }
}

// ---- dot products ----

// Weight blocks for dot tests: random bytes (every bit pattern of quants and scales) with
// d / dmin replaced by finite fp16 values, plus saturated blocks (all quant bits set).
std::vector<uint8_t> random_weights(GgmlType t, int64_t nb, uint64_t seed) {
  const size_t bs = layout_of(t).type_size;
  std::vector<uint8_t> w(bs * size_t(nb));
  Rng rng{seed};
  for (auto& byte : w) byte = uint8_t(rng.next());
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* blk = w.data() + bs * size_t(b);
    if (b % 5 == 4) std::memset(blk, 0xff, bs);  // largest quants and scales
    const f16_bits d = fp32_to_fp16(0.001f + 0.05f * rng.uniform());
    const f16_bits dmin = fp32_to_fp16((rng.uniform() - 0.3f) * 0.05f);
    switch (t) {
      case GgmlType::Q2_K:
        std::memcpy(blk + 80, &d, 2);
        std::memcpy(blk + 82, &dmin, 2);
        break;
      case GgmlType::Q3_K:
        std::memcpy(blk + 108, &d, 2);
        break;
      case GgmlType::Q4_K:
      case GgmlType::Q5_K:
        std::memcpy(blk, &d, 2);
        std::memcpy(blk + 2, &dmin, 2);
        break;
      case GgmlType::Q6_K:
        std::memcpy(blk + 208, &d, 2);
        break;
      default:
        break;
    }
  }
  return w;
}

// Activations: quantized test rows, plus a block of -128 with consistent bsums (not produced
// by the quantizer, but the kernels must handle the full int8 range).
std::vector<BlockQ8_K> test_activations(int64_t nb, uint64_t seed) {
  std::vector<BlockQ8_K> x = quantize_q8k(test_row(seed, nb * QK_K));
  for (int64_t b = 3; b < nb; b += 8) {
    std::memset(x[size_t(b)].qs, 0x80, QK_K);
    for (auto& s : x[size_t(b)].bsums) s = -16 * 128;
    x[size_t(b)].d = 1e-3f;
  }
  return x;
}

// Weight element i split into its two dequantized terms (d * scale * q and -dmin * min).
// Returns {sum over i of w_i x_i, sum over i of (|term1| + |term2|) |x_i|}, in double.
std::pair<double, double> float_dot_and_magnitude(GgmlType t, const std::vector<uint8_t>& w,
                                                  const std::vector<BlockQ8_K>& x, int64_t n) {
  const std::vector<float> xw = dequantize(t, w.data(), n);
  const std::vector<float> xa = dequantize(GgmlType::Q8_K, x.data(), n);
  std::vector<float> scale_part = xw, min_part(size_t(n), 0.f);
  if (t == GgmlType::Q2_K || t == GgmlType::Q4_K || t == GgmlType::Q5_K) {
    const size_t bs = layout_of(t).type_size, at = t == GgmlType::Q2_K ? 82 : 2;
    const size_t d_at = t == GgmlType::Q2_K ? 80 : 0;
    std::vector<uint8_t> no_min = w, no_scale = w;
    for (size_t b = 0; b < w.size() / bs; ++b) {
      std::memset(no_min.data() + b * bs + at, 0, 2);
      std::memset(no_scale.data() + b * bs + d_at, 0, 2);
    }
    scale_part = dequantize(t, no_min.data(), n);
    min_part = dequantize(t, no_scale.data(), n);
  }
  double sum = 0, mag = 0;
  for (size_t i = 0; i < size_t(n); ++i) {
    sum += double(xw[i]) * double(xa[i]);
    mag += (std::fabs(double(scale_part[i])) + std::fabs(double(min_part[i]))) *
           std::fabs(double(xa[i]));
  }
  return {sum, mag};
}

// Error bound of a kernel result against the exact sum E of its integer block products
// (scaled by the float d = x.d * w.d the kernels compute): every float step rounds once,
// and the longest chain per result is <= 2 per block (Q2_K's min and scale FMAs into the same
// lane) plus int->float conversion and the horizontal sums, so |r - E| <= gamma(2 nb + 8) * A,
// with A = sum of |terms| (the magnitude above) and gamma(k) = k u / (1 - k u), u = 2^-24.
double kernel_bound(int64_t nb, double magnitude) {
  const double u = 0x1p-24, k = double(2 * nb + 8);
  return k * u / (1 - k * u) * magnitude;
}

constexpr int64_t kBlockCounts[] = {1, 2, 3, 7, 16, 17};

// Dequantizing both operands and multiplying in double gives the same products up to the
// roundings of dequantization (<= 3 per weight term, 1 per activation, 1 in d = x.d * w.d).
TEST(KQuantDot, MatchesDequantizedFloatDot) {
  for (GgmlType t : kWeightTypes)
    for (int64_t nb : kBlockCounts) {
      const int64_t n = nb * QK_K;
      const std::vector<uint8_t> w = random_weights(t, nb, 100 + nb);
      const std::vector<BlockQ8_K> x = test_activations(nb, 200 + nb);
      const auto [ref, mag] = float_dot_and_magnitude(t, w, x, n);
      const double tol = kernel_bound(nb, mag) + 6 * 0x1p-24 * mag;
      for (const KernelTable* tab : supported_kernel_tables())
        EXPECT_NEAR(dot(*tab, t, n, w.data(), x.data()), ref, tol)
            << tab->isa << " " << layout_of(t).name << " nb=" << nb;
    }
}

TEST(KQuantDot, SimdWithinDerivedBoundOfScalar) {
  for (GgmlType t : kWeightTypes)
    for (int64_t nb : kBlockCounts) {
      const int64_t n = nb * QK_K;
      // quantized weights as well as random bytes
      for (int source = 0; source < 2; ++source) {
        const std::vector<uint8_t> w =
            source ? random_weights(t, nb, 300 + nb) : quantize(t, test_row(400 + nb, n));
        const std::vector<BlockQ8_K> x = test_activations(nb, 500 + nb);
        const double mag = float_dot_and_magnitude(t, w, x, n).second;
        const float want = dot(scalar_kernel_table(), t, n, w.data(), x.data());
        for (const KernelTable* tab : supported_kernel_tables())
          EXPECT_NEAR(dot(*tab, t, n, w.data(), x.data()), want, 2 * kernel_bound(nb, mag))
              << tab->isa << " " << layout_of(t).name << " nb=" << nb << " source " << source;
      }
    }
}

// The AVX2 and AVX-512 kernels follow the same float schedule (ggml's), so they agree bit for
// bit, for any pointer alignment and on any thread.
TEST(KQuantDot, SimdTablesBitIdenticalAndDeterministic) {
  std::vector<const KernelTable*> simd;
  for (const KernelTable* t : supported_kernel_tables())
    if (std::strcmp(t->isa, "scalar") != 0) simd.push_back(t);
  if (simd.empty()) GTEST_SKIP() << "no SIMD kernel table on this CPU";
  for (GgmlType t : kWeightTypes)
    for (int64_t nb : kBlockCounts) {
      const int64_t n = nb * QK_K;
      const std::vector<uint8_t> w = random_weights(t, nb, 600 + nb);
      const std::vector<BlockQ8_K> x = test_activations(nb, 700 + nb);
      const uint32_t want = bits_of(dot(*simd[0], t, n, w.data(), x.data()));
      for (const KernelTable* tab : simd) {
        for (int shift : {1, 3}) {  // misaligned copies
          std::vector<uint8_t> wb(w.size() + 8), xb(x.size() * sizeof(BlockQ8_K) + 8);
          std::memcpy(wb.data() + shift, w.data(), w.size());
          std::memcpy(xb.data() + shift, x.data(), x.size() * sizeof(BlockQ8_K));
          EXPECT_EQ(bits_of(dot(*tab, t, n, wb.data() + shift, xb.data() + shift)), want)
              << tab->isa << " " << layout_of(t).name << " nb=" << nb << " shift " << shift;
        }
        float on_thread = 0;
        std::thread([&] { on_thread = dot(*tab, t, n, w.data(), x.data()); }).join();
        EXPECT_EQ(bits_of(on_thread), want) << tab->isa << " " << layout_of(t).name;
      }
    }
}

// Bits of ggml_vec_dot_qX_K_q8_K (llama.cpp 3f545bec, x86 build with AVX2/AVX-512) for
// w = ggml's quantize_row_qX_K_ref(test_row(800 + type, 17 * 256)) and
// x = quantize_row_q8_K(test_row(900 + type, 17 * 256)), over the first nb blocks.
struct GgmlDotBits {
  GgmlType type;
  uint32_t bits[6];  // for kBlockCounts
};
constexpr GgmlDotBits kGgmlDotBits[] = {
    {GgmlType::Q2_K, {0xc0fdc700, 0xc2ef041c, 0xc27ccff4, 0xc276076c, 0x43629734, 0x4360e734}},
    {GgmlType::Q3_K, {0x409f7ebf, 0xc3b79e25, 0xc3a08664, 0xc3a37070, 0xc28fd4c8, 0xc29c8627}},
    {GgmlType::Q4_K, {0x40d9d525, 0xc3492ae4, 0xc3149bd5, 0xc3168313, 0xc2c02a3d, 0xc2c23649}},
    {GgmlType::Q5_K, {0x405caec0, 0xc2275064, 0x41662cc0, 0x41067b30, 0x42dbb717, 0x42db3799}},
    {GgmlType::Q6_K, {0xc1047c16, 0xc430467a, 0xc420eebd, 0xc420e978, 0xc3f64058, 0xc3f74b15}},
};

TEST(KQuantDot, SimdReproducesGgmlBits) {
  for (const GgmlDotBits& g : kGgmlDotBits) {
    const int64_t n = 17 * QK_K;
    const std::vector<uint8_t> w = quantize(g.type, test_row(800 + idx(g.type), n));
    const std::vector<BlockQ8_K> x = quantize_q8k(test_row(900 + idx(g.type), n));
    for (const KernelTable* tab : supported_kernel_tables()) {
      if (std::strcmp(tab->isa, "scalar") == 0) continue;
      for (size_t k = 0; k < std::size(kBlockCounts); ++k)
        EXPECT_EQ(bits_of(dot(*tab, g.type, kBlockCounts[k] * QK_K, w.data(), x.data())), g.bits[k])
            << tab->isa << " " << layout_of(g.type).name << " nb=" << kBlockCounts[k];
    }
  }
}

}  // namespace
}  // namespace trident
