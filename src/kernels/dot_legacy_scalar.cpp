// Scalar reference kernels for the float types and the 32-element legacy quants:
// vec_dot (weight row · activation row) and the run-time activation converters.
// These define the numbers; the SIMD files must match them up to float reassociation
// (vec_dot) or bit for bit (quantize_act).
#include <cmath>
#include <cstring>

#include "kernels/dot_register.h"
#include "tensor/blocks.h"
#include "tensor/quant_fns.h"

namespace trident {
namespace {

// What x86 gives for float -> int8 via cvtps2dq (round to nearest even; NaN and out-of-range
// give INT32_MIN) and two saturating packs. *unsaturated receives the 32-bit value.
int8_t x86_round_to_i8(float v, int32_t* unsaturated) {
  const float r = std::nearbyint(v);  // the default rounding mode: to nearest, ties to even
  const int32_t i = (r >= -2147483648.0f && r < 2147483648.0f) ? int32_t(r) : INT32_MIN;
  if (unsaturated) *unsaturated = i;
  return int8_t(i < -128 ? -128 : i > 127 ? 127 : i);
}

// ---- Activation converters (F32 -> vec_dot_type), as llama.cpp's x86 build computes them.

void act_copy_f32(const float* x, void* y, int64_t n) { std::memcpy(y, x, size_t(n) * 4); }

// Unlike quantize_row_q8_0 (the file quantizer: id = 1 / d, roundf), llama.cpp's run-time
// quantizer uses id = 127 / amax and rounds half to even.
struct ActScale {
  float d, id;
};
ActScale act_scale(const float* x) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  return {amax / 127.0f, amax != 0.0f ? 127.0f / amax : 0.0f};
}

void act_q8_0(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(y);
  for (int64_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
    const ActScale s = act_scale(x);
    b[i].d = fp32_to_fp16(s.d);
    for (int j = 0; j < QK8_0; ++j) b[i].qs[j] = x86_round_to_i8(x[j] * s.id, nullptr);
  }
}

// s sums the rounded values before saturation to int8 (they differ only for blocks whose
// id overflows to inf, i.e. amax < ~4e-37), with int32 wrap-around, as llama.cpp does.
void act_q8_1(const float* x, void* y, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(y);
  for (int64_t i = 0; i < n / QK8_1; ++i, x += QK8_1) {
    const ActScale s = act_scale(x);
    b[i].d = fp32_to_fp16(s.d);
    uint32_t sum = 0;
    for (int j = 0; j < QK8_1; ++j) {
      int32_t q;
      b[i].qs[j] = x86_round_to_i8(x[j] * s.id, &q);
      sum += uint32_t(q);
    }
    b[i].s = fp32_to_fp16(s.d * float(int32_t(sum)));
  }
}

// ---- Float dots: weights (exactly widened to f32) against f32 activations, one fused
// multiply-add per element in element order. The packed float kernels (one row per SIMD
// lane) keep this exact schedule, so every ISA gives these bits.

template <class E, float (*Widen)(E)>
void dot_float(int64_t n, float* s, const void* w, const void* x) {
  const auto* a = static_cast<const E*>(w);
  const auto* b = static_cast<const float*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum = std::fma(Widen(a[i]), b[i], sum);
  *s = sum;
}
float widen_f32(float v) { return v; }
float widen_f16(f16_bits v) { return fp16_to_fp32(v); }
float widen_bf16(bf16_bits v) { return bf16_to_fp32(v); }

// ---- Quant dots: per block an exact integer dot of the 32 quants, scaled by the product of
// the two fp16 scales; blocks summed in order in float. Weights with an offset m add m * s
// (s = d_x * sum(x quants), stored in the Q8_1 activation block).

int weight_q4(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 0x0F : qs[j - 16] >> 4; }
int weight_q5(const uint8_t* qs, const uint8_t* qh, int j) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  return weight_q4(qs, j) | int((h >> j) & 1) << 4;
}

