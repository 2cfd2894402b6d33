// AVX-512 (BW + VNNI) dot products of K-quant weight rows with Q8_K activation rows.
//
// Bit-identical to dot_kquant_avx2.cpp, and so to ggml's x86 kernels: each 64-byte step puts
// two of the AVX2 kernel's 32-element groups side by side, so 512-bit int32 lane k + 8 holds
// what AVX2 lane k holds for the second group. Adding the halves at the end of a super-block
// gives exactly the AVX2 kernel's 8 integer lanes, and the float steps after that are the
// same instructions in the same order. Integer sums are exact, so grouping does not matter
// before that point.
//
// Layout trick: a 32-byte quant vector is broadcast to both halves and each half extracts a
// different bit field (variable shifts), which makes the matching 64 activations contiguous.
// Scales are applied with vpdpwssd on int16 pair sums from vpmaddubsw, as in the AVX2 code.
//
// w: n / 256 weight super-blocks; x: n / 256 BlockQ8_K with consistent bsums; n % 256 == 0.
// No alignment is assumed. The Q8_K quantizer is the AVX2 one (inherited from that table).

// GCC 12's AVX-512 intrinsics (broadcast/extract/insert of 256-bit halves) warn
// -Wmaybe-uninitialized on their own placeholder operand (GCC bug 105593); silenced for the
// header's lines only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "kernels/dot_kquant_x86.h"
#include "kernels/dot_register.h"
#include "tensor/blocks.h"
#include "tensor/quant_kquant_internal.h"

namespace trident {
namespace {

__m512i load512(const void* p) { return _mm512_loadu_si512(p); }
__m512i broadcast256(const void* p) { return _mm512_broadcast_i64x4(load256(p)); }
// 16 int32 lanes -> the AVX2 kernel's 8: lane k + lane k + 8.
__m256i fold_lanes(__m512i v) {
  return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

// int16 lane constants: which 256-bit half (0, 1) and which 128-bit quarter (0..3) a lane is in.
__m512i half_of_lane16() { return _mm512_maskz_set1_epi16(0xffff0000u, 1); }
__m512i quarter_of_lane16() {
  return _mm512_add_epi16(_mm512_maskz_set1_epi16(0xff00ff00u, 1),
                          _mm512_maskz_set1_epi16(0xffff0000u, 2));
}
// Bytes: 1 << bit_lo in the low 256 bits, 1 << bit_hi in the high 256 bits.
__m512i bit_select(int bit_lo, int bit_hi) {
  return _mm512_mask_blend_epi8(0xffffffff00000000ull, _mm512_set1_epi8(char(1 << bit_lo)),
                                _mm512_set1_epi8(char(1 << bit_hi)));
}

// Scales per 16 elements (Q2_K, Q3_K, Q6_K): the int16 scales 4 g .. 4 g + 3, one per 128-bit
// quarter, for the 64 elements 64 g .. 64 g + 63.
struct QuarterScales {
  __m512i index[4];
  QuarterScales() {
    const __m512i q = quarter_of_lane16();
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) index[g] = _mm512_add_epi16(q, _mm512_set1_epi16(short(4 * g)));
  }
  __m512i get(int g, __m512i scales16) const {
    return _mm512_permutexvar_epi16(index[g], scales16);
  }
};

void vec_dot_q2_K(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockQ2_K*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  const __m512i m3 = _mm512_set1_epi8(3);
  const __m128i m15 = _mm_set1_epi8(15);
  const QuarterScales qs;
  // 2-bit groups 0 | 1 (bits 0-1 | 2-3) and 2 | 3 (bits 4-5 | 6-7) in the low | high half
  const __m512i shift_lo = _mm512_slli_epi16(half_of_lane16(), 1);
  const __m512i shift_hi = _mm512_add_epi16(shift_lo, _mm512_set1_epi16(4));
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    const auto [d, dmin] =
        d_and_dmin(x->d, reinterpret_cast<const uint8_t*>(b) + offsetof(BlockQ2_K, d));
    const __m128i packed = load128(b->scales);
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), m15));
    const __m256i min_prod = _mm256_madd_epi16(mins, load256(x->bsums));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(min_prod), acc);

    const __m512i sc16 = _mm512_zextsi256_si512(_mm256_cvtepu8_epi16(_mm_and_si128(packed, m15)));
    __m512i sum0 = _mm512_setzero_si512(), sum1 = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int h = 0; h < 2; ++h) {
      const __m512i q = broadcast256(b->qs + 32 * h);
      const int8_t* xq = x->qs + 128 * h;
      const __m512i q01 = _mm512_and_si512(_mm512_srlv_epi16(q, shift_lo), m3);
      const __m512i q23 = _mm512_and_si512(_mm512_srlv_epi16(q, shift_hi), m3);
      sum0 = _mm512_dpwssd_epi32(sum0, _mm512_maddubs_epi16(q01, load512(xq)), qs.get(2 * h, sc16));
      sum1 = _mm512_dpwssd_epi32(sum1, _mm512_maddubs_epi16(q23, load512(xq + 64)),
                                 qs.get(2 * h + 1, sc16));
    }
    const __m256i sumi = fold_lanes(_mm512_add_epi32(sum0, sum1));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  *s = hsum8(acc);
}

