// Scale fits shared by the K-quant reference quantizers (quant_kquant_ref.cpp) and the
// importance-weighted ones (quant_weighted.cpp), each bit-exact with the ggml routine it
// names. Baseline-only files use these (no FMA: see quant_kquant_ref.cpp).
#pragma once
#include <cstdint>

namespace trident {

// Symmetric levels l in [-nmax, nmax - 1], stored in L as l + nmax, fitted with weights w: the
// scale mapping the largest magnitude to -nmax, then 18 nearby trial scales, keeping the best
// weighted least-squares fit. Returns the scale (x ~ scale * l); 0 and L = 0 for an all-zero
// block. (ggml: make_qx_quants, rmse_type 1.) In quant_weighted.cpp.
float fit_symmetric_weighted(int n, int nmax, const float* x, int8_t* L, const float* w);

// Non-negative values (sub-block scales or mins, IQ2_XXS's group magnitudes) to levels in
// [0, nmax] with weights w: 9 trial scales, then up to 5 passes moving single levels while the
// weighted fit improves. L holds bytes, as ggml's: a negative x (IQ2_XXS's sign parity may give
// one) wraps there as in ggml. Returns the scale. (ggml: make_qp_quants.) In quant_weighted.cpp.
float fit_positive(int n, int nmax, const float* x, uint8_t* L, const float* w);

struct AsymmetricSearch {
  float rmin, rdelta;  // candidate iscale k = (nmax + rmin + rdelta * k) / (max - min)
  int nstep;           // k = 0..nstep
  bool use_mad;        // weighted |error| instead of weighted error^2
};
// Asymmetric levels x ~ scale * l - the_min, l in [0, nmax], with weights: tries nstep + 1
// scalings around nmax / (max - min), solving the weighted least squares (scale, min) for each,
// keeping the best by the weighted error. Returns scale; *the_min >= 0.
// (ggml: make_qkx2_quants; make_qkx3_quants with the same search.) In quant_kquant_ref.cpp.
float fit_asymmetric_scale(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                           uint8_t* Laux, const AsymmetricSearch& p);

}  // namespace trident
