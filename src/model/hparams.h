// Hyper-parameters read from `<arch>.*` metadata keys, with the defaults llama.cpp applies.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "model/arch.h"
#include "model/delta_net.h"

namespace trident {

// One layer's attention and FFN shape. The scalar keys' in every layer unless the row reads
// them per layer: heads, KV heads and FFN width (per_layer_sizes: openelm, deci, whose zeros
// mean no attention / linear attention / no FFN), and also the head size, rotary count and a
// K/V cache shared with an earlier layer (per_layer_shapes: gemma4).
struct LayerSizes {
  int64_t n_head = 0, n_head_kv = 0, n_ff = 0;
  int64_t head_dim = 0;
  int n_rot = 0;
  int64_t kv_source = 0;  // the layer whose K/V cache this one attends to (itself unless shared)
  Mixer mixer = Mixer::Attention;  // a recurrent mixer has no heads and no K/V rows (ArchSpec::mixer)
  bool recurrent() const { return mixer != Mixer::Attention; }
  int64_t n_q() const { return n_head * head_dim; }
  int64_t n_kv() const { return n_head_kv * head_dim; }
};

struct HParams {
  std::string arch;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;        // the blocks the forward pass runs
  int64_t n_layer_nextn = 0;  // further blocks in the file (multi-token prediction), never run
  int64_t n_head = 0;       // per-layer files: the largest layer's (buffers are sized by these)
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;     // key_length (and value_length: trident requires them equal); MLA: the cache's head size
  // Multi-head latent attention (ArchSpec::mla): ranks of the low-rank Q (0: a full attn_q) and
  // of the K/V latent; the per-head query/key size (rope part included) and value size the
  // heads have after up-projection. Absorbed: attention runs over the latent, one KV head of
  // head_dim = n_lora_kv + n_rot, whose first n_lora_kv elements are also the values. Expanded:
  // n_head KV heads of head_dim = max(key, value size), each zero-padded to it.
  int64_t n_lora_q = 0, n_lora_kv = 0;
  int64_t head_dim_k_mla = 0, head_dim_v_mla = 0;
  bool mla_absorbed = false;
  float attn_factor = 1.0f;      // MLA: the attention scale's mscale (llama.cpp's deepseek2 kq_scale)
  float rope_yarn_log_mul = 0.0f;
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  int n_rot = 0;            // rope.dimension_count
  float norm_eps = 1e-5f;
  float rope_base = 10000.0f;
  float rope_base_swa = 10000.0f;
  float rope_freq_scale = 1.0f;   // 1 / rope.scaling.factor for linear scaling
  float rope_attn_factor = 1.0f;  // rope.scaling.attn_factor: scales RoPE's cos and sin (phi3 longrope; YaRN's too)
  float rope_ext_factor = 0.0f;   // YaRN (rope.scaling.type yarn): 1, the ramp's weight (kernels/ops.h)
  float yarn_corr[2] = {0.0f, 0.0f};  // YaRN's correction dims at rope_base and n_rot
  float yarn_beta_fast = 32.0f, yarn_beta_slow = 1.0f;  // the ramp's ends (llama.cpp's defaults)
  int64_t n_ctx_orig = 0;         // rope.scaling.original_context_length, else n_ctx_train
  float attn_scale = 0.0f;        // 0: 1 / sqrt(head_dim)
  float clamp_kqv = 0.0f;         // Q, K and V clamped to [-this, this] (0: none)
  float attn_softcap = 0.0f;      // attention scores soft-capped at this (0: none)
  float final_softcap = 0.0f;     // logits soft-capped at this (0: none)
  bool moe = false;               // the feed-forward layers are mixtures of experts
  float embd_scale = 0.0f;        // µP: embeddings times this (0: none)
  float residual_scale = 0.0f;    // µP: each sub-layer's output times this before its add (0: none)
  float logit_scale = 0.0f;       // µP: logits times 1 / this (0: none)
  float logit_mult = 0.0f;        // logits times this (command-r's logit_scale; 0: none)
  bool parallel_residual = false; // use_parallel_residual (rows with parallel_by_key)
  int64_t n_ff_shared = 0;        // shared experts' width, from their tensors (0: none)
  int64_t n_expert = 0;
  int64_t n_expert_used = 0;
  int64_t n_ff_expert = 0;
  int64_t n_embd_moe = 0;         // the routed experts' input / output width (moe_latent_size; else n_embd)
  int64_t n_layer_dense_lead = 0;  // the first blocks have a dense FFN (deepseek, glm4moe)
  int64_t moe_layer_step = 1;      // after those, every step-th block is MoE, the others dense
  ExpertGating gating = ExpertGating::Softmax;
  bool expert_weights_norm = false;  // the chosen weights divided by their sum
  float expert_weights_scale = 0.0f; // the chosen weights times this (0 or 1: none)
  int64_t n_expert_groups = 0;       // > 1: experts come from the best n_group_used groups
  int64_t n_group_used = 0;
  int64_t swa_window = 0;         // 0: no sliding window
  std::vector<bool> layer_is_swa; // per layer
  std::vector<LayerSizes> layer_sizes;  // [n_layer]: every layer's (the scalar keys' when not per layer)
  std::vector<bool> layer_no_rope;  // [n_layer] layers without RoPE by the family's fixed pattern; empty: none
  int64_t attn_chunk = 0;           // > 0: windowed layers attend within chunks of this many positions
  // Attention temperature of the layers without RoPE (llama4): queries times
  // log(floor((pos + offset) / floor) + 1) * scale + 1. scale 0: none.
  float attn_temp_scale = 0.0f, attn_temp_offset = 0.0f;
  int64_t attn_temp_floor = 0;
  bool qk_l2_norm = false;          // unweighted RMS norm of each Q/K head after RoPE, roped layers only
  std::vector<float> alibi_slopes;  // [n_head] ALiBi slopes, empty: none
  bool causal = true;               // false: every token sees its whole batch
  RopeLayout rope_layout = RopeLayout::Adjacent;
  bool rope = true;                 // RoPE at all (false with ALiBi, or none at all: baichuan)
  // [n_rot / 2] pairs M-RoPE leaves unrotated for text tokens (the extra section), empty: none
  std::vector<uint8_t> rope_unrotated;

