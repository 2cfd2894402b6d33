// AVX2 (+FMA, F16C) kernels for the legacy quants and the activation converters (float
// weights use the packed kernels, packed_float_avx2.cpp).
// vec_dot matches dot_legacy_scalar.cpp up to float reassociation; quantize_act matches it
// bit for bit. Every loop's shape depends only on n, never on pointer alignment, so a given
// input always gives the same bits.
#include <immintrin.h>

#include <cstring>

#include "kernels/dot_register.h"
#include "tensor/blocks.h"

namespace trident {
namespace {

float hsum(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// ---------------------------------------------------------------------------------------
// Quant dots, one block per register: the block's 32 weight quants in element order against
// the activation block's 32 qs. vpmaddubsw multiplies unsigned by signed bytes into int16
// pair sums, vpmaddwd adds those pairs into 8 int32 lanes (see dot_quant for the rest).

__m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// 16 bytes of nibbles -> [low nibbles, high nibbles] = elements 0..31 of the block.
__m256i nibbles(const uint8_t* qs) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Bit j of the 32-bit qh -> byte j = 16 if set, else 0.
__m256i high_bits(const uint8_t* qh) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(int(h)), _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101,
                                                    0x0202020202020202, 0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201u));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(16));
}

__m256i ones16() { return _mm256_set1_epi16(1); }

// int32 lanes of sum (q - kOffset) * y for unsigned q (0..31) and signed y. Both vpmaddubsw
// results stay within int16 (|pair| <= 2 * 31 * 128), so no saturation.
template <int kOffset>
__m256i block_dot_unsigned(__m256i q, __m256i y) {
  __m256i p = _mm256_maddubs_epi16(q, y);
  if constexpr (kOffset != 0)
    p = _mm256_sub_epi16(p, _mm256_maddubs_epi16(_mm256_set1_epi8(kOffset), y));
  return _mm256_madd_epi16(p, ones16());
}

struct Q4_1K {
  using Block = BlockQ4_1;
  using Act = BlockQ8_1;
  static __m256i dot(const Block& w, const Act& x) {
    return block_dot_unsigned<0>(nibbles(w.qs), load256(x.qs));
  }
};
struct Q5_0K {
  using Block = BlockQ5_0;
  using Act = BlockQ8_0;
  static __m256i dot(const Block& w, const Act& x) {
    return block_dot_unsigned<16>(_mm256_or_si256(nibbles(w.qs), high_bits(w.qh)), load256(x.qs));
  }
};
struct Q5_1K {
  using Block = BlockQ5_1;
  using Act = BlockQ8_1;
  static __m256i dot(const Block& w, const Act& x) {
    return block_dot_unsigned<0>(_mm256_or_si256(nibbles(w.qs), high_bits(w.qh)), load256(x.qs));
  }
};
// Signed weights: |w| times y with w's sign. Exact when no activation quant is -128, which
// quantize_act guarantees (it rounds into [-127, 127]): then |pair| <= 2 * 128 * 127.
struct Q8_1K {
  using Block = BlockQ8_1;
  using Act = BlockQ8_1;
  static __m256i dot(const Block& w, const Act& x) {
    const __m256i a = load256(w.qs), y = load256(x.qs);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(y, a)),
                             ones16());
  }
};

template <class B>
constexpr bool has_min() {
  return requires(B b) { b.m; };
}

// [sum of v0's lanes, ..., sum of v7's lanes] for 8 vectors of 8 int32.
__m256i block_sums(__m256i v0, __m256i v1, __m256i v2, __m256i v3, __m256i v4, __m256i v5,
                   __m256i v6, __m256i v7) {
  const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
  const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v4, v5), _mm256_hadd_epi32(v6, v7));
  // a = [v0..v3 low-half sums | v0..v3 high-half sums], b likewise for v4..v7.
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
                          _mm256_permute2x128_si256(a, b, 0x31));
}

// The fp16 at byte offset kOffset of 8 consecutive blocks, as 8 floats.
template <int kOffset, class B>
__m256 fp16_field8(const B* b) {
  auto h = [&](int k) {
    f16_bits v;
    std::memcpy(&v, reinterpret_cast<const uint8_t*>(b + k) + kOffset, 2);
    return int(v);
  };
  __m128i v = _mm_cvtsi32_si128(h(0));
  v = _mm_insert_epi16(v, h(1), 1);
  v = _mm_insert_epi16(v, h(2), 2);
  v = _mm_insert_epi16(v, h(3), 3);
  v = _mm_insert_epi16(v, h(4), 4);
  v = _mm_insert_epi16(v, h(5), 5);
  v = _mm_insert_epi16(v, h(6), 6);
  v = _mm_insert_epi16(v, h(7), 7);
  return _mm256_cvtph_ps(v);
}

