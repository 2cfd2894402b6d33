// AVX-512 packed-group kernels of the grid i-quants IQ2_XXS, IQ2_XS, IQ3_XXS and IQ3_S
// (tensor/repack.h: each
// super-block by 4-byte words, lane j holding row j's word). Per 32 elements of 16 rows the grid
// points are gathered (vpgatherdd: lane j reads 4 levels of row j's point), the signs come from
// a gathered word of the sign byte repeated, turned into byte masks by vptestmb; the signed
// levels plus 128 are vpdpbusd's unsigned operand, 128 times the activations' sums per 16
// (Q8_K bsums) is taken off, and each half is multiplied by its ls. That is the reference's
// exact integer per super-block and row; the float schedule is the reference's
// (kernels/dot_grid.h) lane by lane, so every lane has the reference's bits. The weights of a
// sub-block are decoded once per tile of up to 8 tokens.
#include <immintrin.h>

#include <array>
#include <cstring>

#include "kernels/dot_register.h"
#include "kernels/packed_tiling.h"
#include "tensor/blocks.h"
#include "tensor/grids.h"
#include "tensor/repack.h"

namespace trident {
namespace {

// The 7 stored sign bits with their parity bit, repeated in the 4 bytes of a word.
constexpr std::array<uint32_t, 128> make_sign_words() {
  std::array<uint32_t, 128> w{};
  for (uint32_t s = 0; s < 128; ++s) w[s] = (s | (uint32_t(__builtin_popcount(s)) & 1) << 7) * 0x01010101u;
  return w;
}
constexpr std::array<uint32_t, 128> kSignWords = make_sign_words();

__m512i load_chunk(const uint8_t* p) { return _mm512_loadu_si512(p); }

// Byte k of each lane negated where bit `bit0 + k` of the lane's sign byte (in all 4 bytes of
// signs) is set, then biased by 128.
__m512i signed_biased(__m512i levels, __m512i signs, uint32_t bits) {
  const __mmask64 neg = _mm512_test_epi8_mask(signs, _mm512_set1_epi32(int(bits)));
  return _mm512_xor_si512(_mm512_mask_sub_epi8(levels, neg, _mm512_setzero_si512(), levels), _mm512_set1_epi8(char(0x80)));
}

// One sub-block of 32 elements of 16 rows: w[k] holds elements 4k..4k+3 (biased), ls the scale
// of elements 0..15, ls_hi that of 16..31 (types with kTwoScales).
struct SubBlock {
  __m512i w[8];
  __m512i ls, ls_hi;
};

__m512i odd_scale(__m512i nibble) {  // 2 * nibble + 1
  return _mm512_add_epi32(_mm512_slli_epi32(_mm512_and_si512(nibble, _mm512_set1_epi32(0xF)), 1), _mm512_set1_epi32(1));
}
// The sign word of 7 stored bits (bit 0 at `shift` in each lane).
__m512i sign7_words(__m512i bits, int shift) {
  const __m512i s7 = _mm512_and_si512(_mm512_srli_epi32(bits, shift), _mm512_set1_epi32(127));
  return _mm512_i32gather_epi32(s7, reinterpret_cast<const int*>(kSignWords.data()), 4);
}
// Byte l of each lane repeated in its 4 bytes.
__m512i repeat_byte(__m512i v, int l) {
  const char a = char(l), b = char(4 + l), c = char(8 + l), d = char(12 + l);
  return _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(_mm_setr_epi8(a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d)));
}

// IQ2_XXS: words 2 ib (4 grid indices) and 2 ib + 1 (4 x 7 sign bits, 4-bit scale); d in word 16.
struct IQ2XXS {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ2_XXS), kDWord = 16, kFinalInverse = 8;
  static constexpr bool kTwoScales = false;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m512i idx = load_chunk(sg + 64 * (2 * ib)), aux = load_chunk(sg + 64 * (2 * ib + 1));
    const __m512i byte = _mm512_set1_epi32(0xFF);
    const auto* grid = reinterpret_cast<const int*>(kIQ2XXSGrid.data());
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512i i = _mm512_and_si512(_mm512_srli_epi32(idx, 8 * l), byte);
      const __m512i signs = sign7_words(aux, 7 * l);
      s.w[2 * l] = signed_biased(_mm512_i32gather_epi32(i, grid, 8), signs, 0x08040201u);
      s.w[2 * l + 1] = signed_biased(_mm512_i32gather_epi32(i, grid + 1, 8), signs, 0x80402010u);
    }
    s.ls = _mm512_add_epi32(_mm512_slli_epi32(_mm512_srli_epi32(aux, 28), 1), _mm512_set1_epi32(1));
  }
};

