// Reference row converters of the float types and the legacy quants (tensor/quant_legacy.cpp):
// bit-exact quantization of hand-made blocks (values worked out from ggml's *_ref formulas),
// dequantization of hand-made blocks, and round-trip error bounds on random rows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tensor/blocks.h"
#include "tensor/quant_fns.h"
#include "tensor/types.h"

namespace trident {
namespace {

constexpr f16_bits kHalfOne = 0x3C00, kHalfMinusOne = 0xBC00, kHalfZero = 0x0000,
                   kHalfNegZero = 0x8000;

template <class B>
B quantize_block(void (*quantize)(const float*, void*, int64_t), const float (&x)[32]) {
  B b;
  std::memset(&b, 0xAB, sizeof b);  // every byte must be written
  quantize(x, &b, 32);
  return b;
}

// Element j of a 4-bit block (j < 16: low nibble of qs[j]; else high nibble of qs[j - 16]).
int nib(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 15 : qs[j - 16] >> 4; }
int bit(const uint8_t* qh, int j) { return (qh[j / 8] >> (j % 8)) & 1; }

// ---- Bit-exact quantization of crafted blocks.

TEST(QuantLegacy, Q4_0NegativeMaxAndTies) {
  // Largest magnitude is -8 => d = -8 / -8 = 1, id = 1, q = min(15, trunc(x + 8.5)).
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = 0.0f;
  x[0] = -8.0f;   // q 0
  x[1] = 2.5f;    // 2.5 + 8.5 = 11.0 -> 11 (a tie rounds up)
  x[2] = -2.5f;   // 6.0 -> 6 (rounds up, i.e. toward +inf)
  x[3] = 7.6f;    // 16.1 -> 16 -> clamped to 15
  x[4] = 0.49f;   // 8.99 -> 8
  x[16] = -7.5f;  // 1.0 -> 1
  x[17] = 7.0f;   // 15.5 -> 15
  const auto b = quantize_block<BlockQ4_0>(quantize_row_q4_0, x);
  EXPECT_EQ(b.d, kHalfOne);
  const int want[32] = {0, 11, 6, 15, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
                        1, 15, 8, 8,  8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
  for (int j = 0; j < 32; ++j) EXPECT_EQ(nib(b.qs, j), want[j]) << "element " << j;
}

TEST(QuantLegacy, Q4_0PositiveMaxFirstOfEqualMagnitudes) {
  // +8 comes before -8: max = +8, d = -1, id = -1. -8 maps to trunc(16.5) = 16 -> 15.
  float x[32] = {};
  x[5] = 8.0f;
  x[6] = -8.0f;
  x[7] = 3.0f;  // -3 + 8.5 = 5.5 -> 5
  const auto b = quantize_block<BlockQ4_0>(quantize_row_q4_0, x);
  EXPECT_EQ(b.d, kHalfMinusOne);
  EXPECT_EQ(nib(b.qs, 5), 0);
  EXPECT_EQ(nib(b.qs, 6), 15);
  EXPECT_EQ(nib(b.qs, 7), 5);
  EXPECT_EQ(nib(b.qs, 0), 8);
}

TEST(QuantLegacy, ZeroBlocks) {
  // Q4_0 / Q5_0 store d = 0 / -8 = -0; id = 0 then puts every element at the zero point.
  const float x[32] = {};
  const auto q40 = quantize_block<BlockQ4_0>(quantize_row_q4_0, x);  // q = trunc(8.5)
  EXPECT_EQ(q40.d, kHalfNegZero);
  for (uint8_t v : q40.qs) EXPECT_EQ(v, 0x88);
  const auto q41 = quantize_block<BlockQ4_1>(quantize_row_q4_1, x);
  EXPECT_EQ(q41.d, kHalfZero);
  EXPECT_EQ(q41.m, kHalfZero);
  for (uint8_t v : q41.qs) EXPECT_EQ(v, 0x00);
  const auto q50 = quantize_block<BlockQ5_0>(quantize_row_q5_0, x);  // q = trunc(16.5) = 16
  EXPECT_EQ(q50.d, kHalfNegZero);
  for (uint8_t v : q50.qs) EXPECT_EQ(v, 0x00);
  for (uint8_t v : q50.qh) EXPECT_EQ(v, 0xFF);
  const auto q51 = quantize_block<BlockQ5_1>(quantize_row_q5_1, x);
  for (uint8_t v : q51.qs) EXPECT_EQ(v, 0x00);
  for (uint8_t v : q51.qh) EXPECT_EQ(v, 0x00);
  const auto q80 = quantize_block<BlockQ8_0>(quantize_row_q8_0, x);
  EXPECT_EQ(q80.d, kHalfZero);
  for (int8_t v : q80.qs) EXPECT_EQ(v, 0);
  const auto q81 = quantize_block<BlockQ8_1>(quantize_row_q8_1, x);
  EXPECT_EQ(q81.s, kHalfZero);
}

TEST(QuantLegacy, Q4_1MinOffsetAndTies) {
  // min 1, max 16 => d = 1, m = 1, q = min(15, trunc(x - 1 + 0.5)).
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = 1.0f;
  x[0] = 16.0f;  // 15.5 -> 15
  x[1] = 3.5f;   // 3.0 -> 3 (tie rounds up)
  x[2] = 3.49f;  // 2.99 -> 2
  x[20] = 9.0f;  // 8.5 -> 8
  const auto b = quantize_block<BlockQ4_1>(quantize_row_q4_1, x);
  EXPECT_EQ(b.d, kHalfOne);
  EXPECT_EQ(b.m, kHalfOne);
  EXPECT_EQ(nib(b.qs, 0), 15);
  EXPECT_EQ(nib(b.qs, 1), 3);
  EXPECT_EQ(nib(b.qs, 2), 2);
  EXPECT_EQ(nib(b.qs, 20), 8);
  EXPECT_EQ(nib(b.qs, 31), 0);
  // A constant block: d = 0, every q = trunc(0.5) = 0, m carries the value.
  float c[32];
  for (float& v : c) v = 5.0f;
  const auto k = quantize_block<BlockQ4_1>(quantize_row_q4_1, c);
  EXPECT_EQ(k.d, kHalfZero);
  EXPECT_EQ(k.m, 0x4500);  // 5.0
}

TEST(QuantLegacy, Q5_0HighBitsAndClamp) {
  // max 16 (positive) => d = -1, id = -1, q = min(31, trunc(-x + 16.5)).
  float x[32] = {};
  x[0] = 16.0f;    // 0.5 -> 0
  x[1] = -16.0f;   // 32.5 -> 32 -> 31
  x[2] = -2.5f;    // 19.0 -> 19 (tie rounds up)
  x[17] = 2.5f;    // 14.0 -> 14
  x[31] = -15.0f;  // 31.5 -> 31
  const auto b = quantize_block<BlockQ5_0>(quantize_row_q5_0, x);
  EXPECT_EQ(b.d, kHalfMinusOne);
  auto q5 = [&](int j) { return nib(b.qs, j) | bit(b.qh, j) << 4; };
  EXPECT_EQ(q5(0), 0);
  EXPECT_EQ(q5(1), 31);
  EXPECT_EQ(q5(2), 19);
  EXPECT_EQ(q5(17), 14);
  EXPECT_EQ(q5(31), 31);
  EXPECT_EQ(q5(3), 16);  // zeros map to trunc(16.5) = 16: high bit set, nibble 0
}

TEST(QuantLegacy, Q5_1NoClamp) {
  // min -1, max 30 => d = 1, m = -1, q = trunc(x + 1 + 0.5).
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = float(j) - 1.0f;  // q = j
  x[3] = 1.5f;                                          // 3.0 -> 3
  x[4] = 14.5f;                                         // 16.0 -> 16 (high bit only)
  x[31] = 30.0f;
  const auto b = quantize_block<BlockQ5_1>(quantize_row_q5_1, x);
  EXPECT_EQ(b.d, kHalfOne);
  EXPECT_EQ(b.m, kHalfMinusOne);
  for (int j = 0; j < 32; ++j) {
    const int want = j == 4 ? 16 : j;
    EXPECT_EQ(nib(b.qs, j) | bit(b.qh, j) << 4, want) << "element " << j;
  }
}

TEST(QuantLegacy, Q8_0RoundsHalfAwayFromZero) {
  // amax 127 => d = 1, id = 1; the file quantizer uses roundf.
  float x[32] = {};
  x[0] = -127.0f;
  x[1] = 2.5f;    // 3
  x[2] = -2.5f;   // -3
  x[3] = 0.5f;    // 1
  x[4] = 126.5f;  // 127
  x[5] = 0.49f;   // 0
  const auto b = quantize_block<BlockQ8_0>(quantize_row_q8_0, x);
  EXPECT_EQ(b.d, kHalfOne);
  const int want[6] = {-127, 3, -3, 1, 127, 0};
  for (int j = 0; j < 6; ++j) EXPECT_EQ(b.qs[j], want[j]) << "element " << j;
}

TEST(QuantLegacy, Q8_1StoresScaledSum) {
  // amax 254 => d = 2; q = x / 2 rounded; s = 2 * sum(q).
  float x[32] = {};
  x[0] = 254.0f;    // 127
  x[1] = -5.0f;     // -2.5 -> -3
  x[2] = 3.0f;      // 1.5 -> 2
  x[31] = -100.0f;  // -50
  const auto b = quantize_block<BlockQ8_1>(quantize_row_q8_1, x);
  EXPECT_EQ(b.d, 0x4000);  // 2.0
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], -3);
  EXPECT_EQ(b.qs[2], 2);
  EXPECT_EQ(b.qs[31], -50);
  EXPECT_EQ(fp16_to_fp32(b.s), 2.0f * (127 - 3 + 2 - 50));
}

TEST(QuantLegacy, FloatRowsRoundToNearestEven) {
  const float x[4] = {1.0f + 1.0f / 2048.0f,  // halfway between two halves: even (1.0)
                      1.0f + 3.0f / 2048.0f,  // halfway: even (1 + 2/1024)
                      1.0f + 1.0f / 256.0f,   // bf16 halfway: even (1.0)
                      65520.0f};              // rounds to inf in half
  f16_bits h[4];
  quantize_row_f16(x, h, 4);
  EXPECT_EQ(h[0], 0x3C00);
  EXPECT_EQ(h[1], 0x3C02);
  EXPECT_EQ(h[3], 0x7C00);
  bf16_bits b[4];
  quantize_row_bf16(x, b, 4);
  EXPECT_EQ(b[2], 0x3F80);
  float back[4];
  dequantize_row_bf16(b, back, 4);
  EXPECT_EQ(back[2], 1.0f);
  float y[4];
  quantize_row_f32(x, y, 4);
  EXPECT_EQ(std::memcmp(x, y, sizeof x), 0);
}

// ---- Dequantization of crafted blocks.

TEST(QuantLegacy, DequantizeCraftedBlocks) {
  float y[32];
  BlockQ4_0 a{};
  a.d = 0x4000;  // 2
  for (int j = 0; j < 16; ++j) a.qs[j] = uint8_t(j | (15 - j) << 4);
  dequantize_row_q4_0(&a, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2.0f * float(j - 8));
    EXPECT_EQ(y[j + 16], 2.0f * float(7 - j));
  }
  BlockQ4_1 b{};
  b.d = 0x3800;  // 0.5
  b.m = 0xC200;  // -3
  for (int j = 0; j < 16; ++j) b.qs[j] = uint8_t(j | j << 4);
  dequantize_row_q4_1(&b, y, 32);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(y[j + 16], 0.5f * float(j) - 3.0f);
  BlockQ5_0 c{};
  c.d = kHalfMinusOne;
  const uint32_t qh = 0x80000001u;  // elements 0 and 31 get bit 4
  std::memcpy(c.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) c.qs[j] = 0xF7;  // low nibble 7, high nibble 15
  dequantize_row_q5_0(&c, y, 32);
  EXPECT_EQ(y[0], -float(23 - 16));
  EXPECT_EQ(y[1], -float(7 - 16));
  EXPECT_EQ(y[16], -float(15 - 16));
  EXPECT_EQ(y[31], -float(31 - 16));
  BlockQ5_1 e{};
  e.d = kHalfOne;
  e.m = 0x4400;  // 4
  std::memcpy(e.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) e.qs[j] = 0x21;
  dequantize_row_q5_1(&e, y, 32);
  EXPECT_EQ(y[0], 17.0f + 4.0f);
  EXPECT_EQ(y[1], 1.0f + 4.0f);
  EXPECT_EQ(y[30], 2.0f + 4.0f);
  EXPECT_EQ(y[31], 18.0f + 4.0f);
  BlockQ8_0 f{};
  f.d = 0x3400;  // 0.25
  for (int j = 0; j < 32; ++j) f.qs[j] = int8_t(j * 8 - 128);
  dequantize_row_q8_0(&f, y, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.25f * float(j * 8 - 128));
  BlockQ8_1 g{};
  g.d = 0x3400;
  g.s = 0x7C00;  // not used by dequantization
  std::memcpy(g.qs, f.qs, 32);
  dequantize_row_q8_1(&g, y, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.25f * float(j * 8 - 128));
  const f16_bits h[3] = {0x3C00, 0x0001, 0xFC00};  // 1, smallest subnormal, -inf
  dequantize_row_f16(h, y, 3);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], std::ldexp(1.0f, -24));
  EXPECT_EQ(y[2], -INFINITY);
}

