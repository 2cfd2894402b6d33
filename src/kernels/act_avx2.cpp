// AVX2 activation kernels: silu(gate) * up with exp_poly lane by lane and the reference's
// operations in its order (ops.cpp), so every element equals silu_glu_reference's bits.
#include <immintrin.h>

#include "kernels/dot_register.h"
#include "kernels/exp_avx2.h"

namespace trident {
namespace {

__m256 silu_glu8(__m256 g, __m256 u) {
  const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
  return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

void silu_glu(const float* gate, const float* up, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, silu_glu8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  if (i < n) {  // the tail through masked loads, so it takes the same lane arithmetic
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n - i)), lane);
    _mm256_maskstore_ps(out + i, m, silu_glu8(_mm256_maskload_ps(gate + i, m), _mm256_maskload_ps(up + i, m)));
  }
}

}  // namespace

__attribute__((target("arch=x86-64"))) void register_act_avx2(KernelTable& t) { t.silu_glu = silu_glu; }

}  // namespace trident
