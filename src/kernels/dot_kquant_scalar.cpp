// Reference dot products of K-quant weight rows with Q8_K activation rows, and the Q8_K
// activation quantizer entry.
//
// w: n / 256 weight super-blocks; x: n / 256 BlockQ8_K with consistent bsums; n % 256 == 0.
// Per super-block the products are exact integers:
//   isum  = sum over sub-blocks j of scale_j * sum_{i in j} q_i * x.qs_i
//   summs = sum over sub-blocks j of min_j * (sum of x.qs over j, from x.bsums)
// and the block contributes (x.d * w.d) * isum - (x.d * w.dmin) * summs (just
// (x.d * w.d) * isum for the types without mins), accumulated in float in block order. Only
// the float steps round, which is what the row-wise SIMD kernels' tolerance against this
// reference is derived from (tests/kquant_test.cpp). The packed kernels (every K-quant) keep
// this exact schedule, so they equal it bit for bit; their reference here unpacks each row
// of the group and calls the dot above.
#include "kernels/dot_register.h"
#include "kernels/packed_by_rows.h"
#include "tensor/blocks.h"
#include "tensor/repack.h"
#include "tensor/quant_fns.h"
#include "tensor/quant_kquant_internal.h"

namespace trident {
namespace {

// sum of x.qs over elements [first, first + count), count a multiple of 16.
int bsum_range(const BlockQ8_K& x, int first, int count) {
  int s = 0;
  for (int k = first / 16; k < (first + count) / 16; ++k) s += x.bsums[k];
  return s;
}

float block_sum(float d_w, float dmin_w, const BlockQ8_K& x, int isum, int summs) {
  return (x.d * d_w) * float(isum) - (x.d * dmin_w) * float(summs);
}
float block_sum(float d_w, const BlockQ8_K& x, int isum) { return (x.d * d_w) * float(isum); }

void vec_dot_q2_K(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockQ2_K*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    int isum = 0, summs = 0;
    for (int j = 0; j < QK_K / 16; ++j) {  // sub-block j: elements 16 j .. 16 j + 15
      const int half = j / 8, shift = 2 * ((j % 8) / 2), first = 16 * (j % 2);
      int dot = 0;
      for (int l = 0; l < 16; ++l)
        dot += ((b->qs[32 * half + first + l] >> shift) & 3) * x->qs[16 * j + l];
      isum += (b->scales[j] & 0x0f) * dot;
      summs += (b->scales[j] >> 4) * x->bsums[j];
    }
    sum += block_sum(fp16_to_fp32(b->d), fp16_to_fp32(b->dmin), *x, isum, summs);
  }
  *s = sum;
}

void vec_dot_q3_K(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockQ3_K*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    int8_t sc[16];
    unpack_scales_q3k(b->scales, sc);
    int isum = 0;
    for (int j = 0; j < QK_K / 16; ++j) {
      const int half = j / 8, slot = (j % 8) / 2, first = 16 * (j % 2);
      int dot = 0;
      for (int l = first; l < first + 16; ++l) {
        const int lo = (b->qs[32 * half + l] >> (2 * slot)) & 3;
        const int high = (b->hmask[l] >> (4 * half + slot)) & 1;
        dot += (lo - (high ? 0 : 4)) * x->qs[16 * j + l - first];
      }
      isum += sc[j] * dot;
    }
    sum += block_sum(fp16_to_fp32(b->d), *x, isum);
  }
  *s = sum;
}

// Q4_K and Q5_K share scales, mins and nibble layout; Q5_K adds bit 4 from qh.
template <typename Block>
void vec_dot_q45_K(int64_t n, float* s, const void* w, const void* xv) {
  constexpr bool kHasHighBit = sizeof(Block) == sizeof(BlockQ5_K);
  const auto* b = static_cast<const Block*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(b->scales, sc, mn);
    int isum = 0, summs = 0;
    for (int j = 0; j < QK_K / 32; ++j) {  // sub-block j: elements 32 j .. 32 j + 31
      const uint8_t* qs = b->qs + 32 * (j / 2);
      int dot = 0;
      for (int l = 0; l < 32; ++l) {
        int q = j % 2 ? qs[l] >> 4 : qs[l] & 0x0f;
        if constexpr (kHasHighBit) q += ((b->qh[l] >> j) & 1) << 4;
        dot += q * x->qs[32 * j + l];
      }
      isum += sc[j] * dot;
      summs += mn[j] * bsum_range(*x, 32 * j, 32);
    }
    sum += block_sum(fp16_to_fp32(b->d), fp16_to_fp32(b->dmin), *x, isum, summs);
  }
  *s = sum;
}

void vec_dot_q6_K(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockQ6_K*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    int isum = 0;
    for (int j = 0; j < QK_K / 16; ++j) {
      const int half = j / 8, slot = (j % 8) / 2, first = 16 * (j % 2);
      const uint8_t* ql = b->ql + 64 * half + 32 * (slot % 2);
      int dot = 0;
      for (int l = first; l < first + 16; ++l) {
        const int lo = slot < 2 ? ql[l] & 0x0f : ql[l] >> 4;
        const int hi = (b->qh[32 * half + l] >> (2 * slot)) & 3;
        dot += ((lo | (hi << 4)) - 32) * x->qs[16 * j + l - first];
      }
      isum += b->scales[j] * dot;
    }
    sum += block_sum(fp16_to_fp32(b->d), *x, isum);
  }
  *s = sum;
}

}  // namespace

void register_kquant_scalar(KernelTable& t) {
  t.vec_dot[uint32_t(GgmlType::Q2_K)] = aligned_vec_dot<BlockQ2_K, BlockQ8_K, QK_K, vec_dot_q2_K>;
  t.vec_dot[uint32_t(GgmlType::Q3_K)] = aligned_vec_dot<BlockQ3_K, BlockQ8_K, QK_K, vec_dot_q3_K>;
  t.vec_dot[uint32_t(GgmlType::Q4_K)] = aligned_vec_dot<BlockQ4_K, BlockQ8_K, QK_K, vec_dot_q45_K<BlockQ4_K>>;
  t.vec_dot[uint32_t(GgmlType::Q5_K)] = aligned_vec_dot<BlockQ5_K, BlockQ8_K, QK_K, vec_dot_q45_K<BlockQ5_K>>;
  t.vec_dot[uint32_t(GgmlType::Q6_K)] = aligned_vec_dot<BlockQ6_K, BlockQ8_K, QK_K, vec_dot_q6_K>;
  t.quantize_act[uint32_t(GgmlType::Q8_K)] = quantize_row_q8_K;
  t.packed_gemm[uint32_t(GgmlType::Q4_K)] = packed_gemm_by_rows<GgmlType::Q4_K, vec_dot_q45_K<BlockQ4_K>>;
  t.packed_gemm[uint32_t(GgmlType::Q5_K)] = packed_gemm_by_rows<GgmlType::Q5_K, vec_dot_q45_K<BlockQ5_K>>;
  t.packed_gemm[uint32_t(GgmlType::Q6_K)] = packed_gemm_by_rows<GgmlType::Q6_K, vec_dot_q6_K>;
  t.packed_gemm[uint32_t(GgmlType::Q2_K)] = packed_gemm_by_rows<GgmlType::Q2_K, vec_dot_q2_K>;
  t.packed_gemm[uint32_t(GgmlType::Q3_K)] = packed_gemm_by_rows<GgmlType::Q3_K, vec_dot_q3_K>;
}

}  // namespace trident
