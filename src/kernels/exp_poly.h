// The engine's exp for softmax and activations, shared by the scalar reference and every SIMD
// variant (exp_avx2.h, exp_avx512.h), which evaluate it with the same operations lane by lane.
#pragma once
#include <cmath>
#include <cstdint>

namespace trident {

// exp(x) as a Cephes-style polynomial that SIMD code evaluates with the same operations, so it
// gives the same bits: n = round(x / ln2), r = x - n ln2 (two-part ln2, fma), degree-7
// polynomial, times 2^n. Relative error within 2 ulp for x in [-87, 88] (attention_test
// checks against double exp); x < -87 (also -inf and NaN) gives 0, x > 88 gives exp(88).
inline constexpr float kExpLo = -87.0f, kExpHi = 88.0f, kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
inline constexpr float kExpP[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                   4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

inline float exp_poly(float x) {
  if (!(x >= kExpLo)) return 0.0f;
  x = x < kExpHi ? x : kExpHi;
  const float n = std::nearbyint(x * kLog2e);
  float r = std::fma(n, -kLn2Hi, x);
  r = std::fma(n, -kLn2Lo, r);
  float p = kExpP[0];
  for (int i = 1; i < 6; ++i) p = std::fma(p, r, kExpP[i]);
  const float y = std::fma(p, r * r, r) + 1.0f;
  const uint32_t bits = uint32_t(int32_t(n) + 127) << 23;
  float two_n;
  __builtin_memcpy(&two_n, &bits, 4);
  return y * two_n;
}

}  // namespace trident
