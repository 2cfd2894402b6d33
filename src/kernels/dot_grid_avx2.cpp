// AVX2 dot products of the grid i-quants against Q8_K activations, row by row (the vec_dot
// entries; matmul runs the packed kernels of packed_grid_avx2.cpp). Per 32 elements: the four 8-byte grid points (IQ3: eight 4-byte ones)
// loaded into one vector, the signs applied to the activations (vpsignb with a byte mask
// expanded from the sign bits), vpmaddubsw of the unsigned levels with them (at most
// 2 * 62 * 127, no saturation), vpmaddwd by the 16-element scales ls, int32 lanes summed. The
// integer sum equals the reference's exactly, and the float schedule is the reference's
// (kernels/dot_grid.h), so the result has the same bits. IQ1: the weights 8 * level + shift
// (-9..9, never 0) go in as |w| with the activation signs of w.
#include <immintrin.h>

#include <array>
#include <cstring>

#include "kernels/dot_grid.h"
#include "kernels/dot_register.h"

namespace trident {
namespace {

// Byte j of kByteMask[s] is 0xFF where bit j of s is set.
constexpr std::array<uint64_t, 256> make_byte_masks() {
  std::array<uint64_t, 256> m{};
  for (int s = 0; s < 256; ++s)
    for (int j = 0; j < 8; ++j)
      if (s >> j & 1) m[size_t(s)] |= uint64_t(0xFF) << 8 * j;
  return m;
}
constexpr std::array<uint64_t, 256> kByteMask = make_byte_masks();

// The 7 stored sign bits of IQ2_XXS / IQ2_XS / IQ3_XXS with their parity bit, as a byte mask.
uint64_t sign7_mask(uint32_t bits7) {
  return kByteMask[bits7 | (uint32_t(__builtin_popcount(bits7)) & 1) << 7];
}

int64_t point8(const uint8_t* grid, int idx) {
  int64_t v;
  std::memcpy(&v, grid + 8 * idx, 8);
  return v;
}
int32_t point4(const uint8_t* grid, int idx) {
  int32_t v;
  std::memcpy(&v, grid + 4 * idx, 4);
  return v;
}

// ls1 * products of elements 0..15 + ls2 * those of 16..31 as 8 int32; g: 32 unsigned levels,
// masks: 0xFF per negative element.
__m256i scaled_dot32(__m256i g, __m256i masks, const int8_t* x, int ls1, int ls2) {
  const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  const __m256i qs = _mm256_sign_epi8(q, _mm256_or_si256(masks, _mm256_set1_epi8(1)));
  const __m256i p = _mm256_maddubs_epi16(g, qs);
  return _mm256_madd_epi16(p, _mm256_setr_m128i(_mm_set1_epi16(int16_t(ls1)), _mm_set1_epi16(int16_t(ls2))));
}

int hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

int isum_iq2_xxs(const BlockIQ2_XXS& b, const BlockQ8_K& x) {
  __m256i acc = _mm256_setzero_si256();
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    uint32_t aux[2];
    std::memcpy(aux, b.qs + 4 * ib, 8);
    const uint8_t* g = kIQ2XXSGrid.data();
    const __m256i grid = _mm256_setr_epi64x(point8(g, aux[0] & 0xFF), point8(g, aux[0] >> 8 & 0xFF),
                                            point8(g, aux[0] >> 16 & 0xFF), point8(g, aux[0] >> 24));
    const __m256i masks = _mm256_setr_epi64x(int64_t(sign7_mask(aux[1] & 127)), int64_t(sign7_mask(aux[1] >> 7 & 127)),
                                             int64_t(sign7_mask(aux[1] >> 14 & 127)), int64_t(sign7_mask(aux[1] >> 21 & 127)));
    const int ls = int(2 * (aux[1] >> 28) + 1);
    acc = _mm256_add_epi32(acc, scaled_dot32(grid, masks, x.qs + 32 * ib, ls, ls));
  }
  return hsum(acc);
}

int isum_iq2_xs(const BlockIQ2_XS& b, const BlockQ8_K& x) {
  __m256i acc = _mm256_setzero_si256();
  const uint8_t* g = kIQ2XSGrid.data();
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const uint16_t* q = b.qs + 4 * ib;
    const __m256i grid = _mm256_setr_epi64x(point8(g, q[0] & 511), point8(g, q[1] & 511), point8(g, q[2] & 511), point8(g, q[3] & 511));
    const __m256i masks = _mm256_setr_epi64x(int64_t(sign7_mask(q[0] >> 9)), int64_t(sign7_mask(q[1] >> 9)),
                                             int64_t(sign7_mask(q[2] >> 9)), int64_t(sign7_mask(q[3] >> 9)));
    acc = _mm256_add_epi32(acc, scaled_dot32(grid, masks, x.qs + 32 * ib, 2 * (b.scales[ib] & 0xF) + 1, 2 * (b.scales[ib] >> 4) + 1));
  }
  return hsum(acc);
}

