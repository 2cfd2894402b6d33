// AVX2 packed-group kernels of the grid i-quants (layout: tensor/repack.h, by 4-byte words), the
// 16 rows of a group as two halves of 8 lanes. As the AVX-512 kernels (packed_grid_avx512.cpp):
// per 32 elements the grid points are gathered (vpgatherdd, lane j reading row j's point) and
// the sign bytes turned into byte masks; then, AVX2 having no vpdpbusd, vpmaddubsw of the
// unsigned levels with the activations signed per row (vpsignb), and vpmaddwd by ones (IQ1: |w|
// with the signs of w = 8 * level + shift). Each half-sub-block's int32 sum is multiplied by its
// ls: the reference's exact integer per super-block and row, then its float schedule
// (kernels/dot_grid.h) lane by lane. A sub-block's weights are decoded once per tile of tokens.
#include <immintrin.h>

#include <cstring>

#include "kernels/dot_register.h"
#include "kernels/packed_tiling.h"
#include "kernels/stream_prefetch.h"
#include "tensor/blocks.h"
#include "tensor/grids.h"
#include "tensor/repack.h"

namespace trident {
namespace {

// 8 lanes (rows 8h..8h+7) of chunk c: p points at the group's super-block plus 32 h.
__m256i load_chunk(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
__m256i shr(__m256i v, int n) { return _mm256_srl_epi32(v, _mm_cvtsi32_si128(n)); }
__m256i shl(__m256i v, int n) { return _mm256_sll_epi32(v, _mm_cvtsi32_si128(n)); }
__m256i and32(__m256i v, uint32_t m) { return _mm256_and_si256(v, _mm256_set1_epi32(int(m))); }

// One sub-block of 32 elements of 8 rows: mag[k] holds the magnitudes of elements 4k..4k+3,
// sgn[k] their signs (bytes -1 or +1, or IQ1's nonzero w); ls / ls_hi the scales of the halves.
struct SubBlock {
  __m256i mag[8], sgn[8];
  __m256i ls, ls_hi;
};

__m256i odd_scale(__m256i nibble) { return _mm256_add_epi32(_mm256_slli_epi32(and32(nibble, 0xF), 1), _mm256_set1_epi32(1)); }
// Bytes -1 where the bit of `bits` (per byte of the lane) is set in signs, else +1.
__m256i sign_bytes(__m256i signs, uint32_t bits) {
  const __m256i pattern = _mm256_set1_epi32(int(bits));
  const __m256i neg = _mm256_cmpeq_epi8(_mm256_and_si256(signs, pattern), pattern);
  return _mm256_or_si256(neg, _mm256_set1_epi8(1));
}
// The sign byte of 7 stored bits (bit 0 at `shift`) with their parity as bit 7, in all 4 bytes.
__m256i sign7_words(__m256i bits, int shift) {
  const __m256i s7 = and32(shr(bits, shift), 127);
  const __m256i parity = _mm256_setr_epi8(0, char(0x80), char(0x80), 0, char(0x80), 0, 0, char(0x80), char(0x80), 0, 0,
                                          char(0x80), 0, char(0x80), char(0x80), 0, 0, char(0x80), char(0x80), 0, char(0x80), 0,
                                          0, char(0x80), char(0x80), 0, 0, char(0x80), 0, char(0x80), char(0x80), 0);
  const __m256i p = _mm256_xor_si256(_mm256_shuffle_epi8(parity, and32(s7, 15)), _mm256_shuffle_epi8(parity, _mm256_srli_epi32(s7, 4)));
  const __m256i s8 = _mm256_or_si256(s7, and32(p, 0xFF));
  return _mm256_shuffle_epi8(s8, _mm256_setr_epi8(0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12, 0, 0, 0, 0, 4, 4, 4, 4, 8,
                                                  8, 8, 8, 12, 12, 12, 12));
}
__m256i repeat_byte(__m256i v, int l) {
  const char a = char(l), b = char(4 + l), c = char(8 + l), d = char(12 + l);
  return _mm256_shuffle_epi8(v, _mm256_setr_epi8(a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d, a, a, a, a, b, b, b, b, c, c,
                                                 c, c, d, d, d, d));
}
__m256i gather(const uint8_t* table, __m256i idx, int half, int scale8) {
  const auto* base = reinterpret_cast<const int*>(table) + half;
  return scale8 ? _mm256_i32gather_epi32(base, idx, 8) : _mm256_i32gather_epi32(base, idx, 4);
}
// Two 4-element halves of an 8-element point of an 8-byte grid with its sign byte word.
void point8(const uint8_t* grid, __m256i idx, __m256i signs, __m256i* mag, __m256i* sgn) {
  mag[0] = gather(grid, idx, 0, 1);
  mag[1] = gather(grid, idx, 1, 1);
  sgn[0] = sign_bytes(signs, 0x08040201u);
  sgn[1] = sign_bytes(signs, 0x80402010u);
}

struct IQ2XXS {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ2_XXS), kDWord = 16, kFinalInverse = 8;
  static constexpr bool kTwoScales = false;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m256i idx = load_chunk(sg + 64 * (2 * ib)), aux = load_chunk(sg + 64 * (2 * ib + 1));
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) point8(kIQ2XXSGrid.data(), and32(shr(idx, 8 * l), 0xFF), sign7_words(aux, 7 * l), s.mag + 2 * l, s.sgn + 2 * l);
    s.ls = odd_scale(_mm256_srli_epi32(aux, 28));
  }
};

