// Each kernel file registers what it implements into a table. The scalar files fill every
// entry (they are the reference); SIMD files override the entries they have.
#pragma once
#include "kernels/dispatch.h"

namespace trident {

void register_legacy_scalar(KernelTable& t);  // f32, f16, bf16, q4_0..q8_1 (dot_legacy_scalar.cpp)
void register_kquant_scalar(KernelTable& t);  // q2_K..q6_K, q8_K        (dot_kquant_scalar.cpp)
void register_legacy_avx2(KernelTable& t);    // dot_legacy_avx2.cpp
void register_kquant_avx2(KernelTable& t);    // dot_kquant_avx2.cpp
void register_legacy_avx512(KernelTable& t);  // dot_legacy_avx512.cpp
void register_kquant_avx512(KernelTable& t);  // dot_kquant_avx512.cpp
// Packed-group kernels for q4_0 and q8_0 (packed_{scalar,avx2,avx512}.cpp).
void register_packed_scalar(KernelTable& t);
void register_packed_avx2(KernelTable& t);
void register_packed_avx512(KernelTable& t);
// Packed-group kernels for q2_K..q6_K (their scalar reference is in dot_kquant_scalar.cpp).
void register_packed_kquant_avx2(KernelTable& t);
void register_packed_kquant_avx512(KernelTable& t);
// Packed-group kernels for f32, f16 and bf16 (scalar reference in packed_scalar.cpp).
void register_packed_float_avx2(KernelTable& t);
void register_packed_float_avx512(KernelTable& t);
// Codebook and ternary types: reference dots and packed kernels (dot_nonlinear_scalar.cpp),
// packed kernels per ISA (packed_nonlinear_{avx2,avx512}.cpp).
void register_nonlinear_scalar(KernelTable& t);
void register_packed_nonlinear_avx2(KernelTable& t);
void register_packed_nonlinear_avx512(KernelTable& t);
// Q1_0 and Q2_0: reference dots and packed kernels (dot_lowbit_scalar.cpp), packed kernels
// per ISA (packed_lowbit_{avx2,avx512}.cpp).
void register_lowbit_scalar(KernelTable& t);
void register_packed_lowbit_avx2(KernelTable& t);
void register_packed_lowbit_avx512(KernelTable& t);
// Activation kernels (KernelTable::silu_glu; reference in ops.cpp): act_{avx2,avx512}.cpp.
void register_act_avx2(KernelTable& t);
void register_act_avx512(KernelTable& t);

}  // namespace trident
