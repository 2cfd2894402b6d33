// AVX2 packed-group kernels (tensor/repack.h) for the 32-element quants: Q4_0, Q5_0 and Q8_0
// against Q8_0 activations, Q4_1 and Q5_1 against Q8_1.
//
// As packed_avx512.cpp, in two halves of 8 rows (bytes 0..31 and 32..63 of each 64-byte
// chunk) since a ymm holds 8 lanes. Without VNNI a step is vpmaddubsw (u8 x s8 -> pairs of
// int16) then vpmaddwd against ones (-> int32). The 4- and 5-bit quants (0..15, 0..31) are the
// unsigned operand, the Q4_0 / Q5_0 offset of 8 / 16 undone by starting at -offset * sum(x);
// Q8_0 uses the sign trick (|w| and x * sign(w)), whose pair sums, at most 2 * 128 * 127,
// cannot saturate. The integer dot is exact; the float part is the reference's (with the
// min term m_w * s_x added to d * float(isum) first), so the bits equal packed_scalar.cpp's.
#include <immintrin.h>

#include <cstring>

#include "kernels/dot_register.h"
#include "kernels/packed_tiling.h"
#include "kernels/stream_prefetch.h"
#include "tensor/blocks.h"
#include "tensor/repack.h"

namespace trident {
namespace {

__m256i load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

int32_t load32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Half h of one block (q: the block's first chunk): w[t] holds elements 4t..4t+3 of 8 rows.
// kMin: the type has a min m and takes Q8_1 activations.
template <int kOffset, bool kHasMin>
struct Q4W {  // Q4_0 (offset 8), Q4_1 (min)
  static constexpr int kQuantBytes = 16;
  static constexpr bool kMin = kHasMin;
  // A step's int16 pairs are at most 2 * 15 * 128 = 3840, so four steps add up in int16.
  static constexpr bool kSum16 = true;
  static void load(const uint8_t* q, int h, __m256i w[8]) {
    const __m256i lo = _mm256_set1_epi8(0x0F);
    #pragma GCC unroll 8
    for (int s = 0; s < 4; ++s) {
      const __m256i v = load256(q + 64 * s + 32 * h);
      w[s] = _mm256_and_si256(v, lo);
      w[s + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo);
    }
  }
  static __m256i start(int32_t sum) { return _mm256_set1_epi32(-kOffset * sum); }
  static __m256i step(__m256i w, __m256i y) { return _mm256_maddubs_epi16(w, y); }
};
// Q5_0 (offset 16), Q5_1 (min): Q4's nibbles plus 16 where the 32 bits of half h in mask t of
// the high-bit chunk (repack.h) are set; byte i of the half is bit i, spread by a shuffle
// (byte i <- mask byte i / 8) and a compare against bit i % 8.
template <int kOffset, bool kHasMin>
struct Q5W {
  static constexpr int kQuantBytes = 20;
  static constexpr bool kMin = kHasMin;
  // Pairs reach 2 * 31 * 128 = 7936, four steps 31744: still int16.
  static constexpr bool kSum16 = true;
  static void load(const uint8_t* q, int h, __m256i w[8]) {
    const __m256i lo = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
    const uint8_t* qh = q + 4 * 64 + 4 * h;
    auto high = [&](int t) {
      const __m256i m = _mm256_shuffle_epi8(_mm256_set1_epi32(load32(qh + 8 * t)), spread);
      return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(m, bit), bit), bit4);
    };
    #pragma GCC unroll 8
    for (int s = 0; s < 4; ++s) {
      const __m256i v = load256(q + 64 * s + 32 * h);
      w[s] = _mm256_or_si256(_mm256_and_si256(v, lo), high(s));
      w[s + 4] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), lo), high(s + 4));
    }
  }
  static __m256i start(int32_t sum) { return _mm256_set1_epi32(-kOffset * sum); }
  static __m256i step(__m256i w, __m256i y) { return _mm256_maddubs_epi16(w, y); }
};
struct Q8_0W {
  static constexpr int kQuantBytes = 32;
  static constexpr bool kMin = false;
  static constexpr bool kSum16 = false;  // pairs reach 2 * 128 * 127: widen every step
  static void load(const uint8_t* q, int h, __m256i w[8]) {
    #pragma GCC unroll 8
    for (int s = 0; s < 8; ++s) w[s] = load256(q + 64 * s + 32 * h);
  }
  static __m256i start(int32_t) { return _mm256_setzero_si256(); }
  static __m256i step(__m256i w, __m256i y) {
    return _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(y, w));
  }
};
using Q4_0W = Q4W<8, false>;
using Q4_1W = Q4W<0, true>;
using Q5_0W = Q5W<16, false>;
using Q5_1W = Q5W<0, true>;

// Rows 8 h0 .. 8 (h0 + H) - 1 of the group (H halves) x C tokens. x: C Q8_0 (W::kMin: Q8_1)
// rows xs bytes apart. Prompt tiles take one half (C accumulators and 8 weight registers fill
// the 16 ymm); a single token takes both halves in one pass, so decode reads each weight line
// once.
// stream: this pass is the first over a group the call reads only a few times (a handful of
// tokens: decode of several sequences), so its weights come from DRAM and are prefetched; the
// later passes, and a long prompt's, find them in cache.
template <class W, int C, int H>
void tile(int64_t nb, const uint8_t* group, int h0, const uint8_t* x, size_t xs,
          const PackedActInfo* info, const __m256i* rows, float* y, int64_t ldy, bool stream = false) {
  constexpr size_t kBlock = kPackRows * W::kQuantBytes;
  // Both activation blocks end in their 32 quants.
  constexpr size_t kXBlock = W::kMin ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);
  const uint8_t* scales = group + size_t(nb) * kBlock;
  const uint8_t* mins = scales + size_t(nb) * kPackRows * 2;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[H][C];
