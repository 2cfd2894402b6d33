// AVX-512 packed-group kernels of the grid i-quants (tensor/repack.h: each
// super-block by 4-byte words, lane j holding row j's word). Per 32 elements of 16 rows the grid
// points are looked up in registers by their 16-bit codes (grid_codes: vpermi2w, two points per
// 16-bit lane pair; IQ1 gathers them, vpgatherdd), the signs come from the sign byte repeated in
// each lane, turned into byte masks by vptestmb; the signed levels plus 128 (one vpshufb of a
// level table) are vpdpbusd's unsigned operand, 128 times the activations' sums per 16
// (Q8_K bsums) is taken off, and each half is multiplied by its ls. That is the reference's
// exact integer per super-block and row (IQ1: the weights 8 * level + shift, -9..9, take the
// same path); the float schedule is the reference's
// (kernels/dot_grid.h) lane by lane, so every lane has the reference's bits. The weights of a
// sub-block are decoded once per tile of up to 8 tokens.
#include <immintrin.h>

#include <cstring>

#include "kernels/dot_register.h"
#include "kernels/packed_tiling.h"
#include "kernels/stream_prefetch.h"
#include "tensor/blocks.h"
#include "tensor/grids.h"
#include "tensor/repack.h"

// GCC 12 reports the deliberately undefined pass-through operand of its AVX-512 intrinsics
// (_mm512_undefined_*, `__Y = __Y`) as uninitialized once these decoders are inlined into the
// token tiles; the operand is never read. Only this file's diagnostics are affected.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace trident {
namespace {

__m512i load_chunk(const uint8_t* p) { return _mm512_loadu_si512(p); }

// One sub-block of 32 elements of 16 rows: w[k] holds elements 4k..4k+3 (biased), ls the scale
// of elements 0..15, ls_hi that of 16..31 (types with kTwoScales).
struct SubBlock {
  __m512i w[8];
  __m512i ls, ls_hi;
};

__m512i odd_scale(__m512i nibble) {  // 2 * nibble + 1
  return _mm512_add_epi32(_mm512_slli_epi32(_mm512_and_si512(nibble, _mm512_set1_epi32(0xF)), 1), _mm512_set1_epi32(1));
}
// The sign byte of 7 stored bits (bit 0 at `shift` in each lane) completed by their parity as
// bit 7 and repeated in the lane's 4 bytes: the parity of each nibble by vpshufb, no gather.
__m512i sign7_words(__m512i bits, int shift) {
  const __m512i s7 = _mm512_and_si512(_mm512_srli_epi32(bits, shift), _mm512_set1_epi32(127));
  const __m512i parity = _mm512_broadcast_i32x4(_mm_setr_epi8(0, char(0x80), char(0x80), 0, char(0x80), 0, 0, char(0x80),
                                                              char(0x80), 0, 0, char(0x80), 0, char(0x80), char(0x80), 0));
  const __m512i p = _mm512_xor_si512(_mm512_shuffle_epi8(parity, _mm512_and_si512(s7, _mm512_set1_epi32(15))),
                                     _mm512_shuffle_epi8(parity, _mm512_srli_epi32(s7, 4)));
  const __m512i s8 = _mm512_or_si512(s7, _mm512_and_si512(p, _mm512_set1_epi32(0xFF)));
  return _mm512_shuffle_epi8(s8, _mm512_broadcast_i32x4(_mm_setr_epi8(0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12)));
}
// The four 7-bit sign fields of each lane (bits 7l..7l+6, l < 4: IQ2_XXS / IQ3_XXS) as bytes,
// each completed by its parity as bit 7 (kIQ2Signs): byte l holds point l's sign byte.
__m512i sign_bytes4(__m512i bits) {
  const __m512i f14 = _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi32(0x3FFF)),
                                      _mm512_slli_epi32(_mm512_and_si512(bits, _mm512_set1_epi32(0xFFFC000)), 2));
  const __m512i s7 = _mm512_or_si512(_mm512_and_si512(f14, _mm512_set1_epi32(0x007F007F)),
                                     _mm512_slli_epi32(_mm512_and_si512(f14, _mm512_set1_epi32(0x3F803F80)), 1));
  const __m512i parity = _mm512_broadcast_i32x4(_mm_setr_epi8(0, char(0x80), char(0x80), 0, char(0x80), 0, 0, char(0x80),
                                                              char(0x80), 0, 0, char(0x80), 0, char(0x80), char(0x80), 0));
  const __m512i nib = _mm512_set1_epi8(15);
  const __m512i p = _mm512_xor_si512(_mm512_shuffle_epi8(parity, _mm512_and_si512(s7, nib)),
                                     _mm512_shuffle_epi8(parity, _mm512_and_si512(_mm512_srli_epi16(s7, 4), nib)));
  return _mm512_or_si512(s7, p);
}
// Byte l of each lane repeated in its 4 bytes.
__m512i repeat_byte(__m512i v, int l) {
  const char a = char(l), b = char(4 + l), c = char(8 + l), d = char(12 + l);
  return _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(_mm_setr_epi8(a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d)));
}

