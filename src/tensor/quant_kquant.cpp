// K-quant row converters: dequantization of Q2_K..Q6_K and Q8_K, and the Q8_K activation
// quantizer. The weight quantizers (quantize_row_q2_K..q6_K) are in quant_kquant_ref.cpp.
//
// Element order inside a 256-element super-block, as ggml defines it:
//   Q4_K / Q5_K: qs[32 c + l] holds element 64 c + l (low nibble) and 64 c + 32 + l (high).
//   Q2_K / Q3_K: qs[32 h + l] holds elements 128 h + 32 s + l in bits 2 s..2 s + 1, s = 0..3.
//   Q6_K: ql[64 h + l] holds 128 h + l (low) / 128 h + 64 + l (high nibble),
//         ql[64 h + 32 + l] holds 128 h + 32 + l / 128 h + 96 + l, and qh[32 h + l] holds
//         the top 2 bits of 128 h + 32 s + l in bits 2 s..2 s + 1.
// Every dequantizer evaluates the same float expression as ggml's dequantize_row_*, so the
// results are bit-identical to ggml's.
#include <cmath>
#include <cstring>

#include "format/error.h"
#include "tensor/blocks.h"
#include "tensor/quant_fns.h"
#include "tensor/quant_kquant_internal.h"

namespace trident {
namespace {

int64_t super_blocks(int64_t n, const char* what) {
  if (n < 0 || n % QK_K != 0) fail("{}: row length {} is not a multiple of {}", what, n, QK_K);
  return n / QK_K;
}

}  // namespace

void dequantize_row_q2_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ2_K*>(src);
  for (int64_t i = 0, nb = super_blocks(n, "dequantize_row_q2_K"); i < nb; ++i, ++b) {
    const float d = fp16_to_fp32(b->d), dmin = fp16_to_fp32(b->dmin);
    for (int e = 0; e < QK_K; ++e) {
      const int half = e / 128, shift = 2 * ((e % 128) / 32), l = e % 32;
      const uint8_t sc = b->scales[e / 16];
      const int q = (b->qs[32 * half + l] >> shift) & 3;
      *dst++ = d * float(sc & 0x0f) * float(q) - dmin * float(sc >> 4);
    }
  }
}

void dequantize_row_q3_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ3_K*>(src);
  for (int64_t i = 0, nb = super_blocks(n, "dequantize_row_q3_K"); i < nb; ++i, ++b) {
    const float d = fp16_to_fp32(b->d);
    int8_t sc[16];
    unpack_scales_q3k(b->scales, sc);
    for (int e = 0; e < QK_K; ++e) {
      const int half = e / 128, s = (e % 128) / 32, l = e % 32;
      const int lo = (b->qs[32 * half + l] >> (2 * s)) & 3;
      const bool high = (b->hmask[l] >> (4 * half + s)) & 1;  // set: no -4 offset
      const float dl = d * float(sc[e / 16]);
      *dst++ = dl * float(lo - (high ? 0 : 4));
    }
  }
}

void dequantize_row_q4_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_K*>(src);
  for (int64_t i = 0, nb = super_blocks(n, "dequantize_row_q4_K"); i < nb; ++i, ++b) {
    const float d = fp16_to_fp32(b->d), dmin = fp16_to_fp32(b->dmin);
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(b->scales, sc, mn);
    for (int e = 0; e < QK_K; ++e) {
      const int sub = e / 32, l = e % 32;
      const uint8_t byte = b->qs[32 * (sub / 2) + l];
      const int q = sub % 2 ? byte >> 4 : byte & 0x0f;
      *dst++ = d * float(sc[sub]) * float(q) - dmin * float(mn[sub]);
    }
  }
}

void dequantize_row_q5_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_K*>(src);
  for (int64_t i = 0, nb = super_blocks(n, "dequantize_row_q5_K"); i < nb; ++i, ++b) {
    const float d = fp16_to_fp32(b->d), dmin = fp16_to_fp32(b->dmin);
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(b->scales, sc, mn);
    for (int e = 0; e < QK_K; ++e) {
      const int sub = e / 32, l = e % 32;
      const uint8_t byte = b->qs[32 * (sub / 2) + l];
      const int q = (sub % 2 ? byte >> 4 : byte & 0x0f) + (((b->qh[l] >> sub) & 1) << 4);
      *dst++ = d * float(sc[sub]) * float(q) - dmin * float(mn[sub]);
    }
  }
}

void dequantize_row_q6_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(src);
  for (int64_t i = 0, nb = super_blocks(n, "dequantize_row_q6_K"); i < nb; ++i, ++b) {
    const float d = fp16_to_fp32(b->d);
    for (int e = 0; e < QK_K; ++e) {
      const int half = e / 128, s = (e % 128) / 32, l = e % 32;
      const uint8_t lo_byte = b->ql[64 * half + 32 * (s % 2) + l];
      const int lo = s < 2 ? lo_byte & 0x0f : lo_byte >> 4;
      const int hi = (b->qh[32 * half + l] >> (2 * s)) & 3;
      *dst++ = d * float(b->scales[e / 16]) * float((lo | (hi << 4)) - 32);
    }
  }
}

void dequantize_row_q8_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0, nb = super_blocks(n, "dequantize_row_q8_K"); i < nb; ++i, ++b)
    for (int e = 0; e < QK_K; ++e) *dst++ = b->d * float(b->qs[e]);
}

// ggml's quantize_row_q8_K_ref, which is also what ggml runs for activations on x86:
// the element of largest magnitude (the first one on ties) maps to -127, so
// iscale = -127 / max and d = 1 / iscale; bsums[k] = sum of qs[16 k .. 16 k + 15].
// An all-zero block gets d = 0 and zero quants (ggml leaves its bsums unwritten; they are
// zeroed here).
void quantize_row_q8_K(const float* src, void* dst, int64_t n) {
  // Each block is built in an aligned local and copied out: dst may be misaligned for a float
  // member (undefined behaviour to write through a BlockQ8_K* there).
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0, nb = super_blocks(n, "quantize_row_q8_K"); i < nb; ++i, out += sizeof(BlockQ8_K), src += QK_K) {
    BlockQ8_K block;
    BlockQ8_K* b = &block;
    float max = 0, amax = 0;
    for (int e = 0; e < QK_K; ++e) {
      const float a = std::fabs(src[e]);
      if (a > amax) {
        amax = a;
        max = src[e];
      }
    }
    if (amax == 0) {
      std::memset(out, 0, sizeof(BlockQ8_K));
      continue;
    }
    const float iscale = -127.f / max;
    for (int e = 0; e < QK_K; ++e) {
      const int v = nearest_int(iscale * src[e]);
      b->qs[e] = int8_t(v < 127 ? v : 127);
    }
    for (int k = 0; k < QK_K / 16; ++k) {
      int sum = 0;
      for (int e = 0; e < 16; ++e) sum += b->qs[16 * k + e];
      b->bsums[k] = int16_t(sum);
    }
    b->d = 1 / iscale;
    std::memcpy(out, b, sizeof(BlockQ8_K));
  }
}

}  // namespace trident
