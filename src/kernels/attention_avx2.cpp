// AVX2 (+FMA, F16C) micro-kernels for the tiled attention driver. Each follows the arithmetic
// of attention_impl.h operation for operation, so results equal attention_reference bit for
// bit. Accumulators live in fixed-size arrays indexed by template constants; the loops over
// them are fully unrolled so they stay in registers.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "kernels/attention_impl.h"
#include "kernels/exp_avx2.h"

namespace trident {
namespace {

// 8 elements of a K or V row from element d.
template <KvType T>
inline __m256 load8(const uint8_t* row, int64_t d) {
  if constexpr (T == KvType::F32)
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + d);
  else
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(row) + d)));
}
// The first n (may be <= 0 or >= 8) of those, zeros after: a row's tail, never read past it.
template <KvType T>
inline __m256 load8_part(const uint8_t* row, int64_t d, int64_t n) {
  if (n >= 8) return load8<T>(row, d);
  if (n <= 0) return _mm256_setzero_ps();
  if constexpr (T == KvType::F32) {
    float b[8] = {};
    std::memcpy(b, reinterpret_cast<const float*>(row) + d, size_t(n) * 4);
    return _mm256_loadu_ps(b);
  } else {
    uint16_t b[8] = {};
    std::memcpy(b, reinterpret_cast<const uint16_t*>(row) + d, size_t(n) * 2);
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
  }
}

// attn_reduce8 of one vector.
inline float reduce8(__m256 v) {
  const __m128 w = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 x = _mm_add_ps(w, _mm_movehl_ps(w, w));
  return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
}

// attn_reduce8 of eight vectors at once: lane 4 (p % 2) + p / 2 of the result is reduce8(v[p]).
inline __m256 reduce8x8(const __m256 v[8]) {
  __m256 w[4], x[2];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)  // lanes i + (i + 4) of v[2i] and v[2i + 1]
    w[i] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x20),
                         _mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x31));
