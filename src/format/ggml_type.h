// Tensor element types as numbered in GGUF files, with the block layout the file format
// defines for each (elements per block, bytes per block). Arithmetic on the types lives in
// tensor/; this is only what a reader needs to validate sizes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace trident {

enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41, Q2_0 = 42,
};
inline constexpr uint32_t kGgmlTypeCount = 43;  // one past the largest id

struct GgmlTypeLayout {
  std::string_view name;   // llama.cpp's spelling, e.g. "q4_K"
  int64_t block_size;      // elements per block (along a row)
  size_t type_size;        // bytes per block
};

// nullptr for ids that are unassigned or removed from the format.
const GgmlTypeLayout* ggml_type_layout(uint32_t id);
static inline const GgmlTypeLayout& layout_of(GgmlType t) { return *ggml_type_layout(uint32_t(t)); }
// Case-insensitive lookup by name ("q8_0", "Q4_K", "f16").
std::optional<GgmlType> ggml_type_from_name(std::string_view name);

}  // namespace trident
