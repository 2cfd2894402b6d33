// Row converters of the float types and the 32-element "legacy" quants.
// The quantizers are bit-exact with ggml's *_ref quantizers (ggml-quants.c), which is what
// llama-quantize writes without an importance matrix. Where ggml converts a float to a small
// integer with a plain C cast, x86 truncates through a 32-bit integer (cvttss2si: NaN and
// out-of-range give INT32_MIN) and keeps the low byte; trunc_to_i32 spells that out so the
// same bits come out even for inputs the C cast leaves undefined.
#include <cfloat>
#include <cmath>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/quant_fns.h"

namespace trident {
namespace {

int32_t trunc_to_i32(float v) {
  if (v > -2147483904.0f && v < 2147483648.0f) return int32_t(v);  // C++ truncates toward 0
  return INT32_MIN;
}
int8_t trunc_to_i8(float v) { return int8_t(trunc_to_i32(v)); }  // modular narrowing

// Element of largest magnitude, first one on ties; 0 for an all-zero block.
float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  return max;
}

void min_max(const float* x, int n, float& min, float& max) {
  min = FLT_MAX;
  max = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
}

float absmax(const float* x, int n) {
  float amax = 0.0f;
  for (int j = 0; j < n; ++j) amax = amax > std::fabs(x[j]) ? amax : std::fabs(x[j]);
  return amax;
}

uint32_t load_qh(const uint8_t* qh) {
  uint32_t v;
  std::memcpy(&v, qh, 4);
  return v;
}
void store_qh(uint8_t* qh, uint32_t v) { std::memcpy(qh, &v, 4); }

// Element j of a 4-bit block: low nibble of qs[j] for j < 16, high nibble of qs[j - 16].
int nibble(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 0x0F : qs[j - 16] >> 4; }

}  // namespace

void dequantize_row_f32(const void* src, float* dst, int64_t n) {
  std::memcpy(dst, src, size_t(n) * sizeof(float));
}
void quantize_row_f32(const float* src, void* dst, int64_t n) {
  std::memcpy(dst, src, size_t(n) * sizeof(float));
}

void dequantize_row_f16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const f16_bits*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
}
void quantize_row_f16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<f16_bits*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}

void dequantize_row_bf16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const bf16_bits*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
}
void quantize_row_bf16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<bf16_bits*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
}

// ---- Q4_0: x = d * (q - 8); d = (signed absmax) / -8, so that element maps to q = 0.
void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / QK4_0; ++i, dst += QK4_0) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < QK4_0; ++j) dst[j] = float(nibble(b[i].qs, j) - 8) * d;
  }
}
void quantize_row_q4_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / QK4_0; ++i, src += QK4_0) {
    const float d = signed_absmax(src, QK4_0) / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
      const uint8_t lo = uint8_t(std::min<int>(15, trunc_to_i8(src[j] * id + 8.5f)));
      const uint8_t hi = uint8_t(std::min<int>(15, trunc_to_i8(src[j + 16] * id + 8.5f)));
      b[i].qs[j] = uint8_t(lo | (hi << 4));
    }
  }
}

// ---- Q4_1: x = d * q + m; m = block min, d = (max - min) / 15.
void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < n / QK4_1; ++i, dst += QK4_1) {
    const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
    for (int j = 0; j < QK4_1; ++j) dst[j] = float(nibble(b[i].qs, j)) * d + m;
  }
}
void quantize_row_q4_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_1*>(dst);
  for (int64_t i = 0; i < n / QK4_1; ++i, src += QK4_1) {
    float min, max;
    min_max(src, QK4_1, min, max);
    const float d = (max - min) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    b[i].m = fp32_to_fp16(min);
    for (int j = 0; j < QK4_1 / 2; ++j) {
      const uint8_t lo = uint8_t(std::min<int>(15, trunc_to_i8((src[j] - min) * id + 0.5f)));
      const uint8_t hi = uint8_t(std::min<int>(15, trunc_to_i8((src[j + 16] - min) * id + 0.5f)));
      b[i].qs[j] = uint8_t(lo | (hi << 4));
    }
  }
}

