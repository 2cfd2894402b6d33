// AVX-512 VNNI tile kernels for Q4_0 and Q8_0 weights against Q8_0 activations.
//
// Each output element follows, operation for operation, the schedule of the AVX-512 vec_dot
// in dot_legacy_avx512.cpp: blocks four at a time as two 512-bit halves (blocks i, i + 1 and
// i + 2, i + 3), one int32 lane per 4 products, converted and FMA'd with d_w * d_x into two
// accumulators; the nb % 4 last blocks one at a time in 256 bits into a third; then the same
// horizontal reduction. What a tile changes is only which work is shared: a weight block is
// unpacked once for C tokens, an activation block once for R rows, and each (row, token)
// pair keeps its own accumulators. Two rewrites are exact and so keep the bits:
//  - vec_dot forms dpbusd(0, q, y) - dpbusd(0, kOffset, y); here the second term is taken
//    once per token and negated, and used as dpbusd's starting value (int32 is a ring);
//  - vec_dot multiplies d_w * d_x for 4 blocks, then spreads each product over its lanes;
//    here d_w and d_x are spread first, then multiplied lane by lane (same two operands).
// The 1 x 1 tile is registered as vec_dot too, so matmul's two paths share one code path;
// tests/gemm_test.cpp proves it bit-identical to dot_legacy_avx512.cpp's vec_dot.

// GCC 12 warns about the intentionally undefined registers inside its own AVX-512 intrinsics
// once they are inlined (GCC bug 105593); the warning says nothing about this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <array>
#include <cstring>
#include <utility>

#include "kernels/dot_register.h"
#include "tensor/blocks.h"

namespace trident {
namespace {

__m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
__m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

__m512i pair256(const void* lo, const void* hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(load256(lo)), load256(hi), 1);
}

f16_bits fp16_at(const void* p) {
  f16_bits h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

// Lanes 0..7 = float(h0), lanes 8..15 = float(h1): one scale per 256-bit block half.
__m512 scale_pair(f16_bits h0, f16_bits h1) {
  const __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(short(h0))),
                                            _mm_set1_epi16(short(h1)), 1);
  return _mm512_cvtph_ps(h);
}