// ---- Round trips on random rows.

// Bound on |x - dequant(quant(x))| for element j of a block with the given stats:
// half a quantization step, the fp16 rounding of d (and m) times the largest |q|, plus the
// extra half step of an element clamped at the top of the range. Slack covers float rounding.
struct RoundTripCase {
  GgmlType type;
  int qmax;  // largest |q - offset| used in reconstruction
  bool has_min;
  float clamp_at;  // |x * id| above which a symmetric type clamps (0: never)
};

double elem_bound(const RoundTripCase& c, const float* blk, int j) {
  const double e16 = std::ldexp(1.0, -11);
  double amax = 0, mn = blk[0], mx = blk[0];
  for (int k = 0; k < 32; ++k) {
    amax = std::max(amax, double(std::fabs(blk[k])));
    mn = std::min(mn, double(blk[k]));
    mx = std::max(mx, double(blk[k]));
  }
  double step, extra = 0;
  if (c.has_min) {
    step = (mx - mn) / c.qmax;
    extra = std::fabs(mn) * e16;
  } else if (c.clamp_at > 0) {  // Q4_0 / Q5_0: d = max / -qmax_neg
    step = amax / (c.clamp_at + 0.5);
    if (std::fabs(blk[j]) / step > c.clamp_at) extra = 0.5 * step;
  } else {
    step = amax / 127;
  }
  return 0.5 * step + c.qmax * step * e16 + extra + 1e-6 * (amax + std::fabs(mn)) + 1e-30;
}

