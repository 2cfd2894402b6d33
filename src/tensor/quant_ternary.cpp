// Row converters of the ternary types TQ1_0 and TQ2_0 (BitNet b1.58 / TriLM weights,
// x = d * (t - 1)), bit-exact with llama.cpp 3f545bec's quantize_row_tq*_ref and
// dequantize_row_tq*: d is the block's absmax, each element rounded (half away from zero) to
// -1, 0 or +1 of it.
//
// TQ1_0 element order: bytes qs[0..31] hold elements 32 n + m (byte m, trit n < 5, the most
// significant trit first), qs[32..47] elements 160 + 16 n + m, and qh[0..3] elements
// 240 + 4 n + j. A byte holds its trits as v = sum t_n 3^(4 - n) scaled to ceil(v * 256 / 243),
// so trit n is the top "digit" of (byte * 3^n mod 256) times 3: ((byte * 3^n) % 256 * 3) >> 8.
#include <cmath>

#include "tensor/quant_fns.h"
#include "tensor/ternary.h"

namespace trident {
namespace {

constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};

int trit_of(uint8_t byte, int n) { return (uint8_t(byte * kPow3[n]) * 3) >> 8; }
// Five (qh: four, then a zero) trits, most significant first -> one byte. v wraps at 8 bits as
// llama.cpp's does, which only matters for the out-of-range "trits" of NaN inputs.
uint8_t pack_trits(const uint8_t* t, int count, int stride) {
  uint8_t v = 0;
  for (int n = 0; n < 5; ++n) v = uint8_t(v * 3 + (n < count ? t[n * stride] : 0));
  return uint8_t((v * 256 + 242) / 243);
}

// The block's scale d = absmax and the trits of x rounded at 1 / d.
f16_bits ternarize(const float* x, uint8_t* t) {
  float amax = 0.0f;
  for (int j = 0; j < QK_K; ++j) amax = amax > std::fabs(x[j]) ? amax : std::fabs(x[j]);
  const float id = amax != 0.0f ? 1.0f / amax : 0.0f;
  for (int j = 0; j < QK_K; ++j) t[j] = uint8_t(std::lround(x[j] * id) + 1);
  return fp32_to_fp16(amax);
}

}  // namespace

void tq1_0_trits(const BlockTQ1_0& b, uint8_t* t) {
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 32; ++m) t[32 * n + m] = uint8_t(trit_of(b.qs[m], n));
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 16; ++m) t[160 + 16 * n + m] = uint8_t(trit_of(b.qs[32 + m], n));
  for (int n = 0; n < 4; ++n)
    for (int j = 0; j < 4; ++j) t[240 + 4 * n + j] = uint8_t(trit_of(b.qh[j], n));
}

void tq1_0_from_trits(const uint8_t* t, f16_bits d, BlockTQ1_0& b) {
  for (int m = 0; m < 32; ++m) b.qs[m] = pack_trits(t + m, 5, 32);
  for (int m = 0; m < 16; ++m) b.qs[32 + m] = pack_trits(t + 160 + m, 5, 16);
  for (int j = 0; j < 4; ++j) b.qh[j] = pack_trits(t + 240 + j, 4, 4);
  b.d = d;
}

void tq2_0_trits(const BlockTQ2_0& b, uint8_t* t) {
  for (int e = 0; e < QK_K; ++e) t[e] = (b.qs[32 * (e / 128) + e % 32] >> 2 * (e % 128 / 32)) & 3;
}

void tq2_0_from_trits(const uint8_t* t, f16_bits d, BlockTQ2_0& b) {
  for (int i = 0; i < QK_K / 4; ++i) {
    const uint8_t* c = t + 128 * (i / 32) + i % 32;
    b.qs[i] = uint8_t((c[0] & 3) | (c[32] & 3) << 2 | (c[64] & 3) << 4 | (c[96] & 3) << 6);
  }
  b.d = d;
}

void dequantize_row_tq1_0(const void* src, float* y, int64_t n) {
  const auto* b = static_cast<const BlockTQ1_0*>(src);
  uint8_t t[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, y += QK_K) {
    tq1_0_trits(*b, t);
    const float d = fp16_to_fp32(b->d);
    for (int e = 0; e < QK_K; ++e) y[e] = float(int(t[e]) - 1) * d;
  }
}

void quantize_row_tq1_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockTQ1_0*>(dst);
  uint8_t t[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, x += QK_K) tq1_0_from_trits(t, ternarize(x, t), *b);
}

void dequantize_row_tq2_0(const void* src, float* y, int64_t n) {
  const auto* b = static_cast<const BlockTQ2_0*>(src);
  uint8_t t[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, y += QK_K) {
    tq2_0_trits(*b, t);
    const float d = fp16_to_fp32(b->d);
    for (int e = 0; e < QK_K; ++e) y[e] = float(int(t[e]) - 1) * d;
  }
}

void quantize_row_tq2_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockTQ2_0*>(dst);
  uint8_t t[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, x += QK_K) tq2_0_from_trits(t, ternarize(x, t), *b);
}

}  // namespace trident
