// AVX2 packed-group kernels (tensor/repack.h) for F32, F16 and BF16 weights against f32
// activations: packed_float_avx512.cpp in two halves of 8 rows (a ymm holds 8 lanes), so
// lane j runs row j's reference schedule, sum = fma(w_e, x_e, sum) in element order, and
// the results equal dot_legacy_scalar.cpp's bits.
#include <immintrin.h>

#include "kernels/dot_register.h"
#include "kernels/packed_tiling.h"
#include "kernels/stream_prefetch.h"
#include "tensor/repack.h"

namespace trident {
namespace {

template <GgmlType T>
constexpr size_t kElemBytes = T == GgmlType::F32 ? 4 : 2;

// Element e of 8 rows as floats.
template <GgmlType T>
__m256 weights(const uint8_t* p) {
  if constexpr (T == GgmlType::F32) return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (T == GgmlType::F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));  // bf16: high half
}

// Both halves of the group x C tokens: 2 C accumulators.
template <GgmlType T, int C>
void tile(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs, int64_t nrows, float* y, int64_t ldy) {
  constexpr size_t kStep = kPackRows * kElemBytes<T>, kHalf = kStep / 2;
  __m256 lo[C], hi[C];
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) lo[c] = hi[c] = _mm256_setzero_ps();
  for (int64_t e = 0; e < n; ++e) {
    const uint8_t* p = group + size_t(e) * kStep;
    // Decode: one prefetch per cache line of weights (F32's step is one line, F16's half).
    if (C == 1 && (size_t(e) * kStep) % 64 == 0) prefetch_stream<64>(p);
    const __m256 w0 = weights<T>(p), w1 = weights<T>(p + kHalf);
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      const __m256 xe = _mm256_set1_ps(reinterpret_cast<const float*>(x + size_t(c) * xs)[e]);
      lo[c] = _mm256_fmadd_ps(w0, xe, lo[c]);
      hi[c] = _mm256_fmadd_ps(w1, xe, hi[c]);
    }
  }
  for (int c = 0; c < C; ++c) {
    alignas(32) float out[kPackRows];
    _mm256_store_ps(out, lo[c]);
    _mm256_store_ps(out + 8, hi[c]);
    for (int64_t j = 0; j < nrows; ++j) y[c * ldy + j] = out[j];
  }
}

template <GgmlType T>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo*, int64_t nc,
                 int64_t nrows, float* y, int64_t ldy) {
  over_token_tiles<4, 1>(nc, [&]<int C>(int64_t c) { tile<T, C>(n, group, x + size_t(c) * xs, xs, nrows, y + c * ldy, ldy); });
}

}  // namespace

// Runs on every CPU (the dispatcher builds all tables), so it must not contain instructions
// from this file's ISA flags: GCC otherwise merges the pointer stores into vector stores.
__attribute__((target("arch=x86-64"))) void register_packed_float_avx2(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::F32)] = packed_gemm<GgmlType::F32>;
  t.packed_gemm[uint32_t(GgmlType::F16)] = packed_gemm<GgmlType::F16>;
  t.packed_gemm[uint32_t(GgmlType::BF16)] = packed_gemm<GgmlType::BF16>;
}

}  // namespace trident
