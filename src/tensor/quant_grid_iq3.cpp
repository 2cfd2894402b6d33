// Quantizers of the 3-bit grid i-quants IQ3_XXS and IQ3_S, writing the bytes llama.cpp
// 3f545bec's quantize_iq3_xxs / quantize_iq3_s write (ggml-quants.c). Each group of 4 elements
// is a codebook point of levels {1, 3, .., 15} times the scale of its 32 elements, with a sign
// per element (IQ3_XXS: 7 per 8, the eighth implied by parity). Both accept a null importance
// matrix (weights x^2 then).
#include <limits>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/grid_search.h"
#include "tensor/quant_fns.h"

namespace trident {
namespace {

// IQ3_XXS: 31 trials from max / 15 in steps of 0.2, re-fitting only points that were off the
// grid; IQ3_S: 19 trials, and every point is re-fitted unless a trial found all on the grid.
// IQ3_S skips only an exactly zero group: below the smallest float, for |x| >= 0.
constexpr GroupSearch kSearchIQ3XXS = {32, 8, 15, 0.2f, true, true, true, true, 1e-8f, false, false};
constexpr GroupSearch kSearchIQ3S = {32, 8, 9, 0.2f, true, false, false, false, std::numeric_limits<float>::denorm_min(),
                                  false, false};

void block_iq3_xxs(const float* x, const float* qw, void* out) {
  auto& y = *static_cast<BlockIQ3_XXS*>(out);
  std::memset(&y, 0, sizeof y);
  GroupFit f[QK_K / 32];
  bool fitted[QK_K / 32];
  const float max_scale = fit_groups(grid_search_iq3_xxs(), kSearchIQ3XXS, x, qw, 2 * sum_squares(x, QK_K) / QK_K, f, fitted);
  if (!max_scale) return;
  // qs[0..63]: a point index per 4 elements; then per 32 elements a u32 of 4 x 7 signs and the
  // 4-bit scale in the top bits.
  const float id = super_scale(max_scale, 31, 1.0125f, &y.d);
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    uint32_t signs_scale = uint32_t(scale_code(id, f[ib].scale, 15)) << 28;
    for (int k = 0; fitted[ib] && k < 8; ++k) y.qs[8 * ib + k] = uint8_t(f[ib].idx[k]);
    for (int k = 0; fitted[ib] && k < 4; ++k) signs_scale |= uint32_t(f[ib].signs[k]) << 7 * k;
    std::memcpy(y.qs + QK_K / 4 + 4 * ib, &signs_scale, 4);
  }
}

// Like IQ2_S, a block whose groups all fit to scale 0 keeps its points (ggml's).
void block_iq3_s(const float* x, const float* qw, void* out) {
  auto& y = *static_cast<BlockIQ3_S*>(out);
  std::memset(&y, 0, sizeof y);
  GroupFit f[QK_K / 32];
  bool fitted[QK_K / 32];
  const float max_scale = fit_groups(grid_search_iq3_s(), kSearchIQ3S, x, qw, 2 * sum_squares(x, QK_K) / QK_K, f, fitted);
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    if (!fitted[ib]) continue;
    for (int k = 0; k < 8; ++k) {
      y.qs[8 * ib + k] = uint8_t(f[ib].idx[k] & 255);
      y.qh[ib] |= uint8_t((f[ib].idx[k] >> 8) << k);
    }
    std::memcpy(y.signs + 4 * ib, f[ib].signs, 4);
  }
  if (!max_scale) return;
  const float id = super_scale(max_scale, 31, 1.033f, &y.d);
  for (int ib = 0; ib < QK_K / 32; ib += 2)
    y.scales[ib / 2] = uint8_t(scale_code(id, f[ib].scale, 15) | scale_code(id, f[ib + 1].scale, 15) << 4);
}

}  // namespace

size_t quantize_iq3_xxs(const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix) {
  return quantize_grid_rows("IQ3_XXS", false, block_iq3_xxs, sizeof(BlockIQ3_XXS), src, dst, nrow, n_per_row, imatrix);
}
size_t quantize_iq3_s(const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix) {
  return quantize_grid_rows("IQ3_S", false, block_iq3_s, sizeof(BlockIQ3_S), src, dst, nrow, n_per_row, imatrix);
}

}  // namespace trident
