// Dot kernels and activation converters of the float types and the legacy quants, for every
// kernel table this CPU supports (scalar, avx2, avx512):
//  - SIMD vec_dot vs the scalar reference on random rows, within a reassociation bound;
//  - the same bits for any pointer alignment and from any thread;
//  - SIMD quantize_act bit-identical to the scalar one, including ties and edge values;
//  - the run-time activation quantizer on hand-made blocks (llama.cpp's x86 rounding);
//  - dot(w, quantize_act(x)) vs the float dot of dequantized w and x, within a bound derived
//    from the activation quantization step.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "kernels/dispatch.h"
#include "tensor/blocks.h"
#include "tensor/types.h"

namespace trident {
namespace {

using T = GgmlType;
constexpr T kWeightTypes[] = {T::F32,  T::F16,  T::BF16, T::Q4_0, T::Q4_1,
                              T::Q5_0, T::Q5_1, T::Q8_0, T::Q8_1};
constexpr T kActTypes[] = {T::F32, T::Q8_0, T::Q8_1};
constexpr int kBlockCounts[] = {1, 2, 3, 7, 64, 129};
constexpr double kU = 0x1p-24;  // unit roundoff of float

bool is_float(T t) { return t == T::F32 || t == T::F16 || t == T::BF16; }
bool has_min(T t) { return t == T::Q4_1 || t == T::Q5_1; }
const char* name(T t) { return layout_of(t).name.data(); }
T act_type(T w) { return type_traits(w)->vec_dot_type; }

std::vector<float> random_floats(int64_t n, float scale, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = nd(rng);
  return v;
}

// A weight row either quantized from random floats (what files hold) or, for quant types,
// random bytes with finite random scales (every quant bit pattern, including -128 for Q8).
std::vector<uint8_t> random_weights(T t, int64_t n, bool raw, std::mt19937& rng) {
  std::vector<uint8_t> row(row_bytes(t, n));
  if (!raw || is_float(t)) {
    const auto f = random_floats(n, 1.0f, rng);
    type_traits(t)->quantize_row(f.data(), row.data(), n);
    return row;
  }
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : row) b = uint8_t(byte(rng));
  std::normal_distribution<float> nd(0.0f, 0.01f);
  const size_t bs = layout_of(t).type_size;
  for (size_t off = 0; off < row.size(); off += bs) {
    const f16_bits d = fp32_to_fp16(nd(rng)), m = fp32_to_fp16(nd(rng) * 10);
    std::memcpy(&row[off], &d, 2);
    if (has_min(t)) std::memcpy(&row[off + 2], &m, 2);
  }
  return row;
}

std::vector<uint8_t> quantize_act(const KernelTable& k, T at, const std::vector<float>& x) {
  std::vector<uint8_t> out(row_bytes(at, int64_t(x.size())));
  k.quantize_act[uint32_t(at)](x.data(), out.data(), int64_t(x.size()));
  return out;
}

float vec_dot(const KernelTable& k, T t, int64_t n, const void* w, const void* x) {
  float s = NAN;
  k.vec_dot[uint32_t(t)](n, &s, w, x);
  return s;
}

// One weight block decoded as w_j = d * q_j + m with integer q_j: dequantizing a copy whose
// d is 1 and m is 0 gives the q_j exactly.
struct Decoded {
  float d, m;
  float q[32];
};
Decoded decode_weight_block(T t, const uint8_t* blk) {
  Decoded r{};
  std::vector<uint8_t> copy(blk, blk + layout_of(t).type_size);
  f16_bits d, m = 0;
  std::memcpy(&d, blk, 2);
  if (has_min(t)) std::memcpy(&m, blk + 2, 2);
  r.d = fp16_to_fp32(d);
  r.m = fp16_to_fp32(m);
  const f16_bits one = 0x3C00, zero = 0;
  std::memcpy(copy.data(), &one, 2);
  if (has_min(t)) std::memcpy(copy.data() + 2, &zero, 2);
  type_traits(t)->dequantize_row(copy.data(), r.q, 32);
  return r;
}
struct ActBlock {
  float d, s;
  const int8_t* qs;
};
ActBlock act_block(T at, const uint8_t* row, int64_t b) {
  const uint8_t* p = row + size_t(b) * layout_of(at).type_size;
  f16_bits d, s = 0;
  std::memcpy(&d, p, 2);
  if (at == T::Q8_1) std::memcpy(&s, p + 2, 2);
  return {fp16_to_fp32(d), fp16_to_fp32(s),
          reinterpret_cast<const int8_t*>(p + (at == T::Q8_1 ? 4 : 2))};
}

// Sum of the magnitudes of the terms every kernel adds up: |w_i x_i| for float types;
// |d_w d_x q_j y_j| and |m s| per block for quant types. Integer parts are exact, and all
// kernels form d_w * d_x the same way, so kernels differ only in how they round the sum.
double term_magnitude(T t, int64_t n, const uint8_t* w, const uint8_t* x) {
  double sum = 0;
  if (is_float(t)) {
    std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    type_traits(t)->dequantize_row(w, a.data(), n);
    type_traits(act_type(t))->dequantize_row(x, b.data(), n);
    for (int64_t i = 0; i < n; ++i) sum += std::fabs(double(a[i]) * b[i]);
    return sum;
  }
  const T at = act_type(t);
  for (int64_t b = 0; b < n / 32; ++b) {
    const Decoded dw = decode_weight_block(t, w + size_t(b) * layout_of(t).type_size);
    const ActBlock ab = act_block(at, x, b);
    double qs = 0;
    for (int j = 0; j < 32; ++j) qs += std::fabs(double(dw.q[j]) * ab.qs[j]);
    sum += std::fabs(double(dw.d) * ab.d) * qs;
    if (has_min(t)) sum += std::fabs(double(dw.m) * ab.s);
  }
  return sum;
}

// Two float summations of the same terms differ by at most (k1 + k2) * u * sum|terms|, where
// k is the longest chain of roundings a term goes through (first order in u).
//  - float types: every table uses the reference, one FMA chain of n steps (the matrix
//    kernels for them are the packed ones, tests/packed_test.cpp); the bound allows n.
//  - quant types: the reference adds n / 32 block terms in order, each product rounded
//    (k <= n / 32 + 2); SIMD kernels spread a block over int32 lanes whose float FMA chains
//    have at most n / 32 steps, plus the reduction tree and the m * s sum (k <= n / 32 + 12).
double reassociation_bound(T t, int64_t n, double magnitude) {
  const double k = is_float(t) ? double(n) + 2 : 2.0 * double(n) / 32 + 16;
  return k * kU * magnitude * 1.01 + 1e-30;
}

// ---- SIMD vs scalar.

TEST(DotLegacy, SimdMatchesScalarOnRandomRows) {
  const KernelTable& ref = scalar_kernel_table();
  std::mt19937 rng(42);
  for (const KernelTable* k : supported_kernel_tables()) {
    for (T t : kWeightTypes) {
      ASSERT_TRUE(k->vec_dot[uint32_t(t)]) << k->isa << " " << name(t);
      std::vector<int64_t> sizes;
      for (int nb : kBlockCounts) sizes.push_back(32 * int64_t(nb));
      if (is_float(t))
        for (int64_t n : {1, 3, 8, 15, 16, 17, 31, 33, 47, 63, 65, 100, 1000}) sizes.push_back(n);
      for (int64_t n : sizes)
        for (bool raw : {false, true}) {
          const auto w = random_weights(t, n, raw, rng);
          const auto x = quantize_act(ref, act_type(t), random_floats(n, 1.0f, rng));
          const float want = vec_dot(ref, t, n, w.data(), x.data());
          const float got = vec_dot(*k, t, n, w.data(), x.data());
          const double bound = reassociation_bound(t, n, term_magnitude(t, n, w.data(), x.data()));
          EXPECT_LE(std::fabs(double(got) - want), bound)
              << k->isa << " " << name(t) << " n=" << n << (raw ? " raw" : "") << " got " << got
              << " want " << want;
        }
    }
  }
}

// Kernels promise the same bits for the same inputs wherever the rows sit in memory (any
// offset the row format allows) and whichever thread calls them.
TEST(DotLegacy, SameBitsForAnyAlignmentAndThread) {
  std::mt19937 rng(7);
  for (const KernelTable* k : supported_kernel_tables())
    for (T t : kWeightTypes)
      for (int64_t n : {int64_t(32 * 7), int64_t(32 * 129)}) {
        const T at = act_type(t);
        const auto w = random_weights(t, n, false, rng);
        const auto x = quantize_act(*k, at, random_floats(n, 1.0f, rng));
        const float base = vec_dot(*k, t, n, w.data(), x.data());
        // Offsets from a 64-byte boundary, in steps of the format's alignment (blocks hold
        // fp16 fields); w and x get different offsets.
        const size_t step = is_float(t) ? layout_of(t).type_size : 2;
        for (size_t off = step; off < 64; off += 3 * step) {
          const size_t x_off = (off * 5) % 64 / step * step;
          std::vector<uint8_t> wb(w.size() + 128), xb(x.size() + 128);
          uint8_t* wp = wb.data() + (64 - reinterpret_cast<uintptr_t>(wb.data()) % 64) + off;
          uint8_t* xp = xb.data() + (64 - reinterpret_cast<uintptr_t>(xb.data()) % 64) + x_off;
          std::memcpy(wp, w.data(), w.size());
          std::memcpy(xp, x.data(), x.size());
          const float got = vec_dot(*k, t, n, wp, xp);
          EXPECT_EQ(bits_from_f32(got), bits_from_f32(base))
              << k->isa << " " << name(t) << " offsets " << off << ", " << x_off;
        }
        float from_thread[4];
        std::vector<std::thread> threads;
        for (int i = 0; i < 4; ++i)
          threads.emplace_back([&, i] { from_thread[i] = vec_dot(*k, t, n, w.data(), x.data()); });
        for (auto& th : threads) th.join();
        for (float v : from_thread)
          EXPECT_EQ(bits_from_f32(v), bits_from_f32(base)) << k->isa << " " << name(t);
      }
}

// Rows that exercise the activation converters' edge cases.
std::vector<std::vector<float>> act_test_rows(T at, std::mt19937& rng) {
  std::vector<std::vector<float>> rows;
  for (float scale : {1e-30f, 1e-3f, 1.0f, 1e4f})
    for (int64_t n : {32, 64, 96, 32 * 129}) rows.push_back(random_floats(n, scale, rng));
  if (at == T::F32) {
    for (int64_t n : {1, 7, 15, 17, 33, 100}) rows.push_back(random_floats(n, 1.0f, rng));
    std::vector<float> bitsrow(4096);  // random bit patterns: NaN, inf, subnormals, huge
    std::uniform_int_distribution<uint32_t> u32;
    for (auto& v : bitsrow) v = f32_from_bits(u32(rng));
    rows.push_back(bitsrow);
  }
  // Ties at x * id = k + 0.5 (amax 127 => id = 1), zeros, and a block whose 127 / amax
  // overflows to inf (all values land on INT32_MIN and saturate to -128).
  std::vector<float> ties(96, 0.0f);
  ties[0] = 127.0f;
  for (int j = 1; j < 32; ++j) ties[j] = float(j) * (j % 2 ? 1 : -1) + 0.5f;
  for (int j = 64; j < 96; ++j) ties[j] = 1e-38f * float(j - 80);
  rows.push_back(ties);
  std::vector<float> bits_no_nan(32 * 64);
  std::uniform_int_distribution<uint32_t> u32;
  for (auto& v : bits_no_nan) {
    v = f32_from_bits(u32(rng));
    while (std::isnan(v)) v = f32_from_bits(u32(rng));
  }
  rows.push_back(bits_no_nan);  // Q8 converters do not define a result for NaN inputs
  return rows;
}

TEST(DotLegacy, QuantizeActBitIdenticalToScalar) {
  const KernelTable& ref = scalar_kernel_table();
  std::mt19937 rng(5);
  for (const KernelTable* k : supported_kernel_tables())
    for (T at : kActTypes) {
      ASSERT_TRUE(k->quantize_act[uint32_t(at)]) << k->isa << " " << name(at);
      for (const auto& x : act_test_rows(at, rng)) {
        const auto want = quantize_act(ref, at, x), got = quantize_act(*k, at, x);
        EXPECT_EQ(want, got) << k->isa << " " << name(at) << " n=" << x.size();
      }
    }
}

// ---- The run-time activation quantizer on hand-made blocks.

TEST(DotLegacy, ActQ8RoundsHalfToEvenWithIdFrom127OverAmax) {
  float x[32] = {};
  x[0] = 127.0f;  // amax 127: d = 1, id = 1
  x[1] = 2.5f;    // 2 (the file quantizer gives 3)
  x[2] = 3.5f;    // 4
  x[3] = -2.5f;   // -2
  x[4] = 0.5f;    // 0
  x[5] = 126.5f;  // 126
  x[6] = -0.5f;   // -0
  for (const KernelTable* k : supported_kernel_tables()) {
    BlockQ8_0 b0;
    k->quantize_act[uint32_t(T::Q8_0)](x, &b0, 32);
    EXPECT_EQ(b0.d, 0x3C00) << k->isa;
    const int want[7] = {127, 2, 4, -2, 0, 126, 0};
    for (int j = 0; j < 7; ++j) EXPECT_EQ(b0.qs[j], want[j]) << k->isa << " element " << j;
    BlockQ8_1 b1;
    k->quantize_act[uint32_t(T::Q8_1)](x, &b1, 32);
    EXPECT_EQ(std::memcmp(b1.qs, b0.qs, 32), 0) << k->isa;
    EXPECT_EQ(fp16_to_fp32(b1.s), float(127 + 2 + 4 - 2 + 0 + 126)) << k->isa;
  }
  // amax = 11: the file quantizer's id = 1 / (11 / 127) = 11.545454 but 127 / 11 = 11.545455.
  // For x = 0.129921257 the products are 1.49999988 and 1.5: file q = 1, run-time q = 2.
  float y[32] = {};
  y[0] = 11.0f;
  y[1] = 0.129921257f;
  BlockQ8_0 file;
  type_traits(T::Q8_0)->quantize_row(y, &file, 32);
  EXPECT_EQ(file.qs[1], 1);
  for (const KernelTable* k : supported_kernel_tables()) {
    BlockQ8_0 run;
    k->quantize_act[uint32_t(T::Q8_0)](y, &run, 32);
    EXPECT_EQ(run.qs[1], 2) << k->isa;
  }
  // A block whose 127 / amax overflows to inf: x * id is inf or NaN, which x86 converts to
  // INT32_MIN and saturates to -128 (whatever the sign), as llama.cpp's quantizer does.
  float z[32] = {};
  z[0] = 1e-38f;
  z[1] = -1e-38f;
  for (const KernelTable* k : supported_kernel_tables()) {
    BlockQ8_0 run;
    k->quantize_act[uint32_t(T::Q8_0)](z, &run, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(run.qs[j], -128) << k->isa << " element " << j;
  }
}

// ---- Quantized dot vs the float dot it approximates.

// |dot(w', x) - vec_dot(w, quantize_act(x))| where w' = dequantize(w). Per activation block
// of absmax a, the run-time quantizer reconstructs each x_j as fp16(d) * q_j with
// |x_j - fp16(d) q_j| <= a * (0.5 / 127 + 2^-11) (half a step, plus |q| <= 127 times the
// fp16 rounding of d = a / 127). Q4_1 / Q5_1 also use s = fp16(d * sum q) in place of
// fp16(d) * sum q: off by at most 2^-10 * d * |sum q| (two fp16 roundings), times |m|.
// Float weights take f32 activations: no activation rounding at all. Plus float summation
// error of both sides, n * u * sum |w'_j x_j| each.
TEST(DotLegacy, QuantizedDotApproximatesFloatDot) {
  std::mt19937 rng(11);
  for (const KernelTable* k : supported_kernel_tables())
    for (T t : kWeightTypes)
      for (int nb : {1, 7, 129}) {
        const int64_t n = 32 * int64_t(nb);
        const T at = act_type(t);
        const auto w = random_weights(t, n, false, rng);
        const auto x = random_floats(n, 2.0f, rng);
        std::vector<float> wf(static_cast<size_t>(n));
        type_traits(t)->dequantize_row(w.data(), wf.data(), n);
        const auto xq = quantize_act(*k, at, x);
        const float got = vec_dot(*k, t, n, w.data(), xq.data());
        double exact = 0, magnitude = 0, bound = 0;
        for (int64_t i = 0; i < n; ++i) {
          exact += double(wf[i]) * x[i];
          magnitude += std::fabs(double(wf[i]) * x[i]);
        }
        if (!is_float(t)) {
          for (int64_t b = 0; b < nb; ++b) {
            double amax = 0, wsum = 0;
            for (int j = 0; j < 32; ++j) {
              amax = std::max(amax, std::fabs(double(x[b * 32 + j])));
              wsum += std::fabs(double(wf[b * 32 + j]));
            }
            bound += amax * (0.5 / 127 + 0x1p-11 + 1e-6) * wsum;
            if (has_min(t)) {
              const Decoded dw =
                  decode_weight_block(t, w.data() + size_t(b) * layout_of(t).type_size);
              const ActBlock ab = act_block(at, xq.data(), b);
              int qsum = 0;
              for (int j = 0; j < 32; ++j) qsum += ab.qs[j];
              bound += std::fabs(double(dw.m)) * (0x1p-10 * ab.d * std::abs(qsum) + 0x1p-25);
            }
          }
        }
        bound += 2.0 * double(n) * kU * magnitude + 1e-30;
        EXPECT_LE(std::fabs(double(got) - exact), bound)
            << k->isa << " " << name(t) << " n=" << n << " got " << got << " exact " << exact;
        EXPECT_GT(bound, 0.0);
      }
}

}  // namespace
}  // namespace trident
