// AVX-512 packed-group kernels (tensor/repack.h) for F32, F16 and BF16 weights against f32
// activations.
//
// One zmm holds element e of the group's 16 rows (widened exactly to f32), so one FMA with
// the token's element e, broadcast, advances all 16 rows' dots: lane j runs row j's
// reference schedule, sum = fma(w_e, x_e, sum) in element order (dot_legacy_scalar.cpp), and
// the results equal it bit for bit. The weights of a step are widened once per 8 tokens.

// GCC 12 warns about the intentionally undefined registers inside its own AVX-512 intrinsics
// once they are inlined (GCC bug 105593); the warning says nothing about this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/dot_register.h"
#include "kernels/packed_tiling.h"
#include "kernels/stream_prefetch.h"
#include "tensor/repack.h"

namespace trident {
namespace {

template <GgmlType T>
constexpr size_t kElemBytes = T == GgmlType::F32 ? 4 : 2;

// Element e of the 16 rows as floats.
template <GgmlType T>
__m512 weights(const uint8_t* p) {
  if constexpr (T == GgmlType::F32) return _mm512_loadu_ps(p);
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  if constexpr (T == GgmlType::F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));  // bf16: high half
}

template <GgmlType T, int C>
void tile(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs, __mmask16 rows, float* y, int64_t ldy) {
  constexpr size_t kStep = kPackRows * kElemBytes<T>;
  __m512 acc[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
  for (int64_t e = 0; e < n; ++e) {
    // Decode: one prefetch per cache line of weights (F32's step is one line, F16's half).
    if (C == 1 && (size_t(e) * kStep) % 64 == 0) prefetch_stream<64>(group + size_t(e) * kStep);
    const __m512 w = weights<T>(group + size_t(e) * kStep);
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c)
      acc[c] = _mm512_fmadd_ps(w, _mm512_set1_ps(reinterpret_cast<const float*>(x + size_t(c) * xs)[e]), acc[c]);
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) _mm512_mask_storeu_ps(y + c * ldy, rows, acc[c]);
}

template <GgmlType T>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo*, int64_t nc,
                 int64_t nrows, float* y, int64_t ldy) {
  const __mmask16 rows = __mmask16((1u << nrows) - 1);
  over_token_tiles<8, 4, 1>(nc, [&]<int C>(int64_t c) { tile<T, C>(n, group, x + size_t(c) * xs, xs, rows, y + c * ldy, ldy); });
}

}  // namespace

// Keeps the pointer stores free of this file's ISA flags (GCC may merge them into vector
// stores), like the dot files' register functions.
__attribute__((target("arch=x86-64"))) void register_packed_float_avx512(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::F32)] = packed_gemm<GgmlType::F32>;
  t.packed_gemm[uint32_t(GgmlType::F16)] = packed_gemm<GgmlType::F16>;
  t.packed_gemm[uint32_t(GgmlType::BF16)] = packed_gemm<GgmlType::BF16>;
}

}  // namespace trident
