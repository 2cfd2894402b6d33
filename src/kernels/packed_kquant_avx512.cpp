// AVX-512 VNNI packed-group kernels (tensor/repack.h) for the K-quants Q2_K to Q6_K and the
// ternary TQ1_0 / TQ2_0 against Q8_K activations.
//
// As for Q4_0 (packed_avx512.cpp), one zmm holds the same 4 quant bytes of the group's 16
// rows and vpdpbusd adds 4 products into each row's lane. A K-quant sub-block has its own
// integer scale, so each sub-block's dot is finished, multiplied by the scale (vpmulld) and
// added into the super-block's integer sum; the min terms (Q2_K, Q4_K, Q5_K) and the offsets
// that make the weights unsigned (Q3_K: q + 4, Q6_K: q + 32) come from the activation block
// sums with vpdpwssd. All of that is exact, so the integer sums equal the reference's; the
// float part is the reference's, lane by lane:
//   Q2_K, Q4_K, Q5_K: sum += (x.d * d) * float(isum) - (x.d * dmin) * float(summs)
//   Q3_K, Q6_K, TQ1_0, TQ2_0: sum += (x.d * d) * float(isum)
// which makes every result equal dot_kquant_scalar.cpp's bits.

// GCC 12 warns about the intentionally undefined registers inside its own AVX-512 intrinsics
// once they are inlined (GCC bug 105593); the warning says nothing about this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/dot_register.h"
#include "kernels/packed_tiling.h"
#include "kernels/stream_prefetch.h"
#include "tensor/blocks.h"
#include "tensor/repack.h"

namespace trident {
namespace {

__m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }
__m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
__m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
__m512i bcast32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
__m512 fp16x16(const uint8_t* p) { return _mm512_cvtph_ps(load256(p)); }

const BlockQ8_K* act_block(const uint8_t* x, size_t xs, int c, int64_t s) {
  return reinterpret_cast<const BlockQ8_K*>(x + size_t(c) * xs) + s;
}

// Q5_K: bit `sub` of every high-bit byte, moved to bit 4 (value 16). 16-bit shifts are
// safe: the bit lands in its own byte.
__m512i q5_high_bit(const uint8_t* qh, int sub) {
  const __m512i h = load512(qh);
  const __m512i moved = sub <= 4 ? _mm512_slli_epi16(h, 4 - sub) : _mm512_srli_epi16(h, sub - 4);
  return _mm512_and_si512(moved, _mm512_set1_epi8(0x10));
}

// Q4_K (L = PackedQ4K) or Q5_K (L = PackedQ5K): the integer sums of one super-block.
template <class L>
struct Q45K {
  static constexpr size_t kBytes = L::kBytes, kD = L::kD, kDmin = L::kDmin;
  static constexpr bool kMins = true;
  static constexpr bool kPrefetchInside = true;
  template <int C>
  static void integer(const uint8_t* sg, const uint8_t* x, size_t xs, int64_t s, __m512i* isum, __m512i* summs) {
    constexpr bool kQ5 = std::is_same_v<L, PackedQ5K>;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int sub = 0; sub < 8; ++sub) {  // sub-block: low (even) or high (odd) nibbles of 8 chunks
      if (C == 1 && sub % 2 == 0) prefetch_stream_part<kBytes, 4>(sg, sub / 2);
      const uint8_t* q = sg + L::kQuants + 64 * 8 * (sub / 2);
      __m512i dot[C];
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) dot[c] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const __m512i v = load512(q + 64 * k);
        __m512i w = _mm512_and_si512(sub % 2 ? _mm512_srli_epi16(v, 4) : v, m4);
        if constexpr (kQ5) w = _mm512_or_si512(w, q5_high_bit(sg + L::kQh + 64 * k, sub));
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c)
          dot[c] = _mm512_dpbusd_epi32(dot[c], w, bcast32(act_block(x, xs, c, s)->qs + 32 * sub + 4 * k));
      }
      const __m512i sc = _mm512_cvtepu8_epi32(load128(sg + L::kScales + 16 * sub));
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(dot[c], sc));
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const BlockQ8_K* xb = act_block(x, xs, c, s);
      // Sums of the activations per 32 (sub-block), as int16 pairs (2p, 2p + 1) in int32 lane p.
      int32_t pairs[4];
      _mm_storeu_si128(reinterpret_cast<__m128i*>(pairs), _mm_hadd_epi16(load128(xb->bsums), load128(xb->bsums + 8)));
