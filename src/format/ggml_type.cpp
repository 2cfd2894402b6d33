#include "format/ggml_type.h"

#include <array>
#include <cctype>

namespace trident {
namespace {

constexpr std::array<GgmlTypeLayout, kGgmlTypeCount> make_layouts() {
  std::array<GgmlTypeLayout, kGgmlTypeCount> t{};
  auto set = [&](GgmlType id, std::string_view n, int64_t bs, size_t ts) {
    t[uint32_t(id)] = {n, bs, ts};
  };
  set(GgmlType::F32, "f32", 1, 4);
  set(GgmlType::F16, "f16", 1, 2);
  set(GgmlType::Q4_0, "q4_0", 32, 18);
  set(GgmlType::Q4_1, "q4_1", 32, 20);
  set(GgmlType::Q5_0, "q5_0", 32, 22);
  set(GgmlType::Q5_1, "q5_1", 32, 24);
  set(GgmlType::Q8_0, "q8_0", 32, 34);
  set(GgmlType::Q8_1, "q8_1", 32, 36);
  set(GgmlType::Q2_K, "q2_K", 256, 84);
  set(GgmlType::Q3_K, "q3_K", 256, 110);
  set(GgmlType::Q4_K, "q4_K", 256, 144);
  set(GgmlType::Q5_K, "q5_K", 256, 176);
  set(GgmlType::Q6_K, "q6_K", 256, 210);
  set(GgmlType::Q8_K, "q8_K", 256, 292);
  set(GgmlType::IQ2_XXS, "iq2_xxs", 256, 66);
  set(GgmlType::IQ2_XS, "iq2_xs", 256, 74);
  set(GgmlType::IQ3_XXS, "iq3_xxs", 256, 98);
  set(GgmlType::IQ1_S, "iq1_s", 256, 50);
  set(GgmlType::IQ4_NL, "iq4_nl", 32, 18);
  set(GgmlType::IQ3_S, "iq3_s", 256, 110);
  set(GgmlType::IQ2_S, "iq2_s", 256, 82);
  set(GgmlType::IQ4_XS, "iq4_xs", 256, 136);
  set(GgmlType::I8, "i8", 1, 1);
  set(GgmlType::I16, "i16", 1, 2);
  set(GgmlType::I32, "i32", 1, 4);
  set(GgmlType::I64, "i64", 1, 8);
  set(GgmlType::F64, "f64", 1, 8);
  set(GgmlType::IQ1_M, "iq1_m", 256, 56);
  set(GgmlType::BF16, "bf16", 1, 2);
  set(GgmlType::TQ1_0, "tq1_0", 256, 54);
  set(GgmlType::TQ2_0, "tq2_0", 256, 66);
  set(GgmlType::MXFP4, "mxfp4", 32, 17);
  set(GgmlType::NVFP4, "nvfp4", 64, 36);
  set(GgmlType::Q1_0, "q1_0", 128, 18);
  set(GgmlType::Q2_0, "q2_0", 64, 18);
  return t;
}
constexpr auto kLayouts = make_layouts();

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower((unsigned char)a[i]) != std::tolower((unsigned char)b[i])) return false;
  return true;
}

}  // namespace

const GgmlTypeLayout* ggml_type_layout(uint32_t id) {
  if (id >= kGgmlTypeCount || kLayouts[id].block_size == 0) return nullptr;
  return &kLayouts[id];
}

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
  for (uint32_t i = 0; i < kGgmlTypeCount; ++i)
    if (kLayouts[i].block_size != 0 && iequal(kLayouts[i].name, name)) return GgmlType(i);
  return std::nullopt;
}

}  // namespace trident
