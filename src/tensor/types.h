// One traits table for the weight types trident computes with: how to dequantize a row,
// the reference quantizer, and which activation format the dot kernel wants.
// Block sizes and byte sizes come from format/ggml_type.h.
#pragma once
#include <cstdint>

#include "format/ggml_type.h"

namespace trident {

// src: n / block_size blocks; dst: n floats. n is a multiple of the block size.
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
// Reference (scalar) quantizer, bit-exact with ggml's *_ref quantizers.
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n);
// llama.cpp's quantize_<type>: nrow rows of n_per_row floats to nrow rows of the type; returns
// the bytes written. imatrix: n_per_row importance weights (the mean squared activation of each
// input column) or nullptr; types without an importance-weighted quantizer ignore it, and
// without it every type writes what its reference quantizer writes.
using QuantizeRowsFn = size_t (*)(const float* src, void* dst, int64_t nrow, int64_t n_per_row,
                                  const float* imatrix);

struct TypeTraits {
  GgmlType type;
  DequantizeRowFn dequantize_row;  // nullptr: trident cannot compute with this type
  QuantizeRowFn quantize_row;      // nullptr: no quantizer (yet)
  QuantizeRowsFn quantize_rows;    // nullptr: no quantizer (yet)
  GgmlType vec_dot_type;           // activations are converted to this before the dot
};

// nullptr when the type is unknown or trident has no arithmetic for it.
const TypeTraits* type_traits(GgmlType t);
bool type_is_computable(GgmlType t);

// Bytes of one row of n elements (n must be a multiple of the block size).
static inline size_t row_bytes(GgmlType t, int64_t n) {
  const auto& l = layout_of(t);
  return size_t(n / l.block_size) * l.type_size;
}

}  // namespace trident
