// AVX-512 VNNI packed-group kernels (tensor/repack.h) for the codebook types: IQ4_NL, MXFP4
// and NVFP4 against Q8_0 activations, IQ4_XS against Q8_K.
//
// As for Q4_0 (packed_avx512.cpp), one zmm holds the same 4 nibble bytes of 16 rows. vpshufb
// turns the nibbles into their codebook levels (IQ4_NL's 16 levels, E2M1's doubled values),
// stored plus 128 so that they are the unsigned operand of vpdpbusd; the accumulator starts at
// -128 * sum(activation quants of the group), which makes each scale group's integer dot exact.
// The float part is the reference's (dot_nonlinear_scalar.cpp), lane by lane:
//   IQ4_NL, MXFP4: per 32,  acc += (d_x * d_w) * float(isum)
//   NVFP4:         per 16,  acc += (d_x * d_s) * float(isum)
//   IQ4_XS:        per 32,  acc += ((x.d * d_w) * float(ls - 32)) * float(isum)
// so the results equal the reference bit for bit. The small-float scales are decoded in
// integer arithmetic to the same floats codebooks.h computes.

// GCC 12 warns about the intentionally undefined registers inside its own AVX-512 intrinsics
// once they are inlined (GCC bug 105593); the warning says nothing about this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "kernels/dot_register.h"
#include "kernels/packed_tiling.h"
#include "kernels/stream_prefetch.h"
#include "tensor/blocks.h"
#include "tensor/codebooks.h"
#include "tensor/repack.h"

namespace trident {
namespace {

__m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }
__m128i load128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
__m512i bcast32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// The 16 levels plus 128, as bytes, in each 128-bit lane (vpshufb looks up within a lane).
__m512i level_table(const int8_t* values) {
  alignas(16) uint8_t t[16];
  for (int i = 0; i < 16; ++i) t[i] = uint8_t(values[i] + 128);
  return _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
}

// Low (hi false) or high nibbles of a chunk -> levels + 128.
__m512i levels(__m512i table, __m512i v, bool hi) {
  const __m512i nib = _mm512_and_si512(hi ? _mm512_srli_epi16(v, 4) : v, _mm512_set1_epi8(0x0F));
  return _mm512_shuffle_epi8(table, nib);
}

// codebooks.h's e8m0_half_to_fp32 for 16 exponent bytes: 2^(e - 128), e < 2 as the subnormal
// 0x00200000 << e.
__m512 e8m0_half(const uint8_t* e) {
  const __m512i v = _mm512_cvtepu8_epi32(load128(e));
  const __m512i normal = _mm512_slli_epi32(_mm512_sub_epi32(v, _mm512_set1_epi32(1)), 23);
  const __m512i sub = _mm512_sllv_epi32(_mm512_set1_epi32(0x00200000), v);
  return _mm512_castsi512_ps(_mm512_mask_blend_epi32(_mm512_cmplt_epu32_mask(v, _mm512_set1_epi32(2)), normal, sub));
}

// codebooks.h's ue4m3_half_to_fp32 for byte `s` of each lane: (8 + m or m) * 2^(max(e, 1) - 11),
// 0 for 0x7F.
__m512 ue4m3_half(__m512i lanes, int s) {
  const __m512i x = _mm512_and_si512(_mm512_srli_epi32(lanes, 8 * s), _mm512_set1_epi32(0xFF));
  const __m512i e = _mm512_and_si512(_mm512_srli_epi32(x, 3), _mm512_set1_epi32(0xF));
  const __m512i m = _mm512_and_si512(x, _mm512_set1_epi32(7));
  const __mmask16 normal = _mm512_test_epi32_mask(e, e);
  const __m512i mant = _mm512_mask_add_epi32(m, normal, m, _mm512_set1_epi32(8));
  const __m512i pow2 = _mm512_slli_epi32(_mm512_add_epi32(_mm512_max_epi32(e, _mm512_set1_epi32(1)), _mm512_set1_epi32(116)), 23);
  const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(mant), _mm512_castsi512_ps(pow2));
  return _mm512_maskz_mov_ps(_mm512_cmpneq_epi32_mask(x, _mm512_set1_epi32(0x7F)), v);
}

