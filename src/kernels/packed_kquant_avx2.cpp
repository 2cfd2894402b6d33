// AVX2 packed-group kernels (tensor/repack.h) for the K-quants Q2_K to Q6_K and the ternary
// TQ1_0 / TQ2_0 against Q8_K activations.
//
// The AVX2 twin of packed_kquant_avx512.cpp, in halves of 8 rows (bytes 0..31 and 32..63 of
// each 64-byte chunk) as packed_avx2.cpp. Without VNNI a step is vpmaddubsw (unsigned weights
// x signed activations -> int16 pairs). Steps add up in int16 as far as the bound allows
// (|x| <= 128), then one vpmaddwd against the sub-block scale, held as int16 in both halves
// of each row's lane, widens and scales at once (int32 = scale * (p0 + p1)):
//   Q4_K: a pair is at most 2 * 15 * 128 = 3840, the 8 steps of a sub-block 30720;
//   Q5_K: weights <= 31, a pair at most 7936, so every 4 steps (31744) are widened;
//   Q6_K: weights are q + 32 <= 63, a pair at most 16128, two steps 32256;
//   Q2_K: weights <= 3, a pair at most 768, the 4 steps of a sub-block (16 elements) 3072;
//   Q3_K: weights are q + 4 <= 7, a pair at most 1792, the 4 steps of a sub-block 7168;
//   TQ1_0, TQ2_0: weights are q = t <= 3 (t - 1 = weight), as Q2_K; sum x comes off.
// The min terms (Q2_K, Q4_K, Q5_K) and the offsets of Q3_K (4) and Q6_K (32) come from the
// activation block sums with vpmaddwd. All of that is exact, so the integer sums equal the
// reference's; the float part is the reference's, lane by lane:
//   Q2_K, Q4_K, Q5_K: sum += (x.d * d) * float(isum) - (x.d * dmin) * float(summs)
//   Q3_K, Q6_K, TQ1_0, TQ2_0: sum += (x.d * d) * float(isum)
// which makes every result equal dot_kquant_scalar.cpp's bits.
//
// A tile is C tokens x H halves, accumulators [H][C]: prompts run 4 tokens over one half
// (the weights of a step unpacked once per 4 tokens; 6 or 8 tokens, or 2 tokens x 2 halves,
// measured no faster); single tokens run both halves at once, so decode reads each weight
// line once and shares every activation broadcast.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/dot_register.h"
#include "kernels/packed_halves_avx2.h"
#include "kernels/stream_prefetch.h"
#include "tensor/blocks.h"
#include "tensor/repack.h"

