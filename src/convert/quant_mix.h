// Which type each weight gets when a model is quantized: llama-quantize's choices without an
// importance matrix, shared by `trident quantize` and `trident synth`.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "format/ggml_type.h"

namespace trident {

enum class QuantMix : uint8_t { F16, Q8_0, Q4_0, Q6_K, Q4_K_M, F32 };
std::optional<QuantMix> quant_mix_from_name(std::string_view name);  // "f16", "q8_0", ...
std::string quant_mix_names();                                       // "f32, f16, q8_0, q4_0, q6_k, q4_k_m"
std::string_view quant_mix_name(QuantMix m);                         // "q4_k_m"
uint32_t quant_mix_file_type(QuantMix m);  // llama.cpp's llama_ftype, for general.file_type

// The role a weight plays in the mix.
enum class WeightRole : uint8_t { Embd, Output, AttnV, FfnDown, Router, Other };
// From a GGUF tensor name ("blk.3.attn_v.weight" -> AttnV, layer 3); layer -1 outside blocks.
WeightRole weight_role(std::string_view name, int64_t* layer);

struct MixRules {
  QuantMix mix = QuantMix::Q8_0;
  int64_t n_layer = 1;
  bool tied_output = false;  // token_embd is also the output matrix
  bool pure = false;         // every matrix in the mix's main type (no Q6_K output for Q4_0)
};
// The type of a weight matrix whose rows have row_len elements:
//  * Q4_K_M: Q4_K, but Q6_K for the output matrix (token_embd when tied) and for attn_v and
//    ffn_down(_exps) on "more bits" layers (the first and last eighth, every third between);
//  * Q4_0: Q4_0 with a Q6_K output matrix unless pure; Q8_0, Q6_K, F16, F32: that type;
//  * the MoE router stays F32; rows that are not a multiple of 256 fall back as llama-quantize
//    does (Q4_K -> Q5_0, Q6_K -> Q8_0), and rows that fit no block to F16.
GgmlType mix_tensor_type(const MixRules& r, WeightRole role, int64_t layer, int64_t row_len);

}  // namespace trident