// The exact integer dot of a 32-element group of nibbles laid out as Q4_0 (4 chunks at q) with
// each token's 32 quants at xq + c * xs, isum = sum levels * x given sums[c] = sum x, handed to
// finish(c, isum) token by token: two chains of 4 per token keep few accumulators live.
template <int C, class Finish>
void group32(__m512i table, const uint8_t* q, const int8_t* xq, size_t xs, const int32_t* sums, Finish&& finish) {
  __m512i w[8];
#pragma GCC unroll 4
  for (int s = 0; s < 4; ++s) {
    const __m512i v = load512(q + 64 * s);
    w[s] = levels(table, v, false);     // elements 4s..4s+3
    w[s + 4] = levels(table, v, true);  // elements 16+4s..
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) {
    const int8_t* xc = xq + size_t(c) * xs;
    __m512i a0 = _mm512_set1_epi32(-128 * sums[c]), a1 = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int t = 0; t < 4; ++t) {
      a0 = _mm512_dpbusd_epi32(a0, w[t], bcast32(xc + 4 * t));
      a1 = _mm512_dpbusd_epi32(a1, w[t + 4], bcast32(xc + 16 + 4 * t));
    }
    finish(c, _mm512_add_epi32(a0, a1));
  }
}

// IQ4_NL and MXFP4: 32-element blocks laid out as Q4_0, against Q8_0. kMx: MXFP4 (E8M0 bytes
// after the quants) rather than IQ4_NL (fp16 d after the quants).
template <bool kMx, int C>
void tile32(int64_t nb, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo* info,
            __mmask16 rows, float* y, int64_t ldy) {
  constexpr size_t kBlock = kPackRows * 16;
  const __m512i table = level_table(kMx ? kFP4Values.data() : kIQ4NLValues);
  const uint8_t* scales = group + size_t(nb) * kBlock;
  __m512 acc[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* q = group + size_t(b) * kBlock;
    if constexpr (C == 1) prefetch_stream<kBlock>(q);
    const __m512 dw = kMx ? e8m0_half(scales + size_t(b) * kPackRows)
                          : _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + size_t(b) * 32)));
    int32_t sums[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) sums[c] = info[c * nb + b].sum;
    group32<C>(table, q, reinterpret_cast<const BlockQ8_0*>(x)[b].qs, xs, sums, [&](int c, __m512i isum) {
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(info[c * nb + b].d));
      acc[c] = _mm512_add_ps(acc[c], _mm512_mul_ps(d, _mm512_cvtepi32_ps(isum)));
    });
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) _mm512_mask_storeu_ps(y + c * ldy, rows, acc[c]);
}

// NVFP4: 64-element blocks of 9 chunks (repack.h): chunk 0 the scales, sub-block s (16
// elements) in the low then high nibbles of chunks 1 + 2s and 2 + 2s. Activation block 2b + s/2.
template <int C>
void tile_nvfp4(int64_t nb64, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo* info,
                __mmask16 rows, float* y, int64_t ldy) {
  const int64_t nb = 2 * nb64;  // Q8_0 blocks per token
  const __m512i table = level_table(kFP4Values.data());
  __m512 acc[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb64; ++b) {
    const uint8_t* col = group + size_t(b) * kPackedNVFP4Block;
    if constexpr (C == 1) prefetch_stream<kPackedNVFP4Block>(col);
    const __m512i sc = load512(col);
#pragma GCC unroll 4
    for (int s = 0; s < 4; ++s) {
      const __m512i v0 = load512(col + 64 * (1 + 2 * s)), v1 = load512(col + 64 * (2 + 2 * s));
      const __m512i w[4] = {levels(table, v0, false), levels(table, v1, false), levels(table, v0, true), levels(table, v1, true)};
      const __m512 ds = ue4m3_half(sc, s);
      const int64_t xb = 2 * b + s / 2;
      const int8_t* xq = reinterpret_cast<const BlockQ8_0*>(x)[xb].qs + 16 * (s % 2);
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) {
        const PackedActInfo& in = info[c * nb + xb];
        const int8_t* xc = xq + size_t(c) * xs;
        __m512i a0 = _mm512_set1_epi32(-128 * (s % 2 ? in.sum - in.sum_lo : in.sum_lo)), a1 = _mm512_setzero_si512();
#pragma GCC unroll 2
        for (int t = 0; t < 2; ++t) {
          a0 = _mm512_dpbusd_epi32(a0, w[t], bcast32(xc + 4 * t));
          a1 = _mm512_dpbusd_epi32(a1, w[t + 2], bcast32(xc + 8 + 4 * t));
        }
        const __m512 d = _mm512_mul_ps(ds, _mm512_set1_ps(in.d));
        acc[c] = _mm512_add_ps(acc[c], _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_add_epi32(a0, a1))));
      }
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) _mm512_mask_storeu_ps(y + c * ldy, rows, acc[c]);
}