TEST(QuantLegacy, RoundTripErrorBounds) {
  const RoundTripCase cases[] = {
      {GgmlType::Q4_0, 8, false, 7.5f},   {GgmlType::Q4_1, 15, true, 0},
      {GgmlType::Q5_0, 16, false, 15.5f}, {GgmlType::Q5_1, 31, true, 0},
      {GgmlType::Q8_0, 127, false, 0},    {GgmlType::Q8_1, 127, false, 0},
  };
  std::mt19937 rng(1234);
  for (const auto& c : cases) {
    const TypeTraits* tr = type_traits(c.type);
    ASSERT_TRUE(tr && tr->quantize_row && tr->dequantize_row);
    for (float scale : {1e-2f, 1.0f, 300.0f}) {
      const int64_t n = 32 * 64;
      std::vector<float> x(n), y(n);
      std::normal_distribution<float> nd(0.5f, scale);
      for (auto& v : x) v = nd(rng);
      std::vector<uint8_t> q(row_bytes(c.type, n));
      tr->quantize_row(x.data(), q.data(), n);
      tr->dequantize_row(q.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const double bound = elem_bound(c, &x[i / 32 * 32], int(i % 32));
        ASSERT_LE(std::fabs(double(x[i]) - y[i]), bound)
            << layout_of(c.type).name << " scale " << scale << " element " << i;
      }
    }
  }
}

TEST(QuantLegacy, FloatRoundTrips) {
  std::mt19937 rng(99);
  std::normal_distribution<float> nd(0.0f, 10.0f);
  std::vector<float> x(1000), y(1000);
  for (auto& v : x) v = nd(rng);
  std::vector<uint16_t> h(1000);
  quantize_row_f16(x.data(), h.data(), 1000);
  dequantize_row_f16(h.data(), y.data(), 1000);
  for (int i = 0; i < 1000; ++i)
    EXPECT_LE(std::fabs(x[i] - y[i]), std::ldexp(std::fabs(x[i]), -11) + 0x1p-25f);
  quantize_row_bf16(x.data(), h.data(), 1000);
  dequantize_row_bf16(h.data(), y.data(), 1000);
  for (int i = 0; i < 1000; ++i) EXPECT_LE(std::fabs(x[i] - y[i]), std::ldexp(std::fabs(x[i]), -8));
  std::vector<float> z(1000);
  quantize_row_f32(x.data(), z.data(), 1000);
  dequantize_row_f32(z.data(), y.data(), 1000);
  EXPECT_EQ(x, y);
}

}  // namespace
}  // namespace trident
