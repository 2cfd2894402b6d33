// The token loop shared by the packed-group kernels of every ISA: tokens go in tiles of the
// widest width that still fits, then the next, e.g. <8, 4, 1> runs 8 at a time, the rest by
// 4, the last ones singly. A tile kernel unpacks a step's weights once per tile, so wide tiles
// amortise it; the 1-token tile is the decode path.
#pragma once
#include <cstdint>

namespace trident {

// A matmul over at most this many tokens reads each weight group once for all of them, so its
// weights stream from DRAM (decode, or a few sequences decoded together): the kernels
// prefetch them (stream_prefetch.h) and matmul.cpp hands each thread long runs of groups.
inline constexpr int64_t kStreamTokens = 8;

// Calls tile.template operator()<W>(c) for consecutive token ranges [c, c + W) covering
// [0, nc), widths taken in the order given.
template <int... Widths, class Tile>
inline void over_token_tiles(int64_t nc, Tile&& tile) {
  int64_t c = 0;
  (
      [&] {
        for (; c + Widths <= nc; c += Widths) tile.template operator()<Widths>(c);
      }(),
      ...);
}

}  // namespace trident
