// Scalar reference of the packed-group kernels (tensor/repack.h) for the 32-element quants
// (Q4_0, Q5_0, Q8_0 against Q8_0 activations; Q4_1, Q5_1 against Q8_1), and for the float
// types against f32 activations. The quant part follows dot_legacy_scalar.cpp's quant dot
// exactly: per block an exact integer dot, then sum += d * float(isum) with d = d_w * d_x,
// plus m_w * s_x for the types with a min (one add of both products), blocks in order. The
// SIMD files keep that float schedule (the integer part is exact in any order), so every
// ISA and both paths, packed or row by row, give the same bits.
#include <cmath>
#include <cstring>

#include "kernels/dot_register.h"
#include "tensor/blocks.h"
#include "tensor/repack.h"

namespace trident {

void packed_act_info(GgmlType act_type, const uint8_t* x, size_t x_stride, int64_t nc, int64_t nb,
                     PackedActInfo* out) {
  for (int64_t c = 0; c < nc; ++c) {
    const uint8_t* row = x + size_t(c) * x_stride;
    for (int64_t b = 0; b < nb; ++b) {
      PackedActInfo& o = out[c * nb + b];
      if (act_type == GgmlType::Q8_0) {
        const auto& blk = reinterpret_cast<const BlockQ8_0*>(row)[b];
        int32_t sum = 0;
        for (int j = 0; j < QK8_0; ++j) {
          sum += blk.qs[j];
          if (j == 15) o.sum_lo = sum;
        }
        o.d = fp16_to_fp32(blk.d);
        o.sum = sum;
      } else if (act_type == GgmlType::Q8_1) {
        const auto& blk = reinterpret_cast<const BlockQ8_1*>(row)[b];
        o.d = fp16_to_fp32(blk.d);
        o.s = fp16_to_fp32(blk.s);
      }
    }
  }
}

namespace {

constexpr bool has_min(GgmlType t) { return t == GgmlType::Q4_1 || t == GgmlType::Q5_1; }
constexpr bool is_q5(GgmlType t) { return t == GgmlType::Q5_0 || t == GgmlType::Q5_1; }

// Weight of element e (0..31) of row j, block b, from the packed group, offset removed.
template <GgmlType T>
int weight_at(const uint8_t* group, int64_t b, int64_t j, int e) {
  const uint8_t* col = group + size_t(b) * kPackRows * packed_quant_bytes(T);
  auto byte_at = [&](int i) { return col[size_t(i / 4) * 64 + size_t(j) * 4 + i % 4]; };
  if constexpr (T == GgmlType::Q8_0) {
    return int(int8_t(byte_at(e)));
  } else {
    int q = e < 16 ? byte_at(e) & 0x0F : byte_at(e - 16) >> 4;
    if constexpr (is_q5(T)) {
      const int bit = packed_qh_bit(j, e);
      q |= (col[4 * 64 + bit / 8] >> bit % 8 & 1) << 4;  // the high-bit chunk follows the 4 quant chunks
    }
    if constexpr (T == GgmlType::Q4_0) q -= 8;
    if constexpr (T == GgmlType::Q5_0) q -= 16;
    return q;
  }
}

float fp16_at(const uint8_t* p) {
  f16_bits h;
  std::memcpy(&h, p, 2);
  return fp16_to_fp32(h);
}

// x: Q8_0 rows (Q8_1 for the types with a min).
template <GgmlType T>
void packed_gemm(int64_t n, const uint8_t* group, const uint8_t* x, size_t x_stride,
                 const PackedActInfo* info, int64_t nc, int64_t nrows, float* y, int64_t ldy) {
  const int64_t nb = n / 32;
  const uint8_t* scales = group + size_t(nb) * kPackRows * packed_quant_bytes(T);
  const uint8_t* mins = scales + size_t(nb) * kPackRows * 2;
  // Both activation blocks end in their 32 quants.
  constexpr size_t kXBlock = has_min(T) ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);
  for (int64_t c = 0; c < nc; ++c) {
    const uint8_t* xr = x + size_t(c) * x_stride;
    for (int64_t j = 0; j < nrows; ++j) {
      float sum = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const auto* xq = reinterpret_cast<const int8_t*>(xr + size_t(b + 1) * kXBlock - 32);
        int32_t isum = 0;
        for (int e = 0; e < 32; ++e) isum += weight_at<T>(group, b, j, e) * xq[e];
        const PackedActInfo& in = info[c * nb + b];
        const size_t at = (size_t(b) * kPackRows + size_t(j)) * 2;
        const float d = fp16_at(scales + at) * in.d;
        if constexpr (has_min(T))
          sum += d * float(isum) + fp16_at(mins + at) * in.s;
        else
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
  t.packed_gemm[uint32_t(GgmlType::Q4_1)] = packed_gemm<GgmlType::Q4_1>;
  t.packed_gemm[uint32_t(GgmlType::Q5_0)] = packed_gemm<GgmlType::Q5_0>;
  t.packed_gemm[uint32_t(GgmlType::Q5_1)] = packed_gemm<GgmlType::Q5_1>;
  t.packed_gemm[uint32_t(GgmlType::Q8_0)] = packed_gemm<GgmlType::Q8_0>;
}

}  // namespace trident