// The 16-bit codes (grids.h) of the points whose indices (< kPoints) are the words of i, looked
// up in registers: one 64-entry vpermi2w per 64 points, then the index's bits 6, 7, ... choose
// among them, halving the candidates per bit.
// v[p] = (bit `bit` of i) ? v[2p + 1] : v[2p] for p < kN / 2, then the next bit on those.
template <int kN>
__attribute__((always_inline)) inline void choose_by_bit(__m512i* v, __m512i i, int bit) {
  if constexpr (kN > 1) {
    const __mmask32 high = _mm512_test_epi16_mask(i, _mm512_set1_epi16(short(1 << bit)));
#pragma GCC unroll 8
    for (int p = 0; p < kN / 2; ++p) v[p] = _mm512_mask_blend_epi16(high, v[2 * p], v[2 * p + 1]);
    choose_by_bit<kN / 2>(v, i, bit + 1);
  }
}
template <int kPoints>
__m512i grid_codes(__m512i i, const uint16_t* codes) {
  constexpr int kPairs = kPoints / 64;
  __m512i v[kPairs];
#pragma GCC unroll 16
  for (int p = 0; p < kPairs; ++p)
    v[p] = _mm512_permutex2var_epi16(_mm512_loadu_si512(codes + 64 * p), i, _mm512_loadu_si512(codes + 64 * p + 32));
  choose_by_bit<kPairs>(v, i, 6);
  return v[0];
}
// Four IQ2 levels from 8 code bits per lane (2 per level, bits 0..7 only): byte k gets bits
// 2k..2k+1, plus 4 where its sign bit (bit k of `bits` in `signs`: vptestmb) is set, and
// a byte table turns that into the signed level plus 128.
__m512i iq2_levels_biased(__m512i code8, __m512i signs, uint32_t bits) {
  const __m512i x = _mm512_or_si512(code8, _mm512_slli_epi32(code8, 6));
  __m512i k = _mm512_and_si512(_mm512_or_si512(x, _mm512_slli_epi32(x, 12)), _mm512_set1_epi8(3));
  k = _mm512_mask_add_epi8(k, _mm512_test_epi8_mask(signs, _mm512_set1_epi32(int(bits))), k, _mm512_set1_epi8(4));
  const __m512i lut = _mm512_broadcast_i32x4(_mm_setr_epi8(char(136), char(153), char(171), 0, 120, 103, 85, 0,
                                                           char(136), char(153), char(171), 0, 120, 103, 85, 0));
  return _mm512_shuffle_epi8(lut, k);
}

