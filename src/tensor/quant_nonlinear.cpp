// Row converters of the codebook types: IQ4_NL, IQ4_XS (16-level non-uniform grid) and the
// FP4 types MXFP4, NVFP4 (E2M1 values with an E8M0 / UE4M3 scale). Tables in codebooks.h.
//
// Dequantization is bit-exact with llama.cpp 3f545bec (one float product per element, in the
// order ggml writes it). The quantizers follow llama.cpp's algorithms operation by operation so
// that, without an importance matrix, they write the bytes llama-quantize writes: for IQ4_NL and
// IQ4_XS that is quantize_iq4_nl / quantize_iq4_xs (a scale search over 15 candidates per
// block), not ggml's single-candidate quantize_row_iq4_nl_ref; MXFP4 and NVFP4 have one
// quantizer each.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/codebooks.h"
#include "tensor/quant_fns.h"
#include "tensor/types.h"
#include "tensor/quant_kquant_internal.h"

namespace trident {
namespace {

// Index of the codebook level nearest to v (values ascending), the lower one on a tie — found
// by bisection, as llama.cpp's best_index_int8 does, so that ties and NaN resolve alike.
int nearest_level(const int8_t* values, float v) {
  if (v <= values[0]) return 0;
  if (v >= values[15]) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (v < values[mid])
      hi = mid;
    else
      lo = mid;
  }
  return v - values[hi - 1] < values[hi] - v ? hi - 1 : hi;
}

// One IQ4 super-block of n_sub sub-blocks of 32 (IQ4_NL: n_sub = 1, IQ4_XS: 8), weights w
// (imatrix, nullptr: x^2) and 7 trial scales either side of the first guess. Writes the fp16
// scale d, the nibbles q4 [16 * n_sub], and for IQ4_XS the 6-bit sub-block scales.
void quantize_iq4_block(const float* x, int n_sub, const float* qw, f16_bits* d_out, uint8_t* q4,
                        uint16_t* scales_h, uint8_t* scales_l) {
  constexpr int kTries = 7;
  const int8_t* values = kIQ4NLValues;
  const int n = 32 * n_sub;
  float sigma2 = 0;
  for (int j = 0; j < n; ++j) sigma2 += x[j] * x[j];
  sigma2 *= 2.f / float(n);
  uint8_t L[QK_K];
  float scales[QK_K / 32], weight[32];
  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < n_sub; ++ib) {
    const float* xb = x + 32 * ib;
    uint8_t* Lb = L + 32 * ib;
    for (int j = 0; j < 32; ++j) weight[j] = qw ? qw[32 * ib + j] * std::sqrt(sigma2 + xb[j] * xb[j]) : xb[j] * xb[j];
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j)
      if (std::fabs(xb[j]) > amax) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    if (amax < 1e-15f) {  // GROUP_MAX_EPS
      scales[ib] = 0;
      continue;
    }
    // Fit d to the levels chosen with scale `id`: returns sum w q x and sum w q^2.
    auto fit = [&](float id, float& sumqx, float& sumq2, bool keep) {
      sumqx = sumq2 = 0;
      for (int j = 0; j < 32; ++j) {
        const int l = nearest_level(values, id * xb[j]);
        if (keep) Lb[j] = uint8_t(l);
        const float q = values[l], w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
      }
    };
    float sumqx, sumq2;
    fit(1 / (-max / values[0]), sumqx, sumq2, true);
    float d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -kTries; itry <= kTries; ++itry) {
      fit(float(itry + values[0]) / max, sumqx, sumq2, false);
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    scales[ib] = d;
    if (std::fabs(d) > amax_scale) {
      amax_scale = std::fabs(d);
      max_scale = d;
    }
  }
  if (n_sub > 1) {
    *scales_h = 0;
    const float d = -max_scale / 32;
    *d_out = fp32_to_fp16(d);
    const float id = d != 0 ? 1 / d : 0.f;
    for (int ib = 0; ib < n_sub; ++ib) {
      int l = nearest_int(id * scales[ib]);
      l = l < -32 ? -32 : l > 31 ? 31 : l;
      const float dl = d * float(l);
      const float idl = dl != 0 ? 1 / dl : 0.f;
      for (int j = 0; j < 32; ++j) L[32 * ib + j] = uint8_t(nearest_level(values, idl * x[32 * ib + j]));
      l += 32;
      if (ib % 2 == 0)
        scales_l[ib / 2] = uint8_t(l & 0xF);
      else
        scales_l[ib / 2] |= uint8_t((l & 0xF) << 4);
      *scales_h = uint16_t(*scales_h | (l >> 4) << 2 * ib);
    }
  } else {
    *d_out = fp32_to_fp16(scales[0]);
    const float id = scales[0] != 0 ? 1 / scales[0] : 0.f;
    for (int j = 0; j < 32; ++j) L[j] = uint8_t(nearest_level(values, id * x[j]));
  }
  for (int i = 0; i < n_sub; ++i)
    for (int j = 0; j < 16; ++j) q4[16 * i + j] = uint8_t(L[32 * i + j] | L[32 * i + 16 + j] << 4);
}