// 16 bytes of nibbles -> 32 bytes: low nibbles (elements 0..15), then high (16..31).
__m256i nibbles1(const uint8_t* qs) {
  const __m128i v = load128(qs);
  const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Weight types: the block, kOffset (weights are made unsigned, q = w + kOffset, so vpdpbusd
// can take them), and the unsigned quants of one block (256 bits) or two (512 bits).
struct Q4_0W {
  using Block = BlockQ4_0;
  static constexpr int kOffset = 8;
  static __m256i quants1(const Block* b) { return nibbles1(b->qs); }
  static __m512i quants2(const Block* b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(nibbles1(b[0].qs)), nibbles1(b[1].qs), 1);
  }
};
struct Q8_0W {
  using Block = BlockQ8_0;
  static constexpr int kOffset = 128;
  static __m256i quants1(const Block* b) {
    return _mm256_xor_si256(load256(b->qs), _mm256_set1_epi8(char(0x80)));
  }
  static __m512i quants2(const Block* b) {
    return _mm512_xor_si512(pair256(b[0].qs, b[1].qs), _mm512_set1_epi8(char(0x80)));
  }
};

// -kOffset * (sum of each 4 activation quants), the int32 lanes vec_dot subtracts.
template <int kOffset>
__m512i neg_offset2(__m512i y) {
  const __m512i z = _mm512_setzero_si512();
  return _mm512_sub_epi32(z, _mm512_dpbusd_epi32(z, _mm512_set1_epi8(char(kOffset)), y));
}
template <int kOffset>
__m256i neg_offset1(__m256i y) {
  const __m256i z = _mm256_setzero_si256();
  return _mm256_sub_epi32(z, _mm256_dpbusd_epi32(z, _mm256_set1_epi8(char(kOffset)), y));
}

// vec_dot's final reduction, including its adds of the (here always zero) m * s terms:
// they turn a -0 sum into +0, so they stay.
float reduce(__m512 acc0, __m512 acc1, __m256 acc_tail) {
  const __m512 s = _mm512_add_ps(acc0, acc1);
  const __m256 acc =
      _mm256_add_ps(_mm256_add_ps(_mm512_castps512_ps256(s), _mm512_extractf32x8_ps(s, 1)), acc_tail);
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  r = _mm_add_ps(r, _mm_setzero_ps());
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  const float zero_min_tail = 0.0f;
  return _mm_cvtss_f32(r) + zero_min_tail;
}

// R weight rows x C activation rows over nb blocks. w rows ws bytes apart, x rows xs bytes
// apart; out[c * ldy + r] = dot(w row r, x row c).
template <class K, int R, int C>
void tile(int64_t nb, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out,
          int64_t ldy) {
  using WB = typename K::Block;
  auto wrow = [&](int r) { return reinterpret_cast<const WB*>(w + size_t(r) * ws); };
  auto xrow = [&](int c) { return reinterpret_cast<const BlockQ8_0*>(x + size_t(c) * xs); };
  __m512 acc0[R][C], acc1[R][C];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) acc0[r][c] = acc1[r][c] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    __m512i q01[R], q23[R];
    __m512 dw01[R], dw23[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const WB* b = wrow(r) + i;
      q01[r] = K::quants2(b);
      q23[r] = K::quants2(b + 2);
      dw01[r] = scale_pair(fp16_at(&b[0].d), fp16_at(&b[1].d));
      dw23[r] = scale_pair(fp16_at(&b[2].d), fp16_at(&b[3].d));
    }
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      const BlockQ8_0* a = xrow(c) + i;
      const __m512i y01 = pair256(a[0].qs, a[1].qs), y23 = pair256(a[2].qs, a[3].qs);
      const __m512i n01 = neg_offset2<K::kOffset>(y01), n23 = neg_offset2<K::kOffset>(y23);
      const __m512 dx01 = scale_pair(fp16_at(&a[0].d), fp16_at(&a[1].d));
      const __m512 dx23 = scale_pair(fp16_at(&a[2].d), fp16_at(&a[3].d));
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const __m512i t01 = _mm512_dpbusd_epi32(n01, q01[r], y01);
        const __m512i t23 = _mm512_dpbusd_epi32(n23, q23[r], y23);
        acc0[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t01), _mm512_mul_ps(dw01[r], dx01), acc0[r][c]);
        acc1[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t23), _mm512_mul_ps(dw23[r], dx23), acc1[r][c]);
      }
    }
  }
  // At most 3 blocks left: per element, exactly as vec_dot's one-block loop.
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      __m256 acc_tail = _mm256_setzero_ps();
      for (int64_t j = i; j < nb; ++j) {
        const WB* b = wrow(r) + j;
        const BlockQ8_0* a = xrow(c) + j;
        const __m256i y = load256(a->qs);
        const __m256i t = _mm256_dpbusd_epi32(neg_offset1<K::kOffset>(y), K::quants1(b), y);
        const float d = _cvtsh_ss(fp16_at(&b->d)) * _cvtsh_ss(fp16_at(&a->d));
        acc_tail = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), _mm256_set1_ps(d), acc_tail);
      }
      out[c * ldy + r] = reduce(acc0[r][c], acc1[r][c], acc_tail);
    }
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

// A 2 x 4 tile holds 16 accumulators plus 8 weight and ~6 activation registers, within the
// 32 zmm. With one token (decode) only rows can share work: 4 rows, 8 accumulators.
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
__attribute__((target("arch=x86-64"))) void register_legacy_gemm_avx512(KernelTable& t) {
  using T = GgmlType;
  t.vec_dot[uint32_t(T::Q4_0)] = vec_dot<Q4_0W>;
  t.gemm[uint32_t(T::Q4_0)] = gemm<Q4_0W>;
  t.vec_dot[uint32_t(T::Q8_0)] = vec_dot<Q8_0W>;
  t.gemm[uint32_t(T::Q8_0)] = gemm<Q8_0W>;
}

}  // namespace trident
