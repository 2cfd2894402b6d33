// Each kernel file registers what it implements into a table. The scalar files fill every
// entry (they are the reference); SIMD files override the entries they have.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/dispatch.h"

namespace trident {

// Registers F over weight blocks W and activation blocks X (kElems elements each) so that it
// only ever sees pointers aligned for those types: a caller may pass any buffer (the tests
// shift theirs by 1 and 3 bytes on purpose), and a member access through a misaligned block
// pointer is undefined behaviour. A misaligned row and its activations are copied to aligned
// memory first: the same bytes, so the same bits; aligned calls pay two tests.
template <class W, class X, int64_t kElems, VecDotFn F>
void aligned_vec_dot(int64_t n, float* s, const void* w, const void* x) {
  if (reinterpret_cast<uintptr_t>(w) % alignof(W) == 0 && reinterpret_cast<uintptr_t>(x) % alignof(X) == 0)
    return F(n, s, w, x);
  // A per-thread buffer of plain malloc memory (aligned for any block), not a std::vector: a
  // std:: template instantiated in a per-ISA file could be the copy the linker keeps for all.
  struct Buffer {
    void* p = nullptr;
    size_t cap = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buf;
  const size_t w_bytes = size_t(n / kElems) * sizeof(W), x_bytes = size_t(n / kElems) * sizeof(X);
  const size_t x_at = (w_bytes + 63) / 64 * 64, need = x_at + x_bytes;
  if (need > buf.cap) {
    std::free(buf.p);
    buf.p = std::malloc(need);
    buf.cap = buf.p ? need : 0;
    if (!buf.p) std::abort();  // a row and its activations: a few KB to MB
  }
  auto* base = static_cast<uint8_t*>(buf.p);
  std::memcpy(base, w, w_bytes);
  std::memcpy(base + x_at, x, x_bytes);
  F(n, s, base, base + x_at);
}

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
// Grid i-quants (IQ1_S .. IQ3_S): reference dots and packed reference (dot_grid_scalar.cpp), row-wise
// AVX2 dots (dot_grid_avx2.cpp, inherited by the AVX-512 table), packed kernels per ISA
// (packed_grid_{avx2,avx512}.cpp).
void register_grid_scalar(KernelTable& t);
void register_grid_avx2(KernelTable& t);
void register_packed_grid_avx2(KernelTable& t);
void register_packed_grid_avx512(KernelTable& t);
// Activation kernels (KernelTable::silu_glu, gelu_glu; references in ops.cpp): act_{avx2,avx512}.cpp.
void register_act_avx2(KernelTable& t);
void register_act_avx512(KernelTable& t);
// Recurrent-layer kernels (KernelTable::recurrent; reference in recurrent_ref.cpp).
void register_recurrent_avx2(KernelTable& t);
void register_recurrent_avx512(KernelTable& t);

}  // namespace trident
