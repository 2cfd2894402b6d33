// AVX-512 micro-kernels for the tiled attention driver. Each follows the arithmetic of
// attention_impl.h operation for operation, so results equal attention_reference bit for bit.
// dot8 has eight lanes, so a 16-lane register holds the partial sums of two keys; row tails
// use masked loads. Accumulator arrays are indexed by template constants in fully unrolled
// loops so they stay in registers.
// GCC 12's _mm512_undefined_ps() reads itself (bug 105593); the warnings it raises once
// inlined point into the header, so they are silenced for the header only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>

#include "kernels/attention_impl.h"
#include "kernels/exp_avx512.h"

namespace trident {
namespace {

inline const float* f32(const uint8_t* row) { return reinterpret_cast<const float*>(row); }
inline const uint16_t* f16(const uint8_t* row) { return reinterpret_cast<const uint16_t*>(row); }
inline __mmask8 mask8(int64_t n) { return n >= 8 ? __mmask8(0xff) : n <= 0 ? __mmask8(0) : __mmask8((1u << n) - 1); }
inline __mmask16 mask16(int64_t n) {
  return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// Elements d..d+7 of two rows (a in lanes 0-7, b in 8-15); only the first n of each, zeros after.
template <KvType T>
inline __m512 load2x8(const uint8_t* a, const uint8_t* b, int64_t d) {
  if constexpr (T == KvType::F32)
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(f32(a) + d)), _mm256_loadu_ps(f32(b) + d), 1);
  else
    return _mm512_cvtph_ps(_mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(f16(a) + d))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(f16(b) + d)), 1));
}
template <KvType T>
inline __m512 load2x8_part(const uint8_t* a, const uint8_t* b, int64_t d, int64_t n) {
  const __mmask8 m = mask8(n);
  if constexpr (T == KvType::F32)
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_maskz_loadu_ps(m, f32(a) + d)),
                              _mm256_maskz_loadu_ps(m, f32(b) + d), 1);
  else
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_maskz_loadu_epi16(m, f16(a) + d)),
                                                   _mm_maskz_loadu_epi16(m, f16(b) + d), 1));
}
// Elements d..d+7 of one row, the first n of them.
template <KvType T>
inline __m256 load8_part(const uint8_t* row, int64_t d, int64_t n) {
  const __mmask8 m = mask8(n);
  if constexpr (T == KvType::F32)
    return _mm256_maskz_loadu_ps(m, f32(row) + d);
  else
    return _mm256_cvtph_ps(_mm_maskz_loadu_epi16(m, f16(row) + d));
}
// Elements d..d+15 of one row under mask m.
template <KvType T>
inline __m512 load16(const uint8_t* row, int64_t d, __mmask16 m) {
  if constexpr (T == KvType::F32)
    return _mm512_maskz_loadu_ps(m, f32(row) + d);
  else
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, f16(row) + d));
}

// attn_reduce8 of one 8-lane vector.
inline float reduce8(__m256 v) {
  const __m128 w = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 x = _mm_add_ps(w, _mm_movehl_ps(w, w));
  return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
}

// attn_reduce8 of the 16 eight-lane sums held two per register (sum 2i in the low half of
// v[i], 2i + 1 in the high half): lane 4 (p % 4) + p / 4 of the result is sum p.
inline __m512 reduce8x16(const __m512 v[8]) {
  __m512 w[4], x[2];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)  // lanes i + (i + 4) of each half: 128-bit blocks 0 + 1, 2 + 3
    w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
