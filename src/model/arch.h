// Architectures are data: one row per GGUF `general.architecture`, built from a few small
// enums. The generic block in runtime/forward.cpp reads the row; nothing else branches on
// architecture names.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "kernels/ops.h"

namespace trident {

enum class NormKind : uint8_t { Rms, Layer };
enum class QkNormKind : uint8_t { None, PerHead, Full };  // per head: [head_dim] weights; full: [n_head * head_dim]
enum class Activation : uint8_t { Silu, GeluTanh };
enum class FfnKind : uint8_t { Gated, Plain, Moe };

struct ArchSpec {
  std::string_view name;
  NormKind norm = NormKind::Rms;
  bool pre_norm = true;    // attn_norm / ffn_norm before each sub-layer
  bool post_norm = false;  // post_attention_norm / post_ffw_norm on each sub-layer's output
  RopeLayout rope = RopeLayout::Adjacent;
  QkNormKind qk_norm = QkNormKind::None;
  Activation act = Activation::Silu;
  FfnKind ffn = FfnKind::Gated;
  bool embd_scale = false;      // embeddings times sqrt(n_embd) (gemma)
  bool sliding_window = false;  // layers alternate local (windowed) and global attention
  int default_swa_pattern = 0;  // every n-th layer is global when the file has no pattern key
  float default_rope_base = 10000.0f;
  float default_rope_base_swa = 10000.0f;
  bool moe_norm_topk = false;   // renormalise the chosen experts' weights to sum to 1
};

// nullptr when unsupported.
const ArchSpec* find_arch(std::string_view name);
// "llama, qwen2, ..." for error messages.
std::string supported_arch_names();

}  // namespace trident
