// Quantizers of the 3-bit grid i-quants IQ3_XXS and IQ3_S, writing the bytes llama.cpp
// 3f545bec's quantize_iq3_xxs / quantize_iq3_s write (ggml-quants.c). Each group of 4 elements
// is a codebook point of levels {1, 3, .., 15} times the scale of its 32 elements, with a sign
// per element (IQ3_XXS: 7 per 8, the eighth implied by parity). Both accept a null importance
// matrix (weights x^2 then).
#include <cmath>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/grid_search.h"
#include "tensor/quant_fns.h"

namespace trident {
namespace {

constexpr float kGroupMaxEpsIQ3XXS = 1e-8f;  // ggml's GROUP_MAX_EPS_IQ3_XXS

// IQ3_XXS: 31 trials from max / 15 in steps of 0.2, re-fitting only points that were off the
// grid; IQ3_S: 19 trials, and every point is re-fitted unless a trial found all on the grid.
constexpr GroupSearch kSearchXXS = {32, 8, 15, 0.2f, true, true, true};
constexpr GroupSearch kSearchS = {32, 8, 9, 0.2f, true, false, false};

// weight: the importance times sqrt(sigma2 + x^2), or x^2 without one; waux = sqrt(weight).
void group_weights(const float* x, const float* qw, float sigma2, float* weight, float* waux) {
  if (qw) {
    for (int i = 0; i < 32; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
  } else {
    for (int i = 0; i < 32; ++i) weight[i] = x[i] * x[i];
  }
  for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
}

float max_of(const float* v, int n) {
  float m = v[0];
  for (int i = 1; i < n; ++i) m = m > v[i] ? m : v[i];
  return m;
}

void block_iq3_xxs(const float* x, const float* qw, void* out) {
  const GridSearch& g = grid_search_iq3_xxs();
  auto& y = *static_cast<BlockIQ3_XXS*>(out);
  y.d = fp32_to_fp16(0.f);
  // qs[0..63]: a point index per 4 elements; then per 32 elements a u32 of 4 x 7 signs and the
  // 4-bit scale in the top bits.
  uint8_t q3[sizeof y.qs] = {};
  uint32_t signs_scale[QK_K / 32] = {};
  float scales[QK_K / 32], weight[32], waux[32], xval[32];
  float max_scale = 0;
  const float sigma2 = 2 * sum_squares(x, QK_K) / QK_K;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const float* xb = x + 32 * ib;
    group_weights(xb, qw ? qw + 32 * ib : nullptr, sigma2, weight, waux);
    uint8_t signs[4];
    for (int k = 0; k < 4; ++k) signs[k] = fold_signs(xb + 8 * k, weight + 8 * k, true, xval + 8 * k);
    scales[ib] = 0;
    const float max = max_of(xval, 32);
    if (max < kGroupMaxEpsIQ3XXS) continue;
    uint16_t idx[8];
    float scale = search_group(g, kSearchXXS, xval, weight, waux, max / float(2 * kSearchXXS.kmax - 1), max, idx);
    if (scale < 0) {  // the scale is stored unsigned: flip the signs instead
      scale = -scale;
      for (uint8_t& s : signs) s = uint8_t(~s & 127);
    }
    for (int k = 0; k < 8; ++k) q3[8 * ib + k] = uint8_t(idx[k]);
    signs_scale[ib] = uint32_t(signs[0]) | uint32_t(signs[1]) << 7 | uint32_t(signs[2]) << 14 | uint32_t(signs[3]) << 21;
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }
  if (!max_scale) {
    std::memset(y.qs, 0, sizeof y.qs);
    return;
  }
  const float d = max_scale / 31;
  y.d = fp32_to_fp16(d * 1.0125f);  // ggml's factor
  const float id = 1 / d;
  for (int ib = 0; ib < QK_K / 32; ++ib) signs_scale[ib] |= uint32_t(scale_code(id, scales[ib], 15)) << 28;
  std::memcpy(y.qs, q3, QK_K / 4);
  std::memcpy(y.qs + QK_K / 4, signs_scale, sizeof signs_scale);
}

void block_iq3_s(const float* x, const float* qw, void* out) {
  const GridSearch& g = grid_search_iq3_s();
  auto& y = *static_cast<BlockIQ3_S*>(out);
  std::memset(&y, 0, sizeof y);
  float scales[QK_K / 32], weight[32], waux[32], xval[32];
  float max_scale = 0;
  const float sigma2 = 2 * sum_squares(x, QK_K) / QK_K;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const float* xb = x + 32 * ib;
    group_weights(xb, qw ? qw + 32 * ib : nullptr, sigma2, weight, waux);
    uint8_t signs[4];
    for (int k = 0; k < 4; ++k) signs[k] = fold_signs(xb + 8 * k, weight + 8 * k, false, xval + 8 * k);
    scales[ib] = 0;
    const float max = max_of(xval, 32);
    if (!max) continue;  // ggml tests for exactly 0 here
    uint16_t idx[8];
    float scale = search_group(g, kSearchS, xval, weight, waux, max / float(2 * kSearchS.kmax - 1), max, idx);
    if (scale < 0) {
      scale = -scale;
      for (uint8_t& s : signs) s = uint8_t(~s);
    }
    for (int k = 0; k < 8; ++k) {
      y.qs[8 * ib + k] = uint8_t(idx[k] & 255);
      y.qh[ib] |= uint8_t((idx[k] >> 8) << k);
    }
    std::memcpy(y.signs + 4 * ib, signs, 4);
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }
  if (!max_scale) return;
  const float d = max_scale / 31;
  y.d = fp32_to_fp16(d * 1.033f);  // ggml's factor
  const float id = 1 / d;
  for (int ib = 0; ib < QK_K / 32; ib += 2)
    y.scales[ib / 2] = uint8_t(scale_code(id, scales[ib], 15) | scale_code(id, scales[ib + 1], 15) << 4);
}

}  // namespace

size_t quantize_iq3_xxs(const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix) {
  return quantize_grid_rows("IQ3_XXS", false, block_iq3_xxs, sizeof(BlockIQ3_XXS), src, dst, nrow, n_per_row, imatrix);
}
size_t quantize_iq3_s(const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix) {
  return quantize_grid_rows("IQ3_S", false, block_iq3_s, sizeof(BlockIQ3_S), src, dst, nrow, n_per_row, imatrix);
}

}  // namespace trident