namespace trident {
namespace {

constexpr int kTokens = 4;  // per prompt tile: 2 x 4 accumulators + temporaries in 16 ymm

__m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
__m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
__m256i bcast32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}
__m256i bcast64(const void* p) {
  long long v;
  std::memcpy(&v, p, 8);
  return _mm256_set1_epi64x(v);
}
// GCC reassociates a chain of integer adds into a tree that keeps every product live at once
// (and spills); the empty asm hides the running sum from that, so the chain stays a chain.
__m256i chained(__m256i sum) {
  asm("" : "+x"(sum));
  return sum;
}
__m256 fp16x8(const uint8_t* p) { return _mm256_cvtph_ps(load128(p)); }

const BlockQ8_K* act_block(const uint8_t* x, size_t xs, int c, int64_t s) {
  return reinterpret_cast<const BlockQ8_K*>(x + size_t(c) * xs) + s;
}

// Q4_K sub-block scales of 8 rows (8 bytes): row r's as int16 in both halves of lane r.
__m256i q4_scale16(const uint8_t* p) {
  const __m256i spread = _mm256_setr_epi8(0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1,  //
                                          4, -1, 4, -1, 5, -1, 5, -1, 6, -1, 6, -1, 7, -1, 7, -1);
  return _mm256_shuffle_epi8(bcast64(p), spread);
}

// Q5_K: bit `sub` of every high-bit byte of 8 rows, moved to bit 4 (value 16). 16-bit
// shifts are safe: the bit lands in its own byte.
__m256i q5_high_bit(const uint8_t* qh, int sub) {
  const __m256i h = load256(qh);
  const __m256i moved = sub <= 4 ? _mm256_slli_epi16(h, 4 - sub) : _mm256_srli_epi16(h, sub - 4);
  return _mm256_and_si256(moved, _mm256_set1_epi8(0x10));
}

// Sub-block `sub` (low nibbles if even, high if odd, of chunks 8 (sub / 2) .. + 7) of Q4_K
// (L = PackedQ4K) or Q5_K (L = PackedQ5K) into isum.
template <class L, int C, int H, int odd>
void q45_K_sub(const uint8_t* sg, int h0, int sub, const uint8_t* x, size_t xs, int64_t s, __m256i (*isum)[C]) {
  constexpr bool kQ5 = std::is_same_v<L, PackedQ5K>;
  constexpr int kWiden = kQ5 ? 4 : 8;  // steps per int16 sum (bounds above)
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const uint8_t* q = sg + L::kQuants + 64 * 8 * (sub / 2) + 32 * h0;
  __m256i sc[H];
#pragma GCC unroll 2
  for (int h = 0; h < H; ++h) sc[h] = q4_scale16(sg + L::kScales + 16 * sub + 8 * (h0 + h));
  __m256i dot16[H][C];  // int16 sums of kWiden steps, exact
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {
    __m256i w[H];
#pragma GCC unroll 2
    for (int h = 0; h < H; ++h) {
      const __m256i v = load256(q + 64 * k + 32 * h);
      w[h] = _mm256_and_si256(odd ? _mm256_srli_epi16(v, 4) : v, m4);
      if constexpr (kQ5) w[h] = _mm256_or_si256(w[h], q5_high_bit(sg + L::kQh + 64 * k + 32 * (h0 + h), sub));
    }
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const __m256i xq = bcast32(act_block(x, xs, c, s)->qs + 32 * sub + 4 * k);
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) {
        const __m256i p = _mm256_maddubs_epi16(w[h], xq);
        dot16[h][c] = k % kWiden == 0 ? p : chained(_mm256_add_epi16(dot16[h][c], p));
      }
    }
    if (k % kWiden == kWiden - 1) {
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h)
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c)
          isum[h][c] = chained(_mm256_add_epi32(isum[h][c], _mm256_madd_epi16(dot16[h][c], sc[h])));
    }
  }
}

// Q4_K (L = PackedQ4K) or Q5_K (L = PackedQ5K), for kquant_tile: the integer sums of one
// super-block, and the min sums of one token.
template <class L>
struct Q45K {
  static constexpr size_t kBytes = L::kBytes, kD = L::kD, kDmin = L::kDmin;
  static constexpr bool kMins = true;
  static constexpr bool kPrefetchInside = true;
  template <int C, int H>
  static void integer(const uint8_t* sg, int h0, const uint8_t* x, size_t xs, int64_t s, __m256i (*isum)[C], bool stream) {
    for (int sub = 0; sub < 8; sub += 2) {
      if (stream) prefetch_stream_part<kBytes, 4>(sg, sub / 2);  // stream_prefetch.h
      q45_K_sub<L, C, H, 0>(sg, h0, sub, x, xs, s, isum);
      q45_K_sub<L, C, H, 1>(sg, h0, sub + 1, x, xs, s, isum);
    }
  }
  template <int H>
  static void min_sums(const uint8_t* sg, int h0, const BlockQ8_K* xb, __m256i* summs) {
    // Sums of the activations per 32 (sub-block; |sum| <= 4096), as int16 pairs (2p, 2p + 1)
    // in int32 p.
    int32_t pairs[4];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(pairs), _mm_hadd_epi16(load128(xb->bsums), load128(xb->bsums + 8)));
#pragma GCC unroll 2
    for (int h = 0; h < H; ++h) {
      const uint8_t* mins = sg + L::kMins + 16 * (h0 + h);
      summs[h] = _mm256_setzero_si256();
#pragma GCC unroll 4
      for (int p = 0; p < 4; ++p)
        summs[h] = _mm256_add_epi32(summs[h], _mm256_madd_epi16(_mm256_cvtepu8_epi16(load128(mins + 32 * p)),
                                                                _mm256_set1_epi32(pairs[p])));
    }
  }
};

