#include "tensor/types.h"

#include <array>

#include "tensor/quant_fns.h"

namespace trident {
namespace {

struct TraitsTable {
  std::array<TypeTraits, kGgmlTypeCount> t{};
  std::array<bool, kGgmlTypeCount> present{};
  void add(GgmlType type, DequantizeRowFn dq, QuantizeRowFn q, GgmlType vdt, QuantizeRowsFn rows = nullptr) {
    t[uint32_t(type)] = {type, dq, q, rows, vdt};
    present[uint32_t(type)] = true;
  }
};

// quantize_rows for a type whose quantizer takes no importance weights: the reference, row by row.
template <GgmlType kType, QuantizeRowFn kRow>
size_t rows_by_reference(const float* src, void* dst, int64_t nrow, int64_t n_per_row, const float*) {
  const size_t rb = row_bytes(kType, n_per_row);
  for (int64_t r = 0; r < nrow; ++r) kRow(src + r * n_per_row, static_cast<uint8_t*>(dst) + size_t(r) * rb, n_per_row);
  return size_t(nrow) * rb;
}

TraitsTable build() {
  TraitsTable tt;
  using T = GgmlType;
  // Float weights take f32 activations: the packed float kernels do one FMA per weight, and
  // rounding activations to f16 / bf16 first would cost precision and a conversion.
  tt.add(T::F32, dequantize_row_f32, quantize_row_f32, T::F32, rows_by_reference<T::F32, quantize_row_f32>);
  tt.add(T::F16, dequantize_row_f16, quantize_row_f16, T::F32, rows_by_reference<T::F16, quantize_row_f16>);
  tt.add(T::BF16, dequantize_row_bf16, quantize_row_bf16, T::F32, rows_by_reference<T::BF16, quantize_row_bf16>);
  tt.add(T::Q4_0, dequantize_row_q4_0, quantize_row_q4_0, T::Q8_0, quantize_q4_0);
  tt.add(T::Q4_1, dequantize_row_q4_1, quantize_row_q4_1, T::Q8_1, quantize_q4_1);
  tt.add(T::Q5_0, dequantize_row_q5_0, quantize_row_q5_0, T::Q8_0, quantize_q5_0);
  tt.add(T::Q5_1, dequantize_row_q5_1, quantize_row_q5_1, T::Q8_1, quantize_q5_1);
  tt.add(T::Q8_0, dequantize_row_q8_0, quantize_row_q8_0, T::Q8_0, rows_by_reference<T::Q8_0, quantize_row_q8_0>);
  tt.add(T::Q8_1, dequantize_row_q8_1, quantize_row_q8_1, T::Q8_1, rows_by_reference<T::Q8_1, quantize_row_q8_1>);
  tt.add(T::Q2_K, dequantize_row_q2_K, quantize_row_q2_K, T::Q8_K, quantize_q2_K);
  tt.add(T::Q3_K, dequantize_row_q3_K, quantize_row_q3_K, T::Q8_K, quantize_q3_K);
  tt.add(T::Q4_K, dequantize_row_q4_K, quantize_row_q4_K, T::Q8_K, quantize_q4_K);
  tt.add(T::Q5_K, dequantize_row_q5_K, quantize_row_q5_K, T::Q8_K, quantize_q5_K);
  tt.add(T::Q6_K, dequantize_row_q6_K, quantize_row_q6_K, T::Q8_K, quantize_q6_K);
  tt.add(T::Q8_K, dequantize_row_q8_K, quantize_row_q8_K, T::Q8_K, rows_by_reference<T::Q8_K, quantize_row_q8_K>);
  // Activation formats as llama.cpp's CPU backend pairs them (type_traits_cpu vec_dot_type).
  tt.add(T::IQ4_NL, dequantize_row_iq4_nl, quantize_row_iq4_nl, T::Q8_0, quantize_iq4_nl);
  tt.add(T::IQ4_XS, dequantize_row_iq4_xs, quantize_row_iq4_xs, T::Q8_K, quantize_iq4_xs);
  tt.add(T::MXFP4, dequantize_row_mxfp4, quantize_row_mxfp4, T::Q8_0, rows_by_reference<T::MXFP4, quantize_row_mxfp4>);
  tt.add(T::NVFP4, dequantize_row_nvfp4, quantize_row_nvfp4, T::Q8_0, rows_by_reference<T::NVFP4, quantize_row_nvfp4>);
  tt.add(T::TQ1_0, dequantize_row_tq1_0, quantize_row_tq1_0, T::Q8_K, rows_by_reference<T::TQ1_0, quantize_row_tq1_0>);
  tt.add(T::TQ2_0, dequantize_row_tq2_0, quantize_row_tq2_0, T::Q8_K, rows_by_reference<T::TQ2_0, quantize_row_tq2_0>);
  tt.add(T::Q1_0, dequantize_row_q1_0, quantize_row_q1_0, T::Q8_0, rows_by_reference<T::Q1_0, quantize_row_q1_0>);
  tt.add(T::Q2_0, dequantize_row_q2_0, quantize_row_q2_0, T::Q8_0, rows_by_reference<T::Q2_0, quantize_row_q2_0>);
  tt.add(T::IQ2_XXS, dequantize_row_iq2_xxs, nullptr, T::Q8_K, quantize_iq2_xxs);
  tt.add(T::IQ2_XS, dequantize_row_iq2_xs, nullptr, T::Q8_K, quantize_iq2_xs);
  tt.add(T::IQ2_S, dequantize_row_iq2_s, nullptr, T::Q8_K, quantize_iq2_s);
  tt.add(T::IQ3_XXS, dequantize_row_iq3_xxs, nullptr, T::Q8_K, quantize_iq3_xxs);
  tt.add(T::IQ3_S, dequantize_row_iq3_s, nullptr, T::Q8_K, quantize_iq3_s);
  tt.add(T::IQ1_S, dequantize_row_iq1_s, nullptr, T::Q8_K, quantize_iq1_s);
  tt.add(T::IQ1_M, dequantize_row_iq1_m, nullptr, T::Q8_K, quantize_iq1_m);
  return tt;
}
const TraitsTable kTraits = build();

}  // namespace

const TypeTraits* type_traits(GgmlType t) {
  uint32_t i = uint32_t(t);
  if (i >= kGgmlTypeCount || !kTraits.present[i]) return nullptr;
  return &kTraits.t[i];
}

bool type_is_computable(GgmlType t) {
  const TypeTraits* tr = type_traits(t);
  return tr && tr->dequantize_row;
}

}  // namespace trident
