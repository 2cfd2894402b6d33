// AVX-512 activation kernels: silu(gate) * up with exp_poly lane by lane and the reference's
// operations in its order (ops.cpp), so every element equals silu_glu_reference's bits.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/dot_register.h"
#include "kernels/exp_avx512.h"

namespace trident {
namespace {

__m512 silu_glu16(__m512 g, __m512 u) {
  const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
  return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e)), u);
}

void silu_glu(const float* gate, const float* up, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, silu_glu16(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
  if (i < n) {  // the tail through masked loads, so it takes the same lane arithmetic
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(out + i, m, silu_glu16(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

}  // namespace

__attribute__((target("arch=x86-64"))) void register_act_avx512(KernelTable& t) { t.silu_glu = silu_glu; }

}  // namespace trident
