// Reading one group of hyper-parameter keys each (model/hparams.cpp puts them together):
// helpers of read_hparams, not an interface of their own.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "model/hparams.h"

namespace trident::hparams_keys {

// Widths derived from the keys (n_head * head_dim, 2 * n_ff, ...) index rows with int64_t
// arithmetic in the kernels; bounding them here keeps every later product far from overflow.
constexpr int64_t kMaxSize = int64_t(1) << 32;
constexpr uint64_t kMaxWidth = uint64_t(1) << 31;

int64_t positive(const GgufFile& f, const std::string& key, std::optional<int64_t> v);

// a * b as a row width, refused (naming both keys) when it overflows or exceeds kMaxWidth.
void check_width(const GgufFile& f, const std::string& key_a, int64_t a, const std::string& key_b, int64_t b);

// A finite positive float (epsilons, rope bases): NaN, 0 or a negative value gives "#####".
float positive_float(const GgufFile& f, const std::string& key, double fallback);

// ALiBi's slope for each head, as ggml's soft_max computes them from the maximum bias.
std::vector<float> alibi_slopes(int64_t n_head, float max_bias);

// How positions enter attention: RoPE (with M-RoPE's sections), ALiBi, or nothing.
void read_positions(const GgufFile& f, const ArchSpec& arch, HParams& h);

// An epsilon: finite and not negative (NaN or a negative value gives "#####"; 0 is what
// llama.cpp uses where its loader reads none, e.g. qwen2vl).
float norm_epsilon(const GgufFile& f, const std::string& key, double fallback);

// How tokens are routed, from the keys the family's llama.cpp loader reads.
void read_moe_routing(const GgufFile& f, const ArchSpec& arch, HParams& h);

// A size key as llama.cpp's get_key_or_arr reads it: one value for every layer, or (rows with
// per_layer_sizes or per_layer_shapes) an array of one value per layer (integers or bools), each
// from `min` up. An array also covers the n_trailing multi-token-prediction blocks after the
// forward pass's (llama.cpp reads it over block_count); their values are checked and dropped.
// nullopt: absent.
std::optional<std::vector<int64_t>> layer_values(const GgufFile& f, const std::string& key, int64_t n_layer,
                                                 bool per_layer, int64_t min, int64_t n_trailing = 0);

// Expert counts, widths and routing of a MoE file. The experts' width falls back to
// feed_forward_length (Mixtral-style files: llama, mistral3, granite; 0 means "not set", as
// llama.cpp reads it), or for single_sublayer rows to layer 0's width over the experts used, as
// llama.cpp's nemotron_h loader.
void read_experts(const GgufFile& f, const ArchSpec& arch, HParams& h);

// Per-layer head counts (openelm, deci): the largest sizes the buffers; each layer's own must
// divide (KV heads 0 with heads: deci's linear attention).
void read_layer_heads(const GgufFile& f, const ArchSpec& arch, HParams& h);

// Windows and RoPE of the FixedWindow families, as their llama.cpp loaders set them.
void read_fixed_window(const GgufFile& f, const ArchSpec& arch, HParams& h);

// YaRN as llama_context sets it up when rope.scaling.type is yarn (ext_factor 1): the ramp's
// correction dims from beta_fast 32 and beta_slow 1 (llama.cpp's defaults, which only the
// loaders of the rows with yarn_keys change) and the attention factor, whose
// 1 + 0.1 ln(factor) ggml's rope multiplies back in. A no-op without YaRN.
void finish_yarn(const ArchSpec& arch, HParams& h);

// Multi-head latent attention's sizes (ArchSpec::mla), as llama.cpp's deepseek2 and minicpm3
// loaders read them, and the attention scale their graphs use. h.head_dim holds key_length
// (or n_embd / n_head) on entry; on return it is the cached head size (hparams.h).
void read_mla(const GgufFile& f, const ArchSpec& arch, HParams& h, int64_t v_len);

// The per-layer shapes of a per_layer_shapes row (gemma4, as llama.cpp's loader reads it):
// head counts and FFN widths per layer, the windowed layers' own head size and rotary count,
// the window pattern per layer, and the layers that share an earlier layer's K/V cache.
void read_layer_shapes(const GgufFile& f, HParams& h);

}  // namespace trident::hparams_keys
