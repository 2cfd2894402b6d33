// AVX-512 VNNI packed-group kernels (tensor/repack.h) for Q1_0 and Q2_0 against Q8_0
// activations.
//
// Per Q8_0 block (32 elements) of a weight block, the exact integer dot of 16 rows by
// vpdpbusd, with unsigned weights: Q1_0's sign bits as bytes 0/1 (the packed masks select
// them directly), isum = 2 * sum(bit * x) - sum(x); Q2_0's levels as q = w + 1 (0..3),
// isum = sum(q * x) - sum(x). The float part is the reference's (dot_lowbit_scalar.cpp), lane
// by lane: inner = 0; inner += d_x[k] * float(isum_k) per Q8_0 block; acc += d_w * inner.
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

__m512i bcast32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// The 8 weight registers of Q8_0 block k of a weight block (chunks at col), step t covering
// elements 4t..4t+3 of the block; and the factor on sum(bit * x) (Q1_0: 2).
template <bool kQ1>
void weights(const uint8_t* col, int k, __m512i w[8]) {
  if constexpr (kQ1) {
    const uint8_t* masks = col + 64 * k;
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) {
      __mmask64 m;
      std::memcpy(&m, masks + 8 * t, 8);
      w[t] = _mm512_maskz_mov_epi8(m, _mm512_set1_epi8(1));
    }
  } else {
    // Chunk 2k + c, level l: elements 8l + 4c .. 8l + 4c + 3, i.e. step 2l + c.
#pragma GCC unroll 2
    for (int c = 0; c < 2; ++c) {
      const __m512i v = _mm512_loadu_si512(col + 64 * (2 * k + c));
#pragma GCC unroll 4
      for (int l = 0; l < 4; ++l)
        w[2 * l + c] = _mm512_and_si512(l ? _mm512_srli_epi16(v, 2 * l) : v, _mm512_set1_epi8(3));
    }
  }
}

// 16 rows x C tokens. kQ1: Q1_0 (4 Q8_0 blocks per weight block), else Q2_0 (2).
template <bool kQ1, int C>
void tile(int64_t nbw, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo* info,
          __mmask16 rows, float* y, int64_t ldy) {
  constexpr int kSub = kQ1 ? 4 : 2;
  const int64_t nb = nbw * kSub;  // Q8_0 blocks per token
  const uint8_t* scales = group + size_t(nbw) * 4 * 64;
  __m512 acc[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nbw; ++b) {
    const uint8_t* col = group + size_t(b) * 4 * 64;
    if constexpr (C == 1) prefetch_stream<4 * 64>(col);
    __m512 inner[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) inner[c] = _mm512_setzero_ps();
#pragma GCC unroll 4
    for (int k = 0; k < kSub; ++k) {
      __m512i w[8];
      weights<kQ1>(col, k, w);
      const int64_t xb = b * kSub + k;
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) {
        const int8_t* xq = reinterpret_cast<const BlockQ8_0*>(x + size_t(c) * xs)[xb].qs;
        __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int t = 0; t < 4; ++t) {
          a0 = _mm512_dpbusd_epi32(a0, w[t], bcast32(xq + 4 * t));
          a1 = _mm512_dpbusd_epi32(a1, w[t + 4], bcast32(xq + 16 + 4 * t));
        }
        __m512i isum = _mm512_add_epi32(a0, a1);
        if constexpr (kQ1) isum = _mm512_add_epi32(isum, isum);
        isum = _mm512_sub_epi32(isum, _mm512_set1_epi32(info[c * nb + xb].sum));
        inner[c] = _mm512_add_ps(inner[c], _mm512_mul_ps(_mm512_set1_ps(info[c * nb + xb].d), _mm512_cvtepi32_ps(isum)));
      }
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + size_t(b) * 32)));
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) acc[c] = _mm512_add_ps(acc[c], _mm512_mul_ps(dw, inner[c]));
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) _mm512_mask_storeu_ps(y + c * ldy, rows, acc[c]);
}

template <bool kQ1>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo* info,
                 int64_t nc, int64_t nrows, float* y, int64_t ldy) {
  const __mmask16 rows = __mmask16((1u << nrows) - 1);
  const int64_t nbw = n / (kQ1 ? QK1_0 : QK2_0), nb = n / 32;
  over_token_tiles<8, 4, 1>(nc, [&]<int C>(int64_t c) {
    tile<kQ1, C>(nbw, group, x + size_t(c) * xs, xs, info + c * nb, rows, y + c * ldy, ldy);
  });
}

}  // namespace

__attribute__((target("arch=x86-64"))) void register_packed_lowbit_avx512(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::Q1_0)] = packed_gemm<true>;
  t.packed_gemm[uint32_t(GgmlType::Q2_0)] = packed_gemm<false>;
}

}  // namespace trident
