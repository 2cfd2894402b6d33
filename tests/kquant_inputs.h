// Deterministic inputs and small helpers shared by the K-quant tests (kquant_test.cpp,
// kquant_quantize_test.cpp). Only exact float operations, so every machine gets the same rows.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "tensor/blocks.h"
#include "tensor/types.h"

namespace trident::kquant_test {

struct Rng {
  uint64_t s;
  uint64_t next() {  // splitmix64
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return float(next() >> 40) * 0x1p-24f; }  // [0, 1)
  float normalish() { return uniform() + uniform() + uniform() + uniform() - 2.f; }
};

// A row of n floats whose blocks cycle through shapes that reach the quantizers' special
// paths: plain, small with outliers, all non-negative, ties (multiples of 1/8), sparse, a zero
// sub-block, below ggml's 1e-15 group threshold, and an all-zero block.
inline std::vector<float> test_row(uint64_t seed, int64_t n) {
  Rng rng{seed};
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int kind = int(i / QK_K) % 8, e = int(i % QK_K);
    float v = rng.normalish();
    switch (kind) {
      case 1:
        v = (e % 37 == 0) ? 20.f * v : 1e-3f * v;
        break;
      case 2:
        v = std::fabs(v);
        break;
      case 3:
        v = float(int(v * 8.f)) / 8.f;
        break;
      case 4:
        v = (rng.next() & 3) ? 0.f : v;
        break;
      case 5:
        v = (e / 16 == 5) ? 0.f : v;
        break;
      case 6:
        v = 1e-20f * v;
        break;
      case 7:
        v = 0.f;
        break;
      default:
        break;
    }
    x[size_t(i)] = v;
  }
  return x;
}

inline uint64_t fnv1a(const void* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const uint8_t*>(p)[i]) * 0x100000001b3ull;
  return h;
}
inline std::vector<uint8_t> quantize(GgmlType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(row_bytes(t, int64_t(x.size())));
  type_traits(t)->quantize_row(x.data(), q.data(), int64_t(x.size()));
  return q;
}
inline std::vector<float> dequantize(GgmlType t, const void* q, int64_t n) {
  std::vector<float> x(static_cast<size_t>(n));
  type_traits(t)->dequantize_row(q, x.data(), n);
  return x;
}
}  // namespace trident::kquant_test
