// The scale search shared by the IQ2 and IQ3 quantizers (tensor/grid_search.h), following
// llama.cpp 3f545bec's quantize_row_iq2_*_impl / quantize_row_iq3_*_impl: for each trial inverse
// scale, round every element to a level, replace each point that is off the codebook by its
// nearest listed neighbour, and keep the trial whose least-squares scale explains the most of
// sum w x^2; then re-fit the points at that scale.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "tensor/blocks.h"
#include "tensor/quant_fit.h"
#include "tensor/grid_search.h"
#include "tensor/quant_kquant_internal.h"

namespace trident {
namespace {

int clamp_level(int l, int kmax) { return l < 0 ? 0 : l > kmax - 1 ? kmax - 1 : l; }

uint32_t key_of(const int8_t* L, int dim, int bits) {
  uint32_t key = 0;
  for (int i = 0; i < dim; ++i) key |= uint32_t(L[i]) << (bits * i);
  return key;
}

// Levels of the dim elements at inverse scale id: round(0.5 (id x - 1)) so that 2 l + 1 ~ id x.
void round_levels(const float* x, int dim, int kmax, float id, int8_t* L) {
  for (int i = 0; i < dim; ++i) L[i] = int8_t(clamp_level(nearest_int(0.5f * (id * x[i] - 1)), kmax));
}

// sum w x q and sum w q^2 over n elements, q = 2 L + 1, in ggml's order.
void fit_sums(const float* x, const float* w, const int8_t* L, int n, float& sumqx, float& sumq2) {
  sumqx = sumq2 = 0;
  for (int i = 0; i < n; ++i) {
    const float q = float(2 * L[i] + 1);
    sumqx += w[i] * x[i] * q;
    sumq2 += w[i] * q * q;
  }
}



}  // namespace

int nearest_neighbour(const GridSearch& g, uint32_t key, const float* x, const float* w, float scale, int8_t* L) {
  const uint16_t* list = g.neighbours_of(key);
  float best_d2 = FLT_MAX;
  int best = -1;
  for (int j = 1; j <= list[0]; ++j) {
    const int8_t* pt = g.point(list[j]);
    float d2 = 0;
    for (int i = 0; i < g.dim; ++i) {
      const float diff = scale * float(2 * pt[i] + 1) - x[i];
      d2 += w[i] * diff * diff;
    }
    if (d2 < best_d2) {
      best_d2 = d2;
      best = list[j];
    }
  }
  // Only NaN or overflowing distances leave no candidate (ggml asserts).
  if (best < 0) throw std::invalid_argument("grid quantizer: non-finite values in a block");
  std::memcpy(L, g.point(best), size_t(g.dim));
  return best;
}

float search_group(const GridSearch& g, const GroupSearch& p, const float* xval, const float* weight,
                   const float* waux, float scale, float denom, uint16_t* idx) {
  const int dim = g.dim, n_pts = p.n / dim;
  int8_t L[32] = {}, Laux[32];
  bool on_grid[8], on_grid_aux[8];
  for (int k = 0; k < n_pts; ++k) on_grid[k] = p.init_on_grid;
  float best = 0;
  for (int is = -p.ntry; is <= p.ntry; ++is) {
    const float id = (float(2 * p.kmax - 1) + float(is) * p.step) / denom;
    const float this_scale = 1 / id;
    for (int k = 0; k < n_pts; ++k) {
      int8_t* Lk = Laux + dim * k;
      round_levels(xval + dim * k, dim, p.kmax, id, Lk);
      const uint32_t key = key_of(Lk, dim, g.bits);
      on_grid_aux[k] = g.map[key] >= 0;
      if (!on_grid_aux[k]) nearest_neighbour(g, key, xval + dim * k, waux + dim * k, this_scale, Lk);
    }
    float sumqx, sumq2;
    fit_sums(xval, weight, Laux, p.n, sumqx, sumq2);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      scale = sumqx / sumq2;
      best = scale * sumqx;
      std::memcpy(L, Laux, size_t(p.n));
      std::memcpy(on_grid, on_grid_aux, sizeof(bool) * size_t(n_pts));
    }
  }
  bool any_off = !p.track_on_grid;
  for (int k = 0; k < n_pts; ++k) any_off = any_off || !on_grid[k];
  if (any_off && scale > 0) {
    const float id = 1 / scale;
    for (int k = 0; k < n_pts; ++k) {
      if (p.track_on_grid && p.refit_off_only && on_grid[k]) continue;
      int8_t* Lk = L + dim * k;
      round_levels(xval + dim * k, dim, p.kmax, id, Lk);
      const uint32_t key = key_of(Lk, dim, g.bits);
      if (g.map[key] < 0) nearest_neighbour(g, key, xval + dim * k, waux + dim * k, scale, Lk);
    }
    float sumqx, sumq2;
    fit_sums(xval, weight, L, p.n, sumqx, sumq2);
    if (sumq2 > 0) scale = sumqx / sumq2;
  }
  for (int k = 0; k < n_pts; ++k) {
    const int32_t point = g.map[key_of(L + dim * k, dim, g.bits)];
    if (point < 0) throw std::logic_error("grid quantizer: a point left off the codebook");  // ggml aborts
    idx[k] = uint16_t(point);
  }
  return scale;
}