#pragma GCC unroll 4
      for (int p = 0; p < 4; ++p)
        summs[c] = _mm512_dpwssd_epi32(summs[c], _mm512_cvtepu8_epi16(load256(sg + L::kMins + 32 * p)), _mm512_set1_epi32(pairs[p]));
    }
  }
};

// Q6_K weights of one 4-element step, unsigned (q + 32, 0..63): ql nibble (low for quarters
// 0, 1; high for 2, 3) with qh bits 2 qd..2 qd + 1 on top.
template <int qd>
__m512i q6_weights(const uint8_t* ql, const uint8_t* qh) {
  const __m512i l = load512(ql), h = load512(qh);
  const __m512i lo = _mm512_and_si512(qd >= 2 ? _mm512_srli_epi16(l, 4) : l, _mm512_set1_epi8(0x0F));
  const __m512i hi = qd == 0 ? _mm512_slli_epi16(h, 4) : qd == 1 ? _mm512_slli_epi16(h, 2) : qd == 2 ? h : _mm512_srli_epi16(h, 2);
  return _mm512_or_si512(lo, _mm512_and_si512(hi, _mm512_set1_epi8(0x30)));
}

// Sub-block j (16 elements) of every token into isum: its dot times its scale.
template <int C, int qd>
__attribute__((always_inline)) inline void q6_K_sub(const uint8_t* sg, int j, const uint8_t* x, size_t xs, int64_t s, __m512i* isum) {
  using L = PackedQ6K;
  const int h = j / 8, l0 = 16 * (j % 2);
  __m512i dot[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) dot[c] = _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int u = 0; u < 4; ++u) {
    const int l = l0 + 4 * u;
    const __m512i w = q6_weights<qd>(sg + L::kQl + 64 * (16 * h + 8 * (qd % 2) + l / 4), sg + L::kQh + 64 * (8 * h + l / 4));
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c)
      dot[c] = _mm512_dpbusd_epi32(dot[c], w, bcast32(act_block(x, xs, c, s)->qs + 16 * j + 4 * u));
  }
  // The pair (2i, 2i + 1) of int8 scales -> int16 in each row's lane; pick ours as int32.
  const __m512i pair = _mm512_cvtepi8_epi16(load256(sg + L::kScales + 32 * (j / 2)));
  const __m512i sc = j % 2 ? _mm512_srai_epi32(pair, 16) : _mm512_srai_epi32(_mm512_slli_epi32(pair, 16), 16);
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(dot[c], sc));
}

struct Q6K {
  using L = PackedQ6K;
  static constexpr size_t kBytes = L::kBytes, kD = L::kD, kDmin = 0;
  static constexpr bool kMins = false;
  static constexpr bool kPrefetchInside = true;
  template <int C>
  static void integer(const uint8_t* sg, const uint8_t* x, size_t xs, int64_t s, __m512i* isum, __m512i*) {
    // isum starts at -32 * sum_j scale_j * bsum_j: the weights below are q + 32.
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      const __m512i pair = _mm512_cvtepi8_epi16(load256(sg + L::kScales + 32 * i));
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) isum[c] = _mm512_dpwssd_epi32(isum[c], pair, bcast32(act_block(x, xs, c, s)->bsums + 2 * i));
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) isum[c] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(isum[c], 5));
    for (int h = 0; h < 2; ++h) {
      if constexpr (C == 1) prefetch_stream_part<kBytes, 2>(sg, h);
      q6_K_sub<C, 0>(sg, 8 * h + 0, x, xs, s, isum);
      q6_K_sub<C, 0>(sg, 8 * h + 1, x, xs, s, isum);
      q6_K_sub<C, 1>(sg, 8 * h + 2, x, xs, s, isum);
      q6_K_sub<C, 1>(sg, 8 * h + 3, x, xs, s, isum);
      q6_K_sub<C, 2>(sg, 8 * h + 4, x, xs, s, isum);
      q6_K_sub<C, 2>(sg, 8 * h + 5, x, xs, s, isum);
      q6_K_sub<C, 3>(sg, 8 * h + 6, x, xs, s, isum);
      q6_K_sub<C, 3>(sg, 8 * h + 7, x, xs, s, isum);
    }
  }
};

// Q2_K / Q3_K low quant bits of one step: bits 2 slot, 2 slot + 1 of every byte of a chunk.
// 16-bit shifts are safe: bits from the neighbouring byte land at bit 2 or above.
__m512i two_bits(const uint8_t* q, int slot) {
  const __m512i v = load512(q);
  return _mm512_and_si512(slot ? _mm512_srli_epi16(v, 2 * slot) : v, _mm512_set1_epi8(3));
}

