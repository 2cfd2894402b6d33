// The float schedule of the grid i-quant dots (IQ2_XXS .. IQ1_M against Q8_K), shared by the
// reference (dot_grid_scalar.cpp) and the SIMD kernels (dot_grid_avx2.cpp), which differ only in
// how they compute each super-block's exact integer sum of ls * w * x (tensor/grids.h). With
// llama.cpp 3f545bec's arithmetic (ggml-cpu/quants.c, the *_generic dots):
//   IQ2_*:   sum += (d_w * x.d) * float(isum);  result 0.125f * sum
//   IQ3_XXS: the same, result 0.25f * sum;  IQ3_S: the same, result sum
//   IQ1_S, IQ1_M: sum += (d_w * x.d) * (0.125f * float(isum))
// For IQ1 ggml keeps the grid part and the shift part apart, (d_w * x.d) * (float(sumi) + 0.125f
// * float(sumi1)); isum = 8 * sumi + sumi1 is below 2^24 in magnitude (15 * 9 * 127 * 256), so
// both forms are the exact value sumi + sumi1 / 8 and give the same float.
//
// Internal linkage: included by per-ISA files (see quant_kquant_internal.h).
#pragma once
#include <cstdint>

#include "tensor/blocks.h"
#include "tensor/grids.h"

namespace trident {
namespace {

template <class Block>
f16_bits grid_d(const Block& b) {
  return b.d;
}
template <>
f16_bits grid_d(const BlockIQ1_M& b) {
  return iq1_m_scale(b);
}

// kFinalInverse: 1 / the factor of the whole sum (IQ2: 8, IQ3_XXS: 4, IQ3_S: 1); 0 for the IQ1
// types' 1/8 per super-block. w: n / 256 blocks, x: n / 256 BlockQ8_K, both aligned.
template <class Block, int kFinalInverse, int (*Isum)(const Block&, const BlockQ8_K&)>
void vec_dot_grid(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const Block*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float d = fp16_to_fp32(grid_d(b[i])) * x[i].d;
    const int isum = Isum(b[i], x[i]);
    if constexpr (kFinalInverse == 0)
      sum += d * (0.125f * float(isum));
    else
      sum += d * float(isum);
  }
  if constexpr (kFinalInverse > 1) sum = (1.0f / kFinalInverse) * sum;
  *s = sum;
}

}  // namespace
}  // namespace trident
