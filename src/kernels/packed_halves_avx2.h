// The token loop of the AVX2 packed kernels (include it only from *_avx2.cpp). A ymm holds 8
// rows, so a 16-row group is two halves: prompt tokens go kTokens at a time through one half
// (their accumulators and a step's weights fill the 16 ymm), the rest one token at a time over
// both halves in one pass, so decoding reads each weight line once.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <type_traits>

namespace trident {

// Calls Tile::template run<C, H>(h0, c, rows, args...) for tokens [c, c + C) and the H halves
// from h0; rows[h] is the store mask of half h (lanes past nrows are off). A static tile with
// its arguments by value: through a lambda capturing by reference GCC allocated the big tiles'
// registers worse (Q4_0 at 64 tokens 190 -> 125 GFLOP/s, MXFP4 twice as slow).
template <int kTokens, class Tile, class... Args>
inline void over_halves_and_tokens_static(int64_t nc, int64_t nrows, Args... args) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i rows[2] = {_mm256_cmpgt_epi32(_mm256_set1_epi32(int(nrows)), lane),
                           _mm256_cmpgt_epi32(_mm256_set1_epi32(int(nrows - 8)), lane)};
  const int halves = nrows > 8 ? 2 : 1;
  const int64_t tiled = nc / kTokens * kTokens;
  for (int h = 0; h < halves; ++h)
    for (int64_t c = 0; c < tiled; c += kTokens) Tile::template run<kTokens, 1>(h, c, rows, args...);
  for (int64_t c = tiled; c < nc; ++c) {
    if (halves == 2)
      Tile::template run<1, 2>(0, c, rows, args...);
    else
      Tile::template run<1, 1>(0, c, rows, args...);
  }
}

// The same loop calling tile.template operator()<C, H>(h0, c, rows).
template <class Lambda>
struct LambdaTile {
  template <int C, int H>
  static void run(int h0, int64_t c, const __m256i* rows, Lambda* tile) {
    tile->template operator()<C, H>(h0, c, rows);
  }
};
template <int kTokens, class Tile>
inline void over_halves_and_tokens(int64_t nc, int64_t nrows, Tile&& tile) {
  using L = std::remove_reference_t<Tile>;
  over_halves_and_tokens_static<kTokens, LambdaTile<L>>(nc, nrows, &tile);
}

}  // namespace trident