// ---- Q5_0: x = d * (q - 16), q = nibble | (qh bit j) << 4; d = (signed absmax) / -16.
void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < n / QK5_0; ++i, dst += QK5_0) {
    const float d = fp16_to_fp32(b[i].d);
    const uint32_t qh = load_qh(b[i].qh);
    for (int j = 0; j < QK5_0; ++j) {
      const int q = nibble(b[i].qs, j) | int((qh >> j) & 1) << 4;
      dst[j] = float(q - 16) * d;
    }
  }
}
void quantize_row_q5_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_0*>(dst);
  for (int64_t i = 0; i < n / QK5_0; ++i, src += QK5_0) {
    const float d = signed_absmax(src, QK5_0) / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_0 / 2; ++j) {
      const uint8_t lo = uint8_t(std::min<int>(31, trunc_to_i8(src[j] * id + 16.5f)));
      const uint8_t hi = uint8_t(std::min<int>(31, trunc_to_i8(src[j + 16] * id + 16.5f)));
      b[i].qs[j] = uint8_t((lo & 0x0F) | ((hi & 0x0F) << 4));
      qh |= uint32_t((lo >> 4) & 1) << j;
      qh |= uint32_t((hi >> 4) & 1) << (j + 16);
    }
    store_qh(b[i].qh, qh);
  }
}

// ---- Q5_1: x = d * q + m, q in 0..31; d = (max - min) / 31. ggml does not clamp here.
void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < n / QK5_1; ++i, dst += QK5_1) {
    const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
    const uint32_t qh = load_qh(b[i].qh);
    for (int j = 0; j < QK5_1; ++j) {
      const int q = nibble(b[i].qs, j) | int((qh >> j) & 1) << 4;
      dst[j] = float(q) * d + m;
    }
  }
}
void quantize_row_q5_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_1*>(dst);
  for (int64_t i = 0; i < n / QK5_1; ++i, src += QK5_1) {
    float min, max;
    min_max(src, QK5_1, min, max);
    const float d = (max - min) / 31;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    b[i].m = fp32_to_fp16(min);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_1 / 2; ++j) {
      const uint8_t lo = uint8_t(trunc_to_i32((src[j] - min) * id + 0.5f));
      const uint8_t hi = uint8_t(trunc_to_i32((src[j + 16] - min) * id + 0.5f));
      b[i].qs[j] = uint8_t((lo & 0x0F) | ((hi & 0x0F) << 4));
      qh |= uint32_t((lo >> 4) & 1) << j;
      qh |= uint32_t((hi >> 4) & 1) << (j + 16);
    }
    store_qh(b[i].qh, qh);
  }
}

// ---- Q8_0: x = d * q; d = absmax / 127, q = roundf(x / d) (half away from zero).
void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / QK8_0; ++i, dst += QK8_0) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < QK8_0; ++j) dst[j] = float(b[i].qs[j]) * d;
  }
}
void quantize_row_q8_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / QK8_0; ++i, src += QK8_0) {
    const float d = absmax(src, QK8_0) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    for (int j = 0; j < QK8_0; ++j) b[i].qs[j] = trunc_to_i8(std::round(src[j] * id));
  }
}

// ---- Q8_1: as Q8_0, plus s = d * sum(q) (d before its rounding to fp16).
void dequantize_row_q8_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_1*>(src);
  for (int64_t i = 0; i < n / QK8_1; ++i, dst += QK8_1) {
    const float d = fp16_to_fp32(b[i].d);
    for (int j = 0; j < QK8_1; ++j) dst[j] = float(b[i].qs[j]) * d;
  }
}
void quantize_row_q8_1(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / QK8_1; ++i, src += QK8_1) {
    const float d = absmax(src, QK8_1) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = fp32_to_fp16(d);
    int sum = 0;
    for (int j = 0; j < QK8_1; ++j) {
      b[i].qs[j] = trunc_to_i8(std::round(src[j] * id));
      sum += b[i].qs[j];
    }
    b[i].s = fp32_to_fp16(float(sum) * d);
  }
}

}  // namespace trident
