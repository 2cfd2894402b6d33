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

uint32_t iq1_key(const int8_t* L) {
  uint32_t key = 0;
  for (int i = 0; i < 8; ++i) key |= uint32_t(L[i]) << 2 * i;
  return key;
}

// The n_pts points of levels L (8 each; xs[k]: point k's shifted values) into index, each off
// the codebook replaced by its nearest neighbour at `scale`; if any was, returns the scale
// re-fitted to the points (kept unless positive), else `scale`.
float snap_to_codebook(const GridSearch& g, int n_pts, const float* xb, const float* weight, const float* const* xs,
                       float scale, int8_t* L, uint16_t* index) {
  bool all_on_grid = true;
  for (int k = 0; k < n_pts; ++k) {
    const uint32_t key = iq1_key(L + 8 * k);
    int point = g.map[key];
    if (point < 0) {
      all_on_grid = false;
      point = nearest_neighbour_iq1(g, key, xb + 8 * k, weight + 8 * k, scale, xs[k], L + 8 * k);
    }
    index[k] = uint16_t(point);
  }
  if (all_on_grid) return scale;
  float sumqx = 0, sumq2 = 0;
  for (int k = 0; k < n_pts; ++k) {
    const int8_t* pt = g.point(index[k]);
    for (int j = 0; j < 8; ++j) {
      const float w = weight[8 * k + j], q = xs[k][pt[j]];
      sumqx += w * q * xb[8 * k + j];
      sumq2 += w * q * q;
    }
  }
  return sumqx > 0 && sumq2 > 0 ? sumqx / sumq2 : scale;
}

// Shift patterns: bit k set when point k of the group has the shift -1/8 (IQ1_S: all or none;
// IQ1_M: per point), and the best split of the sorted elements found under them.
const float* shift_values(unsigned minus, int point) { return minus >> point & 1 ? kShiftMinus : kShiftPlus; }
struct Split {
  int i1 = -1, i2 = -1;
  unsigned minus = 0;
  float scale;
};

// The candidate (sumqx, sumq2) of a split under one pattern replaces the best if it explains
// more of sum w x^2, ggml's test.
void consider(float sumqx, float sumq2, int i1, int i2, unsigned minus, float& best_score, Split& best) {
  if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
    best.scale = sumqx / sumq2;
    best_score = best.scale * sumqx;
    best.i1 = i1;
    best.i2 = i2;
    best.minus = minus;
  }
}

// IQ1_S (32 elements, one shift): prefix sums of w x and w over the sorted elements, and per
// split the shift +1/8 then -1/8.
void best_split_s(const float* xb, const float* weight, const int* order, Split& best) {
  constexpr int n = 32;
  float sumx[n + 1], sumw[n + 1];
  sumx[0] = sumw[0] = 0;
  for (int j = 0; j < n; ++j) {
    sumx[j + 1] = sumx[j] + weight[order[j]] * xb[order[j]];
    sumw[j + 1] = sumw[j] + weight[order[j]];
  }
  float best_score = -FLT_MAX;
  for (int i1 = 0; i1 <= n; ++i1)
    for (int i2 = i1; i2 <= n; ++i2)
      for (unsigned minus : {0u, 15u}) {
        const float* v = shift_values(minus, 0);
        const float sumqx = (sumx[i1] - sumx[0]) * v[0] + (sumx[i2] - sumx[i1]) * v[1] + (sumx[n] - sumx[i2]) * v[2];
        const float sumq2 =
            (sumw[i1] - sumw[0]) * v[0] * v[0] + (sumw[i2] - sumw[i1]) * v[1] * v[1] + (sumw[n] - sumw[i2]) * v[2] * v[2];
        consider(sumqx, sumq2, i1, i2, minus, best_score, best);
      }
}

// IQ1_M (16 elements, a shift per 8): per split, the four patterns' sums accumulated over the
// sorted elements, in ggml's pattern order (none, second, first, both shifted down).
void best_split_m(const float* xb, const float* weight, const int* order, Split& best) {
  constexpr int n = 16;
  constexpr unsigned kPatterns[4] = {0, 2, 1, 3};
  float best_score = -FLT_MAX;
  for (int i1 = 0; i1 <= n; ++i1) {
    for (int i2 = i1; i2 <= n; ++i2) {
      float sumqx[4] = {}, sumq2[4] = {};
      for (int j = 0; j < n; ++j) {
        const int i = order[j], level = j < i1 ? 0 : j < i2 ? 1 : 2;
        for (int k = 0; k < 4; ++k) {
          const float v = shift_values(kPatterns[k], i / 8)[level];
          sumqx[k] += weight[i] * v * xb[i];
          sumq2[k] += weight[i] * v * v;
        }
      }
      for (int k = 0; k < 4; ++k) consider(sumqx[k], sumq2[k], i1, i2, kPatterns[k], best_score, best);
    }
  }
}

// One group of n elements (32 or 16) fitted: its points, shift pattern and scale (>= 0).
struct Iq1Fit {
  float scale;
  unsigned minus;
  uint16_t index[4];
};
using SplitFn = void (*)(const float* xb, const float* weight, const int* order, Split& best);

