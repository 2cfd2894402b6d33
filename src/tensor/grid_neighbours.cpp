// The key -> point maps and neighbour lists of the grid i-quant codebooks, as llama.cpp 3f545bec
// builds them in ggml_quantize_init (iq2xs_init_impl, iq3xs_init_impl): for a key that is not a
// point, all points at the `nwant` smallest distinct squared distances from it, ordered by
// (distance, index). Distances are between the odd values 2 l + 1; in levels they are 4 times
// smaller, which orders the points the same.
//
// ggml computes lists for every key of its map, including keys with a level 3 in a 2-bit
// coordinate; the quantizers never look those up (their levels are clamped to 0..2), so only
// the keys they can form get a list here and the others map to -1 with no list.
#include <algorithm>
#include <array>
#include <cstddef>
#include <mutex>

#include "tensor/grid_search.h"

namespace trident {
namespace {

#include "tensor/grid_tables.inc"

// codes: one per point, the coordinates' levels `bits` bits each (the codebook's compact form in
// grid_tables.inc, which is also ggml's kgrid_* table of its init functions). kmax: the largest
// level the quantizers form; nwant: distinct distances kept.
template <size_t kPoints>
GridSearch build(const uint16_t (&codes)[kPoints], int dim, int bits, int kmax, int nwant) {
  GridSearch g;
  g.dim = dim;
  g.bits = bits;
  g.n_points = int(kPoints);
  const int mask = (1 << bits) - 1;
  g.levels.resize(kPoints * size_t(dim));
  for (size_t p = 0; p < kPoints; ++p)
    for (int c = 0; c < dim; ++c) g.levels[p * size_t(dim) + size_t(c)] = int8_t(codes[p] >> (bits * c) & mask);
  const uint32_t n_keys = 1u << (bits * dim);
  g.map.assign(n_keys, -1);
  std::vector<bool> is_point(n_keys, false);
  for (size_t p = 0; p < kPoints; ++p) {
    g.map[codes[p]] = int32_t(p);
    is_point[codes[p]] = true;
  }
  // Largest squared distance in levels: dim * (2^bits - 1)^2.
  const int max_d2 = dim * mask * mask;
  std::vector<int> d2(kPoints);
  std::vector<bool> present(size_t(max_d2) + 1);
  int8_t key_levels[8];
  for (uint32_t key = 0; key < n_keys; ++key) {
    if (is_point[key]) continue;
    bool formable = true;
    for (int c = 0; c < dim; ++c) {
      key_levels[c] = int8_t(key >> (bits * c) & uint32_t(mask));
      formable = formable && key_levels[c] <= kmax;
    }
    if (!formable) continue;
    std::fill(present.begin(), present.end(), false);
    for (size_t p = 0; p < kPoints; ++p) {
      const int8_t* pt = g.levels.data() + p * size_t(dim);
      int s = 0;
      for (int c = 0; c < dim; ++c) s += (pt[c] - key_levels[c]) * (pt[c] - key_levels[c]);
      d2[p] = s;
      present[size_t(s)] = true;
    }
    g.map[key] = -int32_t(g.neighbours.size()) - 1;
    const size_t count_at = g.neighbours.size();
    g.neighbours.push_back(0);
    int have = 0;
    for (int d = 0; d <= max_d2 && have < nwant; ++d) {
      if (!present[size_t(d)]) continue;
      ++have;
      for (size_t p = 0; p < kPoints; ++p)
        if (d2[p] == d) g.neighbours.push_back(uint16_t(p));
    }
    g.neighbours[count_at] = uint16_t(g.neighbours.size() - count_at - 1);
  }
  return g;
}

// One lazily built search per codebook.
template <GridSearch (*Make)()>
const GridSearch& once() {
  static std::once_flag flag;
  static GridSearch g;
  std::call_once(flag, [] { g = Make(); });
  return g;
}

// ggml's nwant: 2 distances for IQ2_XXS / IQ2_XS / IQ3_XXS, 1 for IQ2_S, 3 for IQ1 and IQ3_S.
GridSearch make_iq2_xxs() { return build(kIQ2XXSPoints, 8, 2, 2, 2); }
GridSearch make_iq2_xs() { return build(kIQ2XSPoints, 8, 2, 2, 2); }
GridSearch make_iq2_s() { return build(kIQ2SPoints, 8, 2, 2, 1); }
GridSearch make_iq3_xxs() { return build(kIQ3XXSPoints, 4, 3, 7, 2); }
GridSearch make_iq3_s() { return build(kIQ3SPoints, 4, 3, 7, 3); }
GridSearch make_iq1() { return build(kIQ1SPoints, 8, 2, 2, 3); }

}  // namespace

const GridSearch& grid_search_iq2_xxs() { return once<make_iq2_xxs>(); }
const GridSearch& grid_search_iq2_xs() { return once<make_iq2_xs>(); }
const GridSearch& grid_search_iq2_s() { return once<make_iq2_s>(); }
const GridSearch& grid_search_iq3_xxs() { return once<make_iq3_xxs>(); }
const GridSearch& grid_search_iq3_s() { return once<make_iq3_s>(); }
const GridSearch& grid_search_iq1() { return once<make_iq1>(); }

}  // namespace trident
