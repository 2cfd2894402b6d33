// Scalar reference of the packed-group kernels (tensor/repack.h) for Q4_0 and Q8_0 weights
// against Q8_0 activations, and for the float types against f32 activations. The quant part
// follows dot_legacy_scalar.cpp's quant dot exactly: per block an exact integer dot, then
// sum += (d_w * d_x) * float(isum), blocks in order. The SIMD
// files keep that float schedule (the integer part is exact in any order), so every ISA and
// both paths, packed or row by row, give the same bits.
#include <cmath>
#include <cstring>

#include "kernels/dot_register.h"
#include "tensor/blocks.h"
#include "tensor/repack.h"

namespace trident {

void packed_act_info(const uint8_t* x, size_t x_stride, int64_t nc, int64_t nb, PackedActInfo* out) {
  for (int64_t c = 0; c < nc; ++c) {
    const auto* blocks = reinterpret_cast<const BlockQ8_0*>(x + size_t(c) * x_stride);
    for (int64_t b = 0; b < nb; ++b) {
      int32_t sum = 0;
      for (int j = 0; j < QK8_0; ++j) sum += blocks[b].qs[j];
      out[c * nb + b] = {fp16_to_fp32(blocks[b].d), sum};
    }
  }
}

namespace {

// Weight of element e (0..31) of row j, block b, from the packed group.
template <GgmlType T>
int weight_at(const uint8_t* group, int64_t b, int64_t j, int e) {
  constexpr int qb = T == GgmlType::Q4_0 ? 16 : 32;
  auto byte_at = [&](int i) { return group[size_t(b) * kPackRows * qb + size_t(i / 4) * 64 + size_t(j) * 4 + i % 4]; };
  if constexpr (T == GgmlType::Q4_0)
    return (e < 16 ? byte_at(e) & 0x0F : byte_at(e - 16) >> 4) - 8;
  else
    return int(int8_t(byte_at(e)));
}

template <GgmlType T>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t x_stride,
                 const PackedActInfo* info, int64_t nc, int64_t nrows, float* y, int64_t ldy) {
  const int64_t nb = n / 32;
  constexpr int qb = T == GgmlType::Q4_0 ? 16 : 32;
  const auto* scales = group + size_t(nb) * kPackRows * qb;
  for (int64_t c = 0; c < nc; ++c) {
    const auto* xb = reinterpret_cast<const BlockQ8_0*>(x + size_t(c) * x_stride);
    for (int64_t j = 0; j < nrows; ++j) {
      float sum = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        int32_t isum = 0;
        for (int e = 0; e < 32; ++e) isum += weight_at<T>(group, b, j, e) * xb[b].qs[e];
        f16_bits dw;
        std::memcpy(&dw, scales + (size_t(b) * kPackRows + size_t(j)) * 2, 2);
        const float d = fp16_to_fp32(dw) * info[c * nb + b].d;
        sum += d * float(isum);
      }
      y[c * ldy + j] = sum;
    }
  }
}

// Float weights: lane j of the packed kernels is row j's reference dot (dot_legacy_scalar.cpp),
// sum = fma(w_e, x_e, sum) in element order, with x an f32 row.
template <GgmlType T>
float weight_f32(const uint8_t* group, int64_t e, int64_t j) {
  const uint8_t* p = group + (size_t(e) * kPackRows + size_t(j)) * (T == GgmlType::F32 ? 4 : 2);
  if constexpr (T == GgmlType::F32) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  } else {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return T == GgmlType::F16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
  }
}

template <GgmlType T>
void packed_float(int64_t n, const uint8_t* group, const uint8_t* x, size_t x_stride, const PackedActInfo*,
                  int64_t nc, int64_t nrows, float* y, int64_t ldy) {
  for (int64_t c = 0; c < nc; ++c) {
    const auto* xf = reinterpret_cast<const float*>(x + size_t(c) * x_stride);
    for (int64_t j = 0; j < nrows; ++j) {
      float sum = 0.0f;
      for (int64_t e = 0; e < n; ++e) sum = std::fma(weight_f32<T>(group, e, j), xf[e], sum);
      y[c * ldy + j] = sum;
    }
  }
}

}  // namespace

void register_packed_scalar(KernelTable& t) {
  t.packed_gemm[uint32_t(GgmlType::F32)] = packed_float<GgmlType::F32>;
  t.packed_gemm[uint32_t(GgmlType::F16)] = packed_float<GgmlType::F16>;
  t.packed_gemm[uint32_t(GgmlType::BF16)] = packed_float<GgmlType::BF16>;
  t.packed_gemm[uint32_t(GgmlType::Q4_0)] = packed_gemm<GgmlType::Q4_0>;
  t.packed_gemm[uint32_t(GgmlType::Q8_0)] = packed_gemm<GgmlType::Q8_0>;
}

}  // namespace trident