// false: the group is (near) zero or no split fits; it is stored as point 0 with scale 0.
bool fit_iq1_group(const GridSearch& g, int n, float eps, SplitFn split, const float* xb, const float* weight,
                   Iq1Fit& fit) {
  float max = std::fabs(xb[0]);
  for (int i = 1; i < n; ++i) max = max > std::fabs(xb[i]) ? max : std::fabs(xb[i]);
  if (max < eps) return false;
  int order[32];
  sort_order(xb, n, order);
  Split best;
  best.scale = max;
  split(xb, weight, order, best);
  if (best.i1 < 0 || best.i2 < 0) return false;
  int8_t L[32];
  split_levels(order, n, best.i1, best.i2, L);
  const unsigned all = (1u << (n / 8)) - 1;
  if (best.scale < 0) {  // mirror: levels and every shift change sign
    for (int i = 0; i < n; ++i) L[i] = int8_t(2 - L[i]);
    best.scale = -best.scale;
    best.minus ^= all;
  }
  const float* xs[4];
  for (int k = 0; k < n / 8; ++k) xs[k] = shift_values(best.minus, k);
  fit.scale = snap_to_codebook(g, n / 8, xb, weight, xs, best.scale, L, fit.index);
  fit.minus = best.minus;
  return true;
}

void block_iq1_s(const float* x, const float* qw, void* out) {
  const GridSearch& g = grid_search_iq1();
  auto& y = *static_cast<BlockIQ1_S*>(out);
  std::memset(&y, 0, sizeof y);
  Iq1Fit f[QK_K / 32];
  float weight[32], max_scale = 0;
  const float sigma2 = 2 * sum_squares(x, QK_K) / QK_K;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    grid_weights(x + 32 * ib, qw + 32 * ib, sigma2, 32, weight, nullptr);
    if (!fit_iq1_group(g, 32, kGroupMaxEpsIQ1S, best_split_s, x + 32 * ib, weight, f[ib])) {
      f[ib] = Iq1Fit{0, 0, {}};
      continue;
    }
    for (int k = 0; k < 4; ++k) {
      y.qs[4 * ib + k] = uint8_t(f[ib].index[k] & 255);
      y.qh[ib] = uint16_t(y.qh[ib] | (f[ib].index[k] >> 8) << 3 * k);
    }
    max_scale = max_scale > f[ib].scale ? max_scale : f[ib].scale;
  }
  if (!max_scale) return;
  const float id = super_scale(max_scale, 15, 1.125f, &y.d);
  for (int ib = 0; ib < QK_K / 32; ++ib)
    y.qh[ib] = uint16_t(y.qh[ib] | (scale_code(id, f[ib].scale, 7) | (f[ib].minus ? 8 : 0)) << 12);
}

void block_iq1_m(const float* x, const float* qw, void* out) {
  const GridSearch& g = grid_search_iq1();
  auto& y = *static_cast<BlockIQ1_M*>(out);
  std::memset(&y, 0, sizeof y);
  Iq1Fit f[QK_K / 16];
  float weight[16], max_scale = 0;
  const float sigma2 = 2 * sum_squares(x, QK_K) / QK_K;
  for (int ib = 0; ib < QK_K / 16; ++ib) {
    grid_weights(x + 16 * ib, qw ? qw + 16 * ib : nullptr, sigma2, 16, weight, nullptr);
    if (!fit_iq1_group(g, 16, kGroupMaxEpsIQ1M, best_split_m, x + 16 * ib, weight, f[ib])) {
      f[ib] = Iq1Fit{0, 0, {}};
      continue;
    }
    y.qs[2 * ib] = uint8_t(f[ib].index[0] & 255);
    y.qs[2 * ib + 1] = uint8_t(f[ib].index[1] & 255);
    y.qh[ib] = uint8_t((f[ib].index[0] >> 8) | (f[ib].index[1] >> 8) << 4);
    max_scale = max_scale > f[ib].scale ? max_scale : f[ib].scale;
  }
  if (!max_scale) return;
  // The sub-block scales, then d re-fitted to the quantized values over the whole super-block.
  uint16_t sc[4] = {};
  float d = max_scale / 15;
  const float id = 1 / d;
  float sumqx = 0, sumq2 = 0;
  for (int ib = 0; ib < QK_K / 16; ++ib) {
    const int l = scale_code(id, f[ib].scale, 7);
    sc[ib / 4] = uint16_t(sc[ib / 4] | l << 3 * (ib % 4));
    y.qh[ib] = uint8_t(y.qh[ib] | (f[ib].minus & 1) << 3 | (f[ib].minus & 2) << 6);  // a point's shift: bit 3 of its nibble
    const float* xb = x + 16 * ib;
    grid_weights(xb, qw ? qw + 16 * ib : nullptr, sigma2, 16, weight, nullptr);
    for (int k = 0; k < 2; ++k) {
      const float* xs = shift_values(f[ib].minus, k);
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