// Index of the E2M1 level nearest to x at scale d: a linear search, first minimum wins.
int nearest_fp4(float x, float d) {
  int best = 0;
  float best_err = std::fabs(float(kFP4Values[0]) * d - x);
  for (int i = 1; i < 16; ++i) {
    const float err = std::fabs(float(kFP4Values[i]) * d - x);
    if (err < best_err) {
      best = i;
      best_err = err;
    }
  }
  return best;
}

// 32 (MXFP4) or 16 (NVFP4) elements at scale d -> n / 2 bytes, element j in the low nibble of
// byte j, j + n / 2 in the high one.
void encode_fp4(const float* x, int n, float d, uint8_t* qs) {
  for (int j = 0; j < n / 2; ++j) qs[j] = uint8_t(nearest_fp4(x[j], d) | nearest_fp4(x[j + n / 2], d) << 4);
}
void decode_fp4(const uint8_t* qs, int n, float d, float* y) {
  for (int j = 0; j < n / 2; ++j) {
    y[j] = float(kFP4Values[qs[j] & 0xF]) * d;
    y[j + n / 2] = float(kFP4Values[qs[j] >> 4]) * d;
  }
}

float absmax(const float* x, int n) {
  float amax = 0.0f;
  for (int j = 0; j < n; ++j)
    if (amax < std::fabs(x[j])) amax = std::fabs(x[j]);
  return amax;
}

}  // namespace

void dequantize_row_iq4_nl(const void* src, float* y, int64_t n) {
  const auto* b = static_cast<const BlockIQ4_NL*>(src);
  for (int64_t i = 0; i < n / QK4_NL; ++i, ++b, y += QK4_NL) {
    const float d = fp16_to_fp32(b->d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * float(kIQ4NLValues[b->qs[j] & 0xF]);
      y[j + 16] = d * float(kIQ4NLValues[b->qs[j] >> 4]);
    }
  }
}

void quantize_row_iq4_nl(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockIQ4_NL*>(dst);
  for (int64_t i = 0; i < n / QK4_NL; ++i, ++b, x += QK4_NL) quantize_iq4_block(x, 1, nullptr, &b->d, b->qs, nullptr, nullptr);
}

void dequantize_row_iq4_xs(const void* src, float* y, int64_t n) {
  const auto* b = static_cast<const BlockIQ4_XS*>(src);
  for (int64_t i = 0; i < n / QK_K; ++i, ++b) {
    const float d = fp16_to_fp32(b->d);
    for (int ib = 0; ib < QK_K / 32; ++ib, y += 32) {
      const int ls = ((b->scales_l[ib / 2] >> 4 * (ib % 2)) & 0xF) | ((b->scales_h >> 2 * ib) & 3) << 4;
      const float dl = d * float(ls - 32);
      const uint8_t* qs = b->qs + 16 * ib;
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * float(kIQ4NLValues[qs[j] & 0xF]);
        y[j + 16] = dl * float(kIQ4NLValues[qs[j] >> 4]);
      }
    }
  }
}

