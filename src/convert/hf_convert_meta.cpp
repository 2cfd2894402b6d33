#include "convert/hf_convert_meta.h"

#include <cmath>
#include <filesystem>

#include "format/error.h"
#include "format/gguf_writer.h"

namespace trident {
namespace {

int64_t positive(const JsonDoc& c, const char* key, std::optional<int64_t> v) {
  if (!v) fail("{}: missing (required)", c.where(key));
  if (*v <= 0 || *v > (int64_t(1) << 32)) fail("{}: expected a positive size, found {}", c.where(key), *v);
  return *v;
}

void read_rope(const JsonDoc& c, HfHParams& h) {
  // Newer configs nest everything under rope_parameters (per attention kind for Gemma 3);
  // older ones use rope_theta + rope_scaling.
  std::optional<JsonDoc> rp = c.opt_object("rope_parameters");
  if (!rp) rp = c.opt_object("rope_scaling");
  if (rp) {
    if (auto full = rp->opt_object("full_attention")) {
      if (auto sw = rp->opt_object("sliding_attention"))
        if (auto t = sw->opt_float("rope_theta")) h.rope_theta_swa = *t;
      rp = full;
    }
    if (auto t = rp->opt_float("rope_theta")) h.rope_theta = *t;
    std::string type = rp->opt_string("rope_type").value_or(rp->opt_string("type").value_or(""));
    if (type == "default") type.clear();
    if (!type.empty()) {
      if (type != "linear" && type != "yarn" && type != "llama3")
        fail("{}: rope scaling '{}' is not supported (supported: linear, yarn, llama3)",
             rp->where(rp->has("rope_type") ? "rope_type" : "type"), type);
      h.rope_scaling = type;
      h.rope_factor = rp->get_float("factor");
      if (!(h.rope_factor > 0)) fail("{}: expected a positive factor, found {}", rp->where("factor"), h.rope_factor);
      h.rope_orig_ctx = rp->opt_int("original_max_position_embeddings");
      if (type == "llama3") {
        h.llama3_low_freq = rp->opt_float("low_freq_factor").value_or(1.0);
        h.llama3_high_freq = rp->opt_float("high_freq_factor").value_or(4.0);
        if (!h.rope_orig_ctx) h.rope_orig_ctx = 8192;
        if (h.llama3_high_freq == h.llama3_low_freq)
          fail("{}: equals low_freq_factor (the llama3 ramp would divide by zero)", rp->where("high_freq_factor"));
      }
      if (type == "yarn" && !h.rope_orig_ctx)
        fail("{}: missing (required for yarn)", rp->where("original_max_position_embeddings"));
    }
  }
  if (auto t = c.opt_float("rope_theta")) h.rope_theta = *t;
  if (auto t = c.opt_float("rope_local_base_freq")) h.rope_theta_swa = *t;
  if (!(h.rope_theta > 0)) fail("{}: expected a positive base, found {}", c.where("rope_theta"), h.rope_theta);
}

}  // namespace

HfHParams read_hf_hparams(const HfModelConfig& cfg, const ArchSpec& a) {
  const JsonDoc& c = cfg.config;
  const HfFacts& d = a.hf;
  HfHParams h;
  HfSizes& s = h.sizes;
  h.n_layer = positive(c, "num_hidden_layers", c.opt_int("num_hidden_layers"));
  s.n_embd = positive(c, "hidden_size", c.opt_int("hidden_size"));
  s.n_head = positive(c, "num_attention_heads", c.opt_int("num_attention_heads").value_or(d.default_n_head));
  s.n_head_kv = positive(c, "num_key_value_heads",
                         c.opt_int("num_key_value_heads").value_or(d.default_n_head_kv ? d.default_n_head_kv : s.n_head));
  if (s.n_head % s.n_head_kv)
    fail("{}: {} attention heads are not a multiple of {} KV heads", c.where("num_key_value_heads"), s.n_head,
         s.n_head_kv);
  h.write_head_dim = (c.has("head_dim") && !d.head_dim_from_heads) || d.write_head_dim;
  if (d.head_dim_from_heads) {
    // granite's converter drops head_dim: the head size is hidden_size / heads.
    if (s.n_embd % s.n_head)
      fail("{}: {} is not a multiple of the {} heads", c.where("hidden_size"), s.n_embd, s.n_head);
    s.head_dim = s.n_embd / s.n_head;
    if (auto hd = c.opt_int("head_dim"); hd && *hd != s.head_dim)
      fail("{}: {} differs from hidden_size / num_attention_heads = {}, which {} uses", c.where("head_dim"), *hd,
           s.head_dim, cfg.architecture);
  } else if (c.has("head_dim")) {
    s.head_dim = positive(c, "head_dim", c.opt_int("head_dim"));
  } else if (d.default_head_dim) {
    s.head_dim = d.default_head_dim;
  } else {
    if (s.n_embd % s.n_head)
      fail("{}: {} is not a multiple of the {} heads (and no head_dim is given)", c.where("hidden_size"), s.n_embd,
           s.n_head);
    s.head_dim = s.n_embd / s.n_head;
  }
  if (a.moe()) {
    s.n_expert = positive(c, "num_experts", c.opt_int("num_experts"));
    h.n_expert_used = positive(c, "num_experts_per_tok", c.opt_int("num_experts_per_tok"));
    if (h.n_expert_used > s.n_expert)
      fail("{}: {} experts per token but only {} experts", c.where("num_experts_per_tok"), h.n_expert_used, s.n_expert);
    if (d.experts_in_intermediate) {
      s.n_ff_exp = positive(c, "intermediate_size", c.opt_int("intermediate_size"));
      s.n_ff = s.n_ff_exp;  // written as feed_forward_length, which the loader reads as the experts' width
    } else {
      s.n_ff_exp = positive(c, "moe_intermediate_size", c.opt_int("moe_intermediate_size"));
      s.n_ff = c.opt_int("intermediate_size").value_or(0);
    }
    if (a.shared_expert_gate)
      s.n_ff_shexp = positive(c, "shared_expert_intermediate_size", c.opt_int("shared_expert_intermediate_size"));
    if (auto norm = c.opt_bool("norm_topk_prob"); norm && *norm != a.moe_norm_topk)
      fail("{}: {} is not what llama.cpp's {} graph computes (it {} the chosen experts' weights)",
           c.where("norm_topk_prob"), *norm, a.name, a.moe_norm_topk ? "renormalises" : "does not renormalise");
    if (c.opt_int("decoder_sparse_step").value_or(1) != 1)
      fail("{}: only every layer being a mixture of experts (1) is supported", c.where("decoder_sparse_step"));
    if (const auto* m = c.find("mlp_only_layers"); m && !(m->is_array() && m->empty()))
      fail("{}: dense layers inside a mixture-of-experts model are not supported, found {}",
           c.where("mlp_only_layers"), json_snippet(*m));
  } else {
    s.n_ff = positive(c, "intermediate_size", c.opt_int("intermediate_size"));
  }
  h.n_ctx = positive(c, "max_position_embeddings", c.opt_int("max_position_embeddings").value_or(d.default_n_ctx));
  h.rms_eps = c.opt_float("rms_norm_eps").value_or(d.default_rms_eps);
  if (!(h.rms_eps > 0)) fail("{}: expected a positive epsilon, found {}", c.where("rms_norm_eps"), h.rms_eps);
  if (d.fixed_rms_eps > 0) h.rms_eps = d.fixed_rms_eps;
  if (const auto* clip = c.find("clip_qkv"); clip && !clip->is_null())
    fail("{}: clipping Q/K/V is not part of llama.cpp's {} graph, found {}", c.where("clip_qkv"), a.name,
         json_snippet(*clip));
  h.rope_theta = d.default_rope_theta;
  read_rope(c, h);
  if (d.window == HfWindowKeys::LayerPattern && !h.rope_theta_swa) h.rope_theta_swa = 10000.0;
  h.n_rot = s.head_dim;
  if (d.partial_rotary) {
    const double pct = c.opt_float("partial_rotary_factor").value_or(1.0);
    h.n_rot = int64_t(pct * double(s.n_embd)) / s.n_head;
    if (!h.rope_orig_ctx) h.rope_orig_ctx = c.opt_int("original_max_position_embeddings");
  }
  if (d.window == HfWindowKeys::Window) h.swa_window = c.opt_int("sliding_window").value_or(0);
  if (h.n_rot <= 0 || h.n_rot > s.head_dim || h.n_rot % 2)
    fail("{}: rotary dimensions {} must be even and at most the head size {}", c.where("partial_rotary_factor"), h.n_rot,
         s.head_dim);
  if (d.window == HfWindowKeys::LayerPattern) {
    h.swa_window = c.opt_int("sliding_window").value_or(0);
    if (auto p = c.opt_int("sliding_window_pattern")) h.swa_pattern = *p;
    if (const auto* lt = c.find("layer_types"); lt && lt->is_array() && !lt->empty()) {
      // A periodic pattern "n-1 local layers, then a global one" is what GGUF can express.
      int64_t period = 0;
      for (size_t i = 0; i < lt->size(); ++i)
        if ((*lt)[i] == "full_attention") {
          period = int64_t(i) + 1;
          break;
        }
      for (size_t i = 0; period && i < lt->size(); ++i)
        if (((*lt)[i] == "full_attention") != ((int64_t(i) + 1) % period == 0))
          fail("{}: layer types are not periodic (every n-th layer global), found {}", c.where("layer_types"),
               json_snippet(*lt));
      if (period) h.swa_pattern = period;
    }
    if (c.has("attn_logit_softcapping"))
      fail("{}: attention logit soft-capping is not supported by Gemma 3 converters", c.where("attn_logit_softcapping"));
    h.final_softcap = c.opt_float("final_logit_softcapping");
  }
  if (d.window == HfWindowKeys::Alternating) {
    auto required = [&](const char* key) {
      auto v = c.opt_float(key);
      if (!v) fail("{}: missing (required)", c.where(key));
      if (!(*v > 0)) fail("{}: expected a positive value, found {}", c.where(key), *v);
      return *v;
    };
    h.swa_window = positive(c, "sliding_window", c.opt_int("sliding_window"));
    h.attn_softcap = required("attn_logit_softcapping");
    h.final_softcap = required("final_logit_softcapping");
    // llama.cpp scales the queries by 1 / sqrt(head_dim), or 1 / sqrt(hidden / heads) for the
    // 46-layer model; a config asking for another scalar computes something else.
    const int64_t scalar =
        a.embd_head_scale_at_n_layer == h.n_layer ? s.n_embd / s.n_head : s.head_dim;
    if (auto q = c.opt_float("query_pre_attn_scalar"); q && *q != double(scalar))
      fail("{}: {} differs from the {} that llama.cpp's {} graph uses for {} layers", c.where("query_pre_attn_scalar"),
           *q, scalar, a.name, h.n_layer);
  }
  if (d.mup_multipliers) {
    auto mult = [&](const char* key, double& v) {
      v = c.opt_float(key).value_or(1.0);
      if (!std::isfinite(v) || v == 0) fail("{}: expected a finite non-zero multiplier, found {}", c.where(key), v);
    };
    mult("attention_multiplier", h.mup_attn);
    mult("embedding_multiplier", h.mup_embd);
    mult("residual_multiplier", h.mup_residual);
    mult("logits_scaling", h.mup_logits);
  }
  if (d.no_rope_layers) {
    // llama.cpp skips RoPE on every a.no_rope_every-th layer; the config must say the same.
    std::vector<int64_t> want;
    for (int64_t l = 0; l < h.n_layer; ++l) want.push_back((l + 1) % a.no_rope_every != 0);
    if (const auto* nr = c.find("no_rope_layers"); nr && !nr->is_null()) {
      bool same = nr->is_array() && nr->size() == want.size();
      for (size_t l = 0; same && l < want.size(); ++l) same = (*nr)[l].is_number_integer() && (*nr)[l] == want[l];
      if (!same)
        fail("{}: expected RoPE skipped on every {}th layer (llama.cpp's {} pattern: 1 = RoPE), found {}",
             c.where("no_rope_layers"), a.no_rope_every, a.name, json_snippet(*nr));
    } else if (auto every = c.opt_int("no_rope_layer_interval"); every && *every != a.no_rope_every) {
      fail("{}: expected {} (llama.cpp's {} pattern), found {}", c.where("no_rope_layer_interval"), a.no_rope_every,
           a.name, *every);
    }
  }
  h.vocab_size = c.opt_int("vocab_size");
  h.tie_embeddings = c.opt_bool("tie_word_embeddings");
  h.name = c.opt_string("_name_or_path").value_or("");
  if (h.name.empty()) h.name = std::filesystem::path(cfg.dir).lexically_normal().filename().string();
  if (h.name.empty() || h.name == ".") h.name = std::string(a.name);
  if (const auto slash = h.name.find_last_of('/'); slash != std::string::npos) h.name = h.name.substr(slash + 1);
  return h;
}

void add_arch_metadata(GgufWriter& w, const ArchSpec& a, const HfHParams& h, GgmlType outtype) {
  const HfSizes& s = h.sizes;
  const std::string p = std::string(a.name) + ".";
  auto u32 = [&](const std::string& k, int64_t v) { w.set_u32(p + k, uint32_t(v)); };
  auto f32 = [&](const std::string& k, double v) { w.set_f32(p + k, float(v)); };
  w.set_string("general.architecture", std::string(a.name));
  w.set_string("general.name", h.name);
  w.set_u32("general.file_type", gguf_file_type(outtype));
  w.set_u32("general.quantization_version", 2);
  if (a.hf.write_vocab_size) u32("vocab_size", s.n_vocab);
  u32("context_length", h.n_ctx);
  u32("embedding_length", s.n_embd);
  u32("block_count", h.n_layer);
  if (s.n_ff > 0) u32("feed_forward_length", s.n_ff);
  u32("attention.head_count", s.n_head);
  u32("attention.head_count_kv", s.n_head_kv);
  if (h.write_head_dim) {
    u32("attention.key_length", s.head_dim);
    u32("attention.value_length", s.head_dim);
  }
  u32("rope.dimension_count", h.n_rot);
  f32("rope.freq_base", h.rope_theta);
  if (h.rope_theta_swa) f32("rope.freq_base_swa", *h.rope_theta_swa);
  f32("attention.layer_norm_rms_epsilon", h.rms_eps);
  if (a.moe()) {
    u32("expert_count", s.n_expert);
    u32("expert_used_count", h.n_expert_used);
    if (!a.hf.experts_in_intermediate) u32("expert_feed_forward_length", s.n_ff_exp);
    if (s.n_ff_shexp > 0) u32("expert_shared_feed_forward_length", s.n_ff_shexp);
  }
  if (a.hf.window == HfWindowKeys::Alternating) {
    u32("attention.sliding_window", h.swa_window);
    f32("attn_logit_softcapping", *h.attn_softcap);
    f32("final_logit_softcapping", *h.final_softcap);
  }
  if (a.hf.mup_multipliers) {
    f32("attention.scale", h.mup_attn);
    f32("embedding_scale", h.mup_embd);
    f32("residual_scale", h.mup_residual);
    f32("logit_scale", h.mup_logits);
  }
  if (h.rope_scaling == "linear" || h.rope_scaling == "yarn") {
    w.set_string(p + "rope.scaling.type", h.rope_scaling);
    f32("rope.scaling.factor", h.rope_factor);
    if (h.rope_scaling == "yarn") u32("rope.scaling.original_context_length", *h.rope_orig_ctx);
  }
  if (a.hf.partial_rotary && h.rope_orig_ctx) u32("rope.scaling.original_context_length", *h.rope_orig_ctx);
  if (a.hf.window == HfWindowKeys::Window)
    u32("attention.sliding_window", h.swa_window);  // 0 when the config has none, as llama.cpp writes
  if (a.hf.window == HfWindowKeys::LayerPattern) {
    if (h.swa_window > 0) u32("attention.sliding_window", h.swa_window);
    // llama.cpp assumes the family's own pattern when the key is absent.
    if (h.swa_pattern && *h.swa_pattern != a.default_swa_pattern) u32("attention.sliding_window_pattern", *h.swa_pattern);
    if (h.final_softcap) f32("final_logit_softcapping", *h.final_softcap);
  }
}

std::vector<float> llama3_rope_factors(const HfHParams& h) {
  if (h.rope_scaling != "llama3") return {};
  const double pi = 3.14159265358979323846;
  const double old_ctx = double(*h.rope_orig_ctx);
  const double low_wavelen = old_ctx / h.llama3_low_freq, high_wavelen = old_ctx / h.llama3_high_freq;
  const int64_t dim = h.sizes.head_dim;
  std::vector<float> out;
  for (int64_t i = 0; i < dim; i += 2) {
    const double freq = 1.0 / std::pow(h.rope_theta, double(i) / double(dim));
    const double wavelen = 2 * pi / freq;
    double f;
    if (wavelen < high_wavelen) {
      f = 1.0;
    } else if (wavelen > low_wavelen) {
      f = h.rope_factor;
    } else {
      const double smooth = (old_ctx / wavelen - h.llama3_low_freq) / (h.llama3_high_freq - h.llama3_low_freq);
      f = 1.0 / ((1 - smooth) / h.rope_factor + smooth);
    }
    out.push_back(float(f));
  }
  return out;
}

GgmlType choose_tensor_type(const std::string& name, size_t n_dims, int64_t ne0, GgmlType outtype,
                            bool output_is_tied, int64_t n_expert) {
  auto ends_with = [&](std::string_view s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (n_dims <= 1 || ends_with("_norm.weight") || !ends_with(".weight") ||
      name.find("ffn_gate_inp.") != std::string::npos)
    return GgmlType::F32;
  auto fits = [&](GgmlType t) { return ne0 % layout_of(t).block_size == 0; };
  GgmlType t = outtype;
  if (outtype == GgmlType::Q4_0) {
    const bool is_output = name == "output.weight" || (output_is_tied && name == "token_embd.weight");
    if (is_output) t = fits(GgmlType::Q6_K) ? GgmlType::Q6_K : GgmlType::Q8_0;
    if (n_expert == 8 && (ends_with("attn_k.weight") || ends_with("attn_v.weight"))) t = GgmlType::Q8_0;
  }
  return fits(t) ? t : GgmlType::F16;
}

uint32_t gguf_file_type(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return 0;
    case GgmlType::F16: return 1;
    case GgmlType::Q4_0: return 2;
    case GgmlType::Q8_0: return 7;
    case GgmlType::BF16: return 32;
    default: fail("no GGUF file type for {}", layout_of(t).name);
  }
}

}  // namespace trident