// Q3_K: bit b of every hmask byte, moved to bit 2 (value 4); the bit stays in its own byte.
__m512i q3_high_bit(const uint8_t* hm, int b) {
  const __m512i h = load512(hm);
  const __m512i moved = b <= 2 ? _mm512_slli_epi16(h, 2 - b) : _mm512_srli_epi16(h, b - 2);
  return _mm512_and_si512(moved, _mm512_set1_epi8(4));
}

// Sub-block pair (2p, 2p + 1) of Q2_K (kQ3 false) or Q3_K into isum: each one's dot times its
// scale. pair: the two scales of each row as int16 in its lane (Q2_K: the file bytes,
// scale | min << 4; Q3_K: signed). Their quants are bits 2 (p % 4) of qs chunks
// 8 (p / 4) + 4 odd + u, u < 4, and for Q3_K bit p of hmask chunks 4 odd + u; the weights
// are unsigned (Q3_K: q + 4).
template <bool kQ3, int C>
void q23_K_pair(const uint8_t* sg, int p, __m512i pair, const uint8_t* x, size_t xs, int64_t s, __m512i* isum) {
  constexpr size_t kQs = kQ3 ? PackedQ3K::kQs : PackedQ2K::kQs;
#pragma GCC unroll 2
  for (int odd = 0; odd < 2; ++odd) {
    const int j = 2 * p + odd;
    __m512i dot[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) dot[c] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      __m512i w = two_bits(sg + kQs + 64 * (8 * (p / 4) + 4 * odd + u), p % 4);
      if constexpr (kQ3) w = _mm512_or_si512(w, q3_high_bit(sg + PackedQ3K::kHmask + 64 * (4 * odd + u), p));
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c)
        dot[c] = _mm512_dpbusd_epi32(dot[c], w, bcast32(act_block(x, xs, c, s)->qs + 16 * j + 4 * u));
    }
    __m512i sc;
    if constexpr (kQ3)  // signed int16 -> int32
      sc = odd ? _mm512_srai_epi32(pair, 16) : _mm512_srai_epi32(_mm512_slli_epi32(pair, 16), 16);
    else
      sc = _mm512_and_si512(odd ? _mm512_srli_epi32(pair, 16) : pair, _mm512_set1_epi32(0x0F));
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(dot[c], sc));
  }
}

struct Q2K {
  using L = PackedQ2K;
  static constexpr size_t kBytes = L::kBytes, kD = L::kD, kDmin = L::kDmin;
  static constexpr bool kMins = true;
  static constexpr bool kPrefetchInside = false;
  template <int C>
  static void integer(const uint8_t* sg, const uint8_t* x, size_t xs, int64_t s, __m512i* isum, __m512i* summs) {
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p)
      q23_K_pair<false, C>(sg, p, _mm512_cvtepu8_epi16(load256(sg + L::kScales + 32 * p)), x, xs, s, isum);
    // Min pairs (int16 per sub-block, 0..15) against the activation sums per 16, pair by pair.
    __m512i mins[8];
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p)
      mins[p] = _mm512_srli_epi16(_mm512_cvtepu8_epi16(load256(sg + L::kScales + 32 * p)), 4);
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const BlockQ8_K* xb = act_block(x, xs, c, s);
#pragma GCC unroll 8
      for (int p = 0; p < 8; ++p) summs[c] = _mm512_dpwssd_epi32(summs[c], mins[p], bcast32(xb->bsums + 2 * p));
    }
  }
};

struct Q3K {
  using L = PackedQ3K;
  static constexpr size_t kBytes = L::kBytes, kD = L::kD, kDmin = 0;
  static constexpr bool kMins = false;
  static constexpr bool kPrefetchInside = false;
  template <int C>
  static void integer(const uint8_t* sg, const uint8_t* x, size_t xs, int64_t s, __m512i* isum, __m512i*) {
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
      // Biased scales v (0..63) as int16 pairs; the weights are q + 4, so each sub-block also
      // adds -4 * (v - 32) = 128 - 4 v times its activation sum.
      const __m512i v = _mm512_cvtepu8_epi16(load256(sg + L::kScales + 32 * p));
      const __m512i offset = _mm512_sub_epi16(_mm512_set1_epi16(128), _mm512_slli_epi16(v, 2));
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c)
        isum[c] = _mm512_dpwssd_epi32(isum[c], offset, bcast32(act_block(x, xs, c, s)->bsums + 2 * p));
      q23_K_pair<true, C>(sg, p, _mm512_sub_epi16(v, _mm512_set1_epi16(32)), x, xs, s, isum);
    }
  }
};