#pragma GCC unroll 2
  for (int hh = 0; hh < H; ++hh)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) acc[hh][c] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* q = group + size_t(b) * kBlock;
    if (C == 1 || stream) prefetch_stream<kBlock>(q);  // weights streamed from DRAM
#pragma GCC unroll 2
    for (int hh = 0; hh < H; ++hh) {
      const int h = h0 + hh;
      __m256i w[8];
      W::load(q, h, w);
      const __m256 dw = _mm256_cvtph_ps(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + size_t(b) * 32 + 16 * h)));
      __m256 mw;
      if constexpr (W::kMin)
        mw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mins + size_t(b) * 32 + 16 * h)));
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) {
        const uint8_t* yq = x + size_t(c) * xs + size_t(b + 1) * kXBlock - 32;
        const PackedActInfo in = info[c * nb + b];
        __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
        if constexpr (!W::kMin) a0 = W::start(in.sum);  // Q8_1 info carries s, not sum
        if constexpr (W::kSum16) {
          // Two chains of int16 sums, widened once each.
          __m256i p0 = W::step(w[0], _mm256_set1_epi32(load32(yq)));
          __m256i p1 = W::step(w[4], _mm256_set1_epi32(load32(yq + 16)));
#pragma GCC unroll 8
          for (int t = 1; t < 4; ++t) {
            p0 = _mm256_add_epi16(p0, W::step(w[t], _mm256_set1_epi32(load32(yq + 4 * t))));
            p1 = _mm256_add_epi16(p1, W::step(w[t + 4], _mm256_set1_epi32(load32(yq + 16 + 4 * t))));
          }
          a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(p0, ones));
          a1 = _mm256_madd_epi16(p1, ones);
        } else {
#pragma GCC unroll 8
          for (int t = 0; t < 4; ++t) {
            const __m256i p0 = W::step(w[t], _mm256_set1_epi32(load32(yq + 4 * t)));
            const __m256i p1 = W::step(w[t + 4], _mm256_set1_epi32(load32(yq + 16 + 4 * t)));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(p0, ones));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(p1, ones));
          }
        }
        const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(in.d));
        __m256 sum = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_add_epi32(a0, a1)));
        if constexpr (W::kMin) sum = _mm256_add_ps(sum, _mm256_mul_ps(mw, _mm256_set1_ps(in.s)));
        acc[hh][c] = _mm256_add_ps(acc[hh][c], sum);
      }
    }
  }
#pragma GCC unroll 2
  for (int hh = 0; hh < H; ++hh)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) _mm256_maskstore_ps(y + c * ldy + 8 * (h0 + hh), rows[h0 + hh], acc[hh][c]);
}

// The token and half loop of packed_halves_avx2.h, written out: called through that helper's
// lambda, GCC allocated this tile's registers worse (Q4_0 at 64 tokens 190 -> 125 GFLOP/s).
template <class W>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs,
                 const PackedActInfo* info, int64_t nc, int64_t nrows, float* y, int64_t ldy) {
  const int64_t nb = n / 32;
  constexpr int kTokens = 4;  // 4 accumulators + 8 weights + temporaries in 16 ymm
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i rows[2] = {_mm256_cmpgt_epi32(_mm256_set1_epi32(int(nrows)), lane),
                           _mm256_cmpgt_epi32(_mm256_set1_epi32(int(nrows - 8)), lane)};
  const int halves = nrows > 8 ? 2 : 1;
  const int64_t tiled = nc / kTokens * kTokens;
  const bool few = nc <= kStreamTokens;
  for (int h = 0; h < halves; ++h)
    for (int64_t c = 0; c < tiled; c += kTokens)
      tile<W, kTokens, 1>(nb, group, h, x + size_t(c) * xs, xs, info + c * nb, rows, y + c * ldy, ldy,
                          few && h == 0 && c == 0);
  for (int64_t c = tiled; c < nc; ++c) {
    if (halves == 2)
      tile<W, 1, 2>(nb, group, 0, x + size_t(c) * xs, xs, info + c * nb, rows, y + c * ldy, ldy);
    else
      tile<W, 1, 1>(nb, group, 0, x + size_t(c) * xs, xs, info + c * nb, rows, y + c * ldy, ldy);
  }
}

}  // namespace

__attribute__((target("arch=x86-64"))) void register_packed_avx2(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::Q4_0)] = packed_gemm<Q4_0W>;
  t.packed_gemm[uint32_t(GgmlType::Q4_1)] = packed_gemm<Q4_1W>;
  t.packed_gemm[uint32_t(GgmlType::Q5_0)] = packed_gemm<Q5_0W>;
  t.packed_gemm[uint32_t(GgmlType::Q5_1)] = packed_gemm<Q5_1W>;
  t.packed_gemm[uint32_t(GgmlType::Q8_0)] = packed_gemm<Q8_0W>;
}

}  // namespace trident
