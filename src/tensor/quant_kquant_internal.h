// Pieces shared by the K-quant converters (tensor/quant_kquant*.cpp) and the K-quant dot
// kernels (kernels/dot_kquant_*.cpp): ggml's rounding and the packed sub-block scales.
//
// Everything here has internal linkage on purpose: the *_avx2.cpp / *_avx512.cpp files
// include this header too, and an inline function with external linkage compiled with
// -mavx2 in one file may be the copy the linker keeps for the baseline files.
#pragma once
#include <cstdint>
#include <cstring>

namespace trident {
namespace {

// ggml's nearest_int: adding 1.5 * 2^23 leaves round(v) (ties to even) in the low mantissa
// bits. Equal to lrintf for |v| < 2^22; beyond that (and for NaN / inf) it returns what
// ggml returns, which the quantizers must reproduce bit for bit.
inline int nearest_int(float v) {
  const float shifted = v + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &shifted, 4);
  return (bits & 0x007fffff) - 0x00400000;
}

// Q4_K / Q5_K: eight 6-bit (scale, min) pairs in 12 bytes, one pair per 32 elements.
//   bytes 0..3 : bits 0..5 = scale j (j = 0..3), bits 6..7 = bits 4..5 of scale j + 4
//   bytes 4..7 : bits 0..5 = min j,              bits 6..7 = bits 4..5 of min j + 4
//   bytes 8..11: low nibble = bits 0..3 of scale j + 4, high nibble = bits 0..3 of min j + 4
// out: 4 little-endian words holding the bytes scale 0..7, then min 0..7 (each 0..63).
// Word-wide so that SIMD code can move the result straight into a vector.
inline void unpack_scale_min_k4_words(const uint8_t* p, uint32_t* out) {
  uint32_t a[3];
  std::memcpy(a, p, 12);
  out[0] = a[0] & 0x3f3f3f3fu;
  out[1] = (a[2] & 0x0f0f0f0fu) | (((a[0] >> 6) & 0x03030303u) << 4);
  out[2] = a[1] & 0x3f3f3f3fu;
  out[3] = ((a[2] >> 4) & 0x0f0f0f0fu) | (((a[1] >> 6) & 0x03030303u) << 4);
}
// sc, mn: [8].
inline void unpack_scale_min_k4(const uint8_t* p, uint8_t* sc, uint8_t* mn) {
  uint32_t w[4];
  unpack_scale_min_k4_words(p, w);
  std::memcpy(sc, w, 8);
  std::memcpy(mn, w + 2, 8);
}

// Q3_K: sixteen 6-bit scales in 12 bytes, stored with a bias of 32, one per 16 elements.
//   bytes 0..7 : low nibble = bits 0..3 of scale j, high nibble = bits 0..3 of scale j + 8
//   bytes 8..11: bits 2k..2k+1 of byte 8 + (j % 4) = bits 4..5 of scale j, where k = j / 4
// out: 4 little-endian words holding the biased scales 0..15 as bytes (each 0..63).
inline void unpack_scales_q3k_words(const uint8_t* p, uint32_t* out) {
  uint32_t a[3];
  std::memcpy(a, p, 12);
  out[0] = (a[0] & 0x0f0f0f0fu) | ((a[2] & 0x03030303u) << 4);
  out[1] = (a[1] & 0x0f0f0f0fu) | (((a[2] >> 2) & 0x03030303u) << 4);
  out[2] = ((a[0] >> 4) & 0x0f0f0f0fu) | (((a[2] >> 4) & 0x03030303u) << 4);
  out[3] = ((a[1] >> 4) & 0x0f0f0f0fu) | (((a[2] >> 6) & 0x03030303u) << 4);
}
// sc: [16] values in -32..31 (bias removed).
inline void unpack_scales_q3k(const uint8_t* p, int8_t* sc) {
  uint32_t w[4];
  unpack_scales_q3k_words(p, w);
  uint8_t biased[16];
  std::memcpy(biased, w, 16);
  for (int j = 0; j < 16; ++j) sc[j] = int8_t(biased[j] - 32);
}

}  // namespace
}  // namespace trident