  int64_t n_embd_per_layer = 0;    // per-layer input width (0: none)
  // Gated delta-net layers' sizes (ArchSpec::delta_net; from the ssm_* keys above).
  DeltaNetSizes delta;
  bool is_delta_net(int64_t l) const { return layer_sizes[size_t(l)].mixer == Mixer::DeltaNet; }

  // Recurrent layers (ArchSpec::mixer; hparams_recurrent.cpp), the keys llama.cpp's loaders
  // read: ssm.conv_kernel (d_conv), ssm.inner_size, ssm.state_size, ssm.time_step_rank (Mamba-1:
  // dt's rank; Mamba-2 and the delta rule: heads), ssm.group_count, ssm.dt_b_c_rms; LFM2's
  // shortconv.l_cache (its kernel width). 0 where the family has none.
  int64_t ssm_d_conv = 0, ssm_d_inner = 0, ssm_d_state = 0, ssm_dt_rank = 0, ssm_n_group = 0;
  bool ssm_dt_b_c_rms = false;
  int64_t ssm_dt_dim = 0;  // Plamo2: dt's width before ssm_dt, max(64, n_embd / 16) as llama.cpp fixes it
  int64_t shortconv_l_cache = 0;

  // Its own K/V cache: an attention layer (or falcon-h1's attention beside its mixer) not
  // reading another layer's.
  bool layer_has_kv(int64_t l) const {
    const LayerSizes& s = layer_sizes[size_t(l)];
    return s.kv_source == l && (!s.recurrent() || s.n_head_kv > 0);
  }
  bool recurrent() const {
    return std::any_of(layer_sizes.begin(), layer_sizes.end(), [](const LayerSizes& s) { return s.recurrent(); });
  }
  // The widest layer's K (or V) row: the K/V cache's row length.
  int64_t kv_row_elems() const {
    int64_t m = 0;
    for (const LayerSizes& s : layer_sizes) m = std::max(m, s.n_kv());
    return m;
  }
  bool layer_is_moe(int64_t l) const { return moe && l >= n_layer_dense_lead && (l + 1) % moe_layer_step == 0; }
  int64_t n_q() const { return n_head * head_dim; }
  int64_t n_kv() const { return n_head_kv * head_dim; }
  // Layer l's sizes (the scalar ones for blocks past n_layer, e.g. multi-token prediction).
  LayerSizes sizes(int64_t l) const {
    return l >= 0 && l < int64_t(layer_sizes.size()) ? layer_sizes[size_t(l)]
                                                     : LayerSizes{n_head, n_head_kv, n_ff, head_dim, n_rot, l};
  }
  bool mla() const { return n_lora_kv > 0; }
  // Elements of one cached V row: 0 when V is a view of the K rows (absorbed MLA).
  int64_t kv_v_elems() const { return mla_absorbed ? 0 : kv_row_elems(); }
};

// Reads and validates (positive sizes, head counts dividing, rope dims <= head_dim). Throws
// Error naming the file and key.
HParams read_hparams(const GgufFile& f, const ArchSpec& arch);
// Part of read_hparams (hparams_recurrent.cpp): marks the layers that run the row's recurrent
// mixer and reads that mixer's keys, validated as the kernels need them.
void read_recurrent(const GgufFile& f, const ArchSpec& arch, HParams& h);

}  // namespace trident
