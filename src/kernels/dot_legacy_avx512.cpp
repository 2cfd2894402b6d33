// AVX-512 (F/BW/VL/DQ/VNNI, F16C) kernels for the legacy quants and the activation converters
// (float weights use the packed kernels, packed_float_avx512.cpp). vec_dot matches dot_legacy_scalar.cpp up to float reassociation; quantize_act matches it
// bit for bit. Every loop's shape depends only on n, never on pointer alignment, so a given
// input always gives the same bits.

// GCC 12 warns about the intentionally undefined registers inside its own AVX-512 intrinsics
// once they are inlined (GCC bug 105593); the warning says nothing about this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/dot_register.h"
#include "tensor/blocks.h"

namespace trident {
namespace {

// ---------------------------------------------------------------------------------------
// Quant dots. Blocks go two to a register: bytes [0, 32) hold block i's 32 weight quants in
// element order, bytes [32, 64) block i + 1's, matching two activation blocks' qs side by
// side. Weight quants are made unsigned (q = w + kOffset, 0..255) so vpdpbusd can multiply
// them by the signed activation quants; kOffset * sum(x quants) is subtracted in int32.
// Each int32 lane (4 products of one block) is converted to float and FMA'd with that
// block's d_w * d_x; blocks are taken four at a time, then one at a time in 256-bit lanes.

__m512i pair256(const void* lo, const void* hi) {
  return _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_loadu_si256(static_cast<const __m256i*>(lo))),
      _mm256_loadu_si256(static_cast<const __m256i*>(hi)), 1);
}

// 16 bytes of nibbles -> [low nibbles, high nibbles] = elements 0..31 of the block.
__m256i nibbles1(const uint8_t* qs) {
  __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  v = _mm256_mask_srli_epi16(v, 0xFF00, v, 4);
  return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}
__m512i nibbles2(const uint8_t* qs0, const uint8_t* qs1) {
  __m512i v = _mm512_inserti64x4(
      _mm512_castsi256_si512(
          _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs0)))),
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs1))), 1);
  v = _mm512_mask_srli_epi16(v, 0xFF00FF00u, v, 4);
  return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}
uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Per weight type: the block, its activation block, kOffset, and the unsigned quants of one
// block (256 bits) or two consecutive blocks (512 bits).
struct Q4_1K {
  using Block = BlockQ4_1;
  using Act = BlockQ8_1;
  static constexpr int kOffset = 0;
  static __m256i quants1(const Block* b) { return nibbles1(b->qs); }
  static __m512i quants2(const Block* b) { return nibbles2(b[0].qs, b[1].qs); }
};
// Bit j of qh is bit 4 of element j: a byte mask, applied as + 16.
template <class B>
__m256i q5_quants1(const B* b) {
  const __m256i q = nibbles1(b->qs);
  return _mm256_mask_add_epi8(q, _cvtu32_mask32(load_u32(b->qh)), q, _mm256_set1_epi8(16));
}
template <class B>
__m512i q5_quants2(const B* b) {
  const __m512i q = nibbles2(b[0].qs, b[1].qs);
  const uint64_t bits = uint64_t(load_u32(b[0].qh)) | uint64_t(load_u32(b[1].qh)) << 32;
  return _mm512_mask_add_epi8(q, _cvtu64_mask64(bits), q, _mm512_set1_epi8(16));
}
struct Q5_0K {
  using Block = BlockQ5_0;
  using Act = BlockQ8_0;
  static constexpr int kOffset = 16;
  static __m256i quants1(const Block* b) { return q5_quants1(b); }
  static __m512i quants2(const Block* b) { return q5_quants2(b); }
};
struct Q5_1K {
  using Block = BlockQ5_1;
  using Act = BlockQ8_1;
  static constexpr int kOffset = 0;
  static __m256i quants1(const Block* b) { return q5_quants1(b); }
  static __m512i quants2(const Block* b) { return q5_quants2(b); }
};
// Signed 8-bit weights: flipping the sign bit adds 128.
struct Q8_1K {
  using Block = BlockQ8_1;
  using Act = BlockQ8_1;
  static constexpr int kOffset = 128;
  static __m256i quants1(const Block* b) {
    return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qs)),
                            _mm256_set1_epi8(char(0x80)));
  }
  static __m512i quants2(const Block* b) {
    return _mm512_xor_si512(pair256(b[0].qs, b[1].qs), _mm512_set1_epi8(char(0x80)));
  }
};

template <class B>
constexpr bool has_min() {
  return requires(B b) { b.m; };
}

// The fp16 fields of four consecutive blocks (d at byte 0, and m or s at byte 2) are
// collected with two 64-byte loads inside the group and one word permute. kSecond is where
// the second load starts: both loads stay within the 4 blocks and together cover all fields.
template <class B>
struct GroupFp16 {
  static constexpr int kBytes = int(sizeof(B));
  static constexpr int kSecond = kBytes <= 32 ? 4 * kBytes - 64 : 2 * kBytes;
  static constexpr bool in_first(int off) { return off + 2 <= 64; }
  static constexpr bool in_second(int off) { return off >= kSecond && off + 2 <= kSecond + 64; }
  static constexpr uint16_t word(int off) {
    return in_first(off) ? uint16_t(off / 2) : uint16_t((off - kSecond) / 2 + 32);
  }
  static constexpr bool covered() {
    for (int k = 0; k < 4; ++k)
      for (int f = 0; f <= 2; f += 2)
        if (!in_first(k * kBytes + f) && !in_second(k * kBytes + f)) return false;
    return 4 * kBytes >= kSecond + 64 && kBytes % 2 == 0;
  }
  static_assert(covered());
  // Words 0..3: d of blocks 0..3; words 4..7: the field at byte 2 (m or s, else ignored).
  alignas(64) static constexpr uint16_t kIndex[32] = {
      word(0), word(kBytes),     word(2 * kBytes),     word(3 * kBytes),
      word(2), word(kBytes + 2), word(2 * kBytes + 2), word(3 * kBytes + 2)};
  static __m128i load(const B* b, __m512i index) {
    const auto* p = reinterpret_cast<const uint8_t*>(b);
    return _mm512_castsi512_si128(
        _mm512_permutex2var_epi16(_mm512_loadu_si512(p), index, _mm512_loadu_si512(p + kSecond)));
  }
};

