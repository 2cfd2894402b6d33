// Reference dot products of the grid i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S,
// IQ1_M) against Q8_K activations, with llama.cpp 3f545bec's arithmetic (ggml-cpu/quants.c, the
// *_generic dots): per super-block one exact integer sum of ls * w * x (tensor/grids.h), then
//   IQ2_*:   sum += (d_w * x.d) * float(isum);  result 0.125f * sum
//   IQ3_XXS: the same, result 0.25f * sum;  IQ3_S: the same, result sum
//   IQ1_S, IQ1_M: sum += (d_w * x.d) * (0.125f * float(isum))
// For IQ1 ggml keeps the grid part and the shift part apart, (d_w * x.d) * (float(sumi) + 0.125f
// * float(sumi1)); isum = 8 * sumi + sumi1 is below 2^24 in magnitude (15 * 9 * 127 * 256), so
// both forms are the exact value sumi + sumi1 / 8 and give the same float.
#include "kernels/dot_register.h"
#include "kernels/packed_by_rows.h"
#include "tensor/grids.h"

namespace trident {
namespace {

// sum over the 16 groups of 16 of ls * sum(w * x).
int grid_isum(const GridWeights& g, const int8_t* x) {
  int isum = 0;
  for (int s = 0; s < QK_K / 16; ++s) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += g.w[16 * s + j] * x[16 * s + j];
    isum += g.ls[s] * sum;
  }
  return isum;
}

// kFinal: the factor of the whole sum (IQ2, IQ3); 0 for the IQ1 types' per-block 1/8.
template <class Block, GridDecodeFn Decode, int kFinalInverse>
void vec_dot_grid(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const Block*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  float sum = 0.0f;
  GridWeights g;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    Decode(b + i, g);
    const float d = fp16_to_fp32(g.d) * x[i].d;
    const int isum = grid_isum(g, x[i].qs);
    if constexpr (kFinalInverse == 0)
      sum += d * (0.125f * float(isum));
    else
      sum += d * float(isum);
  }
  if constexpr (kFinalInverse > 1) sum = (1.0f / kFinalInverse) * sum;
  *s = sum;
}

}  // namespace

void register_grid_scalar(KernelTable& t) {
  using T = GgmlType;
  t.vec_dot[uint32_t(T::IQ2_XXS)] = aligned_vec_dot<BlockIQ2_XXS, BlockQ8_K, QK_K, vec_dot_grid<BlockIQ2_XXS, grid_weights_iq2_xxs, 8>>;
  t.vec_dot[uint32_t(T::IQ2_XS)] = aligned_vec_dot<BlockIQ2_XS, BlockQ8_K, QK_K, vec_dot_grid<BlockIQ2_XS, grid_weights_iq2_xs, 8>>;
  t.vec_dot[uint32_t(T::IQ2_S)] = aligned_vec_dot<BlockIQ2_S, BlockQ8_K, QK_K, vec_dot_grid<BlockIQ2_S, grid_weights_iq2_s, 8>>;
  t.vec_dot[uint32_t(T::IQ3_XXS)] = aligned_vec_dot<BlockIQ3_XXS, BlockQ8_K, QK_K, vec_dot_grid<BlockIQ3_XXS, grid_weights_iq3_xxs, 4>>;
  t.vec_dot[uint32_t(T::IQ3_S)] = aligned_vec_dot<BlockIQ3_S, BlockQ8_K, QK_K, vec_dot_grid<BlockIQ3_S, grid_weights_iq3_s, 1>>;
  t.vec_dot[uint32_t(T::IQ1_S)] = aligned_vec_dot<BlockIQ1_S, BlockQ8_K, QK_K, vec_dot_grid<BlockIQ1_S, grid_weights_iq1_s, 0>>;
  t.vec_dot[uint32_t(T::IQ1_M)] = aligned_vec_dot<BlockIQ1_M, BlockQ8_K, QK_K, vec_dot_grid<BlockIQ1_M, grid_weights_iq1_m, 0>>;
}

}  // namespace trident
