// The token loop of the AVX2 packed kernels (include it only from *_avx2.cpp). A ymm holds 8
// rows, so a 16-row group is two halves: prompt tokens go kTokens at a time through one half
// (their accumulators and a step's weights fill the 16 ymm), the rest one token at a time over
// both halves in one pass, so decoding reads each weight line once.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace trident {

// Calls tile.template operator()<C, H>(h0, c, rows) for tokens [c, c + C) and the H halves
// from h0; rows[h] is the store mask of half h (lanes past nrows are off).
template <int kTokens, class Tile>
inline void over_halves_and_tokens(int64_t nc, int64_t nrows, Tile&& tile) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i rows[2] = {_mm256_cmpgt_epi32(_mm256_set1_epi32(int(nrows)), lane),
                           _mm256_cmpgt_epi32(_mm256_set1_epi32(int(nrows - 8)), lane)};
  const int halves = nrows > 8 ? 2 : 1;
  const int64_t tiled = nc / kTokens * kTokens;
  for (int h = 0; h < halves; ++h)
    for (int64_t c = 0; c < tiled; c += kTokens) tile.template operator()<kTokens, 1>(h, c, rows);
  for (int64_t c = tiled; c < nc; ++c) {
    if (halves == 2)
      tile.template operator()<1, 2>(0, c, rows);
    else
      tile.template operator()<1, 1>(0, c, rows);
  }
}

}  // namespace trident