int isum_iq2_s(const BlockIQ2_S& b, const BlockQ8_K& x) {
  __m256i acc = _mm256_setzero_si256();
  const uint8_t* g = kIQ2SGrid.data();
  const uint8_t* signs = b.qs + QK_K / 8;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const uint8_t* q = b.qs + 4 * ib;
    const int h = b.qh[ib];
    const __m256i grid = _mm256_setr_epi64x(point8(g, q[0] | (h << 8 & 0x300)), point8(g, q[1] | (h << 6 & 0x300)),
                                            point8(g, q[2] | (h << 4 & 0x300)), point8(g, q[3] | (h << 2 & 0x300)));
    const uint8_t* s = signs + 4 * ib;
    const __m256i masks = _mm256_setr_epi64x(int64_t(kByteMask[s[0]]), int64_t(kByteMask[s[1]]), int64_t(kByteMask[s[2]]),
                                             int64_t(kByteMask[s[3]]));
    acc = _mm256_add_epi32(acc, scaled_dot32(grid, masks, x.qs + 32 * ib, 2 * (b.scales[ib] & 0xF) + 1, 2 * (b.scales[ib] >> 4) + 1));
  }
  return hsum(acc);
}

int isum_iq3_xxs(const BlockIQ3_XXS& b, const BlockQ8_K& x) {
  __m256i acc = _mm256_setzero_si256();
  const uint8_t* g = kIQ3XXSGrid.data();
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const uint8_t* q = b.qs + 8 * ib;
    uint32_t aux;
    std::memcpy(&aux, b.qs + QK_K / 4 + 4 * ib, 4);
    const __m256i grid = _mm256_setr_epi32(point4(g, q[0]), point4(g, q[1]), point4(g, q[2]), point4(g, q[3]),
                                           point4(g, q[4]), point4(g, q[5]), point4(g, q[6]), point4(g, q[7]));
    const __m256i masks = _mm256_setr_epi64x(int64_t(sign7_mask(aux & 127)), int64_t(sign7_mask(aux >> 7 & 127)),
                                             int64_t(sign7_mask(aux >> 14 & 127)), int64_t(sign7_mask(aux >> 21 & 127)));
    const int ls = int(2 * (aux >> 28) + 1);
    acc = _mm256_add_epi32(acc, scaled_dot32(grid, masks, x.qs + 32 * ib, ls, ls));
  }
  return hsum(acc);
}

int isum_iq3_s(const BlockIQ3_S& b, const BlockQ8_K& x) {
  __m256i acc = _mm256_setzero_si256();
  const uint8_t* g = kIQ3SGrid.data();
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const uint8_t* q = b.qs + 8 * ib;
    const int h = b.qh[ib];  // bit k: the 9th index bit of point k
    auto idx = [&](int k) { return q[k] | (h << (8 - k) & 256); };
    const __m256i grid = _mm256_setr_epi32(point4(g, idx(0)), point4(g, idx(1)), point4(g, idx(2)), point4(g, idx(3)),
                                           point4(g, idx(4)), point4(g, idx(5)), point4(g, idx(6)), point4(g, idx(7)));
    const uint8_t* s = b.signs + 4 * ib;
    const __m256i masks = _mm256_setr_epi64x(int64_t(kByteMask[s[0]]), int64_t(kByteMask[s[1]]), int64_t(kByteMask[s[2]]),
                                             int64_t(kByteMask[s[3]]));
    const int ls = 2 * (b.scales[ib / 2] >> 4 * (ib % 2) & 0xF) + 1;
    acc = _mm256_add_epi32(acc, scaled_dot32(grid, masks, x.qs + 32 * ib, ls, ls));
  }
  return hsum(acc);
}

