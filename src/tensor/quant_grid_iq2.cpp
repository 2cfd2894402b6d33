// Quantizers of the 2-bit grid i-quants IQ2_XXS, IQ2_XS and IQ2_S, writing the bytes llama.cpp
// 3f545bec's quantize_iq2_xxs / quantize_iq2_xs / quantize_iq2_s write (ggml-quants.c). Each
// group of 8 elements is a codebook point of levels {1, 3, 5} times the group's scale, with a
// sign per element; the scale search is tensor/quant_grid_search.cpp's. IQ2_XXS and IQ2_XS keep
// 7 sign bits per 8 and need an importance matrix, as in llama.cpp.
#include <cmath>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/grid_search.h"
#include "tensor/quant_fns.h"
#include "tensor/quant_kquant_internal.h"

namespace trident {
namespace {

constexpr float kGroupMaxEps = 1e-15f;      // ggml's GROUP_MAX_EPS
constexpr float kGroupMaxEpsIQ2S = 1e-8f;   // GROUP_MAX_EPS_IQ2_S

// ggml's make_qp_quants(n, nmax, x, L, w): a weighted fit of x >= 0 to levels 0..nmax, used by
// IQ2_XXS only for its first scale. L is bytes as in ggml, so a negative level (one x may be
// negated by the sign parity) wraps to 255 where ggml reads it back from L, and stays negative
// where ggml uses the int; both are kept.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* w) {
  float max = 0;
  for (int i = 0; i < n; ++i) max = max > x[i] ? max : x[i];
  if (max < kGroupMaxEps) {
    std::memset(L, 0, size_t(n));
    return 0.f;
  }
  float iscale = float(nmax) / max;
  for (int i = 0; i < n; ++i) L[i] = uint8_t(nearest_int(iscale * x[i]));
  const float scale = 1 / iscale;
  float best_mse = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - scale * float(L[i]);
    best_mse += w[i] * diff * diff;
  }
  for (int is = -4; is <= 4; ++is) {
    if (is == 0) continue;
    const float iscale_is = (0.1f * float(is) + float(nmax)) / max;
    const float scale_is = 1 / iscale_is;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale_is * x[i]);
      l = l < nmax ? l : nmax;
      const float diff = x[i] - scale_is * float(l);
      mse += w[i] * diff * diff;
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_is;
    }
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = l < nmax ? l : nmax;
    L[i] = uint8_t(l);
    sumlx += w[i] * x[i] * float(l);
    suml2 += w[i] * float(l) * float(l);
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      float slx = sumlx - w[i] * x[i] * float(L[i]);
      float sl2 = suml2 - w[i] * float(L[i]) * float(L[i]);
      if (slx > 0 && sl2 > 0) {
        int new_l = nearest_int(x[i] * sl2 / slx);
        new_l = new_l < nmax ? new_l : nmax;
        if (new_l != L[i]) {
          slx += w[i] * x[i] * float(new_l);
          sl2 += w[i] * float(new_l) * float(new_l);
          if (slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = uint8_t(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (!n_changed) break;
  }
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// IQ2_XXS: the first scale comes from make_qp_quants and every point is re-fitted.
constexpr GroupSearch kSearchXXS = {32, 3, 6, 0.1f, false, false, false};
// IQ2_XS, IQ2_S: 19 trials from max / 5; only points that were off the grid are re-fitted.
constexpr GroupSearch kSearch16 = {16, 3, 9, 0.1f, true, true, true};

// Per-element weights of a group: the importance times sqrt(sigma2 + x^2) (ggml's form).
void group_weights(const float* x, const float* qw, float sigma2, int n, float* weight, float* waux) {
  for (int i = 0; i < n; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
  for (int i = 0; i < n; ++i) waux[i] = std::sqrt(weight[i]);
}

float max_of(const float* v, int n) {
  float m = v[0];
  for (int i = 1; i < n; ++i) m = m > v[i] ? m : v[i];
  return m;
}

void block_iq2_xxs(const float* x, const float* qw, void* out) {
  const GridSearch& g = grid_search_iq2_xxs();
  auto& y = *static_cast<BlockIQ2_XXS*>(out);
  y.d = fp32_to_fp16(0.f);
  uint32_t q2[QK_K / 16] = {};  // per 32 elements: 4 point indices, then 4 x 7 signs and the scale
  float scales[QK_K / 32], weight[32], waux[32], xval[32];
  float max_scale = 0;
  const float sigma2 = sum_squares(x, QK_K) / QK_K;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const float* xb = x + 32 * ib;
    group_weights(xb, qw + 32 * ib, sigma2, 32, weight, waux);
    uint8_t signs[4];
    for (int k = 0; k < 4; ++k) signs[k] = fold_signs(xb + 8 * k, weight + 8 * k, true, xval + 8 * k);
    scales[ib] = 0;
    if (max_of(xval, 32) < kGroupMaxEps) continue;
    uint8_t Lqp[32];
    float scale = make_qp_quants(32, kSearchXXS.kmax + 1, xval, Lqp, weight);
    const float eff_max = scale * float(kSearchXXS.kmax);
    if (eff_max <= 0) continue;
    uint16_t idx[4];
    scale = search_group(g, kSearchXXS, xval, weight, waux, scale, eff_max, idx);
    if (scale < 0) {  // the scale is stored unsigned: flip the signs instead
      scale = -scale;
      for (uint8_t& s : signs) s = uint8_t(~s & 127);
    }
    for (int k = 0; k < 4; ++k) {
      q2[2 * ib] |= uint32_t(idx[k]) << 8 * k;
      q2[2 * ib + 1] |= uint32_t(signs[k]) << 7 * k;
    }
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }
  if (!max_scale) {
    std::memset(y.qs, 0, sizeof y.qs);
    return;
  }
  const float d = max_scale / 31;
  y.d = fp32_to_fp16(d);
  const float id = 1 / d;
  for (int ib = 0; ib < QK_K / 32; ++ib) q2[2 * ib + 1] |= uint32_t(scale_code(id, scales[ib], 15)) << 28;
  std::memcpy(y.qs, q2, sizeof y.qs);
}

void block_iq2_xs(const float* x, const float* qw, void* out) {
  const GridSearch& g = grid_search_iq2_xs();
  auto& y = *static_cast<BlockIQ2_XS*>(out);
  y.d = fp32_to_fp16(0.f);
  std::memset(y.scales, 0, sizeof y.scales);
  uint16_t q2[QK_K / 8] = {};  // per 8 elements: 9-bit point index, 7 signs
  float scales[QK_K / 16], weight[16], waux[16], xval[16];
  float max_scale = 0;
  const float sigma2 = sum_squares(x, QK_K) / QK_K;
  for (int ib = 0; ib < QK_K / 16; ++ib) {
    const float* xb = x + 16 * ib;
    group_weights(xb, qw + 16 * ib, sigma2, 16, weight, waux);
    uint8_t signs[2];
    for (int k = 0; k < 2; ++k) signs[k] = fold_signs(xb + 8 * k, weight + 8 * k, true, xval + 8 * k);
    scales[ib] = 0;
    const float max = max_of(xval, 16);
    if (max < kGroupMaxEps) continue;
    uint16_t idx[2];
    float scale = search_group(g, kSearch16, xval, weight, waux, max / float(2 * kSearch16.kmax - 1), max, idx);
    if (scale < 0) {
      scale = -scale;
      for (uint8_t& s : signs) s = uint8_t(~s & 127);
    }
    for (int k = 0; k < 2; ++k) q2[2 * ib + k] = uint16_t(idx[k] | signs[k] << 9);
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }
  if (!max_scale) {
    std::memset(y.qs, 0, sizeof y.qs);
    return;
  }
  const float d = max_scale / 31;
  y.d = fp32_to_fp16(d);
  const float id = 1 / d;
  for (int ib = 0; ib < QK_K / 16; ++ib) y.scales[ib / 2] |= uint8_t(scale_code(id, scales[ib], 15) << 4 * (ib % 2));
  std::memcpy(y.qs, q2, sizeof y.qs);
}

void block_iq2_s(const float* x, const float* qw, void* out) {
  const GridSearch& g = grid_search_iq2_s();
  auto& y = *static_cast<BlockIQ2_S*>(out);
  std::memset(&y, 0, sizeof y);
  uint8_t* sign_bytes = y.qs + QK_K / 8;
  float scales[QK_K / 16], weight[16], waux[16], xval[16];
  float max_scale = 0;
  const float sigma2 = 2 * sum_squares(x, QK_K) / QK_K;
  for (int ib = 0; ib < QK_K / 16; ++ib) {
    const float* xb = x + 16 * ib;
    if (qw) {
      group_weights(xb, qw + 16 * ib, sigma2, 16, weight, waux);
    } else {
      for (int i = 0; i < 16; ++i) weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
      for (int i = 0; i < 16; ++i) waux[i] = std::sqrt(weight[i]);
    }
    uint8_t signs[2];
    for (int k = 0; k < 2; ++k) signs[k] = fold_signs(xb + 8 * k, weight + 8 * k, false, xval + 8 * k);
    scales[ib] = 0;
    const float max = max_of(xval, 16);
    if (max < kGroupMaxEpsIQ2S) continue;
    uint16_t idx[2];
    float scale = search_group(g, kSearch16, xval, weight, waux, max / float(2 * kSearch16.kmax - 1), max, idx);
    if (scale < 0) {
      scale = -scale;
      for (uint8_t& s : signs) s = uint8_t(~s);
    }
    for (int k = 0; k < 2; ++k) {
      const int i8 = 2 * ib + k;
      y.qs[i8] = uint8_t(idx[k] & 255);
      y.qh[i8 / 4] |= uint8_t((idx[k] >> 8) << 2 * (i8 % 4));
      sign_bytes[i8] = signs[k];
    }
    scales[ib] = scale;
    max_scale = max_scale > scale ? max_scale : scale;
  }
  if (!max_scale) return;
  const float d = max_scale / 31;
  y.d = fp32_to_fp16(d * 0.9875f);  // ggml's factor
  const float id = 1 / d;
  for (int ib = 0; ib < QK_K / 16; ++ib) y.scales[ib / 2] |= uint8_t(scale_code(id, scales[ib], 15) << 4 * (ib % 2));
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