// Q6_K weights of one 4-element step of 8 rows, unsigned (q + 32, 0..63): ql nibble (low for
// quarters 0, 1; high for 2, 3) with qh bits 2 qd..2 qd + 1 on top.
template <int qd>
__m256i q6_weights(const uint8_t* ql, const uint8_t* qh) {
  const __m256i l = load256(ql), h = load256(qh);
  const __m256i lo = _mm256_and_si256(qd >= 2 ? _mm256_srli_epi16(l, 4) : l, _mm256_set1_epi8(0x0F));
  const __m256i hi = qd == 0   ? _mm256_slli_epi16(h, 4)
                     : qd == 1 ? _mm256_slli_epi16(h, 2)
                     : qd == 2 ? h
                               : _mm256_srli_epi16(h, 2);
  return _mm256_or_si256(lo, _mm256_and_si256(hi, _mm256_set1_epi8(0x30)));
}

// From int16 scale pairs (2i, 2i + 1) per lane: sub-block 2i + odd's as int16 in both halves.
__m256i q6_scale16(__m256i pair, int odd) {
  const __m256i even_dup = _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13,  //
                                            0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13);
  return _mm256_shuffle_epi8(pair, _mm256_add_epi8(even_dup, _mm256_set1_epi8(char(2 * odd))));
}

// Sub-blocks j = 8 hb + 2 qd + odd (odd = 0, 1; 16 elements each, sharing a scale pair) into
// isum; each one is two int16 sums of two steps (at most 32256).
template <int C, int H, int qd>
void q6_K_pair(const uint8_t* sg, int h0, int hb, const uint8_t* x, size_t xs, int64_t s, __m256i (*isum)[C]) {
  using L = PackedQ6K;
  const uint8_t* ql = sg + L::kQl + 64 * (16 * hb + 8 * (qd % 2)) + 32 * h0;
  const uint8_t* qh = sg + L::kQh + 64 * 8 * hb + 32 * h0;
  __m256i pair[H];
#pragma GCC unroll 2
  for (int h = 0; h < H; ++h)
    pair[h] = _mm256_cvtepi8_epi16(load128(sg + L::kScales + 32 * (4 * hb + qd) + 16 * (h0 + h)));
#pragma GCC unroll 2
  for (int odd = 0; odd < 2; ++odd) {
    const int j = 8 * hb + 2 * qd + odd;
#pragma GCC unroll 2
    for (int u0 = 0; u0 < 4; u0 += 2) {
      __m256i dot16[H][C];
#pragma GCC unroll 2
      for (int u = u0; u < u0 + 2; ++u) {
        const int k = 4 * odd + u;  // chunk within the quarter
        __m256i w[H];
#pragma GCC unroll 2
        for (int h = 0; h < H; ++h) w[h] = q6_weights<qd>(ql + 64 * k + 32 * h, qh + 64 * k + 32 * h);
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c) {
          const __m256i xq = bcast32(act_block(x, xs, c, s)->qs + 16 * j + 4 * u);
#pragma GCC unroll 2
          for (int h = 0; h < H; ++h) {
            const __m256i p = _mm256_maddubs_epi16(w[h], xq);
            dot16[h][c] = u == u0 ? p : chained(_mm256_add_epi16(dot16[h][c], p));
          }
        }
      }
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) {
        const __m256i sc = q6_scale16(pair[h], odd);
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c)
          isum[h][c] = chained(_mm256_add_epi32(isum[h][c], _mm256_madd_epi16(dot16[h][c], sc)));
      }
    }
  }
}

struct Q6K {
  using L = PackedQ6K;
  static constexpr size_t kBytes = L::kBytes, kD = L::kD, kDmin = 0;
  static constexpr bool kMins = false;
  static constexpr bool kPrefetchInside = true;
  template <int C, int H>
  static void integer(const uint8_t* sg, int h0, const uint8_t* x, size_t xs, int64_t s, __m256i (*isum)[C], bool stream) {
    // isum starts at -32 * sum_j scale_j * bsum_j: the weights below are q + 32.
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i)
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) {
        const __m256i pair = _mm256_cvtepi8_epi16(load128(sg + L::kScales + 32 * i + 16 * (h0 + h)));
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c)
          isum[h][c] = chained(_mm256_add_epi32(
              isum[h][c], _mm256_madd_epi16(pair, bcast32(act_block(x, xs, c, s)->bsums + 2 * i))));
      }
    for (int h = 0; h < H; ++h)
      for (int c = 0; c < C; ++c)
        isum[h][c] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(isum[h][c], 5));
    for (int hb = 0; hb < 2; ++hb) {
      if (stream) prefetch_stream_part<kBytes, 2>(sg, hb);  // stream_prefetch.h
      q6_K_pair<C, H, 0>(sg, h0, hb, x, xs, s, isum);
      q6_K_pair<C, H, 1>(sg, h0, hb, x, xs, s, isum);
      q6_K_pair<C, H, 2>(sg, h0, hb, x, xs, s, isum);
      q6_K_pair<C, H, 3>(sg, h0, hb, x, xs, s, isum);
    }
  }
  template <int H>
  static void min_sums(const uint8_t*, int, const BlockQ8_K*, __m256i*) {}
};