// IQ1: 32 weights 8 * level + shift from four 8-byte points of {-1, 0, 1}; shifts: +-1 per byte.
__m256i scaled_dot32_iq1(__m256i levels, __m256i shifts, const int8_t* x, int ls1, int ls2) {
  __m256i w = _mm256_add_epi8(levels, levels);
  w = _mm256_add_epi8(w, w);
  w = _mm256_add_epi8(_mm256_add_epi8(w, w), shifts);
  const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(q, w));
  return _mm256_madd_epi16(p, _mm256_setr_m128i(_mm_set1_epi16(int16_t(ls1)), _mm_set1_epi16(int16_t(ls2))));
}
int64_t shift8(bool negative) { return negative ? -1 : 0x0101010101010101; }

int isum_iq1_s(const BlockIQ1_S& b, const BlockQ8_K& x) {
  __m256i acc = _mm256_setzero_si256();
  const uint8_t* g = reinterpret_cast<const uint8_t*>(kIQ1SGrid.data());
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const uint8_t* q = b.qs + 4 * ib;
    const int h = b.qh[ib];
    const __m256i levels = _mm256_setr_epi64x(point8(g, q[0] | (h << 8 & 0x700)), point8(g, q[1] | (h << 5 & 0x700)),
                                              point8(g, q[2] | (h << 2 & 0x700)), point8(g, q[3] | (h >> 1 & 0x700)));
    const int ls = 2 * (h >> 12 & 7) + 1;
    acc = _mm256_add_epi32(acc, scaled_dot32_iq1(levels, _mm256_set1_epi64x(shift8(h & 0x8000)), x.qs + 32 * ib, ls, ls));
  }
  return hsum(acc);
}

int isum_iq1_m(const BlockIQ1_M& b, const BlockQ8_K& x) {
  __m256i acc = _mm256_setzero_si256();
  const uint8_t* g = reinterpret_cast<const uint8_t*>(kIQ1SGrid.data());
  uint16_t sc[4];
  std::memcpy(sc, b.scales, 8);
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const uint8_t* q = b.qs + 4 * ib;
    const int h0 = b.qh[2 * ib], h1 = b.qh[2 * ib + 1];
    const __m256i levels = _mm256_setr_epi64x(point8(g, q[0] | (h0 << 8 & 0x700)), point8(g, q[1] | (h0 << 4 & 0x700)),
                                              point8(g, q[2] | (h1 << 8 & 0x700)), point8(g, q[3] | (h1 << 4 & 0x700)));
    const __m256i shifts = _mm256_setr_epi64x(shift8(h0 & 0x08), shift8(h0 & 0x80), shift8(h1 & 0x08), shift8(h1 & 0x80));
    const int ls1 = 2 * (sc[ib / 2] >> 6 * (ib % 2) & 7) + 1, ls2 = 2 * (sc[ib / 2] >> (6 * (ib % 2) + 3) & 7) + 1;
    acc = _mm256_add_epi32(acc, scaled_dot32_iq1(levels, shifts, x.qs + 32 * ib, ls1, ls2));
  }
  return hsum(acc);
}

template <class Block, int kFinalInverse, int (*Isum)(const Block&, const BlockQ8_K&)>
constexpr VecDotFn kDot = aligned_vec_dot<Block, BlockQ8_K, QK_K, vec_dot_grid<Block, kFinalInverse, Isum>>;

}  // namespace

// Keeps the pointer stores free of this file's ISA flags, like the other register functions.
__attribute__((target("arch=x86-64"))) void register_grid_avx2(KernelTable& t) {
  using T = GgmlType;
  t.vec_dot[uint32_t(T::IQ2_XXS)] = kDot<BlockIQ2_XXS, 8, isum_iq2_xxs>;
  t.vec_dot[uint32_t(T::IQ2_XS)] = kDot<BlockIQ2_XS, 8, isum_iq2_xs>;
  t.vec_dot[uint32_t(T::IQ2_S)] = kDot<BlockIQ2_S, 8, isum_iq2_s>;
  t.vec_dot[uint32_t(T::IQ3_XXS)] = kDot<BlockIQ3_XXS, 4, isum_iq3_xxs>;
  t.vec_dot[uint32_t(T::IQ3_S)] = kDot<BlockIQ3_S, 1, isum_iq3_s>;
  t.vec_dot[uint32_t(T::IQ1_S)] = kDot<BlockIQ1_S, 0, isum_iq1_s>;
  t.vec_dot[uint32_t(T::IQ1_M)] = kDot<BlockIQ1_M, 0, isum_iq1_m>;
}

}  // namespace trident
