// Reference dot products of the codebook types (IQ4_NL, MXFP4, NVFP4 against Q8_0 activations;
// IQ4_XS against Q8_K) and the ternary types (TQ1_0, TQ2_0 against Q8_K), with llama.cpp
// 3f545bec's arithmetic (ggml-cpu/quants.c, the *_generic dots): exact integer sums per scale
// group, then one float product and one add per group, groups in order:
//   IQ4_NL, MXFP4: per 32:   sum += (d_x * d_w) * float(isum)        (MXFP4: d_w = 2^(e-128))
//   NVFP4:         per 16:   sum += (d_x * d_s) * float(isum)        (d_s = UE4M3 scale / 2)
//   IQ4_XS:        per 32:   sum += ((x.d * d_w) * float(ls - 32)) * float(isum)
//   TQ1_0, TQ2_0:  per 256:  sum += float(isum) * (x.d * d_w)        (isum over t - 1)
// The packed kernels (kernels/packed_nonlinear_*.cpp) keep this schedule lane by lane; their
// scalar reference unpacks each row and calls these (packed_by_rows.h).
#include "kernels/dot_register.h"
#include "kernels/packed_by_rows.h"
#include "tensor/blocks.h"
#include "tensor/codebooks.h"
#include "tensor/ternary.h"

namespace trident {
namespace {

// sum over j < n / 2 of x[j] * v[q_j & 15] + x[j + n / 2] * v[q_j >> 4]: a block of nibbles laid
// out as Q4_0's against n activation quants.
int nibble_dot(const uint8_t* qs, const int8_t* x, int n, const int8_t* values) {
  int sum = 0;
  for (int j = 0; j < n / 2; ++j) sum += x[j] * values[qs[j] & 0xF] + x[j + n / 2] * values[qs[j] >> 4];
  return sum;
}

void vec_dot_iq4_nl(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockIQ4_NL*>(w);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  float sum = 0;
  for (int64_t i = 0; i < n / QK4_NL; ++i)
    sum += (fp16_to_fp32(x[i].d) * fp16_to_fp32(b[i].d)) * float(nibble_dot(b[i].qs, x[i].qs, 32, kIQ4NLValues));
  *s = sum;
}

void vec_dot_mxfp4(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockMXFP4*>(w);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_MXFP4; ++i)
    sum += (fp16_to_fp32(x[i].d) * e8m0_half_to_fp32(b[i].e)) * float(nibble_dot(b[i].qs, x[i].qs, 32, kFP4Values.data()));
  *s = sum;
}

// A 64-element block spans two Q8_0 blocks; sub-block s reads x block 2i + s / 2 from 16 (s % 2).
void vec_dot_nvfp4(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockNVFP4*>(w);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_NVFP4; ++i)
    for (int sb = 0; sb < 4; ++sb) {
      const BlockQ8_0& xb = x[2 * i + sb / 2];
      const int isum = nibble_dot(b[i].qs + 8 * sb, xb.qs + 16 * (sb % 2), 16, kFP4Values.data());
      sum += (fp16_to_fp32(xb.d) * ue4m3_half_to_fp32(b[i].d[sb])) * float(isum);
    }
  *s = sum;
}

void vec_dot_iq4_xs(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockIQ4_XS*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(b[i].d) * x[i].d;
    for (int ib = 0; ib < QK_K / 32; ++ib) {
      const int ls = ((b[i].scales_l[ib / 2] >> 4 * (ib % 2)) & 0xF) | ((b[i].scales_h >> 2 * ib) & 3) << 4;
      const int isum = nibble_dot(b[i].qs + 16 * ib, x[i].qs + 32 * ib, 32, kIQ4NLValues);
      sum += (d * float(ls - 32)) * float(isum);
    }
  }
  *s = sum;
}

// t: the block's trits (0..2; TQ2_0 also 3), element order.
int trit_dot(const uint8_t* t, const BlockQ8_K& x) {
  int sum = 0;
  for (int e = 0; e < QK_K; ++e) sum += (int(t[e]) - 1) * x.qs[e];
  return sum;
}

template <class Block, void (*Trits)(const Block&, uint8_t*)>
void vec_dot_ternary(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const Block*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  float sum = 0;
  uint8_t t[QK_K];
  for (int64_t i = 0; i < n / QK_K; ++i) {
    Trits(b[i], t);
    sum += float(trit_dot(t, x[i])) * (x[i].d * fp16_to_fp32(b[i].d));
  }
  *s = sum;
}

}  // namespace

void register_nonlinear_scalar(KernelTable& t) {
  constexpr auto kTQ1 = vec_dot_ternary<BlockTQ1_0, tq1_0_trits>;
  constexpr auto kTQ2 = vec_dot_ternary<BlockTQ2_0, tq2_0_trits>;
  t.vec_dot[uint32_t(GgmlType::IQ4_NL)] = vec_dot_iq4_nl;
  t.vec_dot[uint32_t(GgmlType::IQ4_XS)] = vec_dot_iq4_xs;
  t.vec_dot[uint32_t(GgmlType::MXFP4)] = vec_dot_mxfp4;
  t.vec_dot[uint32_t(GgmlType::NVFP4)] = vec_dot_nvfp4;
  t.vec_dot[uint32_t(GgmlType::TQ1_0)] = kTQ1;
  t.vec_dot[uint32_t(GgmlType::TQ2_0)] = kTQ2;
  t.packed_gemm[uint32_t(GgmlType::IQ4_NL)] = packed_gemm_by_rows<GgmlType::IQ4_NL, vec_dot_iq4_nl>;
  t.packed_gemm[uint32_t(GgmlType::IQ4_XS)] = packed_gemm_by_rows<GgmlType::IQ4_XS, vec_dot_iq4_xs>;
  t.packed_gemm[uint32_t(GgmlType::MXFP4)] = packed_gemm_by_rows<GgmlType::MXFP4, vec_dot_mxfp4>;
  t.packed_gemm[uint32_t(GgmlType::NVFP4)] = packed_gemm_by_rows<GgmlType::NVFP4, vec_dot_nvfp4>;
  t.packed_gemm[uint32_t(GgmlType::TQ1_0)] = packed_gemm_by_rows<GgmlType::TQ1_0, kTQ1>;
  t.packed_gemm[uint32_t(GgmlType::TQ2_0)] = packed_gemm_by_rows<GgmlType::TQ2_0, kTQ2>;
}

}  // namespace trident
