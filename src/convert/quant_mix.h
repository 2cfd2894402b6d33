// Which type each weight gets when a model is quantized: llama-quantize's mixes and its
// per-tensor rules (llama.cpp 3f545bec, src/llama-quant.cpp llama_tensor_get_type), shared by
// `trident quantize` and `trident synth`. The rules themselves are tables, one per mix, in
// quant_mix_rules.cpp; this header is the vocabulary they are written in and the chooser that
// walks them.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/ggml_type.h"

namespace trident {

// llama-quantize's file types (QUANT_OPTIONS in tools/quantize/quantize.cpp), in its order.
enum class QuantMix : uint8_t {
  Q1_0, Q2_0, Q4_0, Q4_1, MXFP4_MOE, Q5_0, Q5_1, IQ2_XXS, IQ2_XS, IQ2_S, IQ2_M, IQ1_S, IQ1_M,
  TQ1_0, TQ2_0, Q2_K, Q2_K_S, IQ3_XXS, IQ3_S, IQ3_M, IQ3_XS, Q3_K_S, Q3_K_M, Q3_K_L, IQ4_NL,
  IQ4_XS, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K, Q8_0, F16, BF16, F32,
};
// Any case; llama-quantize's aliases (q3_k, q4_k, q5_k) and numeric file types ("15") too.
std::optional<QuantMix> quant_mix_from_name(std::string_view name);
std::string quant_mix_names();          // "q1_0, q2_0, q4_0, ..."
std::string_view quant_mix_name(QuantMix m);  // "q4_k_m"
uint32_t quant_mix_file_type(QuantMix m);      // llama.cpp's llama_ftype, for general.file_type
GgmlType quant_mix_default_type(QuantMix m);   // the type of the tensors no rule singles out

// What llama.cpp's rules know of a tensor, from its name alone (tensor_get_category).
enum class TensorCategory : uint8_t {
  TokenEmbd, Output, AttnQ, AttnK, AttnV, AttnQkv, AttnKvB, AttnOutput, FfnUp, FfnGate, FfnDown, Other,
};
TensorCategory tensor_category(std::string_view name);

// The role a weight plays in `synth`'s plan (only the router is special there).
enum class WeightRole : uint8_t { Embd, Output, AttnV, FfnDown, Router, Other };
// Whether llama-quantize converts a tensor at all (tensor_allows_quantization): 2-D or more,
// named *weight, not a norm, router, positional table, convolution or other small tensor.
bool tensor_is_quantizable(std::string_view name, uint32_t n_dims, bool leave_output);

// The facts about the model the rules read.
struct MixModel {
  int64_t n_layer = 1;       // block_count
  int64_t n_gqa = 1;         // head_count / head_count_kv of layer 0 (0 without K/V heads)
  int64_t n_expert = 0;
  bool tied_output = false;  // no output.weight: token_embd is also the output matrix
  bool has_imatrix = false;
  bool falcon = false;       // llama.cpp's falcon-specific rules
  bool is_70b = false;       // llama.cpp's LLM_TYPE_70B (attn_v gets more bits)
  bool mxfp4_experts_only = false;  // MXFP4_MOE: only FFN expert stacks are 3-D (bailingmoe3)
};

struct MixOptions {
  bool pure = false;                      // every matrix in the mix's default type
  std::optional<GgmlType> output_type;    // --output-tensor-type
  std::optional<GgmlType> embd_type;      // --token-embedding-type
  bool leave_output = false;              // --leave-output-tensor
};

struct MixTensor {
  std::string_view name;
  GgmlType type = GgmlType::F32;  // its type in the input
  uint32_t n_dims = 2;
  int64_t ne[4] = {1, 1, 1, 1};
};

struct MixChoice {
  GgmlType type = GgmlType::F32;
  bool needs_imatrix = false;  // llama-quantize refuses to write it without importance data
  bool fell_back = false;      // its rows do not divide the chosen type's block
};

// The type of every tensor, in the order given. Counters that llama.cpp keeps as it walks the
// tensors (attn_v and ffn_down positions) run in llama.cpp's order (by layer, then name) so the
// input order does not matter. Throws Error for a tensor name without a layer where MoE rules
// need one.
std::vector<MixChoice> choose_mix_types(QuantMix mix, const MixModel& model, const MixOptions& opt,
                                        std::span<const MixTensor> tensors);

// `synth`'s entry: one tensor of a model whose attn_v / ffn_down of layer `layer` are the
// layer-th of n_layer (as in a file with one of each per block), named as in the file
// ("blk.3.attn_v.weight", "token_embd.weight"). Any tensor named *weight is converted.
GgmlType mix_tensor_type(QuantMix mix, const MixModel& model, bool pure, std::string_view name,
                         int64_t layer, int64_t row_len);

}  // namespace trident
