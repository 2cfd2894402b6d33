// IEEE half and bfloat16 <-> float, bit-exact, with no ISA requirement (SIMD files use F16C).
// `static`: this header is also compiled into the per-ISA kernel files, and an out-of-line copy
// built with AVX flags must never be what baseline code links to.
#pragma once
#include <cstdint>
#include <cstring>

namespace trident {

using f16_bits = uint16_t;
using bf16_bits = uint16_t;

static inline float f32_from_bits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline uint32_t bits_from_f32(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

static inline float fp16_to_fp32(f16_bits h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24 is exact in float
    const float v = float(mant) * (1.0f / 16777216.0f);
    return f32_from_bits(bits_from_f32(v) | sign);
  }
  if (exp == 31) return f32_from_bits(sign | 0x7f800000u | (mant << 13));  // inf / nan
  return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

// Round to nearest even; overflow goes to inf, NaN stays NaN.
static inline f16_bits fp32_to_fp16(float f) {
  const uint32_t u = bits_from_f32(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // nan
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (a < 0x38800000u) {  // below the smallest normal half (2^-14): subnormal or zero
    if (a < 0x33000000u) return sign;  // below half of the smallest subnormal (2^-25)
    const uint32_t e = a >> 23;              // 102..112
    const uint32_t m = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;          // 14..24: brings m to units of 2^-24
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    return uint16_t(sign | q);
  }
  uint32_t r = a - (112u << 23);             // rebias exponent
  const uint32_t rem = r & 0x1fffu;
  r >>= 13;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1))) ++r;  // carry into exponent is correct
  return uint16_t(sign | r);
}

static inline float bf16_to_fp32(bf16_bits h) { return f32_from_bits(uint32_t(h) << 16); }

// Round to nearest even; NaN stays a quiet NaN (as ggml does).
static inline bf16_bits fp32_to_bf16(float f) {
  uint32_t u = bits_from_f32(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16_bits((u >> 16) | 64);
  return bf16_bits((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

}  // namespace trident
