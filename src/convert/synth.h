// Synthetic models: the exact tensor shapes and metadata of real checkpoints, filled with
// seeded random weights, so benchmarks and loaders can be exercised at real sizes without
// downloading anything. Weights are scaled so activations stay in a realistic range
// (matrices std 1/sqrt(fan_in), norms ~1, final norm ~3 so logits have a std of a few units).
//
// Generation is deterministic: every tensor draws from its own stream seeded by (seed, tensor
// name), and every row from a sub-stream, so the bytes do not depend on the thread count and
// changing --layers or --vocab leaves the other tensors' bytes alone.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/ggml_type.h"

namespace trident {

// Hyper-parameters of one real model, from its config.json.
struct SynthShape {
  std::string_view name;  // "llama-3.2-1b"
  std::string_view arch;  // general.architecture of its GGUF conversion
  int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
  int64_t n_ff = 0;       // dense FFN width (MoE models: the unused dense size they declare)
  int64_t n_vocab = 0, n_ctx_train = 0;
  float rope_base = 10000.0f;
  float norm_eps = 1e-5f;
  bool tied_output = false;
  bool qkv_bias = false;       // Q/K/V biases (also written when the row's qkv_bias says so)
  bool attn_out_bias = false;  // attn_output.bias (gpt-oss)
  int64_t n_expert = 0, n_expert_used = 0, n_ff_expert = 0;
  // DeepSeek-style MoE: n_expert_shared shared experts (one ffn_*_shexp n_ff_expert *
  // n_expert_shared wide), the first n_dense_lead layers dense (n_ff), expert_weights_scale
  // written when > 0.
  int64_t n_expert_shared = 0, n_dense_lead = 0;
  float expert_weights_scale = 0.0f;
  // Multi-head latent attention (ArchSpec::mla): the latent's width, Q's low rank (0: one
  // attn_q), the roped part of each key (n_rot) and the value head size; head_dim is the query /
  // key head size (nope + rope).
  int64_t kv_lora_rank = 0, q_lora_rank = 0, n_rot = 0, head_dim_v = 0;
  // Llama 3 rope scaling, stored by converters as a rope_freqs.weight tensor (0: none).
  float llama3_rope_factor = 0.0f, llama3_low_freq = 0.0f, llama3_high_freq = 0.0f;
  int64_t llama3_orig_ctx = 0;
  // YaRN (rope.scaling.type yarn, 0: none): factor, original context, and
  // rope.scaling.yarn_log_multiplier as llama.cpp's converter writes it (0.1 * mscale_all_dim; 0: none).
  float yarn_factor = 0.0f, yarn_log_mul = 0.0f;
  int64_t yarn_orig_ctx = 0;
  int64_t swa_window = 0;  // sliding window (0: the architecture's typical one)
  // Per-layer shapes (ArchSpec::per_layer_shapes, gemma4): every swa_every-th layer is global
  // (head_dim, n_head_kv), the others windowed (head_dim_swa, n_head_kv_swa); the last
  // n_kv_shared layers reuse earlier caches and, with wide_shared_ffn, have a 2 n_ff FFN;
  // global layers without V (v_from_k_global) use K as V; per-layer inputs of n_embd_per_layer.
  int64_t swa_every = 0, head_dim_swa = 0, n_head_kv_swa = 0, n_kv_shared = 0, n_embd_per_layer = 0;
  bool wide_shared_ffn = false, v_from_k_global = false;
  // Gated delta-net layers (ArchSpec::delta_net, qwen35) between full-attention ones, every
  // attn_interval-th layer attending: conv kernel, key heads (ssm_groups) of ssm_state, value
  // heads (ssm_heads) of ssm_state, ssm_inner = ssm_heads * ssm_state; M-RoPE sections.
  int64_t ssm_conv = 0, ssm_state = 0, ssm_groups = 0, ssm_heads = 0, ssm_inner = 0, attn_interval = 0;
  std::array<int32_t, 4> rope_sections{};
  float attn_softcap = 0.0f;   // written when > 0 (gemma2)
  float final_softcap = 0.0f;  // written when > 0
};

const SynthShape* find_synth_shape(std::string_view name);
std::string synth_shape_names();  // "llama-3.2-1b, llama-3.1-8b, ..."

// Weight formats. The llama-quantize mixes of convert/quant_mix.h (f32, f16, q8_0, q4_0,
// q4_k_m), applied "pure" (see tensor_type in synth.cpp), and single types: every matrix in
// that type, rows that fit none of its blocks in Q8_0 (or F16), the MoE router in F32.
enum class SynthType : uint8_t {
  F32, F16, Q8_0, Q4_0, Q4_K_M,  // the mixes
  BF16, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, MXFP4, NVFP4, TQ1_0, TQ2_0, Q1_0, Q2_0
};
std::optional<SynthType> synth_type_from_name(std::string_view name);
std::string synth_type_names();  // "f32, f16, q8_0, q4_0, q4_k_m, bf16, ..."
std::string_view synth_type_name(SynthType t);

struct SynthOptions {
  std::string shape;           // a name from the table
  std::string arch;            // empty: the shape's own architecture
  SynthType type = SynthType::F16;
  uint64_t seed = 0;
  int64_t n_vocab = 0;         // 0: the shape's vocabulary size
  int64_t n_layer = 0;         // 0: the shape's layer count
  // 0: the shape's routed experts; else that many, each as wide, and at most as many used
  // (a reduced copy of a MoE shape whose experts are too large to compare at full count).
  int64_t n_expert = 0;
  bool overwrite = false;
  int threads = 0;             // 0: every core; the bytes are the same for any count
  // Called after each tensor: (tensors done, total, bytes done, total bytes).
  std::function<void(size_t, size_t, uint64_t, uint64_t)> progress;
};

// One tensor of the plan.
struct SynthTensor {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;  // ne[0] = row length
};

struct SynthSummary {
  std::string arch;
  size_t n_tensors = 0;
  uint64_t n_params = 0;
  uint64_t bytes = 0;  // whole file
};

// The tensors a synth run writes, in file order. Throws Error for unknown names / bad sizes.
std::vector<SynthTensor> synth_plan(const SynthOptions& opt);
// Writes the model to `path` atomically (nothing is left behind on error). Throws Error.
SynthSummary synth_model(const SynthOptions& opt, const std::string& path);

}  // namespace trident
