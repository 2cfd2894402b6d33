// Synthetic models: the exact tensor shapes and metadata of real checkpoints, filled with
// seeded random weights, so benchmarks and loaders can be exercised at real sizes without
// downloading anything. Weights are scaled so activations stay in a realistic range
// (matrices std 1/sqrt(fan_in), norms ~1, final norm ~3 so logits have a std of a few units).
//
// Generation is deterministic: every tensor draws from its own stream seeded by (seed, tensor
// name), and every row from a sub-stream, so the bytes do not depend on the thread count and
// changing --layers or --vocab leaves the other tensors' bytes alone.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/ggml_type.h"
#include "convert/quant_mix.h"

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
  bool qkv_bias = false;
  int64_t n_expert = 0, n_expert_used = 0, n_ff_expert = 0;
  // Llama 3 rope scaling, stored by converters as a rope_freqs.weight tensor (0: none).
  float llama3_rope_factor = 0.0f, llama3_low_freq = 0.0f, llama3_high_freq = 0.0f;
  int64_t llama3_orig_ctx = 0;
  int64_t swa_window = 0;  // sliding window (0: the architecture's typical one)
  // Per-layer shapes (ArchSpec::per_layer_shapes, gemma4): every swa_every-th layer is global
  // (head_dim, n_head_kv), the others windowed (head_dim_swa, n_head_kv_swa); the last
  // n_kv_shared layers reuse earlier caches and, with wide_shared_ffn, have a 2 n_ff FFN;
  // global layers without V (v_from_k_global) use K as V; per-layer inputs of n_embd_per_layer.
  int64_t swa_every = 0, head_dim_swa = 0, n_head_kv_swa = 0, n_kv_shared = 0, n_embd_per_layer = 0;
  bool wide_shared_ffn = false, v_from_k_global = false;
  float final_softcap = 0.0f;  // written when > 0
};

const SynthShape* find_synth_shape(std::string_view name);
std::string synth_shape_names();  // "llama-3.2-1b, llama-3.1-8b, ..."

// Weight formats: the mixes of model/quant_mix.h that synth offers (f32, f16, q8_0, q4_0, q4_k_m),
// applied "pure" (see tensor_type in synth.cpp).
using SynthType = QuantMix;
std::optional<SynthType> synth_type_from_name(std::string_view name);
std::string synth_type_names();  // "f32, f16, q8_0, q4_0, q4_k_m"
std::string_view synth_type_name(SynthType t);

struct SynthOptions {
  std::string shape;           // a name from the table
  std::string arch;            // empty: the shape's own architecture
  SynthType type = SynthType::F16;
  uint64_t seed = 0;
  int64_t n_vocab = 0;         // 0: the shape's vocabulary size
  int64_t n_layer = 0;         // 0: the shape's layer count
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
