// AVX-512 VNNI packed-group kernels (tensor/repack.h) for the 32-element quants: Q4_0, Q5_0
// and Q8_0 against Q8_0 activations, Q4_1 and Q5_1 against Q8_1.
//
// One zmm holds the same 4 quant bytes of the group's 16 rows, so vpdpbusd against the 4
// matching activation bytes, broadcast, adds 4 products into each row's lane: 8 of them make
// a block's integer dot for 16 rows at once. vpdpbusd wants unsigned weights, so they are
// offset (Q4_0 nibbles are 0..15 = w + 8, Q5_0's 5-bit quants 0..31 = w + 16; Q8_0 bytes
// get their sign bit flipped, w + 128) and the accumulator starts at -offset * sum(activation
// quants), which makes the integer dot exact; Q4_1 / Q5_1 quants are unsigned as they are.
// The float part is the reference's, lane by lane: d = d_w * d_x, then sum += d * float(isum)
// (+ m_w * s_x, added to that product first, for the types with a min), blocks in order — so
// the results equal packed_scalar.cpp's bits.

// GCC 12 warns about the intentionally undefined registers inside its own AVX-512 intrinsics
// once they are inlined (GCC bug 105593); the warning says nothing about this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/dot_register.h"
#include "kernels/packed_tiling.h"
#include "kernels/stream_prefetch.h"
#include "tensor/blocks.h"
#include "tensor/repack.h"

namespace trident {
namespace {

__m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }

int32_t load32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The 8 unsigned weight registers of one block (step t covers elements 4t..4t+3). Steps 4..7
// may hold the quants times 2^kHighShift: their sum is shifted back, exactly (it is a
// multiple of 2^kHighShift), before it joins steps 0..3. kMin: the type has a min m and takes
// Q8_1 activations.
template <int kOff, bool kHasMin>
struct Q4W {  // Q4_0 (offset 8), Q4_1 (min)
  static constexpr int kQuantBytes = 16, kOffset = kOff, kHighShift = 4;
  static constexpr bool kMin = kHasMin;
  static void load(const uint8_t* q, __m512i w[8]) {
    const __m512i lo = _mm512_set1_epi8(0x0F), hi = _mm512_set1_epi8(char(0xF0));
#pragma GCC unroll 4
    for (int s = 0; s < 4; ++s) {
      const __m512i v = load512(q + 64 * s);
      w[s] = _mm512_and_si512(v, lo);      // elements 4s..4s+3
      w[s + 4] = _mm512_and_si512(v, hi);  // elements 16+4s.., times 16: saves a shift per chunk
    }
  }
};
// Q5_0 (offset 16), Q5_1 (min): the nibbles as Q4's plus 16 where mask t of the high-bit chunk
// (repack.h) has the element's bit. The high halves are shifted down: 16 * 31 does not fit a
// byte.
template <int kOff, bool kHasMin>
struct Q5W {
  static constexpr int kQuantBytes = 20, kOffset = kOff, kHighShift = 0;
  static constexpr bool kMin = kHasMin;
  static void load(const uint8_t* q, __m512i w[8]) {
    const __m512i lo = _mm512_set1_epi8(0x0F), bit4 = _mm512_set1_epi8(0x10);
    const uint8_t* qh = q + 4 * 64;
    auto mask = [&](int t) { return _load_mask64(reinterpret_cast<__mmask64*>(const_cast<uint8_t*>(qh + 8 * t))); };
#pragma GCC unroll 4
    for (int s = 0; s < 4; ++s) {
      const __m512i v = load512(q + 64 * s);
      const __m512i l = _mm512_and_si512(v, lo), h = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo);
      w[s] = _mm512_mask_add_epi8(l, mask(s), l, bit4);
      w[s + 4] = _mm512_mask_add_epi8(h, mask(s + 4), h, bit4);
    }
  }
};
struct Q8_0W {
  static constexpr int kQuantBytes = 32, kOffset = 128, kHighShift = 0;
  static constexpr bool kMin = false;
  static void load(const uint8_t* q, __m512i w[8]) {
    const __m512i flip = _mm512_set1_epi8(char(0x80));
#pragma GCC unroll 8
    for (int s = 0; s < 8; ++s) w[s] = _mm512_xor_si512(load512(q + 64 * s), flip);
  }
};
using Q4_0W = Q4W<8, false>;
using Q4_1W = Q4W<0, true>;
using Q5_0W = Q5W<16, false>;
using Q5_1W = Q5W<0, true>;