// Per int32 lane of two blocks: sum of 4 products (q - kOffset) * x.
template <int kOffset>
__m512i block_dot2(__m512i q, __m512i y) {
  const __m512i t = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, y);
  if constexpr (kOffset == 0) return t;
  const __m512i c = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(char(kOffset)), y);
  return _mm512_sub_epi32(t, c);
}
template <int kOffset>
__m256i block_dot1(__m256i q, __m256i y) {
  const __m256i t = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, y);
  if constexpr (kOffset == 0) return t;
  const __m256i c = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(char(kOffset)), y);
  return _mm256_sub_epi32(t, c);
}

// w: n / 32 blocks of K::Block; x: n / 32 blocks of K::Act.
template <class K>
void dot_quant(int64_t n, float* s, const void* vw, const void* vx) {
  using WB = typename K::Block;
  using XB = typename K::Act;
  constexpr bool kMin = has_min<WB>();
  const auto* w = static_cast<const WB*>(vw);
  const auto* x = static_cast<const XB*>(vx);
  const int64_t nb = n / 32;
  const __m512i w_index = _mm512_load_si512(GroupFp16<WB>::kIndex);
  const __m512i x_index = _mm512_load_si512(GroupFp16<XB>::kIndex);
  const __m512i lanes01 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i lanes23 = _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m128 acc_min = _mm_setzero_ps();  // sum of m * s, 4 lanes
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    __m128 d4;  // d_w * d_x of the 4 blocks
    if constexpr (kMin) {
      const __m256 p = _mm256_mul_ps(_mm256_cvtph_ps(GroupFp16<WB>::load(w + i, w_index)),
                                     _mm256_cvtph_ps(GroupFp16<XB>::load(x + i, x_index)));
      d4 = _mm256_castps256_ps128(p);
      acc_min = _mm_add_ps(acc_min, _mm256_extractf128_ps(p, 1));
    } else {
      d4 = _mm_mul_ps(_mm_cvtph_ps(GroupFp16<WB>::load(w + i, w_index)),
                      _mm_cvtph_ps(GroupFp16<XB>::load(x + i, x_index)));
    }
    const __m512 d = _mm512_castps128_ps512(d4);
    const __m512i t01 = block_dot2<K::kOffset>(K::quants2(w + i), pair256(x[i].qs, x[i + 1].qs));
    const __m512i t23 =
        block_dot2<K::kOffset>(K::quants2(w + i + 2), pair256(x[i + 2].qs, x[i + 3].qs));
    acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t01), _mm512_permutexvar_ps(lanes01, d), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t23), _mm512_permutexvar_ps(lanes23, d), acc1);
  }
  __m256 acc_tail = _mm256_setzero_ps();
  float min_tail = 0.0f;
  for (; i < nb; ++i) {
    const __m256i t = block_dot1<K::kOffset>(
        K::quants1(w + i), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs)));
    const float d = _cvtsh_ss(w[i].d) * _cvtsh_ss(x[i].d);
    acc_tail = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), _mm256_set1_ps(d), acc_tail);
    if constexpr (kMin) min_tail += _cvtsh_ss(w[i].m) * _cvtsh_ss(x[i].s);
  }
  const __m256 acc =
      _mm256_add_ps(_mm256_add_ps(_mm512_castps512_ps256(_mm512_add_ps(acc0, acc1)),
                                  _mm512_extractf32x8_ps(_mm512_add_ps(acc0, acc1), 1)),
                    acc_tail);
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  r = _mm_add_ps(r, acc_min);
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  *s = _mm_cvtss_f32(r) + min_tail;
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
  const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  *d_out = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
  constexpr int kRne = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m512 m = _mm512_set1_ps(id);
  const __m512i i0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v0, m), kRne);
  const __m512i i1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v1, m), kRne);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtsepi32_epi8(i0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtsepi32_epi8(i1));
  // Summed with vector adds, which wrap: NaN activations convert to INT32_MIN, and the scalar
  // reduction of _mm512_reduce_add_epi32 would overflow a signed int (undefined behaviour).
  const __m512i s16 = _mm512_add_epi32(i0, i1);
  const __m256i s8 = _mm256_add_epi32(_mm512_castsi512_si256(s16), _mm512_extracti64x4_epi64(s16, 1));
  __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
  s4 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 1));
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

void register_legacy_avx512(KernelTable& t) {
  using T = GgmlType;
  t.vec_dot[uint32_t(T::Q4_1)] = dot_quant<Q4_1K>;
  t.vec_dot[uint32_t(T::Q5_0)] = dot_quant<Q5_0K>;
  t.vec_dot[uint32_t(T::Q5_1)] = dot_quant<Q5_1K>;
  t.vec_dot[uint32_t(T::Q8_1)] = dot_quant<Q8_1K>;
  t.quantize_act[uint32_t(T::Q8_0)] = act_q8_0;
  t.quantize_act[uint32_t(T::Q8_1)] = act_q8_1;
}

}  // namespace trident
