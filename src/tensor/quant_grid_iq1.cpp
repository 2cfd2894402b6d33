// Quantizers of the 1.5-bit grid i-quants IQ1_S and IQ1_M, writing the bytes llama.cpp 3f545bec's
// quantize_iq1_s / quantize_iq1_m write (ggml-quants.c). Each group of 8 elements is a codebook
// point of {-1, 0, +1} plus a shift of +-1/8, times a scale (IQ1_S: per 32 elements with one
// shift sign; IQ1_M: per 16 with a shift sign per 8).
//
// With three values the weighted least-squares fit is solved exactly: sort the elements, and
// every pair of cut points (i1 <= i2) splits them into the -1 / 0 / +1 groups; the best split and
// shift wins. A group that is not a codebook point is replaced by its nearest listed neighbour.
// Ties in the sort keep element order, as glibc's qsort (a merge sort for these sizes) does.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "tensor/blocks.h"
#include "tensor/grid_search.h"
#include "tensor/quant_fns.h"
#include "tensor/quant_kquant_internal.h"

namespace trident {
namespace {

constexpr float kDelta = 0.125f;              // IQ1S_DELTA = IQ1M_DELTA
constexpr float kGroupMaxEpsIQ1S = 1e-12f;    // GROUP_MAX_EPS_IQ1_S
constexpr float kGroupMaxEpsIQ1M = 1e-7f;     // GROUP_MAX_EPS_IQ1_M
// The three values with the shift +1/8 (x_p) and -1/8 (x_m).
constexpr float kShiftPlus[3] = {-1 + kDelta, kDelta, 1 + kDelta};
constexpr float kShiftMinus[3] = {-1 - kDelta, -kDelta, 1 - kDelta};

// The point among a key's neighbours nearest to x (weighted squared distance at `scale`, values
// xs[level]); writes its levels to L[8]. ggml then searches the whole codebook if no neighbour
// gave a finite distance; its loop reads x at the point's index there (out of bounds), so that
// path is written as evidently meant, with x at the coordinate, and is not bit-exact.
int nearest_neighbour_iq1(const GridSearch& g, uint32_t key, const float* x, const float* w, float scale,
                          const float* xs, int8_t* L) {
  auto distance = [&](int p) {
    const int8_t* pt = g.point(p);
    float d2 = 0;
    for (int i = 0; i < 8; ++i) {
      const float diff = scale * xs[pt[i]] - x[i];
      d2 += w[i] * diff * diff;
    }
    return d2;
  };
  const uint16_t* list = g.neighbours_of(key);
  float best_d2 = FLT_MAX;
  int best = -1;
  for (int j = 1; j <= list[0]; ++j) {
    const float d2 = distance(list[j]);
    if (d2 < best_d2) {
      best_d2 = d2;
      best = list[j];
    }
  }
  for (int p = 0; best < 0 && p < g.n_points; ++p) {
    const float d2 = distance(p);
    if (d2 < best_d2) {
      best_d2 = d2;
      best = p;
    }
  }
  if (best < 0) throw std::invalid_argument("grid quantizer: non-finite values in a block");
  std::memcpy(L, g.point(best), 8);
  return best;
}

// Element indices of xb[n] in ascending value order, ties in index order.
void sort_order(const float* xb, int n, int* order) {
  for (int j = 0; j < n; ++j) order[j] = j;
  std::stable_sort(order, order + n, [xb](int a, int b) { return xb[a] < xb[b]; });
}

// Levels from the best split: the first i1 sorted elements -1 (level 0), up to i2 0, the rest +1;
// a negative scale mirrors them.
void split_levels(const int* order, int n, int i1, int i2, int8_t* L) {
  for (int j = 0; j < n; ++j) L[order[j]] = int8_t(j < i1 ? 0 : j < i2 ? 1 : 2);
}

uint32_t key_of(const int8_t* L) {
  uint32_t key = 0;
  for (int i = 0; i < 8; ++i) key |= uint32_t(L[i]) << 2 * i;
  return key;
}

void block_iq1_s(const float* x, const float* qw, void* out) {
  constexpr int kBlock = 32;
  const GridSearch& g = grid_search_iq1();
  auto& y = *static_cast<BlockIQ1_S*>(out);
  std::memset(&y, 0, sizeof y);
  float scales[QK_K / kBlock], weight[kBlock], sumx[kBlock + 1], sumw[kBlock + 1];
  int8_t shifts[QK_K / kBlock], L[kBlock];
  int order[kBlock];
  float max_scale = 0;
  const float sigma2 = 2 * sum_squares(x, QK_K) / QK_K;
  for (int ib = 0; ib < QK_K / kBlock; ++ib) {
    const float* xb = x + kBlock * ib;
    for (int i = 0; i < kBlock; ++i) weight[i] = qw[kBlock * ib + i] * std::sqrt(sigma2 + xb[i] * xb[i]);
    float max = std::fabs(xb[0]);
    for (int i = 1; i < kBlock; ++i) max = max > std::fabs(xb[i]) ? max : std::fabs(xb[i]);
    scales[ib] = 0;
    shifts[ib] = 1;
    if (max < kGroupMaxEpsIQ1S) continue;
    sort_order(xb, kBlock, order);
    sumx[0] = sumw[0] = 0;
    for (int j = 0; j < kBlock; ++j) {
      const int i = order[j];
      sumx[j + 1] = sumx[j] + weight[i] * xb[i];
      sumw[j + 1] = sumw[j] + weight[i];
    }
    float best_score = -FLT_MAX, scale = max;
    int besti1 = -1, besti2 = -1, best_shift = 0;
    for (int i1 = 0; i1 <= kBlock; ++i1) {
      for (int i2 = i1; i2 <= kBlock; ++i2) {
        for (int shift : {1, -1}) {
          const float* xs = shift == 1 ? kShiftPlus : kShiftMinus;
          const float sumqx = (sumx[i1] - sumx[0]) * xs[0] + (sumx[i2] - sumx[i1]) * xs[1] + (sumx[kBlock] - sumx[i2]) * xs[2];
          const float sumq2 = (sumw[i1] - sumw[0]) * xs[0] * xs[0] + (sumw[i2] - sumw[i1]) * xs[1] * xs[1] +
                              (sumw[kBlock] - sumw[i2]) * xs[2] * xs[2];
          if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
            scale = sumqx / sumq2;
            best_score = scale * sumqx;
            besti1 = i1;
            besti2 = i2;
            best_shift = shift;
          }
        }
      }
    }
    if (besti1 < 0 || besti2 < 0 || best_shift == 0) continue;
    split_levels(order, kBlock, besti1, besti2, L);
    if (scale < 0) {
      for (int8_t& l : L) l = int8_t(2 - l);
      scale = -scale;
      best_shift = -best_shift;
    }
    const float* xs = best_shift == 1 ? kShiftPlus : kShiftMinus;
    bool all_on_grid = true;
    uint16_t index[kBlock / 8];
    for (int k = 0; k < kBlock / 8; ++k) {
      const uint32_t key = key_of(L + 8 * k);
      int point = g.map[key];
      if (point < 0) {
        all_on_grid = false;
        point = nearest_neighbour_iq1(g, key, xb + 8 * k, weight + 8 * k, scale, xs, L + 8 * k);
      }
      index[k] = uint16_t(point);
    }
    if (!all_on_grid) {
      float sumqx = 0, sumq2 = 0;
      for (int k = 0; k < kBlock / 8; ++k) {
        const int8_t* pt = g.point(index[k]);
        for (int j = 0; j < 8; ++j) {
          const float w = weight[8 * k + j], q = xs[pt[j]];
          sumqx += w * q * xb[8 * k + j];
          sumq2 += w * q * q;
        }
      }
      if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
    }
    uint16_t h = 0;
    for (int k = 0; k < kBlock / 8; ++k) {
      y.qs[(kBlock / 8) * ib + k] = uint8_t(index[k] & 255);
      h = uint16_t(h | (index[k] >> 8) << 3 * k);
    }
    y.qh[ib] = h;
    scales[ib] = scale;
    shifts[ib] = int8_t(best_shift);
    max_scale = max_scale > scale ? max_scale : scale;
  }
  if (!max_scale) return;
  const float d = max_scale / 15;
  y.d = fp32_to_fp16(d * 1.125f);  // ggml's factor
  const float id = 1 / d;
  for (int ib = 0; ib < QK_K / kBlock; ++ib) {
    int l = scale_code(id, scales[ib], 7);
    if (shifts[ib] == -1) l |= 8;
    y.qh[ib] = uint16_t(y.qh[ib] | l << 12);
  }
}

// IQ1_M's four shift patterns of a 16-element group (bit 1: first 8 shifted down, bit 0: the
// second 8), and the qh bits that store them.
const float* shift_values(int pattern, int half) {
  const bool minus = half == 0 ? pattern >= 2 : pattern % 2 == 1;
  return minus ? kShiftMinus : kShiftPlus;
}
constexpr uint8_t kShiftMasks[4] = {0x00, 0x80, 0x08, 0x88};

void iq1_m_weights(const float* xb, const float* qw, float sigma2, float* weight) {
  if (qw) {
    for (int i = 0; i < 16; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
  } else {
    for (int i = 0; i < 16; ++i) weight[i] = xb[i] * xb[i];
  }
}

void block_iq1_m(const float* x, const float* qw, void* out) {
  constexpr int kBlock = 16;
  const GridSearch& g = grid_search_iq1();
  auto& y = *static_cast<BlockIQ1_M*>(out);
  std::memset(&y, 0, sizeof y);
  float scales[QK_K / kBlock], weight[kBlock];
  int8_t shifts[QK_K / kBlock], L[kBlock];
  int order[kBlock];
  float max_scale = 0;
  const float sigma2 = 2 * sum_squares(x, QK_K) / QK_K;
  for (int ib = 0; ib < QK_K / kBlock; ++ib) {
    const float* xb = x + kBlock * ib;
    iq1_m_weights(xb, qw ? qw + kBlock * ib : nullptr, sigma2, weight);
    float max = std::fabs(xb[0]);
    for (int i = 1; i < kBlock; ++i) max = max > std::fabs(xb[i]) ? max : std::fabs(xb[i]);
    scales[ib] = 0;
    shifts[ib] = 0;
    if (max < kGroupMaxEpsIQ1M) continue;
    sort_order(xb, kBlock, order);
    float best_score = -FLT_MAX, scale = max;
    int besti1 = -1, besti2 = -1, best_k = -1;
    for (int i1 = 0; i1 <= kBlock; ++i1) {
      for (int i2 = i1; i2 <= kBlock; ++i2) {
        // The four patterns' sums, accumulated over the sorted elements as ggml does.
        float sumqx[4] = {}, sumq2[4] = {};
        for (int j = 0; j < kBlock; ++j) {
          const int i = order[j], level = j < i1 ? 0 : j < i2 ? 1 : 2;
          for (int k = 0; k < 4; ++k) {
            const float v = shift_values(k, i < kBlock / 2 ? 0 : 1)[level];
            sumqx[k] += weight[i] * v * xb[i];
            sumq2[k] += weight[i] * v * v;
          }
        }
        for (int k = 0; k < 4; ++k) {
          if (sumq2[k] > 0 && sumqx[k] * sumqx[k] > best_score * sumq2[k]) {
            scale = sumqx[k] / sumq2[k];
            best_score = scale * sumqx[k];
            besti1 = i1;
            besti2 = i2;
            best_k = k;
          }
        }
      }
    }
    if (besti1 < 0 || besti2 < 0 || best_k < 0) continue;
    split_levels(order, kBlock, besti1, besti2, L);
    if (scale < 0) {
      for (int8_t& l : L) l = int8_t(2 - l);
      scale = -scale;
      best_k = 3 - best_k;  // both shifts change sign
    }
    bool all_on_grid = true;
    uint16_t index[2];
    for (int k = 0; k < 2; ++k) {
      const uint32_t key = key_of(L + 8 * k);
      int point = g.map[key];
      if (point < 0) {
        all_on_grid = false;
        point = nearest_neighbour_iq1(g, key, xb + 8 * k, weight + 8 * k, scale, shift_values(best_k, k), L + 8 * k);
      }
      index[k] = uint16_t(point);
    }
    if (!all_on_grid) {
      float sumqx = 0, sumq2 = 0;
      for (int k = 0; k < 2; ++k) {
        const float* xs = shift_values(best_k, k);
        const int8_t* pt = g.point(index[k]);
        for (int j = 0; j < 8; ++j) {
          const float w = weight[8 * k + j], q = xs[pt[j]];
          sumqx += w * q * xb[8 * k + j];
          sumq2 += w * q * q;
        }
      }
      if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
    }
    y.qs[2 * ib] = uint8_t(index[0] & 255);
    y.qs[2 * ib + 1] = uint8_t(index[1] & 255);
    y.qh[ib] = uint8_t((index[0] >> 8) | (index[1] >> 8) << 4);
    scales[ib] = scale;
    shifts[ib] = int8_t(best_k);
    max_scale = max_scale > scale ? max_scale : scale;
  }
  if (!max_scale) return;
  // The sub-block scales, then d re-fitted to the quantized values over the whole super-block.
  uint16_t sc[4] = {};
  float d = max_scale / 15;
  const float id = 1 / d;
  float sumqx = 0, sumq2 = 0;
  for (int ib = 0; ib < QK_K / kBlock; ++ib) {
    const int l = scale_code(id, scales[ib], 7);
    sc[ib / 4] = uint16_t(sc[ib / 4] | l << 3 * (ib % 4));
    y.qh[ib] |= kShiftMasks[shifts[ib]];
    const float* xb = x + kBlock * ib;
    iq1_m_weights(xb, qw ? qw + kBlock * ib : nullptr, sigma2, weight);
    for (int k = 0; k < 2; ++k) {
      const float* xs = shift_values(shifts[ib], k);
      const int8_t* pt = g.point(y.qs[2 * ib + k] | (y.qh[ib] >> 4 * k & 7) << 8);
      for (int j = 0; j < 8; ++j) {
        const float w = weight[8 * k + j], q = xs[pt[j]] * float(2 * l + 1);
        sumqx += w * q * xb[8 * k + j];
        sumq2 += w * q * q;
      }
    }
  }
  if (sumq2 > 0) d = sumqx / sumq2;
  const uint16_t s = fp32_to_fp16(d * 1.1125f);  // ggml's factor
  sc[0] = uint16_t(sc[0] | (s & 0x000f) << 12);
  sc[1] = uint16_t(sc[1] | (s & 0x00f0) << 8);
  sc[2] = uint16_t(sc[2] | (s & 0x0f00) << 4);
  sc[3] = uint16_t(sc[3] | (s & 0xf000));
  std::memcpy(y.scales, sc, sizeof sc);
}

}  // namespace

size_t quantize_iq1_s(const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix) {
  return quantize_grid_rows("IQ1_S", true, block_iq1_s, sizeof(BlockIQ1_S), src, dst, nrow, n_per_row, imatrix);
}
size_t quantize_iq1_m(const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix) {
  return quantize_grid_rows("IQ1_M", false, block_iq1_m, sizeof(BlockIQ1_M), src, dst, nrow, n_per_row, imatrix);
}

}  // namespace trident
