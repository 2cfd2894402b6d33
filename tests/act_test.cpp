// Activation kernels (KernelTable::silu, silu_glu, gelu, gelu_glu) for every kernel table this CPU supports:
//  - every element bit-identical to silu_glu_reference on random and extreme inputs (large
//    magnitudes where exp_poly clamps or flushes, zeros, infinities), every length 1..70 so
//    each SIMD tail is taken, and an unaligned start;
//  - silu itself within 4 ulp + 1e-30 of the double-precision value on [-80, 80]
//    (exp_poly's 2 ulp, then one add, one divide and the rounding of the input to 1 + e).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/ops.h"
#include "tensor/fp16.h"

namespace trident {
namespace {

TEST(Activation, SiluGluMatchesReferenceBitwise) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 4.0f);
  const float extremes[] = {0.0f, -0.0f, 88.5f, -88.5f, 87.0f, -87.0f, 200.0f, -200.0f, INFINITY, -INFINITY, 1e-20f};
  for (const KernelTable* k : supported_kernel_tables())
    for (int n = 1; n <= 70; ++n) {
      std::vector<float> gate(size_t(n) + 1), up(size_t(n) + 1), got(size_t(n) + 1);
      std::vector<float> want(static_cast<size_t>(n));
      for (int i = 0; i <= n; ++i) {
        gate[size_t(i)] = i % 7 == 3 ? extremes[size_t(i / 7) % std::size(extremes)] : nd(rng);
        up[size_t(i)] = nd(rng);
      }
      // Start at element 1: the SIMD loads are unaligned.
      silu_glu_reference(gate.data() + 1, up.data() + 1, want.data(), n);
      got[size_t(n)] = 42.0f;
      k->silu_glu(gate.data() + 1, up.data() + 1, got.data(), n);
      EXPECT_EQ(std::memcmp(got.data(), want.data(), sizeof(float) * size_t(n)), 0) << k->isa << " n=" << n;
      EXPECT_EQ(got[size_t(n)], 42.0f) << k->isa << " wrote past n";
    }
}

TEST(Activation, GeluGluMatchesReferenceBitwise) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 4.0f);
  const float extremes[] = {0.0f, -0.0f, 10.0f, -10.0f, 9.999f, -9.999f, 65504.0f, 70000.0f, -70000.0f,
                            INFINITY, -INFINITY, 1e-20f, -6e-8f, NAN};
  for (const KernelTable* k : supported_kernel_tables())
    for (int n = 1; n <= 70; ++n) {
      std::vector<float> gate(size_t(n) + 1), up(size_t(n) + 1), got(size_t(n) + 1);
      std::vector<float> want(static_cast<size_t>(n));
      for (int i = 0; i <= n; ++i) {
        gate[size_t(i)] = i % 5 == 2 ? extremes[size_t(i / 5) % std::size(extremes)] : nd(rng);
        up[size_t(i)] = nd(rng);
      }
      gelu_glu_reference(gate.data() + 1, up.data() + 1, want.data(), n);
      got[size_t(n)] = 42.0f;
      k->gelu_glu(gate.data() + 1, up.data() + 1, got.data(), n);
      EXPECT_EQ(std::memcmp(got.data(), want.data(), sizeof(float) * size_t(n)), 0) << k->isa << " n=" << n;
      EXPECT_EQ(got[size_t(n)], 42.0f) << k->isa << " wrote past n";
    }
}

// The in-place kernels against their references, every tail length, unaligned.
TEST(Activation, SiluAndGeluInPlaceMatchReferenceBitwise) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 6.0f);
  const float extremes[] = {0.0f, -0.0f, 88.5f, -88.5f, 10.0f, -10.0f, 200.0f, -200.0f, INFINITY, -INFINITY, 1e-20f};
  for (const KernelTable* k : supported_kernel_tables())
    for (int n = 1; n <= 70; ++n) {
      std::vector<float> x(size_t(n) + 2);
      for (int i = 0; i <= n + 1; ++i) x[size_t(i)] = i % 6 == 4 ? extremes[size_t(i / 6) % std::size(extremes)] : nd(rng);
      std::vector<float> want_silu(x), want_gelu(x), got_silu(x), got_gelu(x);
      silu_inplace(want_silu.data() + 1, n);
      gelu_reference(want_gelu.data() + 1, n);
      k->silu(got_silu.data() + 1, n);
      k->gelu(got_gelu.data() + 1, n);
      EXPECT_EQ(std::memcmp(got_silu.data(), want_silu.data(), 4 * x.size()), 0) << k->isa << " silu n=" << n;
      EXPECT_EQ(std::memcmp(got_gelu.data(), want_gelu.data(), 4 * x.size()), 0) << k->isa << " gelu n=" << n;
    }
}