void vec_dot_q3_K(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockQ3_K*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  const __m512i m3 = _mm512_set1_epi8(3), four = _mm512_set1_epi8(4);
  const QuarterScales qs;
  const __m512i shift[2] = {
      _mm512_slli_epi16(half_of_lane16(), 1),
      _mm512_add_epi16(_mm512_slli_epi16(half_of_lane16(), 1), _mm512_set1_epi16(4))};
  // high bit of group s (0..3) of half h is bit 4 h + s of hmask
  const __m512i hbit[2][2] = {{bit_select(0, 1), bit_select(2, 3)},
                              {bit_select(4, 5), bit_select(6, 7)}};
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    const float d = x->d * half_to_float(b->d);
    uint32_t words[4];
    unpack_scales_q3k_words(b->scales, words);
    const __m128i biased =
        _mm_setr_epi32(int(words[0]), int(words[1]), int(words[2]), int(words[3]));
    const __m512i sc16 =
        _mm512_zextsi256_si512(_mm256_cvtepi8_epi16(_mm_sub_epi8(biased, _mm_set1_epi8(32))));
    const __m512i hmask = broadcast256(b->hmask);
    __m512i sum[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
#pragma GCC unroll 4
    for (int h = 0; h < 2; ++h) {
      const __m512i q = broadcast256(b->qs + 32 * h);
#pragma GCC unroll 4
      for (int p = 0; p < 2; ++p) {
        __m512i u = _mm512_and_si512(_mm512_srlv_epi16(q, shift[p]), m3);
        // u = low bits + 4 * high bit (0..7); the stored value is u - 4
        u = _mm512_mask_add_epi8(u, _mm512_test_epi8_mask(hmask, hbit[h][p]), u, four);
        const __m512i xq = load512(x->qs + 128 * h + 64 * p);
        const __m512i pairs =
            _mm512_sub_epi16(_mm512_maddubs_epi16(u, xq), _mm512_maddubs_epi16(four, xq));
        sum[p] = _mm512_dpwssd_epi32(sum[p], pairs, qs.get(2 * h + p, sc16));
      }
    }
    const __m256i sumi = fold_lanes(_mm512_add_epi32(sum[0], sum[1]));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  *s = hsum8(acc);
}

// Q4_K (kQ5 = false) and Q5_K. Chunk c holds sub-block 2 c in the low nibbles and 2 c + 1 in
// the high nibbles of 32 bytes; broadcast, the low half takes the low nibbles and the high
// half the high nibbles, matching the 64 contiguous activations 64 c .. 64 c + 63.
template <bool kQ5>
void vec_dot_q45_K(int64_t n, float* s, const void* w, const void* xv) {
  using Block = std::conditional_t<kQ5, BlockQ5_K, BlockQ4_K>;
  const auto* b = static_cast<const Block*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  const __m512i m15 = _mm512_set1_epi8(15), sixteen = _mm512_set1_epi8(16);
  const __m512i nibble_shift = _mm512_slli_epi16(half_of_lane16(), 2);  // 0 | 4
  __m512i scale_index[4], hbit[4];
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    scale_index[c] = _mm512_add_epi16(half_of_lane16(), _mm512_set1_epi16(short(2 * c)));
    hbit[c] = bit_select(2 * c, 2 * c + 1);
  }
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();  // Q4_K: 4 lanes; Q5_K: lane 0 only
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    const auto [d, dmin] =
        d_and_dmin(x->d, reinterpret_cast<const uint8_t*>(b) + offsetof(Block, d));
    const __m256i sm16 = _mm256_cvtepu8_epi16(k4_scales_mins(b->scales));
    __m128i min_prod = _mm_madd_epi16(_mm256_extracti128_si256(sm16, 1), bsums32(*x));
    if constexpr (kQ5) {
      min_prod = _mm_hadd_epi32(min_prod, min_prod);
      min_prod = _mm_hadd_epi32(min_prod, min_prod);
      acc_m = _mm_fmadd_ss(_mm_set_ss(dmin), _mm_cvtepi32_ps(min_prod), acc_m);
    } else {
      acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(min_prod), acc_m);
    }

    const __m512i sc16 = _mm512_zextsi256_si512(sm16);  // scales in int16 lanes 0..7
    __m512i qh;
    if constexpr (kQ5) qh = broadcast256(b->qh);
    __m512i sum[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      __m512i q =
          _mm512_and_si512(_mm512_srlv_epi16(broadcast256(b->qs + 32 * c), nibble_shift), m15);
      if constexpr (kQ5)
        q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(qh, hbit[c]), q, sixteen);
      const __m512i pairs = _mm512_maddubs_epi16(q, load512(x->qs + 64 * c));
      sum[c & 1] =
          _mm512_dpwssd_epi32(sum[c & 1], pairs, _mm512_permutexvar_epi16(scale_index[c], sc16));
    }
    const __m256i sumi = fold_lanes(_mm512_add_epi32(sum[0], sum[1]));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  *s = kQ5 ? hsum8(acc) + _mm_cvtss_f32(acc_m) : hsum8(acc) + hsum4(acc_m);
}