// Q2_K / Q3_K low quant bits of one step of 8 rows: bits 2 slot, 2 slot + 1 of every byte.
// 16-bit shifts are safe: bits from the neighbouring byte land at bit 2 or above.
__m256i two_bits(const uint8_t* q, int slot) {
  const __m256i v = load256(q);
  return _mm256_and_si256(slot ? _mm256_srli_epi16(v, 2 * slot) : v, _mm256_set1_epi8(3));
}

// Q3_K: bit b of every hmask byte of 8 rows, moved to bit 2 (value 4); it stays in its byte.
__m256i q3_high_bit(const uint8_t* hm, int b) {
  const __m256i h = load256(hm);
  const __m256i moved = b <= 2 ? _mm256_slli_epi16(h, 2 - b) : _mm256_srli_epi16(h, b - 2);
  return _mm256_and_si256(moved, _mm256_set1_epi8(4));
}

// From the 16 scale bytes of a sub-block pair of 8 rows (row r: bytes 2r, 2r + 1): the byte
// of sub-block 2p + odd as int16 in both halves of each row's lane.
__m256i pair_byte16(const uint8_t* p, int odd) {
  const __m256i even = _mm256_setr_epi8(0, -1, 0, -1, 2, -1, 2, -1, 4, -1, 4, -1, 6, -1, 6, -1,  //
                                        8, -1, 8, -1, 10, -1, 10, -1, 12, -1, 12, -1, 14, -1, 14, -1);
  const __m256i odd_idx = _mm256_setr_epi8(1, -1, 1, -1, 3, -1, 3, -1, 5, -1, 5, -1, 7, -1, 7, -1,  //
                                           9, -1, 9, -1, 11, -1, 11, -1, 13, -1, 13, -1, 15, -1, 15, -1);
  return _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(load128(p)), odd ? odd_idx : even);
}

// Sub-block pair (2p, 2p + 1) of Q2_K (kQ3 false) or Q3_K into isum, as q23_K_pair in
// packed_kquant_avx512.cpp; each sub-block is one int16 sum of its 4 steps (bounds above).
// Q3_K's weights are q + 4: each sub-block also adds -4 * scale times its activation sum.
template <bool kQ3, int C, int H>
void q23_K_pair(const uint8_t* sg, int h0, int p, const uint8_t* x, size_t xs, int64_t s, __m256i (*isum)[C]) {
  const uint8_t* scales = sg + (kQ3 ? PackedQ3K::kScales : PackedQ2K::kScales) + 32 * p + 16 * h0;
  const uint8_t* qs = sg + (kQ3 ? PackedQ3K::kQs : PackedQ2K::kQs) + 64 * 8 * (p / 4) + 32 * h0;
  const uint8_t* hm = sg + PackedQ3K::kHmask + 32 * h0;
  if constexpr (kQ3) {
#pragma GCC unroll 2
    for (int h = 0; h < H; ++h) {
      // Biased scales v (0..63): -4 * (v - 32) = 128 - 4 v.
      const __m256i v = _mm256_cvtepu8_epi16(load128(scales + 16 * h));
      const __m256i offset = _mm256_sub_epi16(_mm256_set1_epi16(128), _mm256_slli_epi16(v, 2));
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c)
        isum[h][c] = chained(_mm256_add_epi32(
            isum[h][c], _mm256_madd_epi16(offset, bcast32(act_block(x, xs, c, s)->bsums + 2 * p))));
    }
  }
