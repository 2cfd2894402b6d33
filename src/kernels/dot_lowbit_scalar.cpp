// Reference dot products of Q1_0 (128-element blocks of signs) and Q2_0 (64-element blocks of
// levels -1..2) against Q8_0 activations, with llama.cpp 3f545bec's arithmetic
// (ggml-cpu/quants.c, the *_generic dots): a weight block spans 4 (Q1_0) or 2 (Q2_0) Q8_0
// blocks; each one's exact integer dot is scaled by its activation scale into a float partial
// sum, which the weight scale then multiplies:
//   inner = 0; for each Q8_0 block k: inner += d_x[k] * float(isum_k);  sum += d_w * inner
// The packed kernels (kernels/packed_lowbit_*.cpp) keep this schedule lane by lane.
#include "kernels/dot_register.h"
#include "kernels/packed_by_rows.h"
#include "tensor/blocks.h"

namespace trident {
namespace {

// Element e (< 32) of sub-block k of a weight block, as its integer weight.
int q1_0_weight(const BlockQ1_0& b, int k, int e) { return (b.qs[4 * k + e / 8] >> e % 8) & 1 ? 1 : -1; }
int q2_0_weight(const BlockQ2_0& b, int k, int e) { return ((b.qs[8 * k + e / 4] >> 2 * (e % 4)) & 3) - 1; }

template <class Block, int kSub, int (*Weight)(const Block&, int, int)>
void vec_dot_lowbit(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const Block*>(w);
  const auto* x = static_cast<const BlockQ8_0*>(xv);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / (32 * kSub); ++i) {
    float inner = 0.0f;
    for (int k = 0; k < kSub; ++k) {
      const BlockQ8_0& xb = x[kSub * i + k];
      int isum = 0;
      for (int e = 0; e < 32; ++e) isum += Weight(b[i], k, e) * xb.qs[e];
      inner += fp16_to_fp32(xb.d) * float(isum);
    }
    sum += fp16_to_fp32(b[i].d) * inner;
  }
  *s = sum;
}

}  // namespace

void register_lowbit_scalar(KernelTable& t) {
  constexpr auto kQ1 = vec_dot_lowbit<BlockQ1_0, 4, q1_0_weight>;
  constexpr auto kQ2 = vec_dot_lowbit<BlockQ2_0, 2, q2_0_weight>;
  t.vec_dot[uint32_t(GgmlType::Q1_0)] = kQ1;
  t.vec_dot[uint32_t(GgmlType::Q2_0)] = kQ2;
  t.packed_gemm[uint32_t(GgmlType::Q1_0)] = packed_gemm_by_rows<GgmlType::Q1_0, kQ1>;
  t.packed_gemm[uint32_t(GgmlType::Q2_0)] = packed_gemm_by_rows<GgmlType::Q2_0, kQ2>;
}

}  // namespace trident
