// AVX2 packed-group kernels (tensor/repack.h) for the codebook types: IQ4_NL, MXFP4 and
// NVFP4 against Q8_0 activations, IQ4_XS against Q8_K.
//
// The AVX2 twin of packed_nonlinear_avx512.cpp, in halves of 8 rows (bytes 0..31 and 32..63 of
// each 64-byte chunk). vpshufb turns nibbles into their codebook levels. Without VNNI a step is
// vpmaddubsw: E2M1 levels are stored plus 12 (0..24, the unsigned operand; pairs at most
// 2 * 24 * 127, so four steps add up in int16) and 12 * sum(x) comes off, as Q4_0's offset;
// IQ4's levels (up to 127) would saturate that way, so they use the sign trick,
// vpmaddubsw(|w|, x * sign(w)), pairs at most 2 * 127 * 127, widened every step. The float part is the reference's (dot_nonlinear_scalar.cpp), lane by lane:
//   IQ4_NL, MXFP4: per 32,  acc += (d_x * d_w) * float(isum)
//   NVFP4:         per 16,  acc += (d_x * d_s) * float(isum)
//   IQ4_XS:        per 32,  acc += ((x.d * d_w) * float(ls - 32)) * float(isum)
// so every result equals the reference's bits.
#include <immintrin.h>

#include <cstring>

#include "kernels/dot_register.h"
#include "kernels/packed_halves_avx2.h"
#include "kernels/stream_prefetch.h"
#include "tensor/blocks.h"
#include "tensor/codebooks.h"
#include "tensor/repack.h"

namespace trident {
namespace {

constexpr int kTokens = 4;  // per prompt tile: 4 accumulators + 8 weights + temporaries in 16 ymm

__m128i load128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
__m256i load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
__m256i bcast32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

__m256i level_table(const int8_t* values) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(values)));
}
// E2M1's doubled levels plus 12 (0..24): unsigned, so vpmaddubsw takes them as they are.
constexpr int kFP4Offset = 12;
__m256i fp4_offset_table() {
  alignas(16) int8_t t[16];
  for (int i = 0; i < 16; ++i) t[i] = int8_t(kFP4Values[size_t(i)] + kFP4Offset);
  return level_table(t);
}
// Low (hi false) or high nibbles of 32 bytes -> signed levels.
__m256i levels(__m256i table, __m256i v, bool hi) {
  const __m256i nib = _mm256_and_si256(hi ? _mm256_srli_epi16(v, 4) : v, _mm256_set1_epi8(0x0F));
  return _mm256_shuffle_epi8(table, nib);
}
// int16 pairs of w . x for 4 elements per lane (sign trick; exact, see the header).
__m256i pairs(__m256i w, const int8_t* xq) {
  return _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(bcast32(xq), w));
}
__m256i widen(__m256i p) { return _mm256_madd_epi16(p, _mm256_set1_epi16(1)); }

// codebooks.h's e8m0_half_to_fp32 for 8 exponent bytes.
__m256 e8m0_half(const uint8_t* e) {
  const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(e)));
  const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(v, _mm256_set1_epi32(1)), 23);
  const __m256i sub = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), v);
  return _mm256_castsi256_ps(_mm256_blendv_epi8(normal, sub, _mm256_cmpgt_epi32(_mm256_set1_epi32(2), v)));
}

// codebooks.h's ue4m3_half_to_fp32 for byte `s` of each lane.
__m256 ue4m3_half(__m256i lanes, int s) {
  const __m256i x = _mm256_and_si256(_mm256_srli_epi32(lanes, 8 * s), _mm256_set1_epi32(0xFF));
  const __m256i e = _mm256_and_si256(_mm256_srli_epi32(x, 3), _mm256_set1_epi32(0xF));
  const __m256i m = _mm256_and_si256(x, _mm256_set1_epi32(7));
  const __m256i is_normal = _mm256_andnot_si256(_mm256_cmpeq_epi32(e, _mm256_setzero_si256()), _mm256_set1_epi32(8));
  const __m256i mant = _mm256_add_epi32(m, is_normal);
  const __m256i pow2 = _mm256_slli_epi32(_mm256_add_epi32(_mm256_max_epi32(e, _mm256_set1_epi32(1)), _mm256_set1_epi32(116)), 23);
  const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(mant), _mm256_castsi256_ps(pow2));
  return _mm256_andnot_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(x, _mm256_set1_epi32(0x7F))), v);
}

template <int C, int H>
void store(__m256 (&acc)[H][C], int h0, const __m256i* rows, float* y, int64_t ldy) {
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) _mm256_maskstore_ps(y + c * ldy + 8 * (h0 + h), rows[h0 + h], acc[h][c]);
}