#pragma GCC unroll 2
  for (int odd = 0; odd < 2; ++odd) {
    const int j = 2 * p + odd;
    __m256i sc[H];
#pragma GCC unroll 2
    for (int h = 0; h < H; ++h) {
      const __m256i b = pair_byte16(scales + 16 * h, odd);
      sc[h] = kQ3 ? _mm256_sub_epi16(b, _mm256_set1_epi16(32)) : _mm256_and_si256(b, _mm256_set1_epi16(0x0F));
    }
    __m256i dot16[H][C];
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      __m256i w[H];
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) {
        w[h] = two_bits(qs + 64 * (4 * odd + u) + 32 * h, p % 4);
        if constexpr (kQ3) w[h] = _mm256_or_si256(w[h], q3_high_bit(hm + 64 * (4 * odd + u) + 32 * h, p));
      }
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) {
        const __m256i xq = bcast32(act_block(x, xs, c, s)->qs + 16 * j + 4 * u);
#pragma GCC unroll 2
        for (int h = 0; h < H; ++h) {
          const __m256i pr = _mm256_maddubs_epi16(w[h], xq);
          dot16[h][c] = u == 0 ? pr : chained(_mm256_add_epi16(dot16[h][c], pr));
        }
      }
    }
#pragma GCC unroll 2
    for (int h = 0; h < H; ++h)
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c)
        isum[h][c] = chained(_mm256_add_epi32(isum[h][c], _mm256_madd_epi16(dot16[h][c], sc[h])));
  }
}

// Q2_K (kQ3 false) or Q3_K, for kquant_tile.
template <bool kQ3>
struct Q23K {
  using L = std::conditional_t<kQ3, PackedQ3K, PackedQ2K>;
  static constexpr size_t kBytes = L::kBytes, kD = L::kD, kDmin = kQ3 ? 0 : PackedQ2K::kDmin;
  static constexpr bool kMins = !kQ3;
  static constexpr bool kPrefetchInside = false;
  template <int C, int H>
  static void integer(const uint8_t* sg, int h0, const uint8_t* x, size_t xs, int64_t s, __m256i (*isum)[C], bool stream) {
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) q23_K_pair<kQ3, C, H>(sg, h0, p, x, xs, s, isum);
  }
  // Q2_K: min pairs (int16 per sub-block, 0..15) against the activation sums per 16.
  template <int H>
  static void min_sums(const uint8_t* sg, int h0, const BlockQ8_K* xb, __m256i* summs) {
    if constexpr (!kQ3) {
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) {
        const uint8_t* scales = sg + PackedQ2K::kScales + 16 * (h0 + h);
        summs[h] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int p = 0; p < 8; ++p) {
          const __m256i mins = _mm256_srli_epi16(_mm256_cvtepu8_epi16(load128(scales + 32 * p)), 4);
          summs[h] = _mm256_add_epi32(summs[h], _mm256_madd_epi16(mins, bcast32(xb->bsums + 2 * p)));
        }
      }
    }
  }
};

// TQ1_0 / TQ2_0 (PackedTQ; TQ1_0 is packed as TQ2_0), for kquant_tile: 2-bit trits q (0..3,
// weight q - 1), bits 2l..2l+1 of chunk k holding elements 128 (k / 8) + 32 l + 4 (k % 8).
// isum = sum q x - sum x; a chunk's four steps (pairs at most 2 * 3 * 128) add up in int16.
struct TQ {
  using L = PackedTQ;
  static constexpr size_t kBytes = L::kBytes, kD = L::kD, kDmin = 0;
  static constexpr bool kMins = false;
  static constexpr bool kPrefetchInside = false;
  template <int C, int H>
  static void integer(const uint8_t* sg, int h0, const uint8_t* x, size_t xs, int64_t s, __m256i (*isum)[C], bool stream) {
    const __m256i ones = _mm256_set1_epi16(1), three = _mm256_set1_epi8(3);
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      int sum = 0;
      for (int k = 0; k < QK_K / 16; ++k) sum += act_block(x, xs, c, s)->bsums[k];
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) isum[h][c] = _mm256_set1_epi32(-sum);
    }
    for (int k = 0; k < 16; ++k)
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) {
        const __m256i v = load256(sg + L::kQs + 64 * k + 32 * (h0 + h));
        const __m256i w[4] = {_mm256_and_si256(v, three), _mm256_and_si256(_mm256_srli_epi16(v, 2), three),
                              _mm256_and_si256(_mm256_srli_epi16(v, 4), three), _mm256_and_si256(_mm256_srli_epi16(v, 6), three)};
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c) {
          const int8_t* xq = act_block(x, xs, c, s)->qs + 128 * (k / 8) + 4 * (k % 8);
          __m256i p = _mm256_maddubs_epi16(w[0], bcast32(xq));
#pragma GCC unroll 4
          for (int l = 1; l < 4; ++l) p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w[l], bcast32(xq + 32 * l)));
          isum[h][c] = chained(_mm256_add_epi32(isum[h][c], _mm256_madd_epi16(p, ones)));
        }
      }
  }
  template <int H>
  static void min_sums(const uint8_t*, int, const BlockQ8_K*, __m256i*) {}
};