void vec_dot_q6_K(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockQ6_K*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  const __m512i m15 = _mm512_set1_epi8(15), m48 = _mm512_set1_epi8(48);
  const QuarterScales qs;
  // Top 2 bits of groups 0 | 1 (qh bits 0-1 | 2-3) moved left to bits 4-5; of groups
  // 2 | 3 (bits 4-5 | 6-7) moved right.
  const __m512i shl01 =
      _mm512_sub_epi16(_mm512_set1_epi16(4), _mm512_slli_epi16(half_of_lane16(), 1));
  const __m512i shr23 = _mm512_slli_epi16(half_of_lane16(), 1);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    const float d = x->d * half_to_float(b->d);
    const __m256i sc16 = _mm256_cvtepi8_epi16(load128(b->scales));
    // The quants are stored as q + 32; take the 32 * x back off per pair of sub-blocks.
    const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(load256(x->bsums), sc16), 5);
    const __m512i sc512 = _mm512_zextsi256_si512(sc16);
    __m512i sum[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
#pragma GCC unroll 4
    for (int h = 0; h < 2; ++h) {
      const __m512i ql = load512(b->ql + 64 * h);
      const __m512i qh = broadcast256(b->qh + 32 * h);
      const __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, m15),
                                          _mm512_and_si512(_mm512_sllv_epi16(qh, shl01), m48));
      const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m15),
                                          _mm512_and_si512(_mm512_srlv_epi16(qh, shr23), m48));
      const int8_t* xq = x->qs + 128 * h;
      sum[0] =
          _mm512_dpwssd_epi32(sum[0], _mm512_maddubs_epi16(q01, load512(xq)), qs.get(2 * h, sc512));
      sum[1] = _mm512_dpwssd_epi32(sum[1], _mm512_maddubs_epi16(q23, load512(xq + 64)),
                                   qs.get(2 * h + 1, sc512));
    }
    const __m256i sumi = _mm256_sub_epi32(fold_lanes(_mm512_add_epi32(sum[0], sum[1])), offset);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  *s = hsum8(acc);
}

}  // namespace

// Runs on every CPU (the dispatcher builds all tables), so it must not contain instructions
// from this file's ISA flags: GCC otherwise merges the pointer stores into vector stores.
__attribute__((target("arch=x86-64"))) void register_kquant_avx512(KernelTable& t) {
  t.vec_dot[uint32_t(GgmlType::Q2_K)] = aligned_vec_dot<BlockQ2_K, BlockQ8_K, QK_K, vec_dot_q2_K>;
  t.vec_dot[uint32_t(GgmlType::Q3_K)] = aligned_vec_dot<BlockQ3_K, BlockQ8_K, QK_K, vec_dot_q3_K>;
  t.vec_dot[uint32_t(GgmlType::Q4_K)] = aligned_vec_dot<BlockQ4_K, BlockQ8_K, QK_K, vec_dot_q45_K<false>>;
  t.vec_dot[uint32_t(GgmlType::Q5_K)] = aligned_vec_dot<BlockQ5_K, BlockQ8_K, QK_K, vec_dot_q45_K<true>>;
  t.vec_dot[uint32_t(GgmlType::Q6_K)] = aligned_vec_dot<BlockQ6_K, BlockQ8_K, QK_K, vec_dot_q6_K>;
}

}  // namespace trident