// IQ2_XXS: words 2 ib (4 grid indices) and 2 ib + 1 (4 x 7 sign bits, 4-bit scale); d in word 16.
// The points come from register lookups of their 16-bit codes (two points per lookup), not
// from gathers: a zmm gather of 16 dwords was most of this kernel's time on Zen 4.
struct IQ2XXS {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ2_XXS), kDWord = 16, kFinalInverse = 8;
  static constexpr bool kTwoScales = false;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m512i idx = load_chunk(sg + 64 * (2 * ib)), aux = load_chunk(sg + 64 * (2 * ib + 1));
    const __m512i even = _mm512_set1_epi32(0x00FF00FF), low8 = _mm512_set1_epi32(0xFF);
    // Words 0 and 1 of each lane: the codes of points 0 and 2, then of points 1 and 3.
    const __m512i c02 = grid_codes<256>(_mm512_and_si512(idx, even), kIQ2XXSCodes.data());
    const __m512i c13 = grid_codes<256>(_mm512_and_si512(_mm512_srli_epi32(idx, 8), even), kIQ2XXSCodes.data());
    const __m512i sign_bytes = sign_bytes4(aux);
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512i code = _mm512_srli_epi32(l % 2 ? c13 : c02, 16 * (l / 2));
      const __m512i signs = repeat_byte(sign_bytes, l);
      s.w[2 * l] = iq2_levels_biased(_mm512_and_si512(code, low8), signs, 0x08040201u);
      s.w[2 * l + 1] = iq2_levels_biased(_mm512_and_si512(_mm512_srli_epi32(code, 8), low8), signs, 0x80402010u);
    }
    s.ls = _mm512_add_epi32(_mm512_slli_epi32(_mm512_srli_epi32(aux, 28), 1), _mm512_set1_epi32(1));
  }
};

// An IQ3 point (4 levels) from its 12-bit code per lane (bits 0..11 only): byte k gets bits
// 3k..3k+2, plus 8 where its sign bit (bit k of `bits` in `signs`) is set; lut (16 bytes, per
// 128-bit lane) gives the signed level plus 128.
__m512i iq3_levels_biased(__m512i code12, __m512i signs, uint32_t bits, __m512i lut) {
  const __m512i six = _mm512_set1_epi32(0x3F);
  const __m512i t = _mm512_or_si512(_mm512_and_si512(code12, six), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(code12, 6), six), 16));
  __m512i k = _mm512_and_si512(_mm512_or_si512(t, _mm512_slli_epi32(t, 5)), _mm512_set1_epi8(7));
  k = _mm512_mask_add_epi8(k, _mm512_test_epi8_mask(signs, _mm512_set1_epi32(int(bits))), k, _mm512_set1_epi8(8));
  return _mm512_shuffle_epi8(lut, k);
}
// Levels l[0..7] plus 128, then minus l plus 128, in each 128-bit lane.
__m512i iq3_lut(const int (&l)[8]) {
  auto b = [&](int i) { return char(i < 8 ? 128 + l[i] : 128 - l[i - 8]); };
  return _mm512_broadcast_i32x4(_mm_setr_epi8(b(0), b(1), b(2), b(3), b(4), b(5), b(6), b(7), b(8), b(9), b(10), b(11),
                                              b(12), b(13), b(14), b(15)));
}
constexpr int kIQ3XXSLevels[8] = {4, 12, 20, 28, 36, 44, 52, 62}, kIQ3SLevels[8] = {1, 3, 5, 7, 9, 11, 13, 15};
// The code of point p (0..7) of a sub-block whose even-byte and odd-byte points were looked up
// into even[h], odd[h] (h = p / 4; words 0, 1 of each lane).
__m512i iq3_code(const __m512i* even, const __m512i* odd, int p) {
  return _mm512_and_si512(_mm512_srli_epi32(p % 2 ? odd[p / 4] : even[p / 4], 16 * ((p % 4) / 2)), _mm512_set1_epi32(0xFFF));
}