// IQ4_XS: per super-block (PackedIQ4XS) 8 sub-blocks of 32, each laid out as an IQ4_NL block
// in chunks 4 ib .. 4 ib + 3, with its own float scale d_w * (ls - 32).
template <int C>
void tile_iq4_xs(int64_t nsb, const uint8_t* group, const uint8_t* x, size_t xs, __mmask16 rows, float* y,
                 int64_t ldy) {
  using L = PackedIQ4XS;
  const __m512i table = level_table(kIQ4NLValues);
  auto act = [&](int c, int64_t s) { return reinterpret_cast<const BlockQ8_K*>(x + size_t(c) * xs) + s; };
  __m512 acc[C];
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* sg = group + size_t(s) * L::kBytes;
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sg + L::kD)));
    for (int ib = 0; ib < 8; ++ib) {
      if (C == 1 && ib % 2 == 0) prefetch_stream_part<L::kBytes, 4>(sg, ib / 2);
      const __m512 ls = _mm512_cvtepi32_ps(
          _mm512_sub_epi32(_mm512_cvtepu8_epi32(load128(sg + L::kScales + 16 * ib)), _mm512_set1_epi32(32)));
      int32_t sums[C];
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) sums[c] = act(c, s)->bsums[2 * ib] + act(c, s)->bsums[2 * ib + 1];
      group32<C>(table, sg + L::kQs + 64 * 4 * ib, act(0, s)->qs + 32 * ib, xs, sums, [&](int c, __m512i isum) {
        const __m512 d = _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_set1_ps(act(c, s)->d)), ls);
        acc[c] = _mm512_add_ps(acc[c], _mm512_mul_ps(d, _mm512_cvtepi32_ps(isum)));
      });
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) _mm512_mask_storeu_ps(y + c * ldy, rows, acc[c]);
}

enum class Kind { kIQ4NL, kMXFP4, kNVFP4, kIQ4XS };

// Tokens go 8 at a time (a step's weights are looked up once per 8 tokens), then 4, then 1.
template <Kind K>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo* info,
                 int64_t nc, int64_t nrows, float* y, int64_t ldy) {
  const __mmask16 rows = __mmask16((1u << nrows) - 1);
  const int64_t nb = n / 32;
  over_token_tiles<8, 4, 1>(nc, [&]<int C>(int64_t c) {
    const uint8_t* xc = x + size_t(c) * xs;
    float* yc = y + c * ldy;
    if constexpr (K == Kind::kIQ4NL || K == Kind::kMXFP4)
      tile32<K == Kind::kMXFP4, C>(nb, group, xc, xs, info + c * nb, rows, yc, ldy);
    else if constexpr (K == Kind::kNVFP4)
      tile_nvfp4<C>(n / QK_NVFP4, group, xc, xs, info + c * nb, rows, yc, ldy);
    else
      tile_iq4_xs<C>(n / QK_K, group, xc, xs, rows, yc, ldy);
  });
}

}  // namespace

// Keeps the pointer stores free of this file's ISA flags (GCC may merge them into vector
// stores), like the dot files' register functions.
__attribute__((target("arch=x86-64"))) void register_packed_nonlinear_avx512(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::IQ4_NL)] = packed_gemm<Kind::kIQ4NL>;
  t.packed_gemm[uint32_t(GgmlType::MXFP4)] = packed_gemm<Kind::kMXFP4>;
  t.packed_gemm[uint32_t(GgmlType::NVFP4)] = packed_gemm<Kind::kNVFP4>;
  t.packed_gemm[uint32_t(GgmlType::IQ4_XS)] = packed_gemm<Kind::kIQ4XS>;
}

}  // namespace trident
