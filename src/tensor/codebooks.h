// The value tables and small-float scale formats of the non-linear 4-bit types (IQ4_NL,
// IQ4_XS, MXFP4, NVFP4), as the GGUF format defines them.
//
// Internal linkage on purpose (static / unnamed namespace): the *_avx2.cpp / *_avx512.cpp
// files include this header too (see quant_kquant_internal.h).
#pragma once
#include <array>
#include <cstdint>

#include "tensor/fp16.h"

namespace trident {
namespace {

// IQ4_NL / IQ4_XS codebook: the 16 signed levels a nibble selects. These numbers are the
// format's definition, stated as llama.cpp 3f545bec defines them (kvalues_iq4nl in
// ggml/src/ggml-common.h): a non-uniform grid, denser near zero.
constexpr int8_t kIQ4NLValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};

// E2M1 (OCP Microscaling Formats v1.0, section 5.3.3: 1 sign bit, 2 exponent bits with bias 1,
// 1 mantissa bit, no infinities or NaN), doubled so that every value is an integer:
// 0, 0.5, 1, 1.5, 2, 3, 4, 6 -> 0, 1, 2, 3, 4, 6, 8, 12; bit 3 is the sign. MXFP4 and NVFP4
// share it (llama.cpp's kvalues_mxfp4 holds the same doubled values).
constexpr std::array<int8_t, 16> make_fp4_values() {
  std::array<int8_t, 16> v{};
  for (int q = 0; q < 16; ++q) {
    const int e = (q >> 1) & 3, m = q & 1;
    const int twice = e == 0 ? m : (2 + m) << (e - 1);  // 2 * (1 + m / 2) * 2^(e - 1)
    v[size_t(q)] = int8_t(q & 8 ? -twice : twice);
  }
  return v;
}
constexpr std::array<int8_t, 16> kFP4Values = make_fp4_values();
static_assert(kFP4Values[7] == 12 && kFP4Values[13] == -6 && kFP4Values[8] == 0);

// MXFP4's shared scale is E8M0, 2^(e - 127); with the doubled E2M1 table it is used halved,
// 2^(e - 128). e = 0 and 1 give the float subnormals 2^-128 and 2^-127; e = 255 (the format's
// NaN) reads as 2^127, as llama.cpp reads it.
static inline float e8m0_half_to_fp32(uint8_t e) {
  return f32_from_bits(e < 2 ? 0x00200000u << e : uint32_t(e - 1) << 23);
}

// NVFP4's per-16 scale is UE4M3 (unsigned E4M3: 4 exponent bits with bias 7, 3 mantissa bits),
// likewise used halved. As llama.cpp reads it: 0x7F (E4M3's NaN) is 0, and bit 7 is ignored
// otherwise. Normal: (8 + m) * 2^(e - 7 - 3) / 2;
// subnormal (e = 0): m * 2^-9 / 2. Both exact in float, which is how the SIMD kernels decode it.
static inline float ue4m3_half_to_fp32(uint8_t x) {
  if (x == 0x7F) return 0.0f;
  const int e = (x >> 3) & 0xF, m = x & 7;
  const int mant = e == 0 ? m : 8 + m;
  const int exp2 = (e == 0 ? 1 : e) - 11;                   // -10 .. 4
  return float(mant) * f32_from_bits(uint32_t(exp2 + 127) << 23);
}

// The UE4M3 code llama.cpp's reference quantizer picks for a positive scale x: clamp to 448,
// subnormals rounded half up, normals rounded on the first dropped mantissa bit (half up),
// a mantissa carry bumping the exponent, anything at or past exponent 15 saturating to 0x7E.
static inline uint8_t fp32_to_ue4m3(float x) {
  if (!(x > 0.0f)) return 0;
  if (x > 448.0f) x = 448.0f;
  const uint32_t bits = bits_from_f32(x);
  int e = int((bits >> 23) & 0xFF) - 127 + 7;
  if (e <= 0) {
    int m = int(x * 512.0f + 0.5f);
    if (m > 7) m = 7;
    return m < 1 ? 0 : uint8_t(m);
  }
  if (e >= 15) return 0x7E;
  int m = int((bits >> 20) & 7) + int((bits >> 19) & 1);
  if (m > 7) {
    m = 0;
    if (++e >= 15) return 0x7E;
  }
  return uint8_t(e << 3 | m);
}

}  // namespace
}  // namespace trident
