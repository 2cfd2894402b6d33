// AVX2 tile kernels for Q4_0 and Q8_0 weights against Q8_0 activations.
//
// Each output element follows the schedule of the AVX2 vec_dot in dot_legacy_avx2.cpp: blocks
// in chunks of 8 (a last partial chunk zero-padded), each block's integer dot reduced to one
// exact int32 in lane k of a vector, converted and FMA'd with the 8 products d_w * d_x into
// one accumulator, then the same horizontal sum. Only the int32 per block may be formed
// differently, because integer sums are exact in any order (no int16 step saturates:
// |maddubs pair| <= 2 * 15 * 128 for Q4_0, 2 * 128 * 127 for Q8_0's sign trick): for Q4_0
// the kOffset * sum(y) part is taken once per token instead of once per (row, token).
// What a tile shares is the unpacking: a weight chunk once for C tokens, the activation
// chunk's scales and sums once for R rows.
// The 1 x 1 tile is registered as vec_dot too; tests/gemm_test.cpp proves it bit-identical to
// dot_legacy_avx2.cpp's vec_dot.
#include <immintrin.h>

#include <array>
#include <cstring>
#include <utility>

#include "kernels/dot_register.h"
#include "tensor/blocks.h"

namespace trident {
namespace {

__m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
__m256i ones16() { return _mm256_set1_epi16(1); }

f16_bits fp16_at(const void* p) {
  f16_bits h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

// The d (fp16 at byte 0) of 8 consecutive blocks as 8 floats; conversion is exact.
template <class B>
__m256 scales8(const B* b) {
  return _mm256_cvtph_ps(_mm_setr_epi16(
      short(fp16_at(&b[0].d)), short(fp16_at(&b[1].d)), short(fp16_at(&b[2].d)),
      short(fp16_at(&b[3].d)), short(fp16_at(&b[4].d)), short(fp16_at(&b[5].d)),
      short(fp16_at(&b[6].d)), short(fp16_at(&b[7].d))));
}

// Lane k = sum of the 8 int32 lanes of v[k].
__m256i lane_sums(const __m256i v[8]) {
  const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  // a holds blocks 0..3 as [low-half sums | high-half sums]; b blocks 4..7 alike.
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

// vec_dot's final sum, including its add of the (here zero) m * s accumulator, which turns
// -0 lanes into +0.
float reduce(__m256 acc) {
  const __m256 v = _mm256_add_ps(acc, _mm256_setzero_ps());
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// Weight types. Prepared per row and chunk: the 8 blocks' quants as the first maddubs
// operand; per token and chunk: the activation quants and an int32 correction per block.
// block_dot gives the 8 int32 lanes of one block (before the per-token correction).
struct Q4_0W {
  using Block = BlockQ4_0;
  static constexpr bool kCorrect = true;  // block sum = sum(q * y) - 8 * sum(y)
  static __m256i prepare(const Block& b) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
  }
  static __m256i block_dot(__m256i q, const int8_t* y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(y)), ones16());
  }
  static __m256i correction(const int8_t* y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(8), load256(y)), ones16());
  }
};
// vec_dot's sign trick: |w| times y carrying w's sign.
struct Q8_0W {
  using Block = BlockQ8_0;
  static constexpr bool kCorrect = false;
  static __m256i prepare(const Block& b) { return load256(b.qs); }
  static __m256i block_dot(__m256i a, const int8_t* y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(load256(y), a)),
                             ones16());
  }
  static __m256i correction(const int8_t*) { return _mm256_setzero_si256(); }
};