// IQ3_XXS: words 2 ib, 2 ib + 1 (8 indices of 4-element points), word 16 + ib (4 x 7 sign bits,
// scale); d in word 24. Points by register lookups of their codes, as IQ2_XXS.
struct IQ3XXS {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ3_XXS), kDWord = 24, kFinalInverse = 4;
  static constexpr bool kTwoScales = false;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m512i idx[2] = {load_chunk(sg + 64 * (2 * ib)), load_chunk(sg + 64 * (2 * ib + 1))};
    const __m512i aux = load_chunk(sg + 64 * (16 + ib));
    const __m512i even_bytes = _mm512_set1_epi32(0x00FF00FF), lut = iq3_lut(kIQ3XXSLevels);
    __m512i even[2], odd[2];
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      even[h] = grid_codes<256>(_mm512_and_si512(idx[h], even_bytes), kIQ3XXSCodes.data());
      odd[h] = grid_codes<256>(_mm512_and_si512(_mm512_srli_epi32(idx[h], 8), even_bytes), kIQ3XXSCodes.data());
    }
    const __m512i sign_bytes = sign_bytes4(aux);
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512i signs = repeat_byte(sign_bytes, l);
      s.w[2 * l] = iq3_levels_biased(iq3_code(even, odd, 2 * l), signs, 0x08040201u, lut);
      s.w[2 * l + 1] = iq3_levels_biased(iq3_code(even, odd, 2 * l + 1), signs, 0x80402010u, lut);
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
    const __m512i low8 = _mm512_set1_epi32(0xFF);
    // Words 0 and 1 of q[h] are points 2h and 2h + 1: their codes by one register lookup each.
    const __m512i codes[2] = {grid_codes<512>(_mm512_and_si512(q[0], _mm512_set1_epi16(511)), kIQ2XSCodes.data()),
                              grid_codes<512>(_mm512_and_si512(q[1], _mm512_set1_epi16(511)), kIQ2XSCodes.data())};
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512i code = _mm512_srli_epi32(codes[l / 2], 16 * (l % 2));
      const __m512i signs = sign7_words(q[l / 2], 16 * (l % 2) + 9);
      s.w[2 * l] = iq2_levels_biased(_mm512_and_si512(code, low8), signs, 0x08040201u);
      s.w[2 * l + 1] = iq2_levels_biased(_mm512_and_si512(_mm512_srli_epi32(code, 8), low8), signs, 0x80402010u);
    }
    const __m512i sc = _mm512_srli_epi32(load_chunk(sg + 64 * (16 + ib / 4)), 8 * (ib % 4));
    s.ls = odd_scale(sc);
    s.ls_hi = odd_scale(_mm512_srli_epi32(sc, 4));
  }
};

// IQ3_S: words 2 ib, 2 ib + 1 (8 index bytes), the 9th index bits in byte ib of words 16..17,
// sign bytes in word 18 + ib, scale nibbles in word 26; d in word 27. Points by register
// lookups of their codes, as IQ2_XXS.
struct IQ3S {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ3_S), kDWord = 27, kFinalInverse = 1;
  static constexpr bool kTwoScales = false;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m512i idx[2] = {load_chunk(sg + 64 * (2 * ib)), load_chunk(sg + 64 * (2 * ib + 1))};
    const __m512i qh = _mm512_srli_epi32(load_chunk(sg + 64 * (16 + ib / 4)), 8 * (ib % 4));
    const __m512i sign_bytes = load_chunk(sg + 64 * (18 + ib));
    const __m512i even_bytes = _mm512_set1_epi32(0x00FF00FF), lut = iq3_lut(kIQ3SLevels);
    // Point k's 9th bit is bit k of qh: bits lo and hi go to bit 8 of words 0 and 1 (qh's upper
    // bytes hold other sub-blocks' bits, so each shift is masked on its own).
    auto ninth = [&](int lo, int hi) {
      return _mm512_or_si512(_mm512_and_si512(_mm512_slli_epi32(qh, 8 - lo), _mm512_set1_epi32(0x100)),
                             _mm512_and_si512(_mm512_slli_epi32(qh, 24 - hi), _mm512_set1_epi32(0x1000000)));
    };
    __m512i even[2], odd[2];
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      even[h] = grid_codes<512>(_mm512_or_si512(_mm512_and_si512(idx[h], even_bytes), ninth(4 * h, 4 * h + 2)), kIQ3SCodes.data());
      odd[h] = grid_codes<512>(_mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(idx[h], 8), even_bytes), ninth(4 * h + 1, 4 * h + 3)),
                               kIQ3SCodes.data());
    }
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512i signs = repeat_byte(sign_bytes, l);
      s.w[2 * l] = iq3_levels_biased(iq3_code(even, odd, 2 * l), signs, 0x08040201u, lut);
      s.w[2 * l + 1] = iq3_levels_biased(iq3_code(even, odd, 2 * l + 1), signs, 0x80402010u, lut);
    }
    s.ls = odd_scale(_mm512_srli_epi32(load_chunk(sg + 64 * 26), 4 * ib));
  }
};