bool fit_group(const GridSearch& g, const GroupSearch& p, const float* xb, const float* weight, const float* waux,
               GroupFit& fit) {
  float xval[32];
  for (int k = 0; k < p.n / 8; ++k) fit.signs[k] = fold_signs(xb + 8 * k, weight + 8 * k, p.even_parity, xval + 8 * k);
  float max = xval[0];
  for (int i = 1; i < p.n; ++i) max = max > xval[i] ? max : xval[i];
  if (max < p.eps) return false;
  float scale = max / float(2 * p.kmax - 1), denom = max;
  if (p.qp_start) {
    uint8_t L[32];
    scale = fit_positive(p.n, p.kmax + 1, xval, L, weight);
    denom = scale * float(p.kmax);
    if (denom <= 0) return false;
  }
  scale = search_group(g, p, xval, weight, waux, scale, denom, fit.idx);
  if (scale < 0) {  // the scale is stored unsigned: flip the signs instead
    scale = -scale;
    for (int k = 0; k < p.n / 8; ++k) fit.signs[k] = uint8_t(~fit.signs[k] & (p.even_parity ? 127 : 255));
  }
  fit.scale = scale;
  return true;
}

float fit_groups(const GridSearch& g, const GroupSearch& p, const float* x, const float* qw, float sigma2,
                 GroupFit* fits, bool* fitted) {
  float weight[32], waux[32], max_scale = 0;
  for (int ib = 0; ib < QK_K / p.n; ++ib) {
    const float* xb = x + p.n * ib;
    if (!qw && p.iq2s_weights) {
      for (int i = 0; i < p.n; ++i) weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
      for (int i = 0; i < p.n; ++i) waux[i] = std::sqrt(weight[i]);
    } else {
      grid_weights(xb, qw ? qw + p.n * ib : nullptr, sigma2, p.n, weight, waux);
    }
    fitted[ib] = fit_group(g, p, xb, weight, waux, fits[ib]);
    if (!fitted[ib]) {
      fits[ib].scale = 0;
      continue;
    }
    max_scale = max_scale > fits[ib].scale ? max_scale : fits[ib].scale;
  }
  return max_scale;
}

void grid_weights(const float* x, const float* qw, float sigma2, int n, float* weight, float* waux) {
  if (qw) {
    for (int i = 0; i < n; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
  } else {
    for (int i = 0; i < n; ++i) weight[i] = x[i] * x[i];
  }
  if (waux)
    for (int i = 0; i < n; ++i) waux[i] = std::sqrt(weight[i]);
}

uint8_t fold_signs(const float* x, const float* weight, bool even_parity, float* xval) {
  int nflip = 0;
  uint8_t s = 0;
  for (int i = 0; i < 8; ++i) {
    if (x[i] >= 0) {
      xval[i] = x[i];
    } else {
      xval[i] = -x[i];
      ++nflip;
      s = uint8_t(s | 1 << i);
    }
  }
  if (!even_parity) return s;
  if (nflip % 2) {
    int imin = 0;
    float min = weight[0] * x[0] * x[0];
    for (int i = 1; i < 8; ++i) {
      const float ax = weight[i] * x[i] * x[i];
      if (ax < min) {
        min = ax;
        imin = i;
      }
    }
    xval[imin] = -xval[imin];
    s = uint8_t(s ^ 1 << imin);
  }
  return s & 127;
}

float sum_squares(const float* x, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += x[i] * x[i];
  return s;
}

float super_scale(float max_scale, float divisor, float factor, f16_bits* d16) {
  const float d = max_scale / divisor;
  *d16 = fp32_to_fp16(d * factor);
  return 1 / d;
}

int scale_code(float id, float s, int lmax) {
  const int l = nearest_int(0.5f * (id * s - 1));
  return l < 0 ? 0 : l > lmax ? lmax : l;
}

size_t quantize_grid_rows(const char* name, bool needs_imatrix, GridBlockFn fn, size_t block_bytes,
                          const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix) {
  if (needs_imatrix && !imatrix) throw std::invalid_argument(std::string(name) + " needs an importance matrix");
  if (nrow < 0 || n_per_row < 0 || n_per_row % QK_K != 0)
    throw std::invalid_argument(std::string(name) + ": rows of " + std::to_string(n_per_row) +
                                " elements are not whole blocks of " + std::to_string(QK_K));
  const int64_t nblock = n_per_row / QK_K;
  auto* out = static_cast<char*>(dst);
  for (int64_t r = 0; r < nrow; ++r)
    for (int64_t b = 0; b < nblock; ++b)
      fn(src + r * n_per_row + b * QK_K, imatrix ? imatrix + b * QK_K : nullptr, out + size_t(r * nblock + b) * block_bytes);
  return size_t(nrow * nblock) * block_bytes;
}

}  // namespace trident