// The exact integer dot of half h of a 32-element group of nibbles laid out as Q4_0 (4 chunks
// at q) with each token's 32 quants at xq + c * xs. kFP4: the table holds E2M1 levels + 12,
// whose pairs (at most 2 * 24 * 127) add up in int16 over four steps, and sums[c] = sum x
// takes the offset off; else signed IQ4 levels by the sign trick, widened every step.
template <bool kFP4, int C>
void group32(__m256i table, const uint8_t* q, int h, const int8_t* xq, size_t xs, const int32_t* sums, __m256i* isum) {
  __m256i w[8];
#pragma GCC unroll 4
  for (int s = 0; s < 4; ++s) {
    const __m256i v = load256(q + 64 * s + 32 * h);
    w[s] = levels(table, v, false);
    w[s + 4] = levels(table, v, true);
  }
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) {
    const int8_t* xc = xq + size_t(c) * xs;
    if constexpr (kFP4) {
      __m256i p0 = _mm256_maddubs_epi16(w[0], bcast32(xc)), p1 = _mm256_maddubs_epi16(w[4], bcast32(xc + 16));
#pragma GCC unroll 4
      for (int t = 1; t < 4; ++t) {
        p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(w[t], bcast32(xc + 4 * t)));
        p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(w[t + 4], bcast32(xc + 16 + 4 * t)));
      }
      isum[c] = _mm256_add_epi32(_mm256_set1_epi32(-kFP4Offset * sums[c]), _mm256_add_epi32(widen(p0), widen(p1)));
    } else {
      __m256i a0 = widen(pairs(w[0], xc)), a1 = widen(pairs(w[4], xc + 16));
#pragma GCC unroll 4
      for (int t = 1; t < 4; ++t) {
        a0 = _mm256_add_epi32(a0, widen(pairs(w[t], xc + 4 * t)));
        a1 = _mm256_add_epi32(a1, widen(pairs(w[t + 4], xc + 16 + 4 * t)));
      }
      isum[c] = _mm256_add_epi32(a0, a1);
    }
  }
}

// IQ4_NL and MXFP4 (kMx): 32-element blocks laid out as Q4_0, against Q8_0. Rows 8 h0 ..
// 8 (h0 + H) - 1 x C tokens.
template <bool kMx, int C, int H>
void tile32(int64_t nb, const uint8_t* group, int h0, const uint8_t* x, size_t xs, const PackedActInfo* info,
            const __m256i* rows, float* y, int64_t ldy) {
  constexpr size_t kBlock = kPackRows * 16;
  const __m256i table = kMx ? fp4_offset_table() : level_table(kIQ4NLValues);
  const uint8_t* scales = group + size_t(nb) * kBlock;
  __m256 acc[H][C];
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* q = group + size_t(b) * kBlock;
    if constexpr (C == 1) prefetch_stream<kBlock>(q);
#pragma GCC unroll 2
    for (int hh = 0; hh < H; ++hh) {
      const int h = h0 + hh;
      const __m256 dw = kMx ? e8m0_half(scales + size_t(b) * kPackRows + 8 * h)
                            : _mm256_cvtph_ps(load128(scales + size_t(b) * 32 + 16 * h));
      __m256i isum[C];
      int32_t sums[C];
      for (int c = 0; c < C; ++c) sums[c] = info[c * nb + b].sum;
      group32<kMx, C>(table, q, h, reinterpret_cast<const BlockQ8_0*>(x)[b].qs, xs, sums, isum);
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) {
        const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(info[c * nb + b].d));
        acc[hh][c] = _mm256_add_ps(acc[hh][c], _mm256_mul_ps(d, _mm256_cvtepi32_ps(isum[c])));
      }
    }
  }
  store<C, H>(acc, h0, rows, y, ldy);
}

// NVFP4: 64-element blocks of 9 chunks (repack.h): chunk 0 the scales, sub-block s in the low
// then high nibbles of chunks 1 + 2s and 2 + 2s; activation block 2b + s / 2.
template <int C, int H>
void tile_nvfp4(int64_t nb64, const uint8_t* group, int h0, const uint8_t* x, size_t xs, const PackedActInfo* info,
                const __m256i* rows, float* y, int64_t ldy) {
  const int64_t nb = 2 * nb64;
  const __m256i table = fp4_offset_table();
  __m256 acc[H][C];
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb64; ++b) {
    const uint8_t* col = group + size_t(b) * kPackedNVFP4Block;
    if constexpr (C == 1) prefetch_stream<kPackedNVFP4Block>(col);
#pragma GCC unroll 2
    for (int hh = 0; hh < H; ++hh) {
      const int h = h0 + hh;
      const __m256i sc = load256(col + 32 * h);
#pragma GCC unroll 4
      for (int s = 0; s < 4; ++s) {
        const __m256i v0 = load256(col + 64 * (1 + 2 * s) + 32 * h), v1 = load256(col + 64 * (2 + 2 * s) + 32 * h);
        const __m256i w[4] = {levels(table, v0, false), levels(table, v1, false), levels(table, v0, true),
                              levels(table, v1, true)};
        const __m256 ds = ue4m3_half(sc, s);
        const int64_t xb = 2 * b + s / 2;
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c) {
          const int8_t* xq = reinterpret_cast<const BlockQ8_0*>(x + size_t(c) * xs)[xb].qs + 16 * (s % 2);
          const PackedActInfo& in = info[c * nb + xb];
          __m256i p = _mm256_maddubs_epi16(w[0], bcast32(xq));
#pragma GCC unroll 4
          for (int t = 1; t < 4; ++t) p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w[t], bcast32(xq + 4 * t)));
          const int32_t sum = s % 2 ? in.sum - in.sum_lo : in.sum_lo;
          const __m256i isum = _mm256_add_epi32(widen(p), _mm256_set1_epi32(-kFP4Offset * sum));
          const __m256 d = _mm256_mul_ps(ds, _mm256_set1_ps(in.d));
          acc[hh][c] = _mm256_add_ps(acc[hh][c], _mm256_mul_ps(d, _mm256_cvtepi32_ps(isum)));
        }
      }
    }
  }
  store<C, H>(acc, h0, rows, y, ldy);
}