// TQ1_0 / TQ2_0 (PackedTQ; TQ1_0 is packed as TQ2_0): 2-bit trits q (0..3, weight q - 1) in
// 16 chunks, bits 2l..2l+1 of chunk k holding elements 128 (k / 8) + 32 l + 4 (k % 8). One
// integer sum per super-block: sum q x - sum x, the second from the activation block sums.
struct TQ {
  using L = PackedTQ;
  static constexpr size_t kBytes = L::kBytes, kD = L::kD, kDmin = 0;
  static constexpr bool kMins = false;
  static constexpr bool kPrefetchInside = false;
  template <int C>
  static void integer(const uint8_t* sg, const uint8_t* x, size_t xs, int64_t s, __m512i* isum, __m512i*) {
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      int sum = 0;
      for (int k = 0; k < QK_K / 16; ++k) sum += act_block(x, xs, c, s)->bsums[k];
      isum[c] = _mm512_set1_epi32(-sum);
    }
    for (int k = 0; k < 16; ++k)
#pragma GCC unroll 4
      for (int l = 0; l < 4; ++l) {
        const __m512i w = two_bits(sg + L::kQs + 64 * k, l);
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c)
          isum[c] = _mm512_dpbusd_epi32(isum[c], w, bcast32(act_block(x, xs, c, s)->qs + 128 * (k / 8) + 32 * l + 4 * (k % 8)));
      }
  }
};

// 16 rows x C tokens of any K-quant K: per super-block the type's exact integer sums, then
// the reference's float step, lane by lane:
//   with mins (Q2_K, Q4_K, Q5_K): acc += (x.d * d) * float(isum) - (x.d * dmin) * float(summs)
//   without (Q3_K, Q6_K):         acc += (x.d * d) * float(isum)
template <class K, int C>
void kquant_tile(int64_t nsb, const uint8_t* group, const uint8_t* x, size_t xs, __mmask16 rows, float* y,
                 int64_t ldy) {
  __m512 acc[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* sg = group + size_t(s) * K::kBytes;
    // kPrefetchInside: integer() prefetches the block part by part (stream_prefetch.h).
    if constexpr (C == 1 && !K::kPrefetchInside) prefetch_stream<K::kBytes>(sg);
    __m512i isum[C], summs[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) isum[c] = summs[c] = _mm512_setzero_si512();
    K::template integer<C>(sg, x, xs, s, isum, summs);
    const __m512 wd = fp16x16(sg + K::kD);
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const __m512 xd = _mm512_set1_ps(act_block(x, xs, c, s)->d);
      __m512 t = _mm512_mul_ps(_mm512_mul_ps(xd, wd), _mm512_cvtepi32_ps(isum[c]));
      if constexpr (K::kMins)
        t = _mm512_sub_ps(t, _mm512_mul_ps(_mm512_mul_ps(xd, fp16x16(sg + K::kDmin)), _mm512_cvtepi32_ps(summs[c])));
      acc[c] = _mm512_add_ps(acc[c], t);
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) _mm512_mask_storeu_ps(y + c * ldy, rows, acc[c]);
}

// Tokens go 8 at a time (the weights of a step are unpacked once per 8 tokens), then 4,
// then 1.
template <class K>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs,
                 const PackedActInfo*, int64_t nc, int64_t nrows, float* y, int64_t ldy) {
  const int64_t nsb = n / QK_K;
  const __mmask16 rows = __mmask16((1u << nrows) - 1);
  over_token_tiles<8, 4, 1>(nc, [&]<int C>(int64_t c) {
    kquant_tile<K, C>(nsb, group, x + size_t(c) * xs, xs, rows, y + c * ldy, ldy);
  });
}

}  // namespace

// Keeps the pointer stores free of this file's ISA flags (GCC may merge them into vector
// stores), like the dot files' register functions.
__attribute__((target("arch=x86-64"))) void register_packed_kquant_avx512(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::Q4_K)] = packed_gemm<Q45K<PackedQ4K>>;
  t.packed_gemm[uint32_t(GgmlType::Q5_K)] = packed_gemm<Q45K<PackedQ5K>>;
  t.packed_gemm[uint32_t(GgmlType::Q6_K)] = packed_gemm<Q6K>;
  t.packed_gemm[uint32_t(GgmlType::Q2_K)] = packed_gemm<Q2K>;
  t.packed_gemm[uint32_t(GgmlType::Q3_K)] = packed_gemm<Q3K>;
  t.packed_gemm[uint32_t(GgmlType::TQ1_0)] = packed_gemm<TQ>;
  t.packed_gemm[uint32_t(GgmlType::TQ2_0)] = packed_gemm<TQ>;
}

}  // namespace trident