struct IQ2XS {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ2_XS), kDWord = 18, kFinalInverse = 8;
  static constexpr bool kTwoScales = true;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m256i q[2] = {load_chunk(sg + 64 * (2 * ib)), load_chunk(sg + 64 * (2 * ib + 1))};
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l)
      point8(kIQ2XSGrid.data(), and32(shr(q[l / 2], 16 * (l % 2)), 511), sign7_words(q[l / 2], 16 * (l % 2) + 9), s.mag + 2 * l, s.sgn + 2 * l);
    const __m256i sc = shr(load_chunk(sg + 64 * (16 + ib / 4)), 8 * (ib % 4));
    s.ls = odd_scale(sc);
    s.ls_hi = odd_scale(_mm256_srli_epi32(sc, 4));
  }
};

struct IQ2S {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ2_S), kDWord = 20, kFinalInverse = 8;
  static constexpr bool kTwoScales = true;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m256i idx = load_chunk(sg + 64 * ib), signs = load_chunk(sg + 64 * (8 + ib));
    const __m256i qh = shr(load_chunk(sg + 64 * (16 + ib / 4)), 8 * (ib % 4));
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m256i i = _mm256_or_si256(and32(shr(idx, 8 * l), 0xFF), and32(shl(qh, 8 - 2 * l), 0x300));
      point8(kIQ2SGrid.data(), i, repeat_byte(signs, l), s.mag + 2 * l, s.sgn + 2 * l);
    }
    const __m256i sc = shr(load_chunk(sg + 64 * (18 + ib / 4)), 8 * (ib % 4));
    s.ls = odd_scale(sc);
    s.ls_hi = odd_scale(_mm256_srli_epi32(sc, 4));
  }
};

struct IQ3XXS {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ3_XXS), kDWord = 24, kFinalInverse = 4;
  static constexpr bool kTwoScales = false;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m256i idx[2] = {load_chunk(sg + 64 * (2 * ib)), load_chunk(sg + 64 * (2 * ib + 1))};
    const __m256i aux = load_chunk(sg + 64 * (16 + ib));
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m256i signs = sign7_words(aux, 7 * l);
      s.mag[2 * l] = gather(kIQ3XXSGrid.data(), and32(shr(idx[l / 2], 16 * (l % 2)), 0xFF), 0, 0);
      s.mag[2 * l + 1] = gather(kIQ3XXSGrid.data(), and32(shr(idx[l / 2], 16 * (l % 2) + 8), 0xFF), 0, 0);
      s.sgn[2 * l] = sign_bytes(signs, 0x08040201u);
      s.sgn[2 * l + 1] = sign_bytes(signs, 0x80402010u);
    }
    s.ls = odd_scale(_mm256_srli_epi32(aux, 28));
  }
};