// IQ4_XS: per super-block (PackedIQ4XS) 8 sub-blocks of 32 laid out as IQ4_NL blocks in chunks
// 4 ib .. 4 ib + 3, each with its float scale d_w * (ls - 32).
template <int C, int H>
void tile_iq4_xs(int64_t nsb, const uint8_t* group, int h0, const uint8_t* x, size_t xs, const __m256i* rows,
                 float* y, int64_t ldy) {
  using L = PackedIQ4XS;
  const __m256i table = level_table(kIQ4NLValues);
  auto act = [&](int c, int64_t s) { return reinterpret_cast<const BlockQ8_K*>(x + size_t(c) * xs) + s; };
  __m256 acc[H][C];
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm256_setzero_ps();
  for (int64_t s = 0; s < nsb; ++s) {
    const uint8_t* sg = group + size_t(s) * L::kBytes;
#pragma GCC unroll 2
    for (int hh = 0; hh < H; ++hh) {
      const int h = h0 + hh;
      const __m256 dw = _mm256_cvtph_ps(load128(sg + L::kD + 16 * h));
      for (int ib = 0; ib < 8; ++ib) {
        // Part by part as the work goes (stream_prefetch.h); a second half finds it cached.
        if (C == 1 && hh == 0 && ib % 2 == 0) prefetch_stream_part<L::kBytes, 4>(sg, ib / 2);
        const __m256 ls = _mm256_cvtepi32_ps(_mm256_sub_epi32(
            _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sg + L::kScales + 16 * ib + 8 * h))),
            _mm256_set1_epi32(32)));
        __m256i isum[C];
        group32<false, C>(table, sg + L::kQs + 64 * 4 * ib, h, act(0, s)->qs + 32 * ib, xs, nullptr, isum);
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c) {
          const __m256 d = _mm256_mul_ps(_mm256_mul_ps(dw, _mm256_set1_ps(act(c, s)->d)), ls);
          acc[hh][c] = _mm256_add_ps(acc[hh][c], _mm256_mul_ps(d, _mm256_cvtepi32_ps(isum[c])));
        }
      }
    }
  }
  store<C, H>(acc, h0, rows, y, ldy);
}

enum class Kind { kIQ4NL, kMXFP4, kNVFP4, kIQ4XS };

// One type's tiles, for over_halves_and_tokens_static (packed_halves_avx2.h).
template <Kind K>
struct Tiles {
  template <int C, int H>
  static void run(int h0, int64_t c, const __m256i* rows, int64_t n, const uint8_t* group, const uint8_t* x,
                  size_t xs, const PackedActInfo* info, float* y, int64_t ldy) {
    x += size_t(c) * xs;
    info += c * (n / 32);
    y += c * ldy;
    if constexpr (K == Kind::kIQ4NL || K == Kind::kMXFP4)
      tile32<K == Kind::kMXFP4, C, H>(n / 32, group, h0, x, xs, info, rows, y, ldy);
    else if constexpr (K == Kind::kNVFP4)
      tile_nvfp4<C, H>(n / QK_NVFP4, group, h0, x, xs, info, rows, y, ldy);
    else
      tile_iq4_xs<C, H>(n / QK_K, group, h0, x, xs, rows, y, ldy);
  }
};

template <Kind K>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t xs, const PackedActInfo* info,
                 int64_t nc, int64_t nrows, float* y, int64_t ldy) {
  over_halves_and_tokens_static<kTokens, Tiles<K>>(nc, nrows, n, group, x, xs, info, y, ldy);
}

}  // namespace

__attribute__((target("arch=x86-64"))) void register_packed_nonlinear_avx2(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::IQ4_NL)] = packed_gemm<Kind::kIQ4NL>;
  t.packed_gemm[uint32_t(GgmlType::MXFP4)] = packed_gemm<Kind::kMXFP4>;
  t.packed_gemm[uint32_t(GgmlType::NVFP4)] = packed_gemm<Kind::kNVFP4>;
  t.packed_gemm[uint32_t(GgmlType::IQ4_XS)] = packed_gemm<Kind::kIQ4XS>;
}

}  // namespace trident
