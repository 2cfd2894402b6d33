// Kernel tables: one per instruction set, filled once; the best one the CPU supports is
// chosen at first use. A SIMD table starts as a copy of the scalar one and overrides the
// entries it implements, so a missing SIMD kernel falls back to the reference.
#pragma once
#include <cstdint>
#include <vector>

#include "format/ggml_type.h"
#include "tensor/types.h"

namespace trident {

// s[0] = dot(w row of n elements in the weight type, x row of n elements in the
// weight type's vec_dot_type). n is a multiple of both block sizes.
using VecDotFn = void (*)(int64_t n, float* s, const void* w, const void* x);

// Tile kernel: y[c * ldy + r] = dot(w row r, x row c) for r < nr, c < nc. w rows are w_stride
// bytes apart, x rows (activations in the vec_dot_type) x_stride bytes apart. Every element
// must be bit-identical to what vec_dot returns for the same row pair: that is what keeps
// fused == unfused and batch size / thread count out of the results. Any nr, nc >= 1.
using GemmFn = void (*)(int64_t n, const void* w, size_t w_stride, int64_t nr, const void* x,
                        size_t x_stride, int64_t nc, float* y, int64_t ldy);

struct KernelTable {
  const char* isa = "scalar";                  // "scalar", "avx2", "avx512"
  VecDotFn vec_dot[kGgmlTypeCount] = {};       // indexed by weight type
  GemmFn gemm[kGgmlTypeCount] = {};            // optional; matmul falls back to vec_dot
  // Converts F32 activations to an activation format, indexed by that format
  // (F32 is a copy; F16, BF16, Q8_0, Q8_1, Q8_K).
  QuantizeRowFn quantize_act[kGgmlTypeCount] = {};
};

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
