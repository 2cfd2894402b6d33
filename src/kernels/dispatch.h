// Kernel tables: one per instruction set, filled once; the best one the CPU supports is
// chosen at first use. A SIMD table starts as a copy of the scalar one and overrides the
// entries it implements, so a missing SIMD kernel falls back to the reference.
#pragma once
#include <cstdint>
#include <vector>

#include "format/ggml_type.h"
#include "kernels/attention.h"
#include "kernels/ops.h"
#include "kernels/recurrent.h"
#include "tensor/types.h"

namespace trident {

// s[0] = dot(w row of n elements in the weight type, x row of n elements in the
// weight type's vec_dot_type). n is a multiple of both block sizes.
using VecDotFn = void (*)(int64_t n, float* s, const void* w, const void* x);

// Per token and activation block, what the packed kernels of the 32-element quants read
// besides the quants: the scale d as f32, and for Q8_0 the sum of the 32 quants and of the
// first 16 (to undo the Q4_0 / Q5_0 / codebook weight offsets), for Q8_1 its s = d * sum widened to f32 (the Q4_1 / Q5_1 min
// term). Filled once per matmul, not per 16 rows.
struct PackedActInfo {
  float d;
  union {
    int32_t sum;  // Q8_0
    float s;      // Q8_1
  };
  int32_t sum_lo;  // Q8_0: the sum of quants 0..15 (NVFP4's scales cover 16 elements)
};
// out[c * nb + b] for nc rows of nb blocks of act_type (Q8_0 or Q8_1; other types need no
// info and leave out alone), x_stride bytes apart (packed_scalar.cpp).
void packed_act_info(GgmlType act_type, const uint8_t* x, size_t x_stride, int64_t nc, int64_t nb,
                     PackedActInfo* out);

// Packed-group kernel (tensor/repack.h): y[c * ldy + j] = dot(row j of the group, x row c)
// for j < nrows, c < nc, over rows of n elements. x: nc rows of the weight type's
// vec_dot_type, x_stride bytes apart; info (32-element quants only): nc rows of n / 32
// entries from packed_act_info of x.
// Every element is bit-identical to the scalar vec_dot of the type.
using PackedGemmFn = void (*)(int64_t n, const uint8_t* group, const uint8_t* x, size_t x_stride,
                              const PackedActInfo* info, int64_t nc, int64_t nrows, float* y,
                              int64_t ldy);

struct KernelTable {
  const char* isa = "scalar";                  // "scalar", "avx2", "avx512"
  VecDotFn vec_dot[kGgmlTypeCount] = {};       // indexed by weight type
  PackedGemmFn packed_gemm[kGgmlTypeCount] = {};  // packable types: used instead of vec_dot
  // Converts F32 activations to an activation format, indexed by that format
  // (F32 is a copy; Q8_0, Q8_1, Q8_K).
  QuantizeRowFn quantize_act[kGgmlTypeCount] = {};
  AttentionFn attention = attention_reference;  // kernels/attention.h
  // out[i] = silu(gate[i]) * up[i] for i < n (kernels/ops.h).
  void (*silu_glu)(const float* gate, const float* up, float* out, int64_t n) = silu_glu_reference;
  // x[i] = silu(x[i]) for i < n: silu_inplace's bits.
  void (*silu)(float* x, int64_t n) = silu_inplace;
  // x[i] = gelu(x[i]) for i < n through ggml's fp16 table: gelu_reference's bits.
  void (*gelu)(float* x, int64_t n) = gelu_reference;
  // out[i] = gelu(gate[i]) * up[i] through ggml's fp16 table (kernels/ops.h).
  void (*gelu_glu)(const float* gate, const float* up, float* out, int64_t n) = gelu_glu_reference;
  RecurrentKernels recurrent;  // short convolution, SSM scan, gated delta rule (kernels/recurrent.h)
};

// True when the CPU (and the OS) can run F16C and AVX instructions.
bool cpu_has_f16c();

const KernelTable& scalar_kernel_table();
const KernelTable& kernel_table();                      // best for this CPU
std::vector<const KernelTable*> supported_kernel_tables();  // every table this CPU can run
// Forces a table by isa name ("scalar", "avx2", "avx512"); returns false if not supported.
bool select_kernel_table(const char* isa);

// Per-ISA fill functions (defined in dot_avx2.cpp / dot_avx512.cpp). Each copies `base` and
// overrides what it implements.
KernelTable make_avx2_kernel_table(const KernelTable& base);
KernelTable make_avx512_kernel_table(const KernelTable& base);

}  // namespace trident
