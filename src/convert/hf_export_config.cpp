#include "convert/hf_export_config.h"

#include <fmt/format.h>

#include <cmath>
#include <string>

#include "format/error.h"

namespace trident {
namespace {

using nlohmann::ordered_json;

// The shortest decimal that reads back as this float, so config.json says 1e-06 rather than
// 9.999999974752427e-07, and convert restores the same float bits.
double clean(float f) { return std::stod(fmt::format("{}", f)); }

const char* torch_dtype(GgmlType t) {
  switch (t) {
    case GgmlType::F16: return "float16";
    case GgmlType::BF16: return "bfloat16";
    default: return "float32";
  }
}

}  // namespace

ordered_json make_hf_config(const GgufFile& f, const ArchSpec& a, const HParams& hp, const VocabData& v,
                            const HfExportFacts& facts) {
  const std::string p = std::string(a.name) + ".";
  const std::string gguf_name = f.get_string("general.name").value_or("");
  ordered_json c;
  c["architectures"] = {std::string(a.hf.classes[0])};
  c["model_type"] = std::string(a.hf.model_type);
  if (!gguf_name.empty()) c["_name_or_path"] = gguf_name;
  c["vocab_size"] = hp.n_vocab;
  c["hidden_size"] = hp.n_embd;
  c["intermediate_size"] = hp.n_ff;
  c["num_hidden_layers"] = hp.n_layer;
  c["num_attention_heads"] = hp.n_head;
  c["num_key_value_heads"] = hp.n_head_kv;
  c["head_dim"] = hp.head_dim;
  c["max_position_embeddings"] = hp.n_ctx_train;
  c["rms_norm_eps"] = clean(hp.norm_eps);
  c["rope_theta"] = clean(hp.rope_base);
  c["tie_word_embeddings"] = facts.tied;
  c["torch_dtype"] = torch_dtype(facts.dtype);
  if (a.act == Activation::GeluTanh) c["hidden_activation"] = "gelu_pytorch_tanh";
  else c["hidden_act"] = "silu";
  if (v.bos >= 0) c["bos_token_id"] = v.bos;
  if (v.eos >= 0) c["eos_token_id"] = v.eos;
  if (v.pad >= 0) c["pad_token_id"] = v.pad;

  if (auto type = f.get_string(p + "rope.scaling.type"); type && *type != "none") {
    if (*type != "linear")
      fail("{}: key '{}': rope scaling '{}' cannot be exported (only linear)", f.path(), p + "rope.scaling.type", *type);
    c["rope_scaling"] = {{"rope_type", "linear"}, {"factor", clean(1.0f / hp.rope_freq_scale)}};
  } else {
    c["rope_scaling"] = nullptr;
  }
  if (a.hf.export_attention_bias) c["attention_bias"] = facts.attention_bias;
  if (a.hf.export_mlp_bias) c["mlp_bias"] = false;
  if (a.hf.export_no_sliding_window) c["use_sliding_window"] = false;
  if (a.moe()) {
    c["num_experts"] = hp.n_expert;
    c["num_experts_per_tok"] = hp.n_expert_used;
    c["norm_topk_prob"] = a.moe_norm_topk;
    if (a.hf.experts_in_intermediate) {
      c["intermediate_size"] = hp.n_ff_expert;
      c["clip_qkv"] = nullptr;
    } else {
      c["moe_intermediate_size"] = hp.n_ff_expert;
      c["decoder_sparse_step"] = 1;
      c["mlp_only_layers"] = ordered_json::array();
    }
    if (a.shared_expert_gate) c["shared_expert_intermediate_size"] = facts.n_ff_shexp;
  }
  if (a.hf.window == HfWindowKeys::Alternating) {
    c["sliding_window"] = hp.swa_window;
    c["attn_logit_softcapping"] = hp.attn_softcap > 0 ? ordered_json(clean(hp.attn_softcap)) : ordered_json(nullptr);
    c["final_logit_softcapping"] = hp.final_softcap > 0 ? ordered_json(clean(hp.final_softcap)) : ordered_json(nullptr);
    // The query scale llama.cpp uses: 1 / sqrt(this).
    c["query_pre_attn_scalar"] =
        hp.attn_scale > 0 ? std::llround(1.0 / (double(hp.attn_scale) * double(hp.attn_scale))) : hp.head_dim;
  }
  if (a.hf.mup_multipliers) {
    // GGUF's 0 means "none": a multiplier of 1, and the usual 1 / sqrt(head_dim) for attention.
    c["attention_multiplier"] = hp.attn_scale > 0 ? clean(hp.attn_scale) : 1.0 / std::sqrt(double(hp.head_dim));
    c["embedding_multiplier"] = hp.embd_scale > 0 ? clean(hp.embd_scale) : 1.0;
    c["residual_multiplier"] = hp.residual_scale > 0 ? clean(hp.residual_scale) : 1.0;
    c["logits_scaling"] = hp.logit_scale > 0 ? clean(hp.logit_scale) : 1.0;
  }
  if (a.hf.no_rope_layers) {
    ordered_json layers = ordered_json::array();
    for (int64_t l = 0; l < hp.n_layer; ++l) layers.push_back(hp.layer_no_rope.empty() || !hp.layer_no_rope[size_t(l)] ? 1 : 0);
    c["no_rope_layers"] = layers;
    c["no_rope_layer_interval"] = a.no_rope_every;
  }
  if (a.hf.window == HfWindowKeys::LayerPattern) {
    const int64_t pattern = f.get_int(p + "attention.sliding_window_pattern").value_or(a.default_swa_pattern);
    c["sliding_window"] = hp.swa_window > 0 ? hp.swa_window : hp.n_ctx_train;
    c["sliding_window_pattern"] = pattern;
    ordered_json types = ordered_json::array();
    for (int64_t l = 0; l < hp.n_layer; ++l)
      types.push_back(hp.swa_window > 0 && hp.layer_is_swa[size_t(l)] ? "sliding_attention" : "full_attention");
    c["layer_types"] = types;
    c["rope_local_base_freq"] = clean(hp.rope_base_swa);
    c["query_pre_attn_scalar"] = hp.head_dim;
    c["final_logit_softcapping"] = nullptr;
    c["attn_logit_softcapping"] = nullptr;
    if (auto cap = f.get_float(p + "final_logit_softcapping")) c["final_logit_softcapping"] = clean(float(*cap));
  }
  if (a.hf.window == HfWindowKeys::Window) {
    const int64_t swa = f.get_int(p + "attention.sliding_window").value_or(0);
    c["sliding_window"] = swa > 0 ? ordered_json(swa) : ordered_json(nullptr);
  }
  if (a.hf.partial_rotary) {
    if (auto orig = f.get_int(p + "rope.scaling.original_context_length")) c["original_max_position_embeddings"] = *orig;
    if (hp.n_rot != hp.head_dim) c["partial_rotary_factor"] = double(hp.n_rot * hp.n_head) / double(hp.n_embd);
  } else if (hp.n_rot != hp.head_dim) {
    fail("{}: key '{}': partial rotary ({} of {} dimensions) has no {} config.json form", f.path(),
         p + "rope.dimension_count", hp.n_rot, hp.head_dim, a.hf.classes[0]);
  }
  return c;
}

ordered_json make_hf_generation_config(const VocabData& v) {
  ordered_json g;
  if (v.bos >= 0) g["bos_token_id"] = v.bos;
  if (v.eos >= 0) g["eos_token_id"] = v.eos;
  if (v.pad >= 0) g["pad_token_id"] = v.pad;
  g["_from_model_config"] = true;
  return g;
}

}  // namespace trident
