// Reference dot products of the grid i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S,
// IQ1_M) against Q8_K activations: each block decoded to integer weights (tensor/grids.h), the
// exact integer sum over 16-element groups of ls * sum(w * x), and the float schedule of
// kernels/dot_grid.h.
#include "kernels/dot_grid.h"
#include "kernels/dot_register.h"
#include "kernels/packed_by_rows.h"

namespace trident {
namespace {

template <class Block, GridDecodeFn Decode>
int isum_decoded(const Block& b, const BlockQ8_K& x) {
  GridWeights g;
  Decode(&b, g);
  int isum = 0;
  for (int s = 0; s < QK_K / 16; ++s) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += g.w[16 * s + j] * x.qs[16 * s + j];
    isum += g.ls[s] * sum;
  }
  return isum;
}

// The reference of a packed group: each row unpacked and dotted (packed_by_rows.h).
template <GgmlType T, VecDotFn Dot>
void set_grid_kernels(KernelTable& t) {
  t.vec_dot[uint32_t(T)] = Dot;
  t.packed_gemm[uint32_t(T)] = packed_gemm_by_rows<T, Dot>;
}

template <class Block, int kFinalInverse, GridDecodeFn Decode>
constexpr VecDotFn kDot = aligned_vec_dot<Block, BlockQ8_K, QK_K, vec_dot_grid<Block, kFinalInverse, isum_decoded<Block, Decode>>>;

}  // namespace

void register_grid_scalar(KernelTable& t) {
  using T = GgmlType;
  set_grid_kernels<T::IQ2_XXS, kDot<BlockIQ2_XXS, 8, grid_weights_iq2_xxs>>(t);
  set_grid_kernels<T::IQ2_XS, kDot<BlockIQ2_XS, 8, grid_weights_iq2_xs>>(t);
  set_grid_kernels<T::IQ2_S, kDot<BlockIQ2_S, 8, grid_weights_iq2_s>>(t);
  set_grid_kernels<T::IQ3_XXS, kDot<BlockIQ3_XXS, 4, grid_weights_iq3_xxs>>(t);
  set_grid_kernels<T::IQ3_S, kDot<BlockIQ3_S, 1, grid_weights_iq3_s>>(t);
  set_grid_kernels<T::IQ1_S, kDot<BlockIQ1_S, 0, grid_weights_iq1_s>>(t);
  set_grid_kernels<T::IQ1_M, kDot<BlockIQ1_M, 0, grid_weights_iq1_m>>(t);
}

}  // namespace trident
