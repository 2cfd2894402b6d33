// AVX2 packed-group kernels (tensor/repack.h) for Q1_0 and Q2_0 against Q8_0 activations.
//
// The AVX2 twin of packed_lowbit_avx512.cpp, in halves of 8 rows. Weights are unsigned bytes
// (Q1_0: bit 0/1, spread from the packed masks by a shuffle and a compare as Q5_0's high bits
// in packed_avx2.cpp; Q2_0: q = w + 1, 0..3); a step is vpmaddubsw, whose pairs (at most
// 2 * 3 * 127) add up in int16 over the 8 steps of a Q8_0 block, then one vpmaddwd widens. The
// integer dot is exact; the float part is the reference's (dot_lowbit_scalar.cpp) lane by lane.
#include <immintrin.h>

#include <cstring>

#include "kernels/dot_register.h"
#include "kernels/packed_halves_avx2.h"
#include "tensor/blocks.h"
#include "tensor/repack.h"

namespace trident {
namespace {

constexpr int kTokens = 4;

__m256i bcast32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Half h of the 8 weight registers of Q8_0 block k of a weight block (chunks at col), step t
// covering elements 4t..4t+3.
template <bool kQ1>
void weights(const uint8_t* col, int k, int h, __m256i w[8]) {
  if constexpr (kQ1) {
    // Byte i of the half (row 8h + i / 4, element 4t + i % 4) is bit i of the mask's 4 bytes
    // of half h: byte i <- mask byte i / 8, then test bit i % 8.
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
    const uint8_t* masks = col + 64 * k + 4 * h;
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) {
      const __m256i m = _mm256_shuffle_epi8(bcast32(masks + 8 * t), spread);
      w[t] = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(m, bit), bit), _mm256_set1_epi8(1));
    }
  } else {
#pragma GCC unroll 2
    for (int c = 0; c < 2; ++c) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + 64 * (2 * k + c) + 32 * h));
#pragma GCC unroll 4
      for (int l = 0; l < 4; ++l)
        w[2 * l + c] = _mm256_and_si256(l ? _mm256_srli_epi16(v, 2 * l) : v, _mm256_set1_epi8(3));
    }
  }
}

// Rows 8 h0 .. 8 (h0 + H) - 1 x C tokens. kQ1: Q1_0, else Q2_0.
template <bool kQ1, int C, int H>
void tile(int64_t nbw, const uint8_t* group, int h0, const uint8_t* x, size_t xs, const PackedActInfo* info,
          const __m256i* rows, float* y, int64_t ldy) {
  constexpr int kSub = kQ1 ? 4 : 2;
  const int64_t nb = nbw * kSub;
  const uint8_t* scales = group + size_t(nbw) * 4 * 64;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[H][C];
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nbw; ++b) {
    const uint8_t* col = group + size_t(b) * 4 * 64;
#pragma GCC unroll 2
    for (int hh = 0; hh < H; ++hh) {
      const int h = h0 + hh;
      __m256 inner[C];
      for (int c = 0; c < C; ++c) inner[c] = _mm256_setzero_ps();
      for (int k = 0; k < kSub; ++k) {
        __m256i w[8];
        weights<kQ1>(col, k, h, w);
        const int64_t xb = b * kSub + k;
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c) {
          const int8_t* xq = reinterpret_cast<const BlockQ8_0*>(x + size_t(c) * xs)[xb].qs;
          __m256i p = _mm256_maddubs_epi16(w[0], bcast32(xq));
#pragma GCC unroll 8
          for (int t = 1; t < 8; ++t) p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w[t], bcast32(xq + 4 * t)));
          __m256i isum = _mm256_madd_epi16(p, ones);
          if constexpr (kQ1) isum = _mm256_add_epi32(isum, isum);
          isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(info[c * nb + xb].sum));
          inner[c] = _mm256_add_ps(inner[c], _mm256_mul_ps(_mm256_set1_ps(info[c * nb + xb].d), _mm256_cvtepi32_ps(isum)));
        }
      }
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + size_t(b) * 32 + 16 * h)));
      for (int c = 0; c < C; ++c) acc[hh][c] = _mm256_add_ps(acc[hh][c], _mm256_mul_ps(dw, inner[c]));
    }
  }
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) _mm256_maskstore_ps(y + c * ldy + 8 * (h0 + h), rows[h0 + h], acc[h][c]);
}

template <bool kQ1>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo* info,
                 int64_t nc, int64_t nrows, float* y, int64_t ldy) {
  const int64_t nbw = n / (kQ1 ? QK1_0 : QK2_0), nb = n / 32;
  over_halves_and_tokens<kTokens>(nc, nrows, [&]<int C, int H>(int h0, int64_t c, const __m256i* rows) {
    tile<kQ1, C, H>(nbw, group, h0, x + size_t(c) * xs, xs, info + c * nb, rows, y + c * ldy, ldy);
  });
}

}  // namespace

__attribute__((target("arch=x86-64"))) void register_packed_lowbit_avx2(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::Q1_0)] = packed_gemm<true>;
  t.packed_gemm[uint32_t(GgmlType::Q2_0)] = packed_gemm<false>;
}

}  // namespace trident
