// A loaded model: hyper-parameters, the architecture row, and per-layer weights as views into
// the mmapped GGUF (copies only where a tensor must change form, e.g. F16 norm weights).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "model/packed_weights.h"
#include "model/projection.h"

namespace trident {

// A recurrent mixer's weights (LayerSizes::mixer; runtime/recurrent_layers.cpp). Which are set
// depends on the mixer; the rest stay empty.
struct RecurrentWeights {
  Projection in;                          // [n_embd] -> the mixer's input rows (ssm_in, shortconv.in_proj)
  const float* conv = nullptr;            // [d_conv][channels], time-major (the file's conv1d, transposed)
  const float* conv_b = nullptr;          // [channels] or nullptr
  Projection x;                           // Mamba-1 ssm_x: [d_inner] -> [dt_rank + 2 d_state]
  Projection dt;                          // Mamba-1 ssm_dt: [dt_rank] -> [d_inner]
  const float* dt_b = nullptr;            // [dt heads] added to dt (Mamba-1: d_inner; Mamba-2: n_head)
  const float* dt_norm = nullptr;         // Mamba-1 RMS norms of dt, B, C (ssm_dt_b_c_rms), or nullptr
  const float* b_norm = nullptr;
  const float* c_norm = nullptr;
  const float* a = nullptr;               // ssm_a: Mamba-1 [d_inner][d_state]; Mamba-2 [n_head]
  const float* d = nullptr;               // ssm_d: [d_inner] / [n_head] skip weights
  const float* norm = nullptr;            // Mamba-2 grouped RMS norm [d_inner], or nullptr
  Projection out;                         // [mixer width] -> [n_embd] (ssm_out, shortconv.out_proj)
};

struct LayerWeights {
  // attention
  const float* attn_norm = nullptr;       // [n_embd] (pre-norm)
  const float* attn_norm_b = nullptr;     // LayerNorm bias
  ProjectionGroup qkv;                    // parts q [n_q], k [n_kv], v [n_kv]
  const float* q_norm = nullptr;          // [head_dim] shared by the heads, or [n_q] (QkNormKind)
  const float* k_norm = nullptr;
  const float* q_norm_b = nullptr;        // LayerNorm-style Q/K norms' biases (mpt)
  const float* k_norm_b = nullptr;
  Projection wo;                          // [n_q] -> [n_embd] (MLA: [n_head * head_dim_v_mla])
  const float* attn_sinks = nullptr;      // [n_head] sink logits (gpt-oss), or nullptr
  // Multi-head latent attention (hparams.h): qkv holds parts q_a [n_lora_q] (or a full q
  // [n_head * head_dim_k_mla]) and kv_a [n_lora_kv + n_rot], which read the same input.
  const float* q_a_norm = nullptr;        // [n_lora_q]
  Projection q_b;                         // [n_lora_q] -> [n_head * head_dim_k_mla]; no segments: none
  const float* kv_a_norm = nullptr;       // [n_lora_kv]
  Projection kv_b;                        // expanded: [n_lora_kv] -> [n_head * (nope + head_dim_v_mla)]
  std::vector<Projection> k_b;            // absorbed, per head: [nope] -> [n_lora_kv]
  std::vector<Projection> v_b;            // absorbed, per head: [n_lora_kv] -> [head_dim_v_mla]
  const float* post_attn_norm = nullptr;  // [n_embd]
  // feed-forward
  const float* ffn_norm = nullptr;
  const float* ffn_norm_b = nullptr;
  // The dense FFN (down.n_in wide: n_ff, or n_embd beside arctic's experts); none: no segments.
  ProjectionGroup gate_up;                // gated: parts gate, up [n_ff each]; plain: up only
  const float* act_scales = nullptr;      // [n_ff] the plain FFN's activation divided by these (mpt)
  Projection down;                        // [n_ff] -> [n_embd]
  const float* post_ffn_norm = nullptr;
  // mixture of experts
  bool moe = false;                       // this layer's FFN is the mixture (not a leading dense one)
  const float* moe_norm = nullptr;        // the experts' own norm of the block input (arctic)
  Projection router;                      // [n_embd] -> [n_expert]
  const float* expert_bias = nullptr;     // [n_expert] added to the scores for selection only (exp_probs_b)
  std::vector<ProjectionGroup> expert_gate_up;  // per expert: gate, up [n_ff_expert each] (plain rows: up only)
  std::vector<Projection> expert_down;    // per expert: [n_ff_expert] -> [n_embd_moe]
  Projection latent_down;                 // [n_embd] -> [n_embd_moe] before the experts; none: no segments
  Projection latent_up;                   // [n_embd_moe] -> [n_embd] after their weighted sum
  ProjectionGroup shared_gate_up;         // shared experts (ffn_*_shexp), run on every token
  Projection shared_down;                 // [n_ff_shared] -> [n_embd]; no segments: none
  Projection shared_gate;                 // [n_embd] -> 1: sigmoid weight of the shared experts

