#include "model/arch.h"

#include <array>

namespace trident {
namespace {

using R = RopeLayout;

// Each row says only how the family differs from a plain llama block.
constexpr std::array kArchs = {
    ArchSpec{.name = "llama"},
    ArchSpec{.name = "qwen2", .rope = R::Neox},
    ArchSpec{.name = "qwen3", .rope = R::Neox, .qk_norm = QkNormKind::PerHead},
    ArchSpec{.name = "qwen3moe", .rope = R::Neox, .qk_norm = QkNormKind::PerHead,
             .ffn = FfnKind::Moe, .moe_norm_topk = true},
    ArchSpec{.name = "gemma3", .post_norm = true, .rope = R::Neox, .qk_norm = QkNormKind::PerHead,
             .act = Activation::GeluTanh, .embd_scale = true, .sliding_window = true,
             .default_swa_pattern = 6, .default_rope_base = 1000000.0f},
    ArchSpec{.name = "phi3", .rope = R::Neox},
    ArchSpec{.name = "starcoder2", .norm = NormKind::Layer, .rope = R::Neox,
             .act = Activation::GeluTanh, .ffn = FfnKind::Plain},
    ArchSpec{.name = "olmo2", .pre_norm = false, .post_norm = true, .rope = R::Neox,
             .qk_norm = QkNormKind::Full},
};

}  // namespace

const ArchSpec* find_arch(std::string_view name) {
  for (const ArchSpec& a : kArchs)
    if (a.name == name) return &a;
  return nullptr;
}

std::string supported_arch_names() {
  std::string s;
  for (const ArchSpec& a : kArchs) {
    if (!s.empty()) s += ", ";
    s += a.name;
  }
  return s;
}

}  // namespace trident
