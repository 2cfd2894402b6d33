// AVX2 dot products of K-quant weight rows with Q8_K activation rows, and an AVX2 Q8_K
// activation quantizer bit-identical to quantize_row_q8_K.
//
// The dots reproduce ggml's x86 kernels (which ggml also runs on AVX-512 machines) bit for
// bit: per super-block, 8 int32 lanes where lane k collects the scaled products of the
// elements whose index mod 32 lies in 4 k .. 4 k + 3; one FMA per lane with
// d = x.d * w.d; then the same horizontal sums. Q6_K's lane k additionally subtracts
// 32 * (scale * bsum) of sub-blocks 2 k and 2 k + 1, and the min terms go to 8 (Q2_K),
// 4 (Q4_K) or 1 (Q5_K) float accumulators. Integer sums are exact, so only this float
// schedule matters; dot_kquant_avx512.cpp follows the same one.
//
// w: n / 256 weight super-blocks; x: n / 256 BlockQ8_K with consistent bsums; n % 256 == 0.
// No alignment is assumed.
#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "kernels/dot_kquant_x86.h"
#include "kernels/dot_register.h"
#include "tensor/blocks.h"
#include "tensor/quant_kquant_internal.h"

namespace trident {
namespace {

// int16 vector: element k of the 128-bit half src in all 16 lanes of the result's low half,
// element k2 in its high half. src holds the int16 scales of one 128-bit half in both halves.
template <int k, int k2>
__m256i spread_scale(__m256i src) {
  constexpr char a = 2 * k, b = 2 * k2;
  const __m256i pattern = _mm256_setr_epi8(a, a + 1, a, a + 1, a, a + 1, a, a + 1, a, a + 1, a,
                                           a + 1, a, a + 1, a, a + 1, b, b + 1, b, b + 1, b, b + 1,
                                           b, b + 1, b, b + 1, b, b + 1, b, b + 1, b, b + 1);
  return _mm256_shuffle_epi8(src, pattern);
}

// Scaled products of 32 unsigned weights (0..63) and 32 activations: 8 int32, lane k holding
// bytes 4k..4k+3. scale16: int16 scale per byte pair.
__m256i scaled_dot32(__m256i q, __m256i x, __m256i scale16) {
  return _mm256_madd_epi16(scale16, _mm256_maddubs_epi16(q, x));
}

void vec_dot_q2_K(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockQ2_K*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m128i m15 = _mm_set1_epi8(15);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    const auto [d, dmin] =
        d_and_dmin(x->d, reinterpret_cast<const uint8_t*>(b) + offsetof(BlockQ2_K, d));
    const __m128i packed = load128(b->scales);
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), m15));
    const __m256i min_prod = _mm256_madd_epi16(mins, load256(x->bsums));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(min_prod), acc);

    const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(packed, m15));
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {  // 128 elements; sub-block scales 8 h .. 8 h + 7
      const __m256i sc = h == 0 ? _mm256_permute2x128_si256(sc16, sc16, 0x00)
                                : _mm256_permute2x128_si256(sc16, sc16, 0x11);
      const __m256i q = load256(b->qs + 32 * h);
      const int8_t* xq = x->qs + 128 * h;
      const __m256i p0 = scaled_dot32(_mm256_and_si256(q, m3), load256(xq), spread_scale<0, 1>(sc));
      const __m256i p1 = scaled_dot32(_mm256_and_si256(_mm256_srli_epi16(q, 2), m3),
                                      load256(xq + 32), spread_scale<2, 3>(sc));
      const __m256i p2 = scaled_dot32(_mm256_and_si256(_mm256_srli_epi16(q, 4), m3),
                                      load256(xq + 64), spread_scale<4, 5>(sc));
      const __m256i p3 = scaled_dot32(_mm256_and_si256(_mm256_srli_epi16(q, 6), m3),
                                      load256(xq + 96), spread_scale<6, 7>(sc));
      sumi = _mm256_add_epi32(sumi,
                              _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  *s = hsum8(acc);
}

// Q3_K quant of one 32-element group: low 2 bits at `shift` of q, minus 4 where bit `hbit` of
// hmask is clear. Returns the int16 pair sums of quant * x.
template <int shift, int hbit>
__m256i q3_pair_dot(__m256i q, __m256i hmask, __m256i x) {
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q, shift), m3);
  // 4 where the high bit is clear, else 0
  const __m256i clear = _mm256_andnot_si256(hmask, _mm256_set1_epi8(char(1 << hbit)));
  const __m256i four =
      hbit >= 2 ? _mm256_srli_epi16(clear, hbit - 2) : _mm256_slli_epi16(clear, 2 - hbit);
  return _mm256_sub_epi16(_mm256_maddubs_epi16(lo, x), _mm256_maddubs_epi16(four, x));
}