struct IQ3S {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ3_S), kDWord = 27, kFinalInverse = 1;
  static constexpr bool kTwoScales = false;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m256i idx[2] = {load_chunk(sg + 64 * (2 * ib)), load_chunk(sg + 64 * (2 * ib + 1))};
    const __m256i qh = shr(load_chunk(sg + 64 * (16 + ib / 4)), 8 * (ib % 4));
    const __m256i signs = load_chunk(sg + 64 * (18 + ib));
    auto index = [&](int k) { return _mm256_or_si256(and32(shr(idx[k / 4], 8 * (k % 4)), 0xFF), and32(shl(qh, 8 - k), 256)); };
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m256i sb = repeat_byte(signs, l);
      s.mag[2 * l] = gather(kIQ3SGrid.data(), index(2 * l), 0, 0);
      s.mag[2 * l + 1] = gather(kIQ3SGrid.data(), index(2 * l + 1), 0, 0);
      s.sgn[2 * l] = sign_bytes(sb, 0x08040201u);
      s.sgn[2 * l + 1] = sign_bytes(sb, 0x80402010u);
    }
    s.ls = odd_scale(shr(load_chunk(sg + 64 * 26), 4 * ib));
  }
};

// IQ1: w = 8 * level + shift for point `i`, shift -1 in the lanes where `negative` is all ones.
void iq1_point(__m256i i, __m256i negative, __m256i* mag, __m256i* sgn) {
  const __m256i shift = _mm256_or_si256(negative, _mm256_set1_epi8(1));  // bytes -1 or +1
  for (int h = 0; h < 2; ++h) {
    const __m256i g = gather(reinterpret_cast<const uint8_t*>(kIQ1SGrid.data()), i, h, 1);
    __m256i v = _mm256_add_epi8(g, g);
    v = _mm256_add_epi8(v, v);
    v = _mm256_add_epi8(_mm256_add_epi8(v, v), shift);
    mag[h] = _mm256_abs_epi8(v);
    sgn[h] = v;
  }
}
__m256i lanes_where(__m256i v, uint32_t bit) { return _mm256_cmpeq_epi32(and32(v, bit), _mm256_set1_epi32(int(bit))); }

struct IQ1S {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ1_S), kDWord = 12, kFinalInverse = 0;
  static constexpr bool kTwoScales = false;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m256i idx = load_chunk(sg + 64 * ib);
    const __m256i qh = and32(shr(load_chunk(sg + 64 * (8 + ib / 2)), 16 * (ib % 2)), 0xFFFF);
    const __m256i negative = lanes_where(qh, 0x8000);
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m256i i = _mm256_or_si256(and32(shr(idx, 8 * l), 0xFF), _mm256_slli_epi32(and32(shr(qh, 3 * l), 7), 8));
      iq1_point(i, negative, s.mag + 2 * l, s.sgn + 2 * l);
    }
    s.ls = odd_scale(and32(_mm256_srli_epi32(qh, 12), 7));
  }
};

struct IQ1M {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ1_M), kDWord = -1, kFinalInverse = 0;
  static constexpr bool kTwoScales = true;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m256i idx = load_chunk(sg + 64 * ib);
    const __m256i qh = shr(load_chunk(sg + 64 * (8 + ib / 2)), 16 * (ib % 2));
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m256i h = shr(qh, 4 * l);
      const __m256i i = _mm256_or_si256(and32(shr(idx, 8 * l), 0xFF), _mm256_slli_epi32(and32(h, 7), 8));
      iq1_point(i, lanes_where(h, 8), s.mag + 2 * l, s.sgn + 2 * l);
    }
    const __m256i sc = shr(load_chunk(sg + 64 * (12 + ib / 4)), 16 * ((ib / 2) % 2) + 6 * (ib % 2));
    s.ls = odd_scale(and32(sc, 7));
    s.ls_hi = odd_scale(and32(_mm256_srli_epi32(sc, 3), 7));
  }
};

template <class G>
__m256 row_scales(const uint8_t* sg) {
  __m256i d;
  if constexpr (G::kDWord >= 0) {
    d = and32(load_chunk(sg + 64 * G::kDWord), 0xFFFF);
  } else {  // IQ1_M: the top nibbles of the u16 scale words sc[0..3] in words 12..13
    const __m256i w0 = load_chunk(sg + 64 * 12), w1 = load_chunk(sg + 64 * 13);
    d = _mm256_srli_epi32(and32(w0, 0xF000), 12);
    d = _mm256_or_si256(d, _mm256_srli_epi32(and32(w0, 0xF0000000u), 24));
    d = _mm256_or_si256(d, _mm256_srli_epi32(and32(w1, 0xF000), 4));
    d = _mm256_or_si256(d, _mm256_srli_epi32(and32(w1, 0xF0000000u), 16));
  }
  // 8 halves in the low 16 bits of 8 lanes -> 8 packed halves.
  const __m256i packed = _mm256_packus_epi32(d, d);  // per 128-bit half: lanes 0-3, 0-3
  return _mm256_cvtph_ps(_mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08)));
}