// The table is ggml's: every half h maps to fp16(gelu_tanh(h)) computed with libm tanh (so a
// lookup equals evaluating the formula on the rounded input), and every SIMD kernel reads each
// of the 65536 entries the way the reference does.
TEST(Activation, GeluTableIsTheFormulaForEveryHalf) {
  const uint16_t* table = gelu_fp16_table();
  std::vector<float> x, one;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float v = fp16_to_fp32(uint16_t(h));
    const float want = fp16_to_fp32(fp32_to_fp16(
        0.5f * v * (1.0f + std::tanh(0.79788456080286535587989211986876f * v * (1.0f + 0.044715f * v * v)))));
    const float got = fp16_to_fp32(table[h]);
    ASSERT_TRUE(std::memcmp(&got, &want, 4) == 0 || (std::isnan(got) && std::isnan(want))) << "half 0x" << std::hex << h;
    if (!std::isnan(v)) x.push_back(v), one.push_back(1.0f);
  }
  std::vector<float> want(x.size()), got(x.size());
  gelu_glu_reference(x.data(), one.data(), want.data(), int64_t(x.size()));
  for (const KernelTable* k : supported_kernel_tables()) {
    k->gelu_glu(x.data(), one.data(), got.data(), int64_t(x.size()));
    EXPECT_EQ(std::memcmp(got.data(), want.data(), 4 * x.size()), 0) << k->isa;
  }
}

TEST(Activation, SiluCloseToExact) {
  double worst = 0;
  for (float x = -80.0f; x <= 80.0f; x += 0.0137f) {
    float got = x;
    silu_inplace(&got, 1);
    const double want = double(x) / (1.0 + std::exp(-double(x)));
    if (want == 0) continue;
    const double ulp = std::ldexp(1.0, std::ilogb(want) - 23);
    worst = std::max(worst, std::fabs(double(got) - want) / ulp);
  }
  EXPECT_LE(worst, 4.0) << "worst error in ulp";
}

// gpt-oss's clamped SwiGLU against its definition in double: the gate clamped above at the
// limit, up clamped to [-limit, limit] and shifted by one, sigmoid(alpha * gate) (4 ulp: one
// libm exp, an add, a divide, a multiply; alpha * gate is rounded to float as the kernel does,
// since exp turns its rounding of up to |51| into a relative error of 3e-6).
TEST(Activation, SwigluOaiMatchesDefinition) {
  constexpr float alpha = 1.702f, limit = 7.0f;
  std::vector<float> gate, up;
  for (float g = -30.0f; g <= 30.0f; g += 0.37f)
    for (float u : {-20.0f, -7.5f, -7.0f, -1.0f, -0.3f, 0.0f, 2.5f, 7.0f, 9.0f}) gate.push_back(g), up.push_back(u);
  std::vector<float> out(gate.size());
  swiglu_oai(gate.data(), up.data(), out.data(), int64_t(gate.size()), alpha, limit);
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = std::min(double(gate[i]), double(limit)), u = std::clamp(double(up[i]), -7.0, 7.0);
    const double want = g / (1.0 + std::exp(double(alpha * -float(g)))) * (u + 1.0);
    EXPECT_NEAR(out[i], want, 4 * 0x1p-23 * std::fabs(want) + 1e-30) << "gate " << gate[i] << " up " << up[i];
  }
  // Past the limit the gate saturates: 8 and 7 give the same output.
  const float g2[] = {8.0f, 7.0f}, u2[] = {1.0f, 1.0f};
  float o2[2];
  swiglu_oai(g2, u2, o2, 2, alpha, limit);
  EXPECT_EQ(o2[0], o2[1]);
}

}  // namespace
}  // namespace trident