template <int h>
__m256i q3_half(const BlockQ3_K& b, const int8_t* xq, __m256i hmask, __m256i sc) {
  const __m256i q = load256(b.qs + 32 * h);
  const __m256i p0 =
      _mm256_madd_epi16(spread_scale<0, 1>(sc), q3_pair_dot<0, 4 * h>(q, hmask, load256(xq)));
  const __m256i p1 = _mm256_madd_epi16(spread_scale<2, 3>(sc),
                                       q3_pair_dot<2, 4 * h + 1>(q, hmask, load256(xq + 32)));
  const __m256i p2 = _mm256_madd_epi16(spread_scale<4, 5>(sc),
                                       q3_pair_dot<4, 4 * h + 2>(q, hmask, load256(xq + 64)));
  const __m256i p3 = _mm256_madd_epi16(spread_scale<6, 7>(sc),
                                       q3_pair_dot<6, 4 * h + 3>(q, hmask, load256(xq + 96)));
  return _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3));
}

void vec_dot_q3_K(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockQ3_K*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    const float d = x->d * half_to_float(b->d);
    uint32_t words[4];
    unpack_scales_q3k_words(b->scales, words);
    const __m128i biased =
        _mm_setr_epi32(int(words[0]), int(words[1]), int(words[2]), int(words[3]));
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_sub_epi8(biased, _mm_set1_epi8(32)));
    const __m256i hmask = load256(b->hmask);
    const __m256i sumi = _mm256_add_epi32(
        q3_half<0>(*b, x->qs, hmask, _mm256_permute2x128_si256(sc16, sc16, 0x00)),
        q3_half<1>(*b, x->qs + 128, hmask, _mm256_permute2x128_si256(sc16, sc16, 0x11)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  *s = hsum8(acc);
}

// Q4_K / Q5_K: scales as int16 in both 128-bit halves; mins as 8 int16.
struct K4Scales {
  __m256i scales;
  __m128i mins;
};
K4Scales k4_scales(const uint8_t* packed) {
  const __m256i both = _mm256_cvtepu8_epi16(k4_scales_mins(packed));
  return {_mm256_permute2x128_si256(both, both, 0x00), _mm256_extracti128_si256(both, 1)};
}

// Scaled products of one 64-element chunk c: sub-block 2c in the low nibbles of q, 2c + 1 in
// the high nibbles; hbits_lo / hbits_hi are 0 or 16 per byte (Q5_K) or zero (Q4_K).
template <int c>
__m256i k4_chunk(__m256i q, __m256i hbits_lo, __m256i hbits_hi, const int8_t* xq, __m256i scales) {
  const __m256i m15 = _mm256_set1_epi8(15);
  const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m15), hbits_lo);
  const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m15), hbits_hi);
  return _mm256_add_epi32(
      scaled_dot32(lo, load256(xq + 64 * c), spread_scale<2 * c, 2 * c>(scales)),
      scaled_dot32(hi, load256(xq + 64 * c + 32), spread_scale<2 * c + 1, 2 * c + 1>(scales)));
}