// R weight rows x C activation rows over nb blocks. w rows ws bytes apart, x rows xs bytes
// apart; out[c * ldy + r] = dot(w row r, x row c).
template <class K, int R, int C>
void tile(int64_t nb, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out,
          int64_t ldy) {
  using WB = typename K::Block;
  __m256 acc[R][C];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();

  auto chunk = [&](const WB* const* wp, const BlockQ8_0* const* xp) {
    __m256i q[R][8];
    __m256 dw[R], dx[C];
    __m256i corr[C];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) q[r][k] = K::prepare(wp[r][k]);
      dw[r] = scales8(wp[r]);
    }
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      dx[c] = scales8(xp[c]);
      if constexpr (K::kCorrect) {
        __m256i v[8];
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) v[k] = K::correction(xp[c][k].qs);
        corr[c] = lane_sums(v);
      }
    }
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c)
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        __m256i v[8];
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) v[k] = K::block_dot(q[r][k], xp[c][k].qs);
        __m256i sums = lane_sums(v);
        if constexpr (K::kCorrect) sums = _mm256_sub_epi32(sums, corr[c]);
        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_mul_ps(dw[r], dx[c]), acc[r][c]);
      }
  };

  const WB* wp[R];
  const BlockQ8_0* xp[C];
  int64_t i = 0;
  for (; i + 8 <= nb; i += 8) {
    for (int r = 0; r < R; ++r) wp[r] = reinterpret_cast<const WB*>(w + size_t(r) * ws) + i;
    for (int c = 0; c < C; ++c) xp[c] = reinterpret_cast<const BlockQ8_0*>(x + size_t(c) * xs) + i;
    chunk(wp, xp);
  }
  if (i < nb) {  // zero blocks pad the last chunk, as in vec_dot
    WB tw[R][8] = {};
    BlockQ8_0 tx[C][8] = {};
    const size_t m = size_t(nb - i);
    for (int r = 0; r < R; ++r) {
      std::memcpy(tw[r], reinterpret_cast<const WB*>(w + size_t(r) * ws) + i, m * sizeof(WB));
      wp[r] = tw[r];
    }
    for (int c = 0; c < C; ++c) {
      std::memcpy(tx[c], reinterpret_cast<const BlockQ8_0*>(x + size_t(c) * xs) + i, m * sizeof(BlockQ8_0));
      xp[c] = tx[c];
    }
    chunk(wp, xp);
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) out[c * ldy + r] = reduce(acc[r][c]);
}

using TileFn = void (*)(int64_t, const uint8_t*, size_t, const uint8_t*, size_t, float*, int64_t);

// Every tile shape up to R x C, indexed [(rows - 1) * C + (cols - 1)], for the edges.
template <class K, int R, int C, size_t... I>
constexpr std::array<TileFn, R * C> tile_shapes(std::index_sequence<I...>) {
  return {&tile<K, int(I) / C + 1, int(I) % C + 1>...};
}

// Tokens outer, rows inner: C activation rows stay in L1 while the (at most 16) weight rows
// of matmul's tile pass by.
template <class K, int R, int C>
void run_tiles(int64_t nb, const uint8_t* w, size_t ws, int64_t nr, const uint8_t* x, size_t xs,
               int64_t nc, float* y, int64_t ldy) {
  static constexpr auto kTiles = tile_shapes<K, R, C>(std::make_index_sequence<R * C>());
  for (int64_t c0 = 0; c0 < nc; c0 += C) {
    const int64_t cc = nc - c0 < C ? nc - c0 : C;
    for (int64_t r0 = 0; r0 < nr; r0 += R) {
      const int64_t rr = nr - r0 < R ? nr - r0 : R;
      kTiles[size_t((rr - 1) * C + (cc - 1))](nb, w + size_t(r0) * ws, ws, x + size_t(c0) * xs, xs,
                                              y + c0 * ldy + r0, ldy);
    }
  }
}

// With 16 ymm registers, a 2 x 4 tile keeps 8 accumulators in registers; the unpacked
// weights live in L1. One token (decode) shares the activation work over 4 rows.
template <class K>
void gemm(int64_t n, const void* w, size_t ws, int64_t nr, const void* x, size_t xs, int64_t nc,
          float* y, int64_t ldy) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  if (nc == 1)
    run_tiles<K, 4, 1>(n / 32, wb, ws, nr, xb, xs, nc, y, ldy);
  else
    run_tiles<K, 2, 4>(n / 32, wb, ws, nr, xb, xs, nc, y, ldy);
}

template <class K>
void vec_dot(int64_t n, float* s, const void* w, const void* x) {
  tile<K, 1, 1>(n / 32, static_cast<const uint8_t*>(w), 0, static_cast<const uint8_t*>(x), 0, s, 1);
}

}  // namespace

// Keeps the pointer stores free of this file's ISA flags (GCC may merge them into vector
// stores), like the dot files' register functions.
__attribute__((target("arch=x86-64"))) void register_legacy_gemm_avx2(KernelTable& t) {
  using T = GgmlType;
  t.vec_dot[uint32_t(T::Q4_0)] = vec_dot<Q4_0W>;
  t.gemm[uint32_t(T::Q4_0)] = gemm<Q4_0W>;
  t.vec_dot[uint32_t(T::Q8_0)] = vec_dot<Q8_0W>;
  t.gemm[uint32_t(T::Q8_0)] = gemm<Q8_0W>;
}

}  // namespace trident
