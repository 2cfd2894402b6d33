// config.json <-> GGUF hyper-parameter keys, and the per-tensor output type policy. Internal
// to hf_convert.cpp / hf_export.cpp.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/ggml_type.h"
#include "format/hf_config.h"
#include "convert/hf_convert_arch.h"

namespace trident {

class GgufWriter;

struct HfHParams {
  HfSizes sizes;                  // n_vocab is filled from the embedding tensor
  int64_t n_layer = 0;
  int64_t n_ctx = 0;
  int64_t n_expert_used = 0;
  int64_t n_rot = 0;
  bool write_head_dim = false;    // config names head_dim: llama.cpp then writes key/value_length
  double rms_eps = 1e-6;
  double rope_theta = 10000.0;
  std::optional<double> rope_theta_swa;
  std::string rope_scaling;       // "", "linear", "yarn", "llama3"
  double rope_factor = 1.0;
  std::optional<int64_t> rope_orig_ctx;
  double llama3_low_freq = 1.0, llama3_high_freq = 4.0;
  std::optional<int64_t> vocab_size;       // config vocab_size, when given
  std::optional<bool> tie_embeddings;      // config tie_word_embeddings, when given
  int64_t swa_window = 0;                  // gemma3 sliding_window; phi3 keeps the raw value
  std::optional<int64_t> swa_pattern;      // gemma3: every n-th layer is global
  std::optional<double> final_softcap;
  std::optional<double> attn_softcap;      // gemma2
  // granite's multipliers, at transformers' defaults when the config omits them
  double mup_attn = 1.0, mup_embd = 1.0, mup_residual = 1.0, mup_logits = 1.0;
  std::string name;                        // general.name
};

// Reads and validates (positive sizes, heads dividing, known rope scaling). Throws Error
// naming config.json and the key.
HfHParams read_hf_hparams(const HfModelConfig& cfg, const ArchSpec& arch);

// general.* and <arch>.* keys.
void add_arch_metadata(GgufWriter& w, const ArchSpec& arch, const HfHParams& hp, GgmlType outtype);

// llama3-style rope scaling as per-frequency factors (rope_freqs.weight); empty when unused.
std::vector<float> llama3_rope_factors(const HfHParams& hp);

// The stored type of one GGUF tensor for a requested outtype, following llama.cpp's choices:
// 1-D tensors, norms, biases and the MoE router stay F32; rows whose length is not a multiple
// of the block size fall back (F16); Q4_0 files keep the output matrix (or the tied embedding)
// at Q6_K, and attn_k / attn_v at Q8_0 for 8-expert models, as llama-quantize does.
GgmlType choose_tensor_type(const std::string& gguf_name, size_t n_dims, int64_t ne0, GgmlType outtype,
                            bool output_is_tied, int64_t n_expert);

uint32_t gguf_file_type(GgmlType outtype);  // general.file_type (LLAMA_FTYPE_*)

}  // namespace trident