// Bit `bit` of every byte of qh, moved to bit 4 (value 16).
template <int bit>
__m256i high_bit16(__m256i qh) {
  const __m256i moved = bit <= 4 ? _mm256_slli_epi16(qh, 4 - bit) : _mm256_srli_epi16(qh, bit - 4);
  return _mm256_and_si256(moved, _mm256_set1_epi8(16));
}

template <bool kQ5, int bit>
__m256i k4_high_bits(__m256i qh) {
  if constexpr (kQ5) return high_bit16<bit>(qh);
  return _mm256_setzero_si256();
}

template <bool kQ5>
__m256i k4_block_sum(const uint8_t* qs, const uint8_t* qh, const int8_t* xq, __m256i scales) {
  const __m256i h = kQ5 ? load256(qh) : _mm256_setzero_si256();
  const __m256i s0 =
      k4_chunk<0>(load256(qs), k4_high_bits<kQ5, 0>(h), k4_high_bits<kQ5, 1>(h), xq, scales);
  const __m256i s1 =
      k4_chunk<1>(load256(qs + 32), k4_high_bits<kQ5, 2>(h), k4_high_bits<kQ5, 3>(h), xq, scales);
  const __m256i s2 =
      k4_chunk<2>(load256(qs + 64), k4_high_bits<kQ5, 4>(h), k4_high_bits<kQ5, 5>(h), xq, scales);
  const __m256i s3 =
      k4_chunk<3>(load256(qs + 96), k4_high_bits<kQ5, 6>(h), k4_high_bits<kQ5, 7>(h), xq, scales);
  return _mm256_add_epi32(_mm256_add_epi32(s0, s1), _mm256_add_epi32(s2, s3));
}

void vec_dot_q4_K(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockQ4_K*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    const auto [d, dmin] =
        d_and_dmin(x->d, reinterpret_cast<const uint8_t*>(b) + offsetof(BlockQ4_K, d));
    const K4Scales sc = k4_scales(b->scales);
    const __m128i min_prod = _mm_madd_epi16(sc.mins, bsums32(*x));
    acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(min_prod), acc_m);
    const __m256i sumi = k4_block_sum<false>(b->qs, nullptr, x->qs, sc.scales);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  *s = hsum8(acc) + hsum4(acc_m);
}

void vec_dot_q5_K(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockQ5_K*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  __m256 acc = _mm256_setzero_ps();
  __m128 summs = _mm_setzero_ps();  // one float, kept in a vector to force a fused multiply-add
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    const auto [d, dmin] =
        d_and_dmin(x->d, reinterpret_cast<const uint8_t*>(b) + offsetof(BlockQ5_K, d));
    const K4Scales sc = k4_scales(b->scales);
    __m128i min_prod = _mm_madd_epi16(sc.mins, bsums32(*x));
    min_prod = _mm_hadd_epi32(min_prod, min_prod);
    min_prod = _mm_hadd_epi32(min_prod, min_prod);
    summs = _mm_fmadd_ss(_mm_set_ss(dmin), _mm_cvtepi32_ps(min_prod), summs);
    const __m256i sumi = k4_block_sum<true>(b->qs, b->qh, x->qs, sc.scales);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  *s = hsum8(acc) + _mm_cvtss_f32(summs);
}

// Q6_K: 32 unsigned 6-bit quants of group s (0..3) of a 128-element half.
template <int s>
__m256i q6_group(__m256i ql0, __m256i ql1, __m256i qh) {
  const __m256i m15 = _mm256_set1_epi8(15), m48 = _mm256_set1_epi8(48);
  const __m256i lo = s == 0   ? _mm256_and_si256(ql0, m15)
                     : s == 1 ? _mm256_and_si256(ql1, m15)
                     : s == 2 ? _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m15)
                              : _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m15);
  const __m256i hi = s == 0   ? _mm256_slli_epi16(qh, 4)
                     : s == 1 ? _mm256_slli_epi16(qh, 2)
                     : s == 2 ? qh
                              : _mm256_srli_epi16(qh, 2);
  return _mm256_or_si256(lo, _mm256_and_si256(hi, m48));
}