// 16 rows x C tokens. x: C Q8_0 (W::kMin: Q8_1) rows xs bytes apart; info: C rows of nb
// entries.
// stream: the group is read once for all tokens of the call (decode of one token, or of a few
// sequences at once), so it comes from DRAM and is prefetched; a longer prompt reads it once
// per tile, mostly from cache.
template <class W, int C>
void tile(int64_t nb, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo* info,
          __mmask16 rows, float* y, int64_t ldy, bool stream) {
  constexpr size_t kBlock = kPackRows * W::kQuantBytes;
  // Both activation blocks end in their 32 quants.
  constexpr size_t kXBlock = W::kMin ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);
  const uint8_t* scales = group + size_t(nb) * kBlock;
  const uint8_t* mins = scales + size_t(nb) * kPackRows * 2;
  __m512 acc[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m512i w[8];
    const uint8_t* q = group + size_t(b) * kBlock;
    if (C == 1 || stream) prefetch_stream<kBlock>(q);  // weights streamed from DRAM
    W::load(q, w);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + size_t(b) * 32)));
    __m512 mw;
    if constexpr (W::kMin) mw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(mins + size_t(b) * 32)));
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) {
      const uint8_t* yq = x + size_t(c) * xs + size_t(b + 1) * kXBlock - 32;
      const PackedActInfo in = info[c * nb + b];
      // Two independent chains of 4, so one token's block is not 8 dependent latencies.
      __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
      if constexpr (W::kOffset != 0) a0 = _mm512_set1_epi32(-W::kOffset * in.sum);
#pragma GCC unroll 4
      for (int t = 0; t < 4; ++t) {
        a0 = _mm512_dpbusd_epi32(a0, w[t], _mm512_set1_epi32(load32(yq + 4 * t)));
        a1 = _mm512_dpbusd_epi32(a1, w[t + 4], _mm512_set1_epi32(load32(yq + 16 + 4 * t)));
      }
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(in.d));
      __m512 sum = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_add_epi32(a0, _mm512_srai_epi32(a1, W::kHighShift))));
      if constexpr (W::kMin) sum = _mm512_add_ps(sum, _mm512_mul_ps(mw, _mm512_set1_ps(in.s)));
      acc[c] = _mm512_add_ps(acc[c], sum);
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) _mm512_mask_storeu_ps(y + c * ldy, rows, acc[c]);
}

template <class W>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs,
                 const PackedActInfo* info, int64_t nc, int64_t nrows, float* y, int64_t ldy) {
  const int64_t nb = n / 32;
  // 8 tokens: 8 float accumulators + 8 weight registers + temporaries fit the 32 zmm; the
  // weights of a block are unpacked once per 8 tokens. Remainders take 4, then 1.
  const __mmask16 rows = __mmask16((1u << nrows) - 1);
  const bool stream = nc <= kStreamTokens;
  over_token_tiles<8, 4, 1>(nc, [&]<int C>(int64_t c) {
    tile<W, C>(nb, group, x + size_t(c) * xs, xs, info + c * nb, rows, y + c * ldy, ldy, stream);
  });
}

}  // namespace

// Keeps the pointer stores free of this file's ISA flags (GCC may merge them into vector
// stores), like the dot files' register functions.
__attribute__((target("arch=x86-64"))) void register_packed_avx512(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::Q4_0)] = packed_gemm<Q4_0W>;
  t.packed_gemm[uint32_t(GgmlType::Q4_1)] = packed_gemm<Q4_1W>;
  t.packed_gemm[uint32_t(GgmlType::Q5_0)] = packed_gemm<Q5_0W>;
  t.packed_gemm[uint32_t(GgmlType::Q5_1)] = packed_gemm<Q5_1W>;
  t.packed_gemm[uint32_t(GgmlType::Q8_0)] = packed_gemm<Q8_0W>;
}

}  // namespace trident
