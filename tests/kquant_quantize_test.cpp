// K-quants: the reference weight quantizers (Q2_K..Q6_K), against ggml's own output on the
// deterministic rows of kquant_inputs.h (hashes recorded from llama.cpp 3f545bec's
// ggml-quants.c), a round-trip error bound, and llama-quantize's files in ../shared/golden.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "format/gguf.h"
#include "kquant_inputs.h"
#include "tensor/blocks.h"
#include "tensor/types.h"

namespace trident {
namespace {

using namespace kquant_test;

constexpr uint32_t idx(GgmlType t) { return uint32_t(t); }

// FNV-1a of ggml's quantize_row_qX_K_ref(test_row(1000 + type, 32 * 256)) and of ggml's
// dequantize_row_qX_K of that (llama.cpp 3f545bec).
struct GgmlQuantHash {
  GgmlType type;
  uint64_t quantized, dequantized;
};
constexpr GgmlQuantHash kGgmlQuantHashes[] = {
    {GgmlType::Q2_K, 0x13c5c5ff100fec17ull, 0x03ca2a3f68a04df6ull},
    {GgmlType::Q3_K, 0x9f6584c4086b4049ull, 0x9f88205cce1b62d6ull},
    {GgmlType::Q4_K, 0x6c091295dd12fd4eull, 0x6435bd4437081f27ull},
    {GgmlType::Q5_K, 0xa7c02dc29a302767ull, 0x8f403e800c481da3ull},
    {GgmlType::Q6_K, 0x97ab7ef1e1daf5d4ull, 0x84ab1515d24fc98cull},
};

TEST(KQuantQuantize, BitExactWithGgmlReference) {
  for (const GgmlQuantHash& g : kGgmlQuantHashes) {
    const int64_t n = 32 * QK_K;
    const std::vector<uint8_t> q = quantize(g.type, test_row(1000 + idx(g.type), n));
    EXPECT_EQ(fnv1a(q.data(), q.size()), g.quantized) << layout_of(g.type).name;
    const std::vector<float> y = dequantize(g.type, q.data(), n);
    EXPECT_EQ(fnv1a(y.data(), y.size() * sizeof(float)), g.dequantized) << layout_of(g.type).name;
  }
}

// Round trip on Gaussian-like data: relative RMS error, and the worst element error as a
// fraction of its block's value range. The limits are about 1.6x what ggml's reference
// quantizers give on this input (measured: Q2_K 0.286 / 0.188, Q3_K 0.145 / 0.101,
// Q4_K 0.069 / 0.039, Q5_K 0.035 / 0.019, Q6_K 0.017 / 0.009); each extra bit halves them.
TEST(KQuantQuantize, RoundTripError) {
  struct Limit {
    GgmlType type;
    double rel_rms, max_of_range;
  };
  const Limit limits[] = {{GgmlType::Q2_K, 0.45, 0.30},
                          {GgmlType::Q3_K, 0.23, 0.16},
                          {GgmlType::Q4_K, 0.11, 0.065},
                          {GgmlType::Q5_K, 0.055, 0.032},
                          {GgmlType::Q6_K, 0.027, 0.015}};
  const int64_t n = 64 * QK_K;
  Rng rng{42};
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = rng.normalish();
  for (const Limit& lim : limits) {
    const std::vector<float> y = dequantize(lim.type, quantize(lim.type, x).data(), n);
    double err2 = 0, x2 = 0, worst = 0;
    for (int64_t b = 0; b < n / QK_K; ++b) {
      float lo = 0, hi = 0;
      for (int e = 0; e < QK_K; ++e) {
        lo = std::min(lo, x[size_t(b * QK_K + e)]);
        hi = std::max(hi, x[size_t(b * QK_K + e)]);
      }
      for (int e = 0; e < QK_K; ++e) {
        const size_t i = size_t(b * QK_K + e);
        const double d = double(x[i]) - double(y[i]);
        err2 += d * d;
        x2 += double(x[i]) * double(x[i]);
        worst = std::max(worst, std::fabs(d) / double(hi - lo));
      }
    }
    EXPECT_LE(std::sqrt(err2 / x2), lim.rel_rms) << layout_of(lim.type).name;
    EXPECT_LE(worst, lim.max_of_range) << layout_of(lim.type).name;
  }
}

// llama-quantize (no importance matrix) runs ggml's reference quantizers, so quantizing the
// F32 golden models must reproduce every Q4_K / Q6_K tensor of the quantized golden files.
TEST(KQuantQuantize, ReproducesGoldenFiles) {
  const std::filesystem::path dir = std::filesystem::path(TRIDENT_SHARED_DIR) / "golden" / "models";
  const std::pair<const char*, const char*> pairs[] = {
      {"tiny-llama-f32.gguf", "tiny-llama-q4_k_m.gguf"},
      {"tiny-llama-f32.gguf", "tiny-llama-q6_k.gguf"},
      {"tiny-qwen3-f32.gguf", "tiny-qwen3-q4_k_m.gguf"},
      {"tiny-qwen3-f32.gguf", "tiny-qwen3-q6_k.gguf"}};
  int checked = 0;
  for (const auto& [f32_name, q_name] : pairs) {
    if (!std::filesystem::exists(dir / f32_name) || !std::filesystem::exists(dir / q_name))
      GTEST_SKIP() << "golden models not found in " << dir;
    const auto f32 = GgufFile::open((dir / f32_name).string());
    const auto quantized = GgufFile::open((dir / q_name).string());
    for (const GgufTensorInfo& qt : quantized->tensors()) {
      if (qt.type != GgmlType::Q4_K && qt.type != GgmlType::Q6_K) continue;
      const GgufTensorInfo* src = f32->find_tensor(qt.name);
      ASSERT_NE(src, nullptr) << qt.name;
      ASSERT_EQ(src->type, GgmlType::F32) << qt.name;
      ASSERT_EQ(src->n_elements, qt.n_elements) << qt.name;
      std::vector<float> x(src->n_elements);
      std::memcpy(x.data(), f32->tensor_data(*src), x.size() * sizeof(float));
      const std::vector<uint8_t> q = quantize(qt.type, x);
      ASSERT_EQ(q.size(), qt.n_bytes) << qt.name;
      EXPECT_EQ(std::memcmp(q.data(), quantized->tensor_data(qt), q.size()), 0)
          << q_name << " " << qt.name << " (" << layout_of(qt.type).name << ")";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 13 + 3 + 16 + 12 + 3 + 15);
}

}  // namespace
}  // namespace trident