#pragma GCC unroll 2
  for (int i = 0; i < 2; ++i)  // then lanes i + (i + 2) of each half
    x[i] = _mm256_add_ps(_mm256_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm256_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm256_add_ps(_mm256_shuffle_ps(x[0], x[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm256_shuffle_ps(x[0], x[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

inline float hmax(__m256 v) {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  return _mm_cvtss_f32(_mm_max_ss(x, _mm_movehdup_ps(x)));
}


// ---------------------------------------------------------------------------------------
// Scores: R query rows x J keys = 8 dot8 sums per pass, each K row loaded once for R rows.

// The ISA type attention_impl.h's row blocking calls (score_block, score_one, softmax,
// accumulate_rows).
struct Isa {
  static constexpr int kScoreKeys = 2;

  template <KvType T, int R, int J>
  static void score_block(const float* q, int64_t ldq, const uint8_t* k, size_t ks, int hd,
                          float scale, float* s, int64_t lds) {
    static_assert(R * J == 8);
    __m256 acc[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) acc[i] = _mm256_setzero_ps();
    const int hd8 = hd & ~7;
    for (int d = 0; d < hd8; d += 8) {
      __m256 kv[J];
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j) kv[j] = load8<T>(k + j * ks, d);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m256 qv = _mm256_loadu_ps(q + r * ldq + d);
#pragma GCC unroll 8
        for (int j = 0; j < J; ++j) acc[r * J + j] = _mm256_fmadd_ps(qv, kv[j], acc[r * J + j]);
      }
    }
    if (hd8 < hd) {  // q rows are zero-padded; K rows are not and end here
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j)
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r)
          acc[r * J + j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + r * ldq + hd8),
                                           load8_part<T>(k + j * ks, hd8, hd - hd8), acc[r * J + j]);
    }
    alignas(32) float o[8];
    _mm256_store_ps(o, _mm256_mul_ps(reduce8x8(acc), _mm256_set1_ps(scale)));
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < J; ++j) {
        const int p = r * J + j;
        s[r * lds + j] = o[4 * (p % 2) + p / 2];
      }
  }

  template <KvType T>
  static float score_one(const float* q, const uint8_t* k, int hd) {
    __m256 acc = _mm256_setzero_ps();
    int d = 0;
    for (; d + 8 <= hd; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), load8<T>(k, d), acc);
    if (d < hd) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), load8_part<T>(k, d, hd - d), acc);
    return reduce8(acc);
  }


  // ---------------------------------------------------------------------------------------
  // Softmax step, per row; lanes are key index mod 8 (chunks start at multiples of 8).

  static void softmax(float* s, int64_t lds, int64_t nr, int64_t j0, int64_t j1, float* m, float* l,
               float* acc, int64_t ldacc, int hd) {
    const int64_t b0 = j0 & ~int64_t(7);
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i lo = _mm256_set1_epi32(int(j0) - 1), hi = _mm256_set1_epi32(int(j1) + 1);
    auto valid = [&](int64_t b) {
      const __m256i idx = _mm256_add_epi32(iota, _mm256_set1_epi32(int(b)));
      return _mm256_castsi256_ps(_mm256_and_si256(_mm256_cmpgt_epi32(idx, lo), _mm256_cmpgt_epi32(hi, idx)));
    };
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    for (int64_t r = 0; r < nr; ++r) {
      float* sr = s + r * lds;
      __m256 mx = ninf;
      for (int64_t b = b0; b <= j1; b += 8) mx = _mm256_max_ps(mx, _mm256_blendv_ps(ninf, _mm256_loadu_ps(sr + b), valid(b)));
      const float mv = hmax(mx);
      if (mv > m[r]) {
        const float a = exp_poly(m[r] - mv);
        l[r] *= a;
        const __m256 av = _mm256_set1_ps(a);
        float* ar = acc + r * ldacc;
        for (int d = 0; d < hd; d += 8) _mm256_storeu_ps(ar + d, _mm256_mul_ps(_mm256_loadu_ps(ar + d), av));
        m[r] = mv;
      }
      const __m256 mm = _mm256_set1_ps(m[r]);
      __m256 lane = _mm256_setzero_ps();
      for (int64_t b = b0; b <= j1; b += 8) {
        const __m256 p = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_loadu_ps(sr + b), mm)), valid(b));
        _mm256_storeu_ps(sr + b, p);
        lane = _mm256_add_ps(lane, p);
      }
      l[r] += reduce8(lane);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Output accumulation: R rows x 16 columns of accumulators, each V row loaded once for R rows.

  template <KvType T, int R>
  static void accumulate_rows(const float* s, int64_t lds, const uint8_t* v, size_t vs, int hd, int64_t j0,
                       int64_t j1, float* acc, int64_t ldacc) {
    for (int d = 0; d < hd; d += 16) {
      __m256 a[R][2];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        a[r][0] = _mm256_loadu_ps(acc + r * ldacc + d);
        a[r][1] = _mm256_loadu_ps(acc + r * ldacc + d + 8);
      }
      auto step = [&](int64_t j, __m256 v0, __m256 v1) {
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const __m256 p = _mm256_broadcast_ss(s + r * lds + j);
          a[r][0] = _mm256_fmadd_ps(p, v0, a[r][0]);
          a[r][1] = _mm256_fmadd_ps(p, v1, a[r][1]);
        }
      };
      if (d + 16 <= hd) {
        for (int64_t j = j0; j <= j1; ++j) step(j, load8<T>(v + j * vs, d), load8<T>(v + j * vs, d + 8));
      } else {
        for (int64_t j = j0; j <= j1; ++j)
          step(j, load8_part<T>(v + j * vs, d, hd - d), load8_part<T>(v + j * vs, d + 8, hd - d - 8));
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        _mm256_storeu_ps(acc + r * ldacc + d, a[r][0]);
        _mm256_storeu_ps(acc + r * ldacc + d + 8, a[r][1]);
      }
    }
  }
};

const AttentionMicroKernels kMicro = attn_micro_kernels<Isa>();

void attention_avx2(const AttentionTask& task, const KvView& kv) { attention_tiled(task, kv, kMicro); }

}  // namespace

void register_attention_avx2(KernelTable& t) { t.attention = attention_avx2; }

}  // namespace trident