// IQ2_S: word ib holds the sub-block's 4 index bytes, word 8 + ib its 4 sign bytes, byte ib of
// words 16..17 the index bits 8..9, byte ib of words 18..19 the two scales; d in word 20.
struct IQ2S {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ2_S), kDWord = 20, kFinalInverse = 8;
  static constexpr bool kTwoScales = true;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m512i idx = load_chunk(sg + 64 * ib), sign_bytes = load_chunk(sg + 64 * (8 + ib));
    const __m512i qh = _mm512_srli_epi32(load_chunk(sg + 64 * (16 + ib / 4)), 8 * (ib % 4));
    const __m512i even = _mm512_set1_epi32(0x00FF00FF), low8 = _mm512_set1_epi32(0xFF);
    // qh's bits (lo, lo + 1) to bits 8..9 and (hi, hi + 1) to bits 24..25 (qh's upper bytes hold
    // other sub-blocks' bits: each shift is masked on its own).
    auto high_bits = [&](int lo, int hi) {
      return _mm512_or_si512(_mm512_and_si512(_mm512_slli_epi32(qh, 8 - lo), _mm512_set1_epi32(0x300)),
                             _mm512_and_si512(_mm512_slli_epi32(qh, 24 - hi), _mm512_set1_epi32(0x3000000)));
    };
    // Points 0 and 2 in words 0 and 1 (bits 8..9 from qh bits 0..1 and 4..5), then 1 and 3
    // (qh bits 2..3 and 6..7).
    const __m512i i02 = _mm512_or_si512(_mm512_and_si512(idx, even), high_bits(0, 4));
    const __m512i i13 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(idx, 8), even), high_bits(2, 6));
    const __m512i c02 = grid_codes<1024>(i02, kIQ2SCodes.data()), c13 = grid_codes<1024>(i13, kIQ2SCodes.data());
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512i code = _mm512_srli_epi32(l % 2 ? c13 : c02, 16 * (l / 2));
      const __m512i signs = repeat_byte(sign_bytes, l);
      s.w[2 * l] = iq2_levels_biased(_mm512_and_si512(code, low8), signs, 0x08040201u);
      s.w[2 * l + 1] = iq2_levels_biased(_mm512_and_si512(_mm512_srli_epi32(code, 8), low8), signs, 0x80402010u);
    }
    const __m512i sc = _mm512_srli_epi32(load_chunk(sg + 64 * (18 + ib / 4)), 8 * (ib % 4));
    s.ls = odd_scale(sc);
    s.ls_hi = odd_scale(_mm512_srli_epi32(sc, 4));
  }
};

// IQ1: the 8 weights 8 * level + shift of point `i` (11-bit indices), shift -1 in the lanes of
// `negative`, as w[0] (elements 0..3) and w[1] (4..7), biased.
void iq1_point(__m512i i, __mmask16 negative, __m512i* w) {
  const auto* grid = reinterpret_cast<const int*>(kIQ1SGrid.data());
  const __m512i shift = _mm512_mask_blend_epi32(negative, _mm512_set1_epi8(1), _mm512_set1_epi8(-1));
  for (int h = 0; h < 2; ++h) {
    const __m512i g = _mm512_i32gather_epi32(i, grid + h, 8);
    __m512i v = _mm512_add_epi8(g, g);
    v = _mm512_add_epi8(v, v);
    v = _mm512_add_epi8(_mm512_add_epi8(v, v), shift);
    w[h] = _mm512_xor_si512(v, _mm512_set1_epi8(char(0x80)));
  }
}

// IQ1_S: word ib holds 4 index bytes, u16 ib of words 8..11 the index bits 8..10 per point,
// the scale and the shift sign; d in word 12.
struct IQ1S {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ1_S), kDWord = 12, kFinalInverse = 0;
  static constexpr bool kTwoScales = false;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m512i idx = load_chunk(sg + 64 * ib);
    const __m512i qh = _mm512_and_si512(_mm512_srli_epi32(load_chunk(sg + 64 * (8 + ib / 2)), 16 * (ib % 2)), _mm512_set1_epi32(0xFFFF));
    const __mmask16 negative = _mm512_test_epi32_mask(qh, _mm512_set1_epi32(0x8000));
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512i i = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(idx, 8 * l), _mm512_set1_epi32(0xFF)),
                                        _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(qh, 3 * l), _mm512_set1_epi32(7)), 8));
      iq1_point(i, negative, s.w + 2 * l);
    }
    s.ls = odd_scale(_mm512_and_si512(_mm512_srli_epi32(qh, 12), _mm512_set1_epi32(7)));
  }
};