template <class W, class X, class Q>  // Q(block, j) -> integer weight quant
float dot_blocks(int64_t n, const W* w, const X* x, Q quant) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n / 32; ++i) {
    int32_t isum = 0;
    for (int j = 0; j < 32; ++j) isum += quant(w[i], j) * x[i].qs[j];
    const float d = fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d);
    if constexpr (requires { w[i].m; })
      sum += d * float(isum) + fp16_to_fp32(w[i].m) * fp16_to_fp32(x[i].s);
    else
      sum += d * float(isum);
  }
  return sum;
}

void dot_q4_0(int64_t n, float* s, const void* w, const void* x) {
  *s = dot_blocks(n, static_cast<const BlockQ4_0*>(w), static_cast<const BlockQ8_0*>(x),
                  [](const BlockQ4_0& b, int j) { return weight_q4(b.qs, j) - 8; });
}
void dot_q4_1(int64_t n, float* s, const void* w, const void* x) {
  *s = dot_blocks(n, static_cast<const BlockQ4_1*>(w), static_cast<const BlockQ8_1*>(x),
                  [](const BlockQ4_1& b, int j) { return weight_q4(b.qs, j); });
}
void dot_q5_0(int64_t n, float* s, const void* w, const void* x) {
  *s = dot_blocks(n, static_cast<const BlockQ5_0*>(w), static_cast<const BlockQ8_0*>(x),
                  [](const BlockQ5_0& b, int j) { return weight_q5(b.qs, b.qh, j) - 16; });
}
void dot_q5_1(int64_t n, float* s, const void* w, const void* x) {
  *s = dot_blocks(n, static_cast<const BlockQ5_1*>(w), static_cast<const BlockQ8_1*>(x),
                  [](const BlockQ5_1& b, int j) { return weight_q5(b.qs, b.qh, j); });
}
void dot_q8_0(int64_t n, float* s, const void* w, const void* x) {
  *s = dot_blocks(n, static_cast<const BlockQ8_0*>(w), static_cast<const BlockQ8_0*>(x),
                  [](const BlockQ8_0& b, int j) { return int(b.qs[j]); });
}
// Q8_1 weights (ggml has no such kernel; the type only exists there as an activation
// format): the weight's s is not used.
void dot_q8_1(int64_t n, float* s, const void* w, const void* x) {
  *s = dot_blocks(n, static_cast<const BlockQ8_1*>(w), static_cast<const BlockQ8_1*>(x),
                  [](const BlockQ8_1& b, int j) { return int(b.qs[j]); });
}

}  // namespace

void register_legacy_scalar(KernelTable& t) {
  using T = GgmlType;
  auto set = [&](T type, VecDotFn f) { t.vec_dot[uint32_t(type)] = f; };
  set(T::F32, aligned_vec_dot<float, float, 1, dot_float<float, widen_f32>>);
  set(T::F16, aligned_vec_dot<f16_bits, float, 1, dot_float<f16_bits, widen_f16>>);
  set(T::BF16, aligned_vec_dot<bf16_bits, float, 1, dot_float<bf16_bits, widen_bf16>>);
  set(T::Q4_0, aligned_vec_dot<BlockQ4_0, BlockQ8_0, QK4_0, dot_q4_0>);
  set(T::Q4_1, aligned_vec_dot<BlockQ4_1, BlockQ8_1, QK4_1, dot_q4_1>);
  set(T::Q5_0, aligned_vec_dot<BlockQ5_0, BlockQ8_0, QK5_0, dot_q5_0>);
  set(T::Q5_1, aligned_vec_dot<BlockQ5_1, BlockQ8_1, QK5_1, dot_q5_1>);
  set(T::Q8_0, aligned_vec_dot<BlockQ8_0, BlockQ8_0, QK8_0, dot_q8_0>);
  set(T::Q8_1, aligned_vec_dot<BlockQ8_1, BlockQ8_1, QK8_1, dot_q8_1>);
  t.quantize_act[uint32_t(T::F32)] = act_copy_f32;
  t.quantize_act[uint32_t(T::Q8_0)] = act_q8_0;
  t.quantize_act[uint32_t(T::Q8_1)] = act_q8_1;
}

}  // namespace trident