// IQ3_XXS: words 2 ib, 2 ib + 1 (8 indices of 4-element points), word 16 + ib (4 x 7 sign bits,
// scale); d in word 24.
struct IQ3XXS {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ3_XXS), kDWord = 24, kFinalInverse = 4;
  static constexpr bool kTwoScales = false;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m512i idx[2] = {load_chunk(sg + 64 * (2 * ib)), load_chunk(sg + 64 * (2 * ib + 1))};
    const __m512i aux = load_chunk(sg + 64 * (16 + ib));
    const __m512i byte = _mm512_set1_epi32(0xFF);
    const auto* grid = reinterpret_cast<const int*>(kIQ3XXSGrid.data());
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512i signs = sign7_words(aux, 7 * l);
      const __m512i i1 = _mm512_and_si512(_mm512_srli_epi32(idx[l / 2], 16 * (l % 2)), byte);
      const __m512i i2 = _mm512_and_si512(_mm512_srli_epi32(idx[l / 2], 16 * (l % 2) + 8), byte);
      s.w[2 * l] = signed_biased(_mm512_i32gather_epi32(i1, grid, 4), signs, 0x08040201u);
      s.w[2 * l + 1] = signed_biased(_mm512_i32gather_epi32(i2, grid, 4), signs, 0x80402010u);
    }
    s.ls = _mm512_add_epi32(_mm512_slli_epi32(_mm512_srli_epi32(aux, 28), 1), _mm512_set1_epi32(1));
  }
};

// IQ2_XS: words 2 ib, 2 ib + 1 hold the four u16 of the sub-block (9-bit index, 7 sign bits);
// the scale byte ib in word 16 + ib / 4; d in word 18.
struct IQ2XS {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ2_XS), kDWord = 18, kFinalInverse = 8;
  static constexpr bool kTwoScales = true;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m512i q[2] = {load_chunk(sg + 64 * (2 * ib)), load_chunk(sg + 64 * (2 * ib + 1))};
    const auto* grid = reinterpret_cast<const int*>(kIQ2XSGrid.data());
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512i i = _mm512_and_si512(_mm512_srli_epi32(q[l / 2], 16 * (l % 2)), _mm512_set1_epi32(511));
      const __m512i signs = sign7_words(q[l / 2], 16 * (l % 2) + 9);
      s.w[2 * l] = signed_biased(_mm512_i32gather_epi32(i, grid, 8), signs, 0x08040201u);
      s.w[2 * l + 1] = signed_biased(_mm512_i32gather_epi32(i, grid + 1, 8), signs, 0x80402010u);
    }
    const __m512i sc = _mm512_srli_epi32(load_chunk(sg + 64 * (16 + ib / 4)), 8 * (ib % 4));
    s.ls = odd_scale(sc);
    s.ls_hi = odd_scale(_mm512_srli_epi32(sc, 4));
  }
};

// IQ3_S: words 2 ib, 2 ib + 1 (8 index bytes), the 9th index bits in byte ib of words 16..17,
// sign bytes in word 18 + ib, scale nibbles in word 26; d in word 27.
struct IQ3S {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ3_S), kDWord = 27, kFinalInverse = 1;
  static constexpr bool kTwoScales = false;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m512i idx[2] = {load_chunk(sg + 64 * (2 * ib)), load_chunk(sg + 64 * (2 * ib + 1))};
    const __m512i qh = _mm512_srli_epi32(load_chunk(sg + 64 * (16 + ib / 4)), 8 * (ib % 4));
    const __m512i sign_bytes = load_chunk(sg + 64 * (18 + ib));
    const __m512i byte = _mm512_set1_epi32(0xFF), bit8 = _mm512_set1_epi32(256);
    const auto* grid = reinterpret_cast<const int*>(kIQ3SGrid.data());
    auto index = [&](int k) {  // point k: byte k % 4 of word 2 ib + k / 4, its 9th bit bit k of qh
      const __m512i lo = _mm512_and_si512(_mm512_srli_epi32(idx[k / 4], 8 * (k % 4)), byte);
      return _mm512_or_si512(lo, _mm512_and_si512(_mm512_slli_epi32(qh, 8 - k), bit8));
    };
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512i signs = repeat_byte(sign_bytes, l);
      s.w[2 * l] = signed_biased(_mm512_i32gather_epi32(index(2 * l), grid, 4), signs, 0x08040201u);
      s.w[2 * l + 1] = signed_biased(_mm512_i32gather_epi32(index(2 * l + 1), grid, 4), signs, 0x80402010u);
    }
    s.ls = odd_scale(_mm512_srli_epi32(load_chunk(sg + 64 * 26), 4 * ib));
  }
};