  DeltaNetWeights delta;                  // a gated delta-net layer's (none: an attention layer)
  KdaWeights kda;                         // a Kimi delta attention layer's

  RecurrentWeights rec;                   // the mixer when sizes.mixer is recurrent
  LayerSizes sizes;                       // the layer's shape (per layer: openelm, deci, gemma4)
  bool skip = false;                      // the layer changes nothing (deci: no FFN)
  bool has_ffn = true;                    // false: no feed-forward sub-layer (mamba)
  bool has_mixer = true;                  // false: no attention / mixer sub-layer (nemotron_h's FFN layers)
  // gemma4 (ArchSpec::per_layer_shapes and what comes with it)
  bool v_from_k = false;                  // no V projection: V is K's projection, before K's norm
  const float* out_scale = nullptr;       // [1] the layer's output times this (layer_output_scale)
  bool rope_factors = true;               // the model's rope factors apply here (not on gemma4's windowed layers)
  float rope_freq_scale = 1.0f;           // linear RoPE scaling of this layer
  Projection pl_gate;                     // per-layer input gate [n_embd] -> [n_embd_per_layer] (inp_gate)
  Projection pl_proj;                     // [n_embd_per_layer] -> [n_embd] (proj)
  const float* pl_post_norm = nullptr;    // [n_embd] (post_norm)

  Parallel parallel = Parallel::None;     // attention and FFN side by side
  bool swa = false;                       // sliding-window (local) attention layer
  bool rope = true;                       // RoPE on Q and K (smollm3 skips it every 4th layer)
  float rope_base = 10000.0f;
  bool attn_temp = false;                 // queries scaled by the attention temperature (llama4's no-RoPE layers)
  bool qk_l2 = false;                     // unweighted RMS norm of each Q/K head after RoPE (llama4)
};

struct LoadOptions {
  bool verbose = false;
  // Copy Q4_0 / Q8_0 matrices into the packed layout their kernels read fastest (the
  // mmapped pages are released). Off: the kernels pack each tile on the fly; same bits.
  bool repack = true;
};

class Model {
 public:
  // Throws Error naming the file and the missing / malformed key or tensor.
  static std::unique_ptr<Model> load(const std::string& path, const LoadOptions& opt = {});

  const GgufFile& file() const { return *file_; }
  const ArchSpec& arch() const { return *arch_; }
  const HParams& hp() const { return hp_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }

  const GgufTensorInfo& token_embd() const { return *token_embd_; }
  const float* embd_norm() const { return embd_norm_; }      // token_embd_norm, or nullptr
  const float* embd_norm_b() const { return embd_norm_b_; }
  const GgufTensorInfo* pos_embd() const { return pos_embd_; }  // [n_embd, positions], or nullptr
  // Per-layer inputs (ArchSpec::per_layer_inputs with a width): per_layer_token_embd
  // [n_embd_per_layer * n_layer, n_vocab], per_layer_model_proj [n_embd] -> [n_embd_per_layer *
  // n_layer] and per_layer_proj_norm [n_embd_per_layer]; nullptr / empty when absent.
  const GgufTensorInfo* per_layer_token_embd() const { return pl_token_embd_; }
  const Projection& per_layer_model_proj() const { return pl_model_proj_; }
  const float* per_layer_proj_norm() const { return pl_proj_norm_; }
  const float* output_norm() const { return output_norm_; }
  const float* output_norm_b() const { return output_norm_b_; }
  const Projection& output() const { return output_; }
  // RoPE frequency divisors [n_rot / 2] for a session of n_ctx positions, or nullptr.
  const float* rope_factors(int64_t n_ctx) const;
  // Total bytes of weights read per generated token (for the bandwidth roofline).
  uint64_t weight_bytes() const;
  uint64_t n_params() const;
  const PackedWeights& packed() const { return packed_; }

 private:
  friend class WeightLoader;
  Model() = default;
  std::unique_ptr<GgufFile> file_;
  const ArchSpec* arch_ = nullptr;
  HParams hp_;
  std::vector<LayerWeights> layers_;
  const GgufTensorInfo* token_embd_ = nullptr;
  const float* output_norm_ = nullptr;
  const float* output_norm_b_ = nullptr;
  const float* embd_norm_ = nullptr;
  const float* embd_norm_b_ = nullptr;
  const GgufTensorInfo* pos_embd_ = nullptr;
  const GgufTensorInfo* pl_token_embd_ = nullptr;
  Projection pl_model_proj_;
  const float* pl_proj_norm_ = nullptr;
  Projection output_;
  const float* rope_factors_ = nullptr;        // rope_freqs: every context
  const float* rope_factors_long_ = nullptr;   // phi3 longrope: contexts beyond n_ctx_orig
  const float* rope_factors_short_ = nullptr;  // phi3 longrope: the others
  bool repack_ = true;
  PackedWeights packed_;
  std::vector<std::vector<float>> owned_;  // converted norm weights / concatenated biases
};

}  // namespace trident
