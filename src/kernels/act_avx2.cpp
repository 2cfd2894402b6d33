// AVX2 activation kernels: silu(gate) * up with exp_poly lane by lane and the reference's
// operations in its order (ops.cpp), so every element equals silu_glu_reference's bits; and
// gelu(gate) * up through the same fp16 table as gelu_glu_reference.
#include <immintrin.h>

#include "kernels/dot_register.h"
#include "kernels/ops.h"
#include "kernels/exp_avx2.h"

namespace trident {
namespace {

__m256 silu8(__m256 g) { return _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), g)))); }
__m256 silu_glu8(__m256 g, __m256 u) { return _mm256_mul_ps(silu8(g), u); }

// Lanes 0 .. rest - 1 (rest < 8) of a masked load or store.
__m256i tail_mask(int64_t rest) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(rest)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// x[i] = f(x[i]) 8 lanes at a time, the tail through masked loads (same lane arithmetic).
template <class F>
void map_inplace(float* x, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(x + i, m, f(_mm256_maskload_ps(x + i, m)));
  }
}

// out[i] = f(gate[i], up[i]), the same way.
template <class F>
void map_pairs(const float* gate, const float* up, float* out, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, f(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(out + i, m, f(_mm256_maskload_ps(gate + i, m), _mm256_maskload_ps(up + i, m)));
  }
}

void silu(float* x, int64_t n) { map_inplace(x, n, silu8); }
void silu_glu(const float* gate, const float* up, float* out, int64_t n) { map_pairs(gate, up, out, n, silu_glu8); }

// gelu_glu_reference lane by lane, as act_avx512.cpp's gelu_glu16 (F16C rounds to nearest
// even as fp32_to_fp16 does; the table has one entry of padding for the 32-bit gather).
__m256 gelu_glu8(__m256 g, __m256 u, const uint16_t* table) {
  const __m256i idx = _mm256_cvtepu16_epi32(_mm256_cvtps_ph(g, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  const __m256i pair = _mm256_i32gather_epi32(reinterpret_cast<const int*>(table), idx, 2);
  const __m256i lo16 = _mm256_shuffle_epi8(pair, _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1,
                                                                   0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m128i halves = _mm_unpacklo_epi64(_mm256_castsi256_si128(lo16), _mm256_extracti128_si256(lo16, 1));
  __m256 r = _mm256_cvtph_ps(halves);
  r = _mm256_and_ps(r, _mm256_cmp_ps(g, _mm256_set1_ps(-10.0f), _CMP_NLE_UQ));
  r = _mm256_blendv_ps(r, g, _mm256_cmp_ps(g, _mm256_set1_ps(10.0f), _CMP_GE_OQ));
  return _mm256_mul_ps(r, u);
}

void gelu(float* x, int64_t n) {
  const uint16_t* table = gelu_fp16_table();
  map_inplace(x, n, [&](__m256 g) { return gelu_glu8(g, _mm256_set1_ps(1.0f), table); });
}

void gelu_glu(const float* gate, const float* up, float* out, int64_t n) {
  const uint16_t* table = gelu_fp16_table();
  map_pairs(gate, up, out, n, [&](__m256 g, __m256 u) { return gelu_glu8(g, u, table); });
}

}  // namespace

__attribute__((target("arch=x86-64"))) void register_act_avx2(KernelTable& t) {
  t.silu = silu;
  t.silu_glu = silu_glu;
  t.gelu = gelu;
  t.gelu_glu = gelu_glu;
}

}  // namespace trident