int32_t x_word(const int8_t* q) {
  int32_t v;
  std::memcpy(&v, q, 4);
  return v;
}

template <class G, int C>
void tile(int64_t nsb, const uint8_t* group, const uint8_t* x, size_t xs, int64_t nrows, float* y, int64_t ldy) {
  auto act = [&](int c, int64_t sb) { return reinterpret_cast<const BlockQ8_K*>(x + size_t(c) * xs) + sb; };
  const __m256i ones = _mm256_set1_epi16(1);
  for (int half = 0; half < 2 && 8 * half < nrows; ++half) {
    __m256 sum[C];
    for (int c = 0; c < C; ++c) sum[c] = _mm256_setzero_ps();
    for (int64_t sb = 0; sb < nsb; ++sb) {
      const uint8_t* sg = group + size_t(sb) * G::kWords * 64 + 32 * half;
      if (C == 1 && half == 0) prefetch_stream<G::kWords * 64>(sg);  // the second half finds it cached
      __m256i isum[C];
      for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
      for (int ib = 0; ib < QK_K / 32; ++ib) {
        SubBlock s;
        G::decode(sg, ib, s);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const int8_t* q = act(c, sb)->qs + 32 * ib;
          __m256i a[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
#pragma GCC unroll 8
          for (int k = 0; k < 8; ++k) {
            const __m256i xq = _mm256_sign_epi8(_mm256_set1_epi32(x_word(q + 4 * k)), s.sgn[k]);
            a[k / 4] = _mm256_add_epi32(a[k / 4], _mm256_madd_epi16(_mm256_maddubs_epi16(s.mag[k], xq), ones));
          }
          if constexpr (G::kTwoScales)
            isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(_mm256_mullo_epi32(s.ls, a[0]), _mm256_mullo_epi32(s.ls_hi, a[1])));
          else
            isum[c] = _mm256_add_epi32(isum[c], _mm256_mullo_epi32(s.ls, _mm256_add_epi32(a[0], a[1])));
        }
      }
      const __m256 dw = row_scales<G>(sg);
      for (int c = 0; c < C; ++c) {
        const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(act(c, sb)->d));
        __m256 f = _mm256_cvtepi32_ps(isum[c]);
        if constexpr (G::kFinalInverse == 0) f = _mm256_mul_ps(_mm256_set1_ps(0.125f), f);  // IQ1
        sum[c] = _mm256_add_ps(sum[c], _mm256_mul_ps(d, f));
      }
    }
    const int64_t n_out = nrows - 8 * half < 8 ? nrows - 8 * half : 8;
    for (int c = 0; c < C; ++c) {
      if constexpr (G::kFinalInverse > 1) sum[c] = _mm256_mul_ps(_mm256_set1_ps(1.0f / float(G::kFinalInverse)), sum[c]);
      alignas(32) float out[8];
      _mm256_store_ps(out, sum[c]);
      std::memcpy(y + c * ldy + 8 * half, out, size_t(n_out) * sizeof(float));
    }
  }
}

template <class G>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo*, int64_t nc,
                 int64_t nrows, float* y, int64_t ldy) {
  over_token_tiles<4, 1>(nc, [&]<int C>(int64_t c) { tile<G, C>(n / QK_K, group, x + size_t(c) * xs, xs, nrows, y + c * ldy, ldy); });
}

}  // namespace

// Keeps the pointer stores free of this file's ISA flags, like the other register functions.
__attribute__((target("arch=x86-64"))) void register_packed_grid_avx2(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::IQ2_XXS)] = packed_gemm<IQ2XXS>;
  t.packed_gemm[uint32_t(GgmlType::IQ2_XS)] = packed_gemm<IQ2XS>;
  t.packed_gemm[uint32_t(GgmlType::IQ2_S)] = packed_gemm<IQ2S>;
  t.packed_gemm[uint32_t(GgmlType::IQ3_XXS)] = packed_gemm<IQ3XXS>;
  t.packed_gemm[uint32_t(GgmlType::IQ3_S)] = packed_gemm<IQ3S>;
  t.packed_gemm[uint32_t(GgmlType::IQ1_S)] = packed_gemm<IQ1S>;
  t.packed_gemm[uint32_t(GgmlType::IQ1_M)] = packed_gemm<IQ1M>;
}

}  // namespace trident
