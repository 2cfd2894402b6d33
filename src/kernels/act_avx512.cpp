// AVX-512 activation kernels: silu(gate) * up with exp_poly lane by lane and the reference's
// operations in its order (ops.cpp), so every element equals silu_glu_reference's bits; and
// gelu(gate) * up through the same fp16 table as gelu_glu_reference.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/dot_register.h"
#include "kernels/ops.h"
#include "kernels/exp_avx512.h"

namespace trident {
namespace {

__m512 silu16(__m512 g) { return _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), g)))); }
__m512 silu_glu16(__m512 g, __m512 u) { return _mm512_mul_ps(silu16(g), u); }

// x[i] = f(x[i]) 16 lanes at a time, the tail through masked loads (same lane arithmetic).
template <class F>
void map_inplace(float* x, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, f(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(x + i, m, f(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

// out[i] = f(gate[i], up[i]), the same way.
template <class F>
void map_pairs(const float* gate, const float* up, float* out, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, f(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(out + i, m, f(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

void silu(float* x, int64_t n) { map_inplace(x, n, silu16); }
void silu_glu(const float* gate, const float* up, float* out, int64_t n) { map_pairs(gate, up, out, n, silu_glu16); }

// gelu_glu_reference lane by lane: the gate rounded to half (vcvtps2ph rounds to nearest even
// as fp32_to_fp16 does, NaN included), its table entry gathered (32 bits at a 2-byte stride,
// the low half kept; the table has one entry of padding), the ±10 cut-offs, times up.
__m512 gelu_glu16(__m512 g, __m512 u, const uint16_t* table) {
  const __m512i idx = _mm512_cvtepu16_epi32(_mm512_cvtps_ph(g, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  const __m512i pair = _mm512_i32gather_epi32(idx, table, 2);
  __m512 r = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(pair));
  r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(g, _mm512_set1_ps(-10.0f), _CMP_NLE_UQ), r);
  r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(g, _mm512_set1_ps(10.0f), _CMP_GE_OQ), g);
  return _mm512_mul_ps(r, u);
}

void gelu(float* x, int64_t n) {
  const uint16_t* table = gelu_fp16_table();
  map_inplace(x, n, [&](__m512 g) { return gelu_glu16(g, _mm512_set1_ps(1.0f), table); });
}

void gelu_glu(const float* gate, const float* up, float* out, int64_t n) {
  const uint16_t* table = gelu_fp16_table();
  map_pairs(gate, up, out, n, [&](__m512 g, __m512 u) { return gelu_glu16(g, u, table); });
}

}  // namespace

__attribute__((target("arch=x86-64"))) void register_act_avx512(KernelTable& t) {
  t.silu = silu;
  t.silu_glu = silu_glu;
  t.gelu = gelu;
  t.gelu_glu = gelu_glu;
}

}  // namespace trident