template <int h>
__m256i q6_half(const BlockQ6_K& b, const int8_t* xq, __m256i sc) {
  const __m256i ql0 = load256(b.ql + 64 * h), ql1 = load256(b.ql + 64 * h + 32);
  const __m256i qh = load256(b.qh + 32 * h);
  const __m256i p0 = scaled_dot32(q6_group<0>(ql0, ql1, qh), load256(xq), spread_scale<0, 1>(sc));
  const __m256i p1 =
      scaled_dot32(q6_group<1>(ql0, ql1, qh), load256(xq + 32), spread_scale<2, 3>(sc));
  const __m256i p2 =
      scaled_dot32(q6_group<2>(ql0, ql1, qh), load256(xq + 64), spread_scale<4, 5>(sc));
  const __m256i p3 =
      scaled_dot32(q6_group<3>(ql0, ql1, qh), load256(xq + 96), spread_scale<6, 7>(sc));
  return _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3));
}

void vec_dot_q6_K(int64_t n, float* s, const void* w, const void* xv) {
  const auto* b = static_cast<const BlockQ6_K*>(w);
  const auto* x = static_cast<const BlockQ8_K*>(xv);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, ++x) {
    const float d = x->d * half_to_float(b->d);
    const __m256i sc16 = _mm256_cvtepi8_epi16(load128(b->scales));
    // The quants are stored as q + 32; take the 32 * x back off per pair of sub-blocks.
    const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(load256(x->bsums), sc16), 5);
    __m256i sumi =
        _mm256_add_epi32(q6_half<0>(*b, x->qs, _mm256_permute2x128_si256(sc16, sc16, 0x00)),
                         q6_half<1>(*b, x->qs + 128, _mm256_permute2x128_si256(sc16, sc16, 0x11)));
    sumi = _mm256_sub_epi32(sumi, offset);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  *s = hsum8(acc);
}

