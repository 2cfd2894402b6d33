// Per-type row converters, referenced by the traits table in types.cpp.
// Float types and the 32-element "legacy" quants live in quant_legacy.cpp, the 256-element
// K-quants in quant_kquant.cpp, the codebook types in quant_nonlinear.cpp, the ternary ones
// in quant_ternary.cpp, Q1_0 / Q2_0 in quant_lowbit.cpp. All quantizers are the scalar
// reference, bit-exact with what llama-quantize writes without an importance matrix: ggml's
// reference quantizers (round-half-away-from-zero where ggml uses roundf, etc.), and for
// IQ4_NL / IQ4_XS ggml's quantize_iq4_nl / quantize_iq4_xs (a 15-candidate scale search).
#pragma once
#include <cstddef>
#include <cstdint>

namespace trident {

#define TRIDENT_ROW_FNS(t)                                      \
  void dequantize_row_##t(const void* src, float* dst, int64_t n); \
  void quantize_row_##t(const float* src, void* dst, int64_t n);

TRIDENT_ROW_FNS(f32)
TRIDENT_ROW_FNS(f16)
TRIDENT_ROW_FNS(bf16)
TRIDENT_ROW_FNS(q4_0)
TRIDENT_ROW_FNS(q4_1)
TRIDENT_ROW_FNS(q5_0)
TRIDENT_ROW_FNS(q5_1)
TRIDENT_ROW_FNS(q8_0)
TRIDENT_ROW_FNS(q8_1)
TRIDENT_ROW_FNS(q2_K)
TRIDENT_ROW_FNS(q3_K)
TRIDENT_ROW_FNS(q4_K)
TRIDENT_ROW_FNS(q5_K)
TRIDENT_ROW_FNS(q6_K)
TRIDENT_ROW_FNS(q8_K)
TRIDENT_ROW_FNS(iq4_nl)  // quant_nonlinear.cpp
TRIDENT_ROW_FNS(iq4_xs)
TRIDENT_ROW_FNS(mxfp4)
TRIDENT_ROW_FNS(nvfp4)
TRIDENT_ROW_FNS(tq1_0)   // quant_ternary.cpp
TRIDENT_ROW_FNS(tq2_0)
TRIDENT_ROW_FNS(q1_0)    // quant_lowbit.cpp
TRIDENT_ROW_FNS(q2_0)
#undef TRIDENT_ROW_FNS

// Importance-weighted quantizers with llama.cpp's quantize_<type> semantics (TypeTraits::
// quantize_rows): nrow rows of n_per_row; imatrix: n_per_row weights or nullptr (then the
// reference quantizer). Returns the bytes written. quant_weighted.cpp; IQ4 in quant_nonlinear.cpp.
#define TRIDENT_ROWS_FN(t) size_t quantize_##t(const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float* imatrix);
TRIDENT_ROWS_FN(q4_0)
TRIDENT_ROWS_FN(q4_1)
TRIDENT_ROWS_FN(q5_0)
TRIDENT_ROWS_FN(q5_1)
TRIDENT_ROWS_FN(q2_K)
TRIDENT_ROWS_FN(q3_K)
TRIDENT_ROWS_FN(q4_K)
TRIDENT_ROWS_FN(q5_K)
TRIDENT_ROWS_FN(q6_K)
TRIDENT_ROWS_FN(iq4_nl)
TRIDENT_ROWS_FN(iq4_xs)

// Grid i-quants: dequantization in quant_grid.cpp.
void dequantize_row_iq2_xxs(const void* src, float* dst, int64_t n);
void dequantize_row_iq2_xs(const void* src, float* dst, int64_t n);
void dequantize_row_iq2_s(const void* src, float* dst, int64_t n);
void dequantize_row_iq3_xxs(const void* src, float* dst, int64_t n);
void dequantize_row_iq3_s(const void* src, float* dst, int64_t n);
void dequantize_row_iq1_s(const void* src, float* dst, int64_t n);
void dequantize_row_iq1_m(const void* src, float* dst, int64_t n);

// Grid i-quant quantizers with llama.cpp's quantize_<type> semantics, bit-exact with llama.cpp
// 3f545bec (quant_grid_iq2.cpp, quant_grid_iq3.cpp, quant_grid_iq1.cpp): src is nrow rows of
// n_per_row floats (a multiple of 256), imatrix n_per_row importance values or null; writes
// nrow rows of blocks to dst and returns the bytes written. IQ2_XXS, IQ2_XS and IQ1_S need an
// importance matrix (std::invalid_argument "<TYPE> needs an importance matrix" without one, where
// llama.cpp asserts); so do non-whole rows. Thread-safe: the codebook searches are built once.
TRIDENT_ROWS_FN(iq2_xxs)
TRIDENT_ROWS_FN(iq2_xs)
TRIDENT_ROWS_FN(iq2_s)
TRIDENT_ROWS_FN(iq3_xxs)
TRIDENT_ROWS_FN(iq3_s)
TRIDENT_ROWS_FN(iq1_s)
TRIDENT_ROWS_FN(iq1_m)
#undef TRIDENT_ROWS_FN

}  // namespace trident
