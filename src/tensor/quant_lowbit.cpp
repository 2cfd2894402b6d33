// Row converters of Q1_0 (signs and the block's mean |x|) and Q2_0 (2-bit levels -1..2 of the
// block's absmax), bit-exact with llama.cpp 3f545bec's quantize_row_q{1,2}_0_ref and
// dequantize_row_q{1,2}_0.
#include <cmath>
#include <cstdint>

#include "tensor/blocks.h"
#include "tensor/quant_fns.h"

namespace trident {

void dequantize_row_q1_0(const void* src, float* y, int64_t n) {
  const auto* b = static_cast<const BlockQ1_0*>(src);
  for (int64_t i = 0; i < n / QK1_0; ++i, ++b, y += QK1_0) {
    const float d = fp16_to_fp32(b->d);
    for (int j = 0; j < QK1_0; ++j) y[j] = (b->qs[j / 8] >> j % 8) & 1 ? d : -d;
  }
}

void quantize_row_q1_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ1_0*>(dst);
  for (int64_t i = 0; i < n / QK1_0; ++i, ++b, x += QK1_0) {
    float sum_abs = 0.0f;
    for (int j = 0; j < QK1_0; ++j) sum_abs += std::fabs(x[j]);
    b->d = fp32_to_fp16(sum_abs / QK1_0);
    for (int j = 0; j < QK1_0 / 8; ++j) b->qs[j] = 0;
    for (int j = 0; j < QK1_0; ++j)
      if (x[j] >= 0.0f) b->qs[j / 8] = uint8_t(b->qs[j / 8] | 1 << j % 8);
  }
}

void dequantize_row_q2_0(const void* src, float* y, int64_t n) {
  const auto* b = static_cast<const BlockQ2_0*>(src);
  for (int64_t i = 0; i < n / QK2_0; ++i, ++b, y += QK2_0) {
    const float d = fp16_to_fp32(b->d);
    for (int j = 0; j < QK2_0; ++j) y[j] = float(((b->qs[j / 4] >> 2 * (j % 4)) & 3) - 1) * d;
  }
}

void quantize_row_q2_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ2_0*>(dst);
  for (int64_t i = 0; i < n / QK2_0; ++i, ++b, x += QK2_0) {
    float amax = 0.0f;
    for (int j = 0; j < QK2_0; ++j)
      if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]);
    const float id = amax > 0.0f ? 1.0f / amax : 0.0f;
    b->d = fp32_to_fp16(amax);
    for (int j = 0; j < QK2_0 / 4; ++j) b->qs[j] = 0;
    for (int j = 0; j < QK2_0; ++j) {
      // ggml converts roundf's result with a C cast; x86 gives INT32_MIN for NaN, clamped to 0.
      const float r = std::round(x[j] * id);
      int q = (r > -2147483904.0f && r < 2147483648.0f ? int(r) : INT32_MIN) + 1;
      q = q < 0 ? 0 : q > 3 ? 3 : q;
      b->qs[j / 4] = uint8_t(b->qs[j / 4] | q << 2 * (j % 4));
    }
  }
}

}  // namespace trident
