// Helpers shared by the AVX2 and AVX-512 K-quant kernels (dot_kquant_avx2.cpp,
// dot_kquant_avx512.cpp). Needs AVX2, FMA and F16C: include only from those two files.
// Internal linkage, so each file gets its own copy compiled with its own flags.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "tensor/blocks.h"

namespace trident {
namespace {

__m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
__m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
float half_to_float(f16_bits h) { return _cvtsh_ss(h); }

// ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)), ggml's order.
float hsum8(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}
// (v0 + v2) + (v1 + v3)
float hsum4(__m128 v) {
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  v = _mm_add_ss(v, _mm_movehdup_ps(v));
  return _mm_cvtss_f32(v);
}

// Q8_K block sums as 8 int16: sum over each 32 elements.
__m128i bsums32(const BlockQ8_K& x) {
  return _mm_hadd_epi16(load128(x.bsums), load128(x.bsums + 8));
}

// Q4_K / Q5_K: the 16 bytes [scale 0..7, min 0..7] of one block, unpacked with vector ops
// (same result as unpack_scale_min_k4_words). Loads 16 bytes at `packed`: the 12 scale bytes
// and the first 4 quant bytes of the same block.
__m128i k4_scales_mins(const uint8_t* packed) {
  const __m128i v = load128(packed);
  const __m128i a0a2a1a2 =
      _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
  const __m128i z_a0_z_a1 =
      _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
  const __m128i low = _mm_and_si128(_mm_srlv_epi32(a0a2a1a2, _mm_setr_epi32(0, 0, 0, 4)),
                                    _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  const __m128i high = _mm_and_si128(_mm_srli_epi32(z_a0_z_a1, 2), _mm_set1_epi8(0x30));
  return _mm_or_si128(low, high);
}

// x.d * w.d and -(x.d * w.dmin) (= -x.d * w.dmin exactly); d_dmin points at the block's
// adjacent fp16 fields d, dmin.
struct BlockScales {
  float d, neg_dmin;
};
BlockScales d_and_dmin(float xd, const uint8_t* d_dmin) {
  int32_t pair;
  std::memcpy(&pair, d_dmin, 4);
  const __m128 prod = _mm_mul_ps(_mm_set1_ps(xd), _mm_cvtph_ps(_mm_cvtsi32_si128(pair)));
  return {_mm_cvtss_f32(prod), -_mm_cvtss_f32(_mm_movehdup_ps(prod))};
}

}  // namespace
}  // namespace trident
