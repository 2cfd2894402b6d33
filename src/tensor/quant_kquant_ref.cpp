// Reference weight quantizers for the K-quants, bit-exact with ggml's quantize_row_q{2..6}_K_ref
// (which is also what llama-quantize runs when no importance matrix is given).
//
// Bit-exactness depends on evaluating every float expression in ggml's order with one
// rounding per operation: this file is built for baseline x86-64 (no FMA, so the compiler
// cannot contract a * b + c), loops are sequential (no reassociation without -ffast-math),
// and each expression below keeps ggml's operand order, e.g. w * x * l is (w * x) * l.
#include <cmath>
#include <cstring>

#include "format/error.h"
#include "tensor/blocks.h"
#include "tensor/quant_fit.h"
#include "tensor/quant_fns.h"
#include "tensor/quant_kquant_internal.h"

namespace trident {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: a sub-block this small is zero

int64_t super_blocks(int64_t n, const char* what) {
  if (n < 0 || n % QK_K != 0) fail("{}: row length {} is not a multiple of {}", what, n, QK_K);
  return n / QK_K;
}

int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Symmetric quants l in [-nmax, nmax - 1] for one sub-block (n <= 32), weights x^2, returned in
// L as l + nmax (ggml: make_qx_quants with rmse_type 1 and no importance weights; used by Q6_K).
float fit_symmetric_scale(int n, int nmax, const float* x, int8_t* L) {
  float w[32];
  for (int i = 0; i < n; ++i) w[i] = x[i] * x[i];
  return fit_symmetric_weighted(n, nmax, x, L, w);
}

// Symmetric quants for Q3_K sub-blocks: start as fit_symmetric_scale does, then up to five
// passes of coordinate descent, moving one quant at a time when that improves the weighted
// (w = x^2) fit. L = l + nmax. (ggml: make_q3_quants with do_rmse.)
float fit_symmetric_scale_q3(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    if (a > amax) {
      amax = a;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, size_t(n));
    return 0.f;
  }
  const float iscale = float(-nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = int8_t(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * float(l);
    suml2 += w * float(l) * float(l);
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * float(L[i]);
      if (slx > 0) {
        float sl2 = suml2 - w * float(L[i]) * float(L[i]);
        const int new_l = clamp_int(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != L[i]) {
          slx += w * x[i] * float(new_l);
          sl2 += w * float(new_l) * float(new_l);
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = int8_t(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++changed;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = int8_t(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Packs 2-bit quants L[0..255] (values 0..3) as Q2_K / Q3_K store them in qs[64].
void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int h = 0; h < QK_K; h += 128)
    for (int l = 0; l < 32; ++l)
      qs[h / 4 + l] =
          uint8_t(L[h + l] | (L[h + l + 32] << 2) | (L[h + l + 64] << 4) | (L[h + l + 96] << 6));
}

// Q4_K / Q5_K: one super-block's scales and mins (8 each, from fit_asymmetric_scale) become
// 6-bit integers relative to the largest of each, packed as unpack_scale_min_k4 reads them;
// then every element is re-quantized against the rounded (scale, min) pairs into L (0..nmax).
template <typename Block>
void quantize_scales_mins_k4(const float* x, const float* scales, const float* mins, int nmax,
                             Block& y, uint8_t* L) {
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < QK_K / 32; ++j) {
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < QK_K / 32; ++j) {
    uint8_t ls = uint8_t(nearest_int(inv_scale * scales[j]));
    uint8_t lm = uint8_t(nearest_int(inv_min * mins[j]));
    if (ls > 63) ls = 63;
    if (lm > 63) lm = 63;
    if (j < 4) {
      y.scales[j] = ls;
      y.scales[j + 4] = lm;
    } else {
      y.scales[j + 4] = uint8_t((ls & 0x0f) | ((lm & 0x0f) << 4));
      y.scales[j - 4] |= uint8_t((ls >> 4) << 6);
      y.scales[j] |= uint8_t((lm >> 4) << 6);
    }
  }
  y.d = fp32_to_fp16(max_scale / 63.f);
  y.dmin = fp32_to_fp16(max_min / 63.f);

  uint8_t sc[8], mn[8];
  unpack_scale_min_k4(y.scales, sc, mn);
  for (int j = 0; j < QK_K / 32; ++j) {
    const float d = fp16_to_fp32(y.d) * float(sc[j]);
    if (d == 0) continue;  // keep the quants of the fit
    const float dm = fp16_to_fp32(y.dmin) * float(mn[j]);
    for (int i = 0; i < 32; ++i)
      L[32 * j + i] = uint8_t(clamp_int(nearest_int((x[32 * j + i] + dm) / d), 0, nmax));
  }
}

// Q4_K / Q5_K per-sub-block fit: weights av_x + |x| with av_x the rms of the sub-block.
void fit_k4_sub_blocks(const float* x, int nmax, const AsymmetricSearch& search, uint8_t* L,
                       float* scales, float* mins) {
  float weights[32];
  uint8_t Laux[32];
  for (int j = 0; j < QK_K / 32; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int i = 0; i < 32; ++i) sum_x2 += xs[i] * xs[i];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int i = 0; i < 32; ++i) weights[i] = av_x + std::fabs(xs[i]);
    scales[j] = fit_asymmetric_scale(32, nmax, xs, weights, L + 32 * j, &mins[j], Laux, search);
  }
}

}  // namespace

// Asymmetric quants x ~ scale * l - the_min, l in [0, nmax], for one sub-block with the given
// weights. Tries nstep + 1 scalings around nmax / (max - min); for each, solves the weighted
// least-squares (scale, min) for its quants and keeps the best by the weighted error.
// Returns scale; *the_min >= 0. (ggml: make_qkx2_quants.)
float fit_asymmetric_scale(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                           float* the_min, uint8_t* Laux, const AsymmetricSearch& p) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::memset(L, 0, size_t(n));
    *the_min = -min;
    return 0.f;
  }
  auto error_of = [&](float e) { return p.use_mad ? std::fabs(e) : e * e; };
  float iscale = float(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = uint8_t(clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax));
    const float diff = scale * float(L[i]) + min - x[i];
    best_error += weights[i] * error_of(diff);
  }
  for (int is = 0; is <= p.nstep; ++is) {
    iscale = (p.rmin + p.rdelta * float(is) + float(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = uint8_t(l);
      const float w = weights[i];
      sum_l += w * float(l);
      sum_l2 += w * float(l) * float(l);
      sum_xl += w * float(l) * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * float(Laux[i]) + this_min - x[i];
        cur_error += weights[i] * error_of(diff);
      }
      if (cur_error < best_error) {
        std::memcpy(L, Laux, size_t(n));
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

void quantize_row_q2_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ2_K*>(dst);
  const AsymmetricSearch search{-0.5f, 0.1f, 15, true};
  for (int64_t b = 0, nb = super_blocks(n, "quantize_row_q2_K"); b < nb; ++b, ++y, src += QK_K) {
    uint8_t L[QK_K], Laux[16];
    float weights[16], scales[QK_K / 16], mins[QK_K / 16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 16; ++j) {
      for (int i = 0; i < 16; ++i) weights[i] = std::fabs(src[16 * j + i]);
      scales[j] =
          fit_asymmetric_scale(16, 3, src + 16 * j, weights, L + 16 * j, &mins[j], Laux, search);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    // Scales and mins become 4-bit integers relative to the largest of each. The int -> uint8
    // conversions wrap exactly as ggml's do (a negative fitted scale is possible in principle).
    if (max_scale > 0) {
      const float iscale = 15.f / max_scale;
      for (int j = 0; j < QK_K / 16; ++j) y->scales[j] = uint8_t(nearest_int(iscale * scales[j]));
      y->d = fp32_to_fp16(max_scale / 15.f);
    } else {
      std::memset(y->scales, 0, sizeof(y->scales));
      y->d = fp32_to_fp16(0.f);
    }
    if (max_min > 0) {
      const float iscale = 15.f / max_min;
      for (int j = 0; j < QK_K / 16; ++j)
        y->scales[j] |= uint8_t(nearest_int(iscale * mins[j]) << 4);
      y->dmin = fp32_to_fp16(max_min / 15.f);
    } else {
      y->dmin = fp32_to_fp16(0.f);
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      const float d = fp16_to_fp32(y->d) * float(y->scales[j] & 0x0f);
      if (d == 0) continue;
      const float dm = fp16_to_fp32(y->dmin) * float(y->scales[j] >> 4);
      for (int i = 0; i < 16; ++i)
        L[16 * j + i] = uint8_t(clamp_int(nearest_int((src[16 * j + i] + dm) / d), 0, 3));
    }
    pack_2bit(L, y->qs);
  }
}

void quantize_row_q3_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ3_K*>(dst);
  for (int64_t b = 0, nb = super_blocks(n, "quantize_row_q3_K"); b < nb; ++b, ++y, src += QK_K) {
    int8_t L[QK_K];
    float scales[QK_K / 16];
    float max_scale = 0, amax = 0;
    for (int j = 0; j < QK_K / 16; ++j) {
      scales[j] = fit_symmetric_scale_q3(16, 4, src + 16 * j, L + 16 * j);
      const float a = std::fabs(scales[j]);
      if (a > amax) {
        amax = a;
        max_scale = scales[j];
      }
    }
    std::memset(y->scales, 0, sizeof(y->scales));
    if (max_scale != 0) {
      // 6-bit signed scales relative to the largest-magnitude one, stored with bias 32.
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < QK_K / 16; ++j) {
        const int l = clamp_int(int8_t(nearest_int(iscale * scales[j])), -32, 31) + 32;
        if (j < 8)
          y->scales[j] = uint8_t(l & 0x0f);
        else
          y->scales[j - 8] |= uint8_t((l & 0x0f) << 4);
        y->scales[8 + j % 4] |= uint8_t((l >> 4) << (2 * (j / 4)));
      }
      y->d = fp32_to_fp16(1 / iscale);
    } else {
      y->d = fp32_to_fp16(0.f);
    }
    int8_t sc[16];
    unpack_scales_q3k(y->scales, sc);
    for (int j = 0; j < QK_K / 16; ++j) {
      const float d = fp16_to_fp32(y->d) * float(sc[j]);
      if (d == 0) continue;
      for (int i = 0; i < 16; ++i)
        L[16 * j + i] = int8_t(clamp_int(nearest_int(src[16 * j + i] / d), -4, 3) + 4);
    }
    // Bit 2 of each quant goes to hmask: element e sets bit e / 32 of hmask[e % 32].
    std::memset(y->hmask, 0, sizeof(y->hmask));
    uint8_t low[QK_K];
    for (int e = 0; e < QK_K; ++e) {
      if (L[e] > 3) y->hmask[e % 32] |= uint8_t(1u << (e / 32));
      low[e] = uint8_t(L[e] > 3 ? L[e] - 4 : L[e]);
    }
    pack_2bit(low, y->qs);
  }
}

void quantize_row_q4_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ4_K*>(dst);
  const AsymmetricSearch search{-1.f, 0.1f, 20, false};
  for (int64_t b = 0, nb = super_blocks(n, "quantize_row_q4_K"); b < nb; ++b, ++y, src += QK_K) {
    uint8_t L[QK_K];
    float scales[QK_K / 32], mins[QK_K / 32];
    fit_k4_sub_blocks(src, 15, search, L, scales, mins);
    quantize_scales_mins_k4(src, scales, mins, 15, *y, L);
    for (int c = 0; c < QK_K / 64; ++c)
      for (int l = 0; l < 32; ++l)
        y->qs[32 * c + l] = uint8_t(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
  }
}

void quantize_row_q5_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ5_K*>(dst);
  const AsymmetricSearch search{-0.5f, 0.1f, 15, false};
  for (int64_t b = 0, nb = super_blocks(n, "quantize_row_q5_K"); b < nb; ++b, ++y, src += QK_K) {
    uint8_t L[QK_K];
    float scales[QK_K / 32], mins[QK_K / 32];
    fit_k4_sub_blocks(src, 31, search, L, scales, mins);
    quantize_scales_mins_k4(src, scales, mins, 31, *y, L);
    // Bit 4 of the quant of element e goes to bit e / 32 of qh[e % 32].
    std::memset(y->qh, 0, sizeof(y->qh));
    for (int c = 0; c < QK_K / 64; ++c)
      for (int l = 0; l < 32; ++l) {
        const int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
        y->qh[l] |= uint8_t(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
        y->qs[32 * c + l] = uint8_t((lo & 0x0f) | ((hi & 0x0f) << 4));
      }
  }
}

void quantize_row_q6_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ6_K*>(dst);
  for (int64_t b = 0, nb = super_blocks(n, "quantize_row_q6_K"); b < nb; ++b, ++y, src += QK_K) {
    int8_t L[QK_K];
    float scales[QK_K / 16];
    float max_scale = 0, max_abs_scale = 0;
    for (int j = 0; j < QK_K / 16; ++j) {
      scales[j] = fit_symmetric_scale(16, 32, src + 16 * j, L + 16 * j);
      const float a = std::fabs(scales[j]);
      if (a > max_abs_scale) {
        max_abs_scale = a;
        max_scale = scales[j];
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(y, 0, sizeof(*y));
      continue;
    }
    // 8-bit signed scales; the largest-magnitude one maps to -128 (then clamped to 127 when
    // its sign flips, as in ggml).
    const float iscale = -128.f / max_scale;
    y->d = fp32_to_fp16(1 / iscale);
    for (int j = 0; j < QK_K / 16; ++j) {
      const int l = nearest_int(iscale * scales[j]);
      y->scales[j] = int8_t(l < 127 ? l : 127);
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      const float d = fp16_to_fp32(y->d) * float(y->scales[j]);
      if (d == 0) continue;
      for (int i = 0; i < 16; ++i)
        L[16 * j + i] = int8_t(clamp_int(nearest_int(src[16 * j + i] / d), -32, 31) + 32);
    }
    for (int h = 0; h < 2; ++h) {
      const int8_t* Lh = L + 128 * h;
      for (int l = 0; l < 32; ++l) {
        y->ql[64 * h + l] = uint8_t((Lh[l] & 0x0f) | ((Lh[l + 64] & 0x0f) << 4));
        y->ql[64 * h + 32 + l] = uint8_t((Lh[l + 32] & 0x0f) | ((Lh[l + 96] & 0x0f) << 4));
        y->qh[32 * h + l] = uint8_t((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) |
                                    ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace trident
