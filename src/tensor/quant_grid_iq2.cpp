// Quantizers of the 2-bit grid i-quants IQ2_XXS, IQ2_XS and IQ2_S, writing the bytes llama.cpp
// 3f545bec's quantize_iq2_xxs / quantize_iq2_xs / quantize_iq2_s write (ggml-quants.c). Each
// group of 8 elements is a codebook point of levels {1, 3, 5} times the group's scale, with a
// sign per element; the scale search is tensor/quant_grid_search.cpp's. IQ2_XXS and IQ2_XS keep
// 7 sign bits per 8 and need an importance matrix, as in llama.cpp.
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/grid_search.h"
#include "tensor/quant_fns.h"

namespace trident {
namespace {

// IQ2_XXS: the first scale from make_qp_quants, 13 trials, every point re-fitted. IQ2_XS, IQ2_S:
// 19 trials from max / 5, only points that were off the grid re-fitted.
constexpr GroupSearch kSearchIQ2XXS = {32, 3, 6, 0.1f, false, false, false, true, 1e-15f, true, false};
constexpr GroupSearch kSearchIQ2XS = {16, 3, 9, 0.1f, true, true, true, true, 1e-15f, false, false};
constexpr GroupSearch kSearchIQ2S = {16, 3, 9, 0.1f, true, true, true, false, 1e-8f, false, true};

void block_iq2_xxs(const float* x, const float* qw, void* out) {
  auto& y = *static_cast<BlockIQ2_XXS*>(out);
  y.d = fp32_to_fp16(0.f);
  uint32_t q2[QK_K / 16] = {};  // per 32 elements: 4 point indices, then 4 x 7 signs and the scale
  GroupFit f[QK_K / 32];
  bool fitted[QK_K / 32];
  const float max_scale = fit_groups(grid_search_iq2_xxs(), kSearchIQ2XXS, x, qw, sum_squares(x, QK_K) / QK_K, f, fitted);
  if (max_scale) {
    const float id = super_scale(max_scale, 31, 1.f, &y.d);
    for (int ib = 0; ib < QK_K / 32; ++ib) {
      for (int k = 0; fitted[ib] && k < 4; ++k) {
        q2[2 * ib] |= uint32_t(f[ib].idx[k]) << 8 * k;
        q2[2 * ib + 1] |= uint32_t(f[ib].signs[k]) << 7 * k;
      }
      q2[2 * ib + 1] |= uint32_t(scale_code(id, f[ib].scale, 15)) << 28;
    }
  }
  std::memcpy(y.qs, q2, sizeof y.qs);
}

void block_iq2_xs(const float* x, const float* qw, void* out) {
  auto& y = *static_cast<BlockIQ2_XS*>(out);
  y.d = fp32_to_fp16(0.f);
  std::memset(y.scales, 0, sizeof y.scales);
  uint16_t q2[QK_K / 8] = {};  // per 8 elements: 9-bit point index, 7 signs
  GroupFit f[QK_K / 16];
  bool fitted[QK_K / 16];
  const float max_scale = fit_groups(grid_search_iq2_xs(), kSearchIQ2XS, x, qw, sum_squares(x, QK_K) / QK_K, f, fitted);
  if (max_scale) {
    const float id = super_scale(max_scale, 31, 1.f, &y.d);
    for (int ib = 0; ib < QK_K / 16; ++ib) {
      for (int k = 0; fitted[ib] && k < 2; ++k) q2[2 * ib + k] = uint16_t(f[ib].idx[k] | f[ib].signs[k] << 9);
      y.scales[ib / 2] |= uint8_t(scale_code(id, f[ib].scale, 15) << 4 * (ib % 2));
    }
  }
  std::memcpy(y.qs, q2, sizeof y.qs);
}

// Unlike IQ2_XXS / IQ2_XS, a block whose groups all fit to scale 0 keeps its points (ggml's).
void block_iq2_s(const float* x, const float* qw, void* out) {
  auto& y = *static_cast<BlockIQ2_S*>(out);
  std::memset(&y, 0, sizeof y);
  uint8_t* sign_bytes = y.qs + QK_K / 8;
  GroupFit f[QK_K / 16];
  bool fitted[QK_K / 16];
  const float max_scale = fit_groups(grid_search_iq2_s(), kSearchIQ2S, x, qw, 2 * sum_squares(x, QK_K) / QK_K, f, fitted);
  for (int i8 = 0; i8 < QK_K / 8; ++i8) {
    const GroupFit& fi = f[i8 / 2];
    if (!fitted[i8 / 2]) continue;
    y.qs[i8] = uint8_t(fi.idx[i8 % 2] & 255);
    y.qh[i8 / 4] |= uint8_t((fi.idx[i8 % 2] >> 8) << 2 * (i8 % 4));
    sign_bytes[i8] = fi.signs[i8 % 2];
  }
  if (!max_scale) return;
  const float id = super_scale(max_scale, 31, 0.9875f, &y.d);
  for (int ib = 0; ib < QK_K / 16; ++ib) y.scales[ib / 2] |= uint8_t(scale_code(id, f[ib].scale, 15) << 4 * (ib % 2));
}

}  // namespace

size_t quantize_iq2_xxs(const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix) {
  return quantize_grid_rows("IQ2_XXS", true, block_iq2_xxs, sizeof(BlockIQ2_XXS), src, dst, nrow, n_per_row, imatrix);
}
size_t quantize_iq2_xs(const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix) {
  return quantize_grid_rows("IQ2_XS", true, block_iq2_xs, sizeof(BlockIQ2_XS), src, dst, nrow, n_per_row, imatrix);
}
size_t quantize_iq2_s(const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix) {
  return quantize_grid_rows("IQ2_S", false, block_iq2_s, sizeof(BlockIQ2_S), src, dst, nrow, n_per_row, imatrix);
}

}  // namespace trident