// Rows 8 h0 .. 8 (h0 + H) - 1 of the group x C tokens of any K-quant K. rows: store masks per
// half; stream: this is the first pass over the group (prefetch ahead). Per super-block the
// type's exact integer sums, then the reference's float step, lane by lane:
//   with mins (Q2_K, Q4_K, Q5_K): acc += (x.d * d) * float(isum) - (x.d * dmin) * float(summs)
//   without (Q3_K, Q6_K):         acc += (x.d * d) * float(isum)
template <class K, int C, int H>
void kquant_tile(int64_t nsb, const uint8_t* group, int h0, const uint8_t* x, size_t xs, const __m256i* rows,
                 bool stream, float* y, int64_t ldy) {
  __m256 acc[H][C];
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm256_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* sg = group + size_t(s) * K::kBytes;
    if (stream && !K::kPrefetchInside) prefetch_stream<K::kBytes>(sg);  // else integer() does, part by part
    __m256i isum[H][C];
    for (int h = 0; h < H; ++h)
      for (int c = 0; c < C; ++c) isum[h][c] = _mm256_setzero_si256();
    K::template integer<C, H>(sg, h0, x, xs, s, isum, stream);
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const BlockQ8_K* xb = act_block(x, xs, c, s);
      const __m256 xd = _mm256_set1_ps(xb->d);
      __m256i summs[H];
      K::template min_sums<H>(sg, h0, xb, summs);
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) {
        __m256 t = _mm256_mul_ps(_mm256_mul_ps(xd, fp16x8(sg + K::kD + 16 * (h0 + h))), _mm256_cvtepi32_ps(isum[h][c]));
        if constexpr (K::kMins)
          t = _mm256_sub_ps(t, _mm256_mul_ps(_mm256_mul_ps(xd, fp16x8(sg + K::kDmin + 16 * (h0 + h))),
                                             _mm256_cvtepi32_ps(summs[h])));
        acc[h][c] = _mm256_add_ps(acc[h][c], t);
      }
    }
  }
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) _mm256_maskstore_ps(y + c * ldy + 8 * (h0 + h), rows[h0 + h], acc[h][c]);
}

// The first pass over the group prefetches.
template <class K>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo*, int64_t nc,
                 int64_t nrows, float* y, int64_t ldy) {
  const int64_t nsb = n / QK_K;
  over_halves_and_tokens<kTokens>(nc, nrows, [&]<int C, int H>(int h0, int64_t c, const __m256i* rows) {
    kquant_tile<K, C, H>(nsb, group, h0, x + size_t(c) * xs, xs, rows, h0 == 0 && c == 0, y + c * ldy, ldy);
  });
}

}  // namespace

// Keeps the pointer stores free of this file's ISA flags (GCC may merge them into vector
// stores), like the dot files' register functions.
__attribute__((target("arch=x86-64"))) void register_packed_kquant_avx2(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::Q4_K)] = packed_gemm<Q45K<PackedQ4K>>;
  t.packed_gemm[uint32_t(GgmlType::Q5_K)] = packed_gemm<Q45K<PackedQ5K>>;
  t.packed_gemm[uint32_t(GgmlType::Q6_K)] = packed_gemm<Q6K>;
  t.packed_gemm[uint32_t(GgmlType::Q2_K)] = packed_gemm<Q23K<false>>;
  t.packed_gemm[uint32_t(GgmlType::Q3_K)] = packed_gemm<Q23K<true>>;
  t.packed_gemm[uint32_t(GgmlType::TQ1_0)] = packed_gemm<TQ>;
  t.packed_gemm[uint32_t(GgmlType::TQ2_0)] = packed_gemm<TQ>;
}

}  // namespace trident
