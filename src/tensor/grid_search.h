// What the grid i-quant quantizers (tensor/quant_grid_iq*.cpp) share: the codebooks as level
// tables with a key -> point map and, for keys that are not a point, the list of nearest points
// (llama.cpp 3f545bec's iq2xs_init_impl / iq3xs_init_impl; built once, lazily, in
// grid_neighbours.cpp), and the scale search of IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS and IQ3_S, which
// differ only in the parameters below (quant_grid_search.cpp).
//
// Every float expression in these files keeps ggml's operation order: the quantizers must write
// the bytes llama.cpp writes, and its float arithmetic is not associative.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/fp16.h"

namespace trident {

// One codebook. A point is `dim` coordinates, each a level l in [0, 2^bits) standing for the
// odd value 2 l + 1 (IQ2: 1, 3, 5; IQ3: 1 .. 15; IQ1: 1, 3, 5 for -1, 0, +1). A key packs `dim`
// levels, coordinate c in bits [bits c, bits c + bits).
struct GridSearch {
  int dim = 0, bits = 0, n_points = 0;
  std::vector<int8_t> levels;        // [n_points * dim]
  std::vector<int32_t> map;          // key -> point, or -(offset + 1) into `neighbours`
  std::vector<uint16_t> neighbours;  // at an offset: a count, then that many points

  const int8_t* point(int p) const { return levels.data() + size_t(p) * size_t(dim); }
  // The neighbour list of a key that is not a point: count, then the points.
  const uint16_t* neighbours_of(uint32_t key) const { return neighbours.data() + (-map[key] - 1); }
};

// The searches, built on first use (thread-safe). IQ1_S and IQ1_M share one codebook.
const GridSearch& grid_search_iq2_xxs();
const GridSearch& grid_search_iq2_xs();
const GridSearch& grid_search_iq2_s();
const GridSearch& grid_search_iq3_xxs();
const GridSearch& grid_search_iq3_s();
const GridSearch& grid_search_iq1();

// The point nearest (weighted squared distance, first minimum) to x among a key's neighbours,
// at `scale` per odd value: writes its levels to L[dim], returns its index.
int nearest_neighbour(const GridSearch& g, uint32_t key, const float* x, const float* w, float scale, int8_t* L);

// How one type searches the scale of a group of n elements (16 or 32) made of n / dim points.
struct GroupSearch {
  int n, kmax;    // kmax levels per coordinate
  int ntry;       // trial inverse scales (2 kmax - 1 + is * step) / denom, is in [-ntry, ntry]
  float step;
  bool track_on_grid;    // false (IQ2_XXS): re-fit every point at the best scale
  bool init_on_grid;     // before any trial is kept: IQ3_S assumes points off the grid
  bool refit_off_only;   // re-fit only the points that were off the grid
  bool even_parity;      // 7 sign bits per 8 elements (see fold_signs)
  float eps;             // a group whose largest |x| is below this is stored empty
  bool qp_start;         // IQ2_XXS: first scale from make_qp_quants, trials over 3 x that
  bool iq2s_weights;     // without importance: 0.25 sigma2 + x^2 (IQ2_S), not x^2
};

// xval: |x| (one element may be negated for the sign parity); weight, waux = sqrt(weight).
// scale, denom: the first guess and the divisor of the trial inverse scales. Writes the point
// of each dim-group to idx[n / dim] and returns the scale (possibly <= 0, as ggml's).
float search_group(const GridSearch& g, const GroupSearch& p, const float* xval, const float* weight,
                   const float* waux, float scale, float denom, uint16_t* idx);

// One group of an IQ2 / IQ3 type fitted: the signs of its 8-element pieces (7 or 8 bits), the
// point of each dim-group and the scale (>= 0; a negative fit flips the signs instead).
struct GroupFit {
  float scale;
  uint8_t signs[4];
  uint16_t idx[8];
};
// false: the group is (near) zero or has no fit, and is stored as zeros with scale 0.
bool fit_group(const GridSearch& g, const GroupSearch& p, const float* xb, const float* weight, const float* waux,
               GroupFit& fit);

// Every group of one super-block x[256] fitted in order, weights from the importance qw[256]
// (or null) and sigma2 (grid_weights). fitted[ib] false: group ib is empty, fits[ib].scale 0.
// Returns the largest scale.
float fit_groups(const GridSearch& g, const GroupSearch& p, const float* x, const float* qw, float sigma2,
                 GroupFit* fits, bool* fitted);

// Signs of 8 elements as a bit mask (bit i: x[i] < 0) and their absolute values into xval. With
// even_parity (IQ2_XXS, IQ2_XS, IQ3_XXS store 7 sign bits), an odd count of negatives flips the
// element of least weight * x^2 to a negative xval, making the count even; the mask's bit 7 is
// then implied and dropped.
uint8_t fold_signs(const float* x, const float* weight, bool even_parity, float* xval);

// Element weights of a group: the importance qw times sqrt(sigma2 + x^2), or x^2 without one;
// waux (if not null) their square roots.
void grid_weights(const float* x, const float* qw, float sigma2, int n, float* weight, float* waux);

// Squares summed in element order, as ggml does.
float sum_squares(const float* x, int n);

// The super-block scale d = max_scale / divisor, stored times ggml's fudge factor in *d16;
// returns 1 / d.
float super_scale(float max_scale, float divisor, float factor, f16_bits* d16);

// ggml's sub-block scale code: round(0.5 (id s - 1)) clamped to [0, lmax].
int scale_code(float id, float s, int lmax);

// One row of super-blocks through `block` (bytes per block), for quantize_<type>'s row loop.
using GridBlockFn = void (*)(const float* x, const float* imatrix, void* block);
size_t quantize_grid_rows(const char* name, bool needs_imatrix, GridBlockFn fn, size_t block_bytes,
                          const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix);

}  // namespace trident