// Q8_K quantizer, bit-identical to quantize_row_q8_K (tensor/quant_kquant.cpp): the same
// max search (first element of largest magnitude; NaN never wins), the same
// round-via-1.5*2^23 trick, min(127), and truncation to int8.
void quantize_row_q8_K_avx2(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t i = 0; i < n / QK_K; ++i, ++b, src += QK_K) {
    __m256 vmax = _mm256_setzero_ps();
    for (int e = 0; e < QK_K; e += 8)  // max(a, b) returns b when a is NaN
      vmax = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(src + e)), vmax);
    __m128 m = _mm_max_ps(_mm256_extractf128_ps(vmax, 1), _mm256_castps256_ps128(vmax));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float amax = _mm_cvtss_f32(m);
    if (amax == 0) {
      std::memset(b, 0, sizeof(*b));
      continue;
    }
    // Stores go through byte offsets: dst may be misaligned for the block's float member, and
    // a member access through a misaligned BlockQ8_K* is undefined behaviour.
    uint8_t* bytes = reinterpret_cast<uint8_t*>(b);
    const __m256 vamax = _mm256_set1_ps(amax);
    int first = 0;
    for (int e = 0; e < QK_K; e += 8) {
      const int hit = _mm256_movemask_ps(
          _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(src + e)), vamax, _CMP_EQ_OQ));
      if (hit) {
        first = e + __builtin_ctz(unsigned(hit));
        break;
      }
    }
    const float iscale = -127.f / src[first];
    const __m256 vscale = _mm256_set1_ps(iscale);
    const __m256 magic = _mm256_set1_ps(12582912.f);
    const __m256i mant = _mm256_set1_epi32(0x007fffff), bias = _mm256_set1_epi32(0x00400000);
    const __m256i top = _mm256_set1_epi32(127), low_byte = _mm256_set1_epi32(0xff);
    const __m256i ones8 = _mm256_set1_epi8(1);
    const __m256i ones16 = _mm256_set1_epi16(1);
    auto quant8 = [&](int e) {  // 8 quants as int32 low bytes in 0..255
      __m256 prod = _mm256_mul_ps(_mm256_loadu_ps(src + e), vscale);
      // The product must be rounded before the add, as in the scalar code: GCC contracts
      // mul + add into an FMA in C++ (-ffp-contract=fast is its default there), and this file
      // is built with -mfma. The empty asm hides the product from that rewrite.
      asm("" : "+x"(prod));
      const __m256 r = _mm256_add_ps(prod, magic);
      const __m256i v = _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(r), mant), bias);
      return _mm256_and_si256(_mm256_min_epi32(v, top), low_byte);
    };
    __m256i group_sums[8];  // per 32 quants: lane k holds 4-quant sums, sub-blocks by half
    for (int g = 0; g < 8; ++g) {
      const int e = 32 * g;
      const __m256i w01 = _mm256_packus_epi32(quant8(e), quant8(e + 8));
      const __m256i w23 = _mm256_packus_epi32(quant8(e + 16), quant8(e + 24));
      // The packs work per 128-bit half, leaving 4-quant dwords in the order 0 2 4 6 1 3 5 7.
      const __m256i q = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w01, w23),
                                                    _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(bytes + offsetof(BlockQ8_K, qs) + e), q);
      group_sums[g] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
    }
    // group_sums[g]: low half = sub-block 2 g, high half = 2 g + 1, four partial sums each.
    const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(group_sums[0], group_sums[1]),
                                        _mm256_hadd_epi32(group_sums[2], group_sums[3]));
    const __m256i c = _mm256_hadd_epi32(_mm256_hadd_epi32(group_sums[4], group_sums[5]),
                                        _mm256_hadd_epi32(group_sums[6], group_sums[7]));
    const __m256i sums = _mm256_packs_epi32(a, c);  // low half: even sub-blocks, high: odd
    const __m128i even = _mm256_castsi256_si128(sums), odd = _mm256_extracti128_si256(sums, 1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + offsetof(BlockQ8_K, bsums)), _mm_unpacklo_epi16(even, odd));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes + offsetof(BlockQ8_K, bsums) + 16), _mm_unpackhi_epi16(even, odd));
    const float d = 1 / iscale;
    std::memcpy(bytes + offsetof(BlockQ8_K, d), &d, sizeof d);
  }
}

}  // namespace

// Runs on every CPU (the dispatcher builds all tables), so it must not contain instructions
// from this file's ISA flags: GCC otherwise merges the pointer stores into vector stores.
__attribute__((target("arch=x86-64"))) void register_kquant_avx2(KernelTable& t) {
  t.vec_dot[uint32_t(GgmlType::Q2_K)] = aligned_vec_dot<BlockQ2_K, BlockQ8_K, QK_K, vec_dot_q2_K>;
  t.vec_dot[uint32_t(GgmlType::Q3_K)] = aligned_vec_dot<BlockQ3_K, BlockQ8_K, QK_K, vec_dot_q3_K>;
  t.vec_dot[uint32_t(GgmlType::Q4_K)] = aligned_vec_dot<BlockQ4_K, BlockQ8_K, QK_K, vec_dot_q4_K>;
  t.vec_dot[uint32_t(GgmlType::Q5_K)] = aligned_vec_dot<BlockQ5_K, BlockQ8_K, QK_K, vec_dot_q5_K>;
  t.vec_dot[uint32_t(GgmlType::Q6_K)] = aligned_vec_dot<BlockQ6_K, BlockQ8_K, QK_K, vec_dot_q6_K>;
  t.quantize_act[uint32_t(GgmlType::Q8_K)] = quantize_row_q8_K_avx2;
}

}  // namespace trident