int32_t x_word(const int8_t* q) {
  int32_t v;
  std::memcpy(&v, q, 4);
  return v;
}

template <class G, int C>
void tile(int64_t nsb, const uint8_t* group, const uint8_t* x, size_t xs, __mmask16 rows, float* y, int64_t ldy) {
  auto act = [&](int c, int64_t sb) { return reinterpret_cast<const BlockQ8_K*>(x + size_t(c) * xs) + sb; };
  __m512 sum[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) sum[c] = _mm512_setzero_ps();
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* sg = group + size_t(sb) * G::kWords * 64;
    __m512i isum[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) isum[c] = _mm512_setzero_si512();
    for (int ib = 0; ib < QK_K / 32; ++ib) {
      SubBlock s;
      G::decode(sg, ib, s);
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) {
        const BlockQ8_K* xb = act(c, sb);
        const int8_t* q = xb->qs + 32 * ib;
        __m512i a0 = _mm512_set1_epi32(-128 * xb->bsums[2 * ib]), a1 = _mm512_set1_epi32(-128 * xb->bsums[2 * ib + 1]);
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          a0 = _mm512_dpbusd_epi32(a0, s.w[k], _mm512_set1_epi32(x_word(q + 4 * k)));
          a1 = _mm512_dpbusd_epi32(a1, s.w[k + 4], _mm512_set1_epi32(x_word(q + 16 + 4 * k)));
        }
        if constexpr (G::kTwoScales)
          isum[c] = _mm512_add_epi32(isum[c], _mm512_add_epi32(_mm512_mullo_epi32(s.ls, a0), _mm512_mullo_epi32(s.ls_hi, a1)));
        else
          isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(s.ls, _mm512_add_epi32(a0, a1)));
      }
    }
    const __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(load_chunk(sg + 64 * G::kDWord)));
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(act(c, sb)->d));
      sum[c] = _mm512_add_ps(sum[c], _mm512_mul_ps(d, _mm512_cvtepi32_ps(isum[c])));
    }
  }
  const __m512 final_factor = _mm512_set1_ps(1.0f / G::kFinalInverse);
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c)
    _mm512_mask_storeu_ps(y + c * ldy, rows, G::kFinalInverse > 1 ? _mm512_mul_ps(final_factor, sum[c]) : sum[c]);
}

template <class G>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo*, int64_t nc,
                 int64_t nrows, float* y, int64_t ldy) {
  const __mmask16 rows = __mmask16((1u << nrows) - 1);
  over_token_tiles<8, 4, 1>(nc, [&]<int C>(int64_t c) { tile<G, C>(n / QK_K, group, x + size_t(c) * xs, xs, rows, y + c * ldy, ldy); });
}

}  // namespace

// Keeps the pointer stores free of this file's ISA flags, like the other register functions.
__attribute__((target("arch=x86-64"))) void register_packed_grid_avx512(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::IQ2_XXS)] = packed_gemm<IQ2XXS>;
  t.packed_gemm[uint32_t(GgmlType::IQ3_XXS)] = packed_gemm<IQ3XXS>;
  t.packed_gemm[uint32_t(GgmlType::IQ2_XS)] = packed_gemm<IQ2XS>;
  t.packed_gemm[uint32_t(GgmlType::IQ3_S)] = packed_gemm<IQ3S>;
}

}  // namespace trident