#pragma GCC unroll 2
  for (int i = 0; i < 2; ++i)  // then lanes i + (i + 2) of each block
    x[i] = _mm512_add_ps(_mm512_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm512_add_ps(_mm512_shuffle_ps(x[0], x[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_ps(x[0], x[1], _MM_SHUFFLE(3, 1, 3, 1)));
}


// ---------------------------------------------------------------------------------------
// Scores: R query rows x J keys = 16 dot8 sums per pass, each K row loaded once for R rows.

// The ISA type attention_impl.h's row blocking calls (score_block, score_one, softmax,
// accumulate_rows).
struct Isa {
  static constexpr int kScoreKeys = 4;

  template <KvType T, int R, int J>
  static void score_block(const float* q, int64_t ldq, const uint8_t* k, size_t ks, int hd,
                          float scale, float* s, int64_t lds) {
    static_assert(R * J == 16 && J % 2 == 0);
    constexpr int P = J / 2;  // key pairs
    __m512 acc[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) acc[i] = _mm512_setzero_ps();
    auto step = [&](int d, auto load) {
      __m512 kv[P];
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) kv[p] = load(k + 2 * p * ks, k + (2 * p + 1) * ks, d);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m512 qv = _mm512_broadcast_f32x8(_mm256_loadu_ps(q + r * ldq + d));
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) acc[r * P + p] = _mm512_fmadd_ps(qv, kv[p], acc[r * P + p]);
      }
    };
    const int hd8 = hd & ~7;
    for (int d = 0; d < hd8; d += 8) step(d, [](const uint8_t* a, const uint8_t* b, int64_t dd) { return load2x8<T>(a, b, dd); });
    if (hd8 < hd)  // q rows are zero-padded; K rows are not and end here
      step(hd8, [&](const uint8_t* a, const uint8_t* b, int64_t dd) { return load2x8_part<T>(a, b, dd, hd - dd); });
    alignas(64) float o[16];
    _mm512_store_ps(o, _mm512_mul_ps(reduce8x16(acc), _mm512_set1_ps(scale)));
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < J; ++j) {
        const int p = r * J + j;
        s[r * lds + j] = o[4 * (p % 4) + p / 4];
      }
  }

  template <KvType T>
  static float score_one(const float* q, const uint8_t* k, int hd) {
    __m256 acc = _mm256_setzero_ps();
    for (int d = 0; d < hd; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), load8_part<T>(k, d, hd - d), acc);
    return reduce8(acc);
  }


  // ---------------------------------------------------------------------------------------
  // Softmax step, per row, 16 keys per register; the eight sum lanes are key index mod 8, so
  // the low half of each register is added before the high half.

  static void softmax(float* s, int64_t lds, int64_t nr, int64_t j0, int64_t j1, float* m, float* l,
               float* acc, int64_t ldacc, int hd) {
    const int64_t b0 = j0 & ~int64_t(15);
    auto valid = [&](int64_t b) {  // keys b..b+15 that lie in [j0, j1]
      const __mmask16 below = mask16(j1 + 1 - b), before = mask16(j0 - b);
      return __mmask16(below & ~before);
    };
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    for (int64_t r = 0; r < nr; ++r) {
      float* sr = s + r * lds;
      __m512 mx = ninf;
      for (int64_t b = b0; b <= j1; b += 16) mx = _mm512_mask_max_ps(mx, valid(b), mx, _mm512_loadu_ps(sr + b));
      const float mv = _mm512_reduce_max_ps(mx);
      if (mv > m[r]) {
        const float a = exp_poly(m[r] - mv);
        l[r] *= a;
        const __m512 av = _mm512_set1_ps(a);
        float* ar = acc + r * ldacc;
        for (int d = 0; d < hd; d += 16) _mm512_storeu_ps(ar + d, _mm512_mul_ps(_mm512_loadu_ps(ar + d), av));
        m[r] = mv;
      }
      const __m512 mm = _mm512_set1_ps(m[r]);
      __m256 lane = _mm256_setzero_ps();
      for (int64_t b = b0; b <= j1; b += 16) {
        const __m512 p = _mm512_maskz_mov_ps(valid(b), exp16(_mm512_sub_ps(_mm512_loadu_ps(sr + b), mm)));
        _mm512_storeu_ps(sr + b, p);
        lane = _mm256_add_ps(lane, _mm512_castps512_ps256(p));
        lane = _mm256_add_ps(lane, _mm512_extractf32x8_ps(p, 1));
      }
      l[r] += reduce8(lane);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Output accumulation: R rows x 16 NV columns of accumulators, each V row loaded once for R rows.

  template <KvType T, int R, int NV>
  static void accumulate_block(const float* s, int64_t lds, const uint8_t* v, size_t vs, int d, int hd,
                        int64_t j0, int64_t j1, float* acc, int64_t ldacc) {
    __mmask16 mk[NV];
    __m512 a[R][NV];
#pragma GCC unroll 4
    for (int i = 0; i < NV; ++i) mk[i] = mask16(hd - d - 16 * i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int i = 0; i < NV; ++i) a[r][i] = _mm512_loadu_ps(acc + r * ldacc + d + 16 * i);
    for (int64_t j = j0; j <= j1; ++j) {
      const uint8_t* row = v + j * vs;
      __m512 vv[NV];
#pragma GCC unroll 4
      for (int i = 0; i < NV; ++i) vv[i] = load16<T>(row, d + 16 * i, mk[i]);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m512 p = _mm512_set1_ps(s[r * lds + j]);
#pragma GCC unroll 4
        for (int i = 0; i < NV; ++i) a[r][i] = _mm512_fmadd_ps(p, vv[i], a[r][i]);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int i = 0; i < NV; ++i) _mm512_storeu_ps(acc + r * ldacc + d + 16 * i, a[r][i]);
  }

  template <KvType T, int R>
  static void accumulate_rows(const float* s, int64_t lds, const uint8_t* v, size_t vs, int hd, int64_t j0,
                       int64_t j1, float* acc, int64_t ldacc) {
    for (int d = 0; d < hd; d += 64) {
      switch ((std::min(hd - d, 64) + 15) / 16) {
        case 4: accumulate_block<T, R, 4>(s, lds, v, vs, d, hd, j0, j1, acc, ldacc); break;
        case 3: accumulate_block<T, R, 3>(s, lds, v, vs, d, hd, j0, j1, acc, ldacc); break;
        case 2: accumulate_block<T, R, 2>(s, lds, v, vs, d, hd, j0, j1, acc, ldacc); break;
        default: accumulate_block<T, R, 1>(s, lds, v, vs, d, hd, j0, j1, acc, ldacc); break;
      }
    }
  }
};

const AttentionMicroKernels kMicro = attn_micro_kernels<Isa>();

void attention_avx512(const AttentionTask& task, const KvView& kv) { attention_tiled(task, kv, kMicro); }

}  // namespace

void register_attention_avx512(KernelTable& t) { t.attention = attention_avx512; }

}  // namespace trident
