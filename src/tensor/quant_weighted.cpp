// Importance-weighted quantizers: what llama-quantize runs when given an importance matrix
// (ggml's quantize_q4_0 ... quantize_q6_K with quant_weights, llama.cpp 3f545bec
// ggml/src/ggml-quants.c), bit-exact with it. Without weights each falls back to the reference
// quantizer, as ggml's does.
//
// The weight of element j in a block is imatrix[j] * sqrt(sigma2 + x[j]^2), sigma2 the row's
// (or super-block's) mean square, so that columns the activations use much, and large weights,
// are fitted best. Bit-exactness needs ggml's float order with one rounding per operation: this
// file is built for baseline x86-64 without contraction (see quant_kquant_ref.cpp), and every
// expression keeps ggml's operand order (w * x * l is (w * x) * l, l converted to float).
#include <cmath>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/fp16.h"
#include "tensor/quant_fit.h"
#include "tensor/quant_fns.h"
#include "tensor/quant_kquant_internal.h"
#include "tensor/types.h"

namespace trident {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS

int clamp(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// make_qkx3_quants as ggml's importance-weighted quantizers call it.
constexpr AsymmetricSearch kQkx3{-0.9f, 0.05f, 36, false};
float fit_asymmetric(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min, uint8_t* Laux) {
  return fit_asymmetric_scale(n, nmax, x, w, L, the_min, Laux, kQkx3);
}

float mean_square(const float* x, int64_t n) {
  float s = 0;
  for (int64_t j = 0; j < n; ++j) s += x[j] * x[j];
  return s;
}

// Element weights of one block: qw[j] * sqrt(sigma2 + x[j]^2). Returns their sum (in order).
float block_weights(const float* x, const float* qw, float sigma2, int n, float* w) {
  float sum = 0;
  for (int j = 0; j < n; ++j) w[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
  for (int j = 0; j < n; ++j) sum += w[j];
  return sum;
}

// Nibbles of 32 levels: element j low, element j + 16 high.
void pack_nibbles(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = uint8_t((L[j] & 0xF) | ((L[j + 16] & 0xF) << 4));
}
// The fifth bits of 32 levels, element j at bit j.
void pack_fifth_bits(const uint8_t* L, uint8_t* qh) {
  uint32_t h = 0;
  for (int j = 0; j < 32; ++j) h |= uint32_t((L[j] & 0x10u) >> 4) << j;
  std::memcpy(qh, &h, 4);
}

// Legacy 32-element blocks; Block has d (and m for the asymmetric ones), qs, and qh for 5 bits.
template <class Block, bool kAsym, int kBits>
void legacy_row(const float* x, Block* y, int64_t n, const float* qw) {
  const float sigma2 = mean_square(x, n) / float(n);
  float w[32];
  uint8_t L[32], Laux[32];
  for (int64_t ib = 0; ib < n / 32; ++ib) {
    const float* xb = x + 32 * ib;
    block_weights(xb, qw + 32 * ib, sigma2, 32, w);
    const int nmax = (1 << kBits) - 1;
    if constexpr (kAsym) {
      float min;
      const float d = fit_asymmetric(32, nmax, xb, w, L, &min, Laux);
      y[ib].d = fp32_to_fp16(d);
      y[ib].m = fp32_to_fp16(-min);
    } else {
      const float d = fit_symmetric_weighted(32, (nmax + 1) / 2, xb, reinterpret_cast<int8_t*>(L), w);
      y[ib].d = fp32_to_fp16(d);
    }
    pack_nibbles(L, y[ib].qs);
    if constexpr (kBits == 5) pack_fifth_bits(L, y[ib].qh);
  }
}

template <class Block, bool kAsym, int kBits, GgmlType kType, QuantizeRowFn kRef>
size_t quantize_legacy(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  const size_t rb = row_bytes(kType, n);
  for (int64_t r = 0; r < nrow; ++r) {
    void* row = static_cast<uint8_t*>(dst) + size_t(r) * rb;
    if (qw)
      legacy_row<Block, kAsym, kBits>(src + r * n, static_cast<Block*>(row), n, qw);
    else
      kRef(src + r * n, row, n);
  }
  return size_t(nrow) * rb;
}

// 2-bit levels of a K-quant super-block: 4 per byte, element j + 32 k at bits 2k of byte j (per 128).
void pack_2bit_k(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < QK_K; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] = uint8_t(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

void q2_K_block(const float* x, BlockQ2_K* y, const float* qw) {
  uint8_t L[QK_K], Laux[16], Ls[16], Lm[16];
  float mins[16], scales[16], sw[16], weight[16];
  const float sigma2 = mean_square(x, QK_K) / float(QK_K);
  for (int j = 0; j < QK_K / 16; ++j) {
    sw[j] = block_weights(x + 16 * j, qw + 16 * j, sigma2, 16, weight);
    scales[j] = fit_asymmetric(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux);
  }
  y->d = fp32_to_fp16(fit_positive(16, 15, scales, Ls, sw));
  y->dmin = fp32_to_fp16(fit_positive(16, 15, mins, Lm, sw));
  const float dm = fp16_to_fp32(y->d), mm = fp16_to_fp32(y->dmin);
  for (int j = 0; j < 16; ++j) y->scales[j] = uint8_t(Ls[j] | (Lm[j] << 4));
  // Levels again for the scales as stored.
  for (int j = 0; j < 16; ++j) {
    const float d = dm * float(y->scales[j] & 0xF);
    if (d == 0) continue;
    const float m = mm * float(y->scales[j] >> 4);
    for (int ii = 0; ii < 16; ++ii) L[16 * j + ii] = uint8_t(clamp(nearest_int((x[16 * j + ii] + m) / d), 0, 3));
  }
  pack_2bit_k(L, y->qs);
}

void q3_K_block(const float* x, BlockQ3_K* y, const float* qw) {
  int8_t L[QK_K], Ls[16];
  float scales[16], weight[16], sw[16];
  const float sigma2 = 2 * mean_square(x, QK_K) / float(QK_K);
  for (int j = 0; j < 16; ++j) {
    sw[j] = block_weights(x + 16 * j, qw + 16 * j, sigma2, 16, weight);
    scales[j] = fit_symmetric_weighted(16, 4, x + 16 * j, L + 16 * j, weight);
  }
  std::memset(y->scales, 0, 12);
  const float d_block = fit_symmetric_weighted(16, 32, scales, Ls, sw);
  for (int j = 0; j < 16; ++j) {
    int l = Ls[j];
    if (j < 8)
      y->scales[j] = uint8_t(l & 0xF);
    else
      y->scales[j - 8] |= uint8_t((l & 0xF) << 4);
    l >>= 4;
    y->scales[j % 4 + 8] |= uint8_t(l << (2 * (j / 4)));
  }
  y->d = fp32_to_fp16(d_block);
  int8_t sc[16];
  unpack_scales_q3k(y->scales, sc);
  for (int j = 0; j < 16; ++j) {
    const float d = fp16_to_fp32(y->d) * float(sc[j]);
    if (d == 0) continue;
    for (int ii = 0; ii < 16; ++ii) L[16 * j + ii] = int8_t(clamp(nearest_int(x[16 * j + ii] / d), -4, 3) + 4);
  }
  // High bit of level j at bit j / 32 of hmask[j % 32]; the low two bits packed as Q2_K's.
  std::memset(y->hmask, 0, QK_K / 8);
  uint8_t low[QK_K];
  for (int j = 0; j < QK_K; ++j) {
    uint8_t l = uint8_t(L[j]);
    if (l > 3) {
      y->hmask[j % 32] |= uint8_t(1 << (j / 32));
      l = uint8_t(l - 4);
    }
    low[j] = l;
  }
  pack_2bit_k(low, y->qs);
}

// Q4_K / Q5_K: eight 32-element sub-blocks with 6-bit scales and mins (kBits: 4 or 5).
template <int kBits, class Block>
void q45_K_block(const float* x, Block* y, const float* qw) {
  constexpr int nmax = (1 << kBits) - 1;
  uint8_t L[QK_K], Laux[32], Ls[8], Lm[8];
  float weights[32], sw[8], mins[8], scales[8];
  const float sigma2 = 2 * mean_square(x, QK_K) / float(QK_K);
  for (int j = 0; j < 8; ++j) {
    sw[j] = block_weights(x + 32 * j, qw + 32 * j, sigma2, 32, weights);
    scales[j] = fit_asymmetric(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux);
  }
  const float d_block = fit_positive(8, 63, scales, Ls, sw);
  const float m_block = fit_positive(8, 63, mins, Lm, sw);
  for (int j = 0; j < 8; ++j) {
    const uint8_t ls = std::min<uint8_t>(63, Ls[j]), lm = std::min<uint8_t>(63, Lm[j]);
    if (j < 4) {
      y->scales[j] = ls;
      y->scales[j + 4] = lm;
    } else {
      y->scales[j + 4] = uint8_t((ls & 0xF) | ((lm & 0xF) << 4));
      y->scales[j - 4] |= uint8_t((ls >> 4) << 6);
      y->scales[j] |= uint8_t((lm >> 4) << 6);
    }
  }
  y->d = fp32_to_fp16(d_block);
  y->dmin = fp32_to_fp16(m_block);
  uint8_t sc[8], mn[8];
  unpack_scale_min_k4(y->scales, sc, mn);
  for (int j = 0; j < 8; ++j) {
    const float d = fp16_to_fp32(y->d) * float(sc[j]);
    if (d == 0) continue;
    const float dm = fp16_to_fp32(y->dmin) * float(mn[j]);
    for (int ii = 0; ii < 32; ++ii) L[32 * j + ii] = uint8_t(clamp(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax));
  }
  // Per 64 elements: 32 bytes of nibbles (element l low, l + 32 high); Q5_K's fifth bits in
  // qh[l], two bits per 64 elements.
  if constexpr (kBits == 5) std::memset(y->qh, 0, QK_K / 8);
  for (int n = 0, k = 0; n < QK_K; n += 64, ++k)
    for (int l = 0; l < 32; ++l) {
      int l1 = L[n + l], l2 = L[n + l + 32];
      if constexpr (kBits == 5) {
        if (l1 > 15) l1 -= 16, y->qh[l] |= uint8_t(1 << (2 * k));
        if (l2 > 15) l2 -= 16, y->qh[l] |= uint8_t(2 << (2 * k));
      }
      y->qs[32 * k + l] = uint8_t(l1 | (l2 << 4));
    }
}

void q6_K_block(const float* x, BlockQ6_K* y, const float* qw) {
  int8_t L[QK_K];
  float scales[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    // ggml weighs Q6_K's elements by the importance alone (no sigma term).
    const float scale = fit_symmetric_weighted(16, 32, x + 16 * ib, L + 16 * ib, qw + 16 * ib);
    scales[ib] = scale;
    if (std::fabs(scale) > max_abs_scale) max_abs_scale = std::fabs(scale), max_scale = scale;
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(y, 0, sizeof *y);
    y->d = fp32_to_fp16(0.f);
    return;
  }
  const float iscale = -128.f / max_scale;
  y->d = fp32_to_fp16(1 / iscale);
  for (int ib = 0; ib < 16; ++ib) y->scales[ib] = int8_t(std::min(127, nearest_int(iscale * scales[ib])));
  for (int j = 0; j < 16; ++j) {
    const float d = fp16_to_fp32(y->d) * float(y->scales[j]);
    if (d == 0) continue;
    for (int ii = 0; ii < 16; ++ii) L[16 * j + ii] = int8_t(clamp(nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
  }
  uint8_t* ql = y->ql;
  uint8_t* qh = y->qh;
  for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32)
    for (int l = 0; l < 32; ++l) {
      const uint8_t a = uint8_t(L[j + l]), b = uint8_t(L[j + l + 32]), c = uint8_t(L[j + l + 64]), d = uint8_t(L[j + l + 96]);
      ql[l] = uint8_t((a & 0xF) | ((c & 0xF) << 4));
      ql[l + 32] = uint8_t((b & 0xF) | ((d & 0xF) << 4));
      qh[l] = uint8_t((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((d >> 4) << 6));
    }
}

template <class Block, void (*kBlock)(const float*, Block*, const float*), GgmlType kType, QuantizeRowFn kRef>
size_t quantize_kquant(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  const size_t rb = row_bytes(kType, n);
  for (int64_t r = 0; r < nrow; ++r) {
    void* row = static_cast<uint8_t*>(dst) + size_t(r) * rb;
    const float* x = src + r * n;
    if (!qw) {
      kRef(x, row, n);
      continue;
    }
    for (int64_t i = 0; i < n / QK_K; ++i) kBlock(x + QK_K * i, static_cast<Block*>(row) + i, qw + QK_K * i);
  }
  return size_t(nrow) * rb;
}

}  // namespace

// Non-negative values (sub-block scales or mins) to levels in [0, nmax] with weights w: 9
// trial scales, then up to 5 passes moving single levels while the weighted fit improves.
// (ggml: make_qp_quants.)
float fit_positive(int n, int nmax, const float* x, uint8_t* L, const float* w) {
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
      const int l = std::min(nmax, nearest_int(iscale_is * x[i]));
      const float diff = x[i] - scale_is * float(l);
      mse += w[i] * diff * diff;
    }
    if (mse < best_mse) best_mse = mse, iscale = iscale_is;
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::min(nmax, nearest_int(iscale * x[i]));
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
        const int new_l = std::min(nmax, nearest_int(x[i] * sl2 / slx));
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

float fit_symmetric_weighted(int n, int nmax, const float* x, int8_t* L, const float* w) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, size_t(n));
    return 0.f;
  }
  auto sums = [&](float iscale, float& sumlx, float& suml2, bool store) {
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      if (store) L[i] = int8_t(l + nmax);
      sumlx += w[i] * x[i] * float(l);
      suml2 += w[i] * float(l) * float(l);
    }
  };
  float sumlx, suml2;
  sums(float(-nmax) / max, sumlx, suml2, true);
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -(float(nmax) + 0.1f * float(is)) / max;
    sums(iscale, sumlx, suml2, false);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      sums(iscale, sumlx, suml2, true);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

size_t quantize_q4_0(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  return quantize_legacy<BlockQ4_0, false, 4, GgmlType::Q4_0, quantize_row_q4_0>(src, dst, nrow, n, qw);
}
size_t quantize_q4_1(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  return quantize_legacy<BlockQ4_1, true, 4, GgmlType::Q4_1, quantize_row_q4_1>(src, dst, nrow, n, qw);
}
size_t quantize_q5_0(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  return quantize_legacy<BlockQ5_0, false, 5, GgmlType::Q5_0, quantize_row_q5_0>(src, dst, nrow, n, qw);
}
size_t quantize_q5_1(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  return quantize_legacy<BlockQ5_1, true, 5, GgmlType::Q5_1, quantize_row_q5_1>(src, dst, nrow, n, qw);
}

size_t quantize_q2_K(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  return quantize_kquant<BlockQ2_K, q2_K_block, GgmlType::Q2_K, quantize_row_q2_K>(src, dst, nrow, n, qw);
}
size_t quantize_q3_K(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  return quantize_kquant<BlockQ3_K, q3_K_block, GgmlType::Q3_K, quantize_row_q3_K>(src, dst, nrow, n, qw);
}
size_t quantize_q4_K(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  return quantize_kquant<BlockQ4_K, q45_K_block<4, BlockQ4_K>, GgmlType::Q4_K, quantize_row_q4_K>(src, dst, nrow, n, qw);
}
size_t quantize_q5_K(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  return quantize_kquant<BlockQ5_K, q45_K_block<5, BlockQ5_K>, GgmlType::Q5_K, quantize_row_q5_K>(src, dst, nrow, n, qw);
}
size_t quantize_q6_K(const float* src, void* dst, int64_t nrow, int64_t n, const float* qw) {
  return quantize_kquant<BlockQ6_K, q6_K_block, GgmlType::Q6_K, quantize_row_q6_K>(src, dst, nrow, n, qw);
}

}  // namespace trident