// w: n / 32 blocks of K::Block; x: n / 32 blocks of K::Act.
// Blocks go in chunks of 8 (a last partial chunk is copied and padded with zero blocks,
// which add nothing). Each block's integer dot is reduced to one exact int32, the 8 sums
// are converted together and FMA'd with the 8 products d_w * d_x: lane k of the
// accumulator sums blocks k, k + 8, ... The m * s terms go to a second accumulator alike.
template <class K>
void dot_quant(int64_t n, float* s, const void* vw, const void* vx) {
  using WB = typename K::Block;
  using XB = typename K::Act;
  constexpr bool kMin = has_min<WB>();
  const auto* w = static_cast<const WB*>(vw);
  const auto* x = static_cast<const XB*>(vx);
  const int64_t nb = n / 32;
  __m256 acc = _mm256_setzero_ps(), acc_min = acc;
  auto chunk = [&](const WB* cw, const XB* cx) {
    const __m256i sums = block_sums(
        K::dot(cw[0], cx[0]), K::dot(cw[1], cx[1]), K::dot(cw[2], cx[2]), K::dot(cw[3], cx[3]),
        K::dot(cw[4], cx[4]), K::dot(cw[5], cx[5]), K::dot(cw[6], cx[6]), K::dot(cw[7], cx[7]));
    const __m256 d = _mm256_mul_ps(fp16_field8<0>(cw), fp16_field8<0>(cx));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), d, acc);
    if constexpr (kMin) acc_min = _mm256_fmadd_ps(fp16_field8<2>(cw), fp16_field8<2>(cx), acc_min);
  };
  int64_t i = 0;
  for (; i + 8 <= nb; i += 8) chunk(w + i, x + i);
  if (i < nb) {
    WB tw[8] = {};
    XB tx[8] = {};
    std::memcpy(tw, w + i, size_t(nb - i) * sizeof(WB));
    std::memcpy(tx, x + i, size_t(nb - i) * sizeof(XB));
    chunk(tw, tx);
  }
  *s = hsum(_mm256_add_ps(acc, acc_min));
}

// ---------------------------------------------------------------------------------------
// Activation converters, bit-identical to the scalar ones.

// One block of 32: d = amax / 127, q = x * (127 / amax) rounded half to even, saturated.
// Returns d (before rounding to fp16) and the sum of the unsaturated rounded values.
struct Q8BlockStats {
  float d;
  int32_t sum;
};
Q8BlockStats act_q8_block(const float* x, f16_bits* d_out, int8_t* qs) {
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_loadu_ps(x + 8 * k);
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
  }
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const float max = _mm_cvtss_f32(m4);
  const float d = max / 127.0f;
  const float id = max != 0.0f ? 127.0f / max : 0.0f;
  *d_out = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
  __m256i q[4];
  for (int k = 0; k < 4; ++k)
    q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], _mm256_set1_ps(id)),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  const __m256i sum8 = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
  __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum8), _mm256_extracti128_si256(sum8, 1));
  s4 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 1));
  // Saturating packs work per 128-bit lane; the permute restores element order.
  const __m256i p16 =
      _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs),
                      _mm256_permutevar8x32_epi32(p16, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  return {d, _mm_cvtsi128_si32(s4)};
}

void act_q8_0(const float* x, void* vy, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(vy);
  for (int64_t i = 0; i < n / QK8_0; ++i) act_q8_block(x + i * QK8_0, &b[i].d, b[i].qs);
}

void act_q8_1(const float* x, void* vy, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(vy);
  for (int64_t i = 0; i < n / QK8_1; ++i) {
    const Q8BlockStats st = act_q8_block(x + i * QK8_1, &b[i].d, b[i].qs);
    b[i].s = _cvtss_sh(st.d * float(st.sum), _MM_FROUND_TO_NEAREST_INT);
  }
}

}  // namespace

void register_legacy_avx2(KernelTable& t) {
  using T = GgmlType;
  t.vec_dot[uint32_t(T::Q4_1)] = dot_quant<Q4_1K>;
  t.vec_dot[uint32_t(T::Q5_0)] = dot_quant<Q5_0K>;
  t.vec_dot[uint32_t(T::Q5_1)] = dot_quant<Q5_1K>;
  t.vec_dot[uint32_t(T::Q8_1)] = dot_quant<Q8_1K>;
  t.quantize_act[uint32_t(T::Q8_0)] = act_q8_0;
  t.quantize_act[uint32_t(T::Q8_1)] = act_q8_1;
}

}  // namespace trident
