#include "convert/hf_convert_arch.h"

#include <array>

namespace trident {
int64_t HfSizes::get(Dim d) const {
  switch (d) {
    case Dim::None: return 1;
    case Dim::Embd: return n_embd;
    case Dim::Q: return n_head * head_dim;
    case Dim::KV: return n_head_kv * head_dim;
    case Dim::QKV: return (n_head + 2 * n_head_kv) * head_dim;
    case Dim::Ff: return n_ff;
    case Dim::Ff2: return 2 * n_ff;
    case Dim::HeadDim: return head_dim;
    case Dim::Expert: return n_expert;
    case Dim::FfExp: return n_ff_exp;
    case Dim::FfShexp: return n_ff_shexp;
    case Dim::Vocab: return n_vocab;
  }
  return 0;
}

std::vector<TensorRule> hf_layer_rules(const ArchSpec& a) {
  using D = Dim;
  using P = RopePerm;
  std::vector<TensorRule> r;
  const Need bias = a.qkv_bias ? Need::Required : Need::Optional;
  auto norm = [](std::string_view g, std::string_view h, Dim n) {
    return TensorRule{.gguf = g, .hf = h, .rows = n, .norm = true};
  };
  r.push_back(norm("attn_norm.weight", "input_layernorm.weight", D::Embd));
  if (a.hf.native_fused) {
    r.push_back({.gguf = "attn_qkv.weight", .hf = "self_attn.qkv_proj.weight", .rows = D::QKV, .cols = D::Embd});
  } else {
    r.push_back({.gguf = "attn_q.weight", .hf = "self_attn.q_proj.weight", .rows = D::Q, .cols = D::Embd,
                 .perm = P::QHeads, .group = "qkv"});
    r.push_back({.gguf = "attn_k.weight", .hf = "self_attn.k_proj.weight", .rows = D::KV, .cols = D::Embd,
                 .perm = P::KvHeads, .group = "qkv"});
    r.push_back({.gguf = "attn_v.weight", .hf = "self_attn.v_proj.weight", .rows = D::KV, .cols = D::Embd,
                 .group = "qkv"});
    r.push_back({.gguf = "attn_q.bias", .hf = "self_attn.q_proj.bias", .rows = D::Q, .need = bias,
                 .perm = P::QHeads, .group = "qkv"});
    r.push_back({.gguf = "attn_k.bias", .hf = "self_attn.k_proj.bias", .rows = D::KV, .need = bias,
                 .perm = P::KvHeads, .group = "qkv"});
    r.push_back({.gguf = "attn_v.bias", .hf = "self_attn.v_proj.bias", .rows = D::KV, .need = bias, .group = "qkv"});
  }
  if (a.qk_norm != QkNormKind::None) {
    // Per head (qwen3, gemma3) or over all heads at once (olmoe).
    const bool full = a.qk_norm == QkNormKind::Full;
    r.push_back(norm("attn_q_norm.weight", "self_attn.q_norm.weight", full ? D::Q : D::HeadDim));
    r.push_back(norm("attn_k_norm.weight", "self_attn.k_norm.weight", full ? D::KV : D::HeadDim));
  }
  r.push_back({.gguf = "attn_output.weight", .hf = "self_attn.o_proj.weight", .rows = D::Embd, .cols = D::Q});
  r.push_back({.gguf = "attn_output.bias", .hf = "self_attn.o_proj.bias", .rows = D::Embd, .need = Need::Optional});
  if ((a.pre_norm && a.post_norm)) {
    r.push_back(norm("post_attention_norm.weight", "post_attention_layernorm.weight", D::Embd));
    r.push_back(norm("ffn_norm.weight", "pre_feedforward_layernorm.weight", D::Embd));
  } else {
    r.push_back(norm("ffn_norm.weight", "post_attention_layernorm.weight", D::Embd));
  }
  if (a.moe()) {
    r.push_back({.gguf = "ffn_gate_inp.weight", .hf = "mlp.gate.weight", .rows = D::Expert, .cols = D::Embd});
    r.push_back({.gguf = "ffn_gate_exps.weight", .hf = "mlp.experts.{e}.gate_proj.weight", .rows = D::FfExp,
                 .cols = D::Embd, .experts = true, .group = "gate_up"});
    r.push_back({.gguf = "ffn_up_exps.weight", .hf = "mlp.experts.{e}.up_proj.weight", .rows = D::FfExp,
                 .cols = D::Embd, .experts = true, .group = "gate_up"});
    r.push_back({.gguf = "ffn_down_exps.weight", .hf = "mlp.experts.{e}.down_proj.weight", .rows = D::Embd,
                 .cols = D::FfExp, .experts = true});
    if (a.shared_expert_gate) {
      // qwen2moe: one shared expert beside the routed ones, weighed by sigmoid(x . shared_expert_gate);
      // HF's gate is [1, n_embd], which llama.cpp's converter keeps 2-D.
      r.push_back({.gguf = "ffn_gate_inp_shexp.weight", .hf = "mlp.shared_expert_gate.weight", .rows = D::None,
                   .cols = D::Embd});
      r.push_back({.gguf = "ffn_gate_shexp.weight", .hf = "mlp.shared_expert.gate_proj.weight", .rows = D::FfShexp,
                   .cols = D::Embd});
      r.push_back({.gguf = "ffn_up_shexp.weight", .hf = "mlp.shared_expert.up_proj.weight", .rows = D::FfShexp,
                   .cols = D::Embd});
      r.push_back({.gguf = "ffn_down_shexp.weight", .hf = "mlp.shared_expert.down_proj.weight", .rows = D::Embd,
                   .cols = D::FfShexp});
    }
  } else if (a.hf.native_fused) {
    // HF's gate_up_proj is GGUF phi3's double-height ffn_up: gate rows, then up rows.
    r.push_back({.gguf = "ffn_up.weight", .hf = "mlp.gate_up_proj.weight", .rows = D::Ff2, .cols = D::Embd});
    r.push_back({.gguf = "ffn_down.weight", .hf = "mlp.down_proj.weight", .rows = D::Embd, .cols = D::Ff});
  } else {
    r.push_back({.gguf = "ffn_gate.weight", .hf = "mlp.gate_proj.weight", .rows = D::Ff, .cols = D::Embd,
                 .group = "gate_up"});
    r.push_back({.gguf = "ffn_up.weight", .hf = "mlp.up_proj.weight", .rows = D::Ff, .cols = D::Embd,
                 .group = "gate_up"});
    r.push_back({.gguf = "ffn_down.weight", .hf = "mlp.down_proj.weight", .rows = D::Embd, .cols = D::Ff});
  }
  if ((a.pre_norm && a.post_norm)) r.push_back(norm("post_ffw_norm.weight", "post_feedforward_layernorm.weight", D::Embd));
  return r;
}

std::vector<TensorRule> hf_global_rules(const ArchSpec&) {
  return {
      {.gguf = "token_embd.weight", .hf = "embed_tokens.weight", .rows = Dim::Vocab, .cols = Dim::Embd},
      {.gguf = "output_norm.weight", .hf = "norm.weight", .rows = Dim::Embd, .norm = true},
      // Absent when the output reuses the embeddings (tie_word_embeddings).
      {.gguf = "output.weight", .hf = "lm_head.weight", .rows = Dim::Vocab, .cols = Dim::Embd, .need = Need::Optional},
  };
}

}  // namespace trident