void quantize_row_iq4_xs(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockIQ4_XS*>(dst);
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, x += QK_K)
    quantize_iq4_block(x, QK_K / 32, nullptr, &b->d, b->qs, &b->scales_h, b->scales_l);
}

// ggml's quantize_iq4_nl / quantize_iq4_xs: each block weighted by its slice of the importance matrix.
size_t quantize_iq4_nl(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  auto* b = static_cast<BlockIQ4_NL*>(dst);
  for (int64_t r = 0; r < nrow; ++r)
    for (int64_t i = 0; i < n / QK4_NL; ++i, ++b, src += QK4_NL)
      quantize_iq4_block(src, 1, qw ? qw + QK4_NL * i : nullptr, &b->d, b->qs, nullptr, nullptr);
  return size_t(nrow) * row_bytes(GgmlType::IQ4_NL, n);
}

size_t quantize_iq4_xs(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  auto* b = static_cast<BlockIQ4_XS*>(dst);
  for (int64_t r = 0; r < nrow; ++r)
    for (int64_t i = 0; i < n / QK_K; ++i, ++b, src += QK_K)
      quantize_iq4_block(src, QK_K / 32, qw ? qw + QK_K * i : nullptr, &b->d, b->qs, &b->scales_h, b->scales_l);
  return size_t(nrow) * row_bytes(GgmlType::IQ4_XS, n);
}

void dequantize_row_mxfp4(const void* src, float* y, int64_t n) {
  const auto* b = static_cast<const BlockMXFP4*>(src);
  for (int64_t i = 0; i < n / QK_MXFP4; ++i, ++b, y += QK_MXFP4) decode_fp4(b->qs, QK_MXFP4, e8m0_half_to_fp32(b->e), y);
}

void quantize_row_mxfp4(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockMXFP4*>(dst);
  for (int64_t i = 0; i < n / QK_MXFP4; ++i, ++b, x += QK_MXFP4) {
    const float amax = absmax(x, QK_MXFP4);
    // The exponent that puts amax in [4, 8) times 2^(e - 127), i.e. in E2M1's top binade. ggml
    // converts with a C cast; as x86 does, the low byte of the truncated int32 is kept (tiny
    // amax wraps) and an infinite amax gives INT32_MIN's low byte, 0.
    const float e = amax > 0.0f ? std::floor(std::log2(amax)) - 2 + 127 : 0.0f;
    b->e = uint8_t(e < 2147483648.0f ? int32_t(e) : INT32_MIN);
    encode_fp4(x, QK_MXFP4, e8m0_half_to_fp32(b->e), b->qs);
  }
}

void dequantize_row_nvfp4(const void* src, float* y, int64_t n) {
  const auto* b = static_cast<const BlockNVFP4*>(src);
  for (int64_t i = 0; i < n / QK_NVFP4; ++i, ++b)
    for (int s = 0; s < QK_NVFP4 / QK_NVFP4_SUB; ++s, y += QK_NVFP4_SUB)
      decode_fp4(b->qs + 8 * s, QK_NVFP4_SUB, ue4m3_half_to_fp32(b->d[s]), y);
}

void quantize_row_nvfp4(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockNVFP4*>(dst);
  for (int64_t i = 0; i < n / QK_NVFP4; ++i, ++b)
    for (int s = 0; s < QK_NVFP4 / QK_NVFP4_SUB; ++s, x += QK_NVFP4_SUB) {
      // 6 is E2M1's largest value: the scale maps it to the sub-block's absmax.
      b->d[s] = fp32_to_ue4m3(absmax(x, QK_NVFP4_SUB) / 6.0f);
      encode_fp4(x, QK_NVFP4_SUB, ue4m3_half_to_fp32(b->d[s]), b->qs + 8 * s);
    }
}

}  // namespace trident