// IQ1_M: word ib holds 4 index bytes, bytes 2 (ib % 2) and + 1 of word 8 + ib / 2 a nibble per
// point (index bits 8..10, shift sign), the u16 scale words in words 12..13 (with d's nibbles).
struct IQ1M {
  static constexpr int kWords = grid_packed_words(GgmlType::IQ1_M), kDWord = -1, kFinalInverse = 0;
  static constexpr bool kTwoScales = true;
  static void decode(const uint8_t* sg, int ib, SubBlock& s) {
    const __m512i idx = load_chunk(sg + 64 * ib);
    const __m512i qh = _mm512_srli_epi32(load_chunk(sg + 64 * (8 + ib / 2)), 16 * (ib % 2));
#pragma GCC unroll 4
    for (int l = 0; l < 4; ++l) {
      const __m512i h = _mm512_srli_epi32(qh, 4 * l);  // bits 0..2: index bits 8..10, bit 3: shift
      const __m512i i = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(idx, 8 * l), _mm512_set1_epi32(0xFF)),
                                        _mm512_slli_epi32(_mm512_and_si512(h, _mm512_set1_epi32(7)), 8));
      iq1_point(i, _mm512_test_epi32_mask(h, _mm512_set1_epi32(8)), s.w + 2 * l);
    }
    const __m512i sc = _mm512_srli_epi32(load_chunk(sg + 64 * (12 + ib / 4)), 16 * ((ib / 2) % 2) + 6 * (ib % 2));
    s.ls = odd_scale(_mm512_and_si512(sc, _mm512_set1_epi32(7)));
    s.ls_hi = odd_scale(_mm512_and_si512(_mm512_srli_epi32(sc, 3), _mm512_set1_epi32(7)));
  }
};

// The weight scales d of the 16 rows of a super-block as floats.
template <class G>
__m512 row_scales(const uint8_t* sg) {
  if constexpr (G::kDWord >= 0) {
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(load_chunk(sg + 64 * G::kDWord)));
  } else {  // IQ1_M: the top nibbles of the u16 scale words sc[0..3] in words 12..13
    const __m512i w0 = load_chunk(sg + 64 * 12), w1 = load_chunk(sg + 64 * 13), nib = _mm512_set1_epi32(0xF000);
    __m512i d = _mm512_srli_epi32(_mm512_and_si512(w0, nib), 12);                      // sc[0] >> 12
    d = _mm512_or_si512(d, _mm512_srli_epi32(_mm512_and_si512(w0, _mm512_set1_epi32(int(0xF0000000u))), 24));  // sc[1]
    d = _mm512_or_si512(d, _mm512_srli_epi32(_mm512_and_si512(w1, nib), 4));            // sc[2]
    d = _mm512_or_si512(d, _mm512_srli_epi32(_mm512_and_si512(w1, _mm512_set1_epi32(int(0xF0000000u))), 16));  // sc[3]
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d));
  }
}

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
    if constexpr (C == 1) prefetch_stream<G::kWords * 64>(sg);
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
    const __m512 dw = row_scales<G>(sg);
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(act(c, sb)->d));
      __m512 f = _mm512_cvtepi32_ps(isum[c]);
      if constexpr (G::kFinalInverse == 0) f = _mm512_mul_ps(_mm512_set1_ps(0.125f), f);  // IQ1
      sum[c] = _mm512_add_ps(sum[c], _mm512_mul_ps(d, f));
    }
  }
  const __m512 final_factor = _mm512_set1_ps(G::kFinalInverse > 1 ? 1.0f / float(G::kFinalInverse) : 1.0f);
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
  t.packed_gemm[uint32_t(GgmlType::IQ2_S)] = packed_gemm<IQ2S>;
  t.packed_gemm[uint32_t(GgmlType::IQ1_S)] = packed_gemm<IQ1S>;
  t.packed_gemm[uint32_t(GgmlType::IQ1_M)] = packed_gemm<IQ1M>;
}

}  // namespace trident
