#include "model/hparams_keys.h"

#include <algorithm>
#include <cmath>

#include "format/checked.h"
#include "format/error.h"
#include "kernels/ops.h"

namespace trident::hparams_keys {
int64_t positive(const GgufFile& f, const std::string& key, std::optional<int64_t> v) {
  if (!v) fail("{}: missing required key '{}'", f.path(), key);
  if (*v <= 0 || *v > kMaxSize)
    fail("{}: key '{}': expected a positive size up to {}, found {}", f.path(), key, kMaxSize, *v);
  return *v;
}

// a * b as a row width, refused (naming both keys) when it overflows or exceeds kMaxWidth.
void check_width(const GgufFile& f, const std::string& key_a, int64_t a, const std::string& key_b, int64_t b) {
  const uint64_t w = checked_mul(uint64_t(a), uint64_t(b), f.path() + ": keys '" + key_a + "' x '" + key_b + "'");
  if (w > kMaxWidth)
    fail("{}: keys '{}' x '{}': {} x {} = {} exceeds the largest supported width {}", f.path(), key_a, key_b, a,
         b, w, kMaxWidth);
}

// A finite positive float (epsilons, rope bases): NaN, 0 or a negative value gives "#####".
float positive_float(const GgufFile& f, const std::string& key, double fallback) {
  const double v = f.get_float(key).value_or(fallback);
  if (!(std::isfinite(v) && v > 0 && v < 3.4e38))
    fail("{}: key '{}': expected a finite positive number, found {}", f.path(), key, v);
  return float(v);
}

// ALiBi's slope for each head, as ggml's soft_max computes them from the maximum bias.
std::vector<float> alibi_slopes(int64_t n_head, float max_bias) {
  const uint32_t n_log2 = 1u << uint32_t(std::floor(std::log2(double(n_head))));
  const float m0 = std::pow(2.0f, -max_bias / float(n_log2));
  const float m1 = std::pow(2.0f, -(max_bias / 2.0f) / float(n_log2));
  std::vector<float> s(static_cast<size_t>(n_head));
  for (int64_t h = 0; h < n_head; ++h)
    s[size_t(h)] = uint32_t(h) < n_log2 ? std::pow(m0, float(h + 1)) : std::pow(m1, float(2 * (h - n_log2) + 1));
  return s;
}

// How positions enter attention: RoPE (with M-RoPE's sections), ALiBi, or nothing.
void read_positions(const GgufFile& f, const ArchSpec& arch, HParams& h) {
  const std::string p = h.arch + ".";
  float alibi = 0.0f;
  if (arch.alibi_only_at_n_layer == 0 || h.n_layer == arch.alibi_only_at_n_layer) alibi = arch.alibi_bias;
  if (arch.alibi_by_key) {
    alibi = float(f.get_float(p + "attention.max_alibi_bias").value_or(0.0));
    if (!(std::isfinite(alibi) && alibi >= 0))
      fail("{}: key '{}': expected a positive bias (or 0: none), found {}", f.path(), p + "attention.max_alibi_bias",
           alibi);
  }
  if (alibi > 0) h.alibi_slopes = alibi_slopes(h.n_head, alibi);
  // Families with ALiBi or learned absolute positions never rope.
  h.rope = alibi == 0 && !arch.alibi_by_key && arch.pos_embd == Presence::None &&
           (arch.rope_only_at_n_layer == 0 || h.n_layer == arch.rope_only_at_n_layer);
  h.rope_layout = arch.rope;
  if (arch.mrope == MRope::None) return;
  const std::string key = p + "rope.dimension_sections";
  const GgufArray* a = f.get_array(key);
  if (!a && arch.mrope == MRope::SectionsIfSet) return;
  int64_t sec[4] = {};
  if (!a || a->size() < 4 || !a->at(0).is_integer()) fail("{}: key '{}': expected an array of 4 integers", f.path(), key);
  for (int i = 0; i < 4; ++i) {
    const auto v = a->at(uint64_t(i)).as_int();
    if (!v || *v < 0 || *v > h.n_rot) fail("{}: key '{}': expected sizes from 0 to {}", f.path(), key, h.n_rot);
    sec[i] = *v;
  }
  if (arch.mrope == MRope::SectionsIfSet) {
    if (sec[0] == 0 || sec[1] == 0) return;  // as llama.cpp's use_mrope()
    h.rope_layout = RopeLayout::Neox;
  }
  const int64_t total = sec[0] + sec[1] + sec[2] + sec[3];
  if (total == 0 || total > h.head_dim) fail("{}: key '{}': sections sum to {} (expected 1 to {})", f.path(), key, total, h.head_dim);
  // As ggml's mrope cache: pair i falls in sector i % total; the extra section's pairs are
  // the rest (contiguous), or those outside the interleaved time/height/width slots.
  h.rope_unrotated.assign(size_t(h.n_rot / 2), 0);
  for (int64_t i = 0; i < h.n_rot / 2; ++i) {
    const int64_t s = i % total;
    bool extra;
    if (arch.mrope == MRope::Interleaved)
      extra = !((s % 3 == 1 && s < 3 * sec[1]) || (s % 3 == 2 && s < 3 * sec[2]) || (s % 3 == 0 && s < 3 * sec[0]));
    else
      extra = s >= sec[0] + sec[1] + sec[2];
    h.rope_unrotated[size_t(i)] = extra;
  }
}

// An epsilon: finite and not negative (NaN or a negative value gives "#####"; 0 is what
// llama.cpp uses where its loader reads none, e.g. qwen2vl).
float norm_epsilon(const GgufFile& f, const std::string& key, double fallback) {
  const double v = f.get_float(key).value_or(fallback);
  if (!(std::isfinite(v) && v >= 0 && v < 1))
    fail("{}: key '{}': expected a finite non-negative number below 1, found {}", f.path(), key, v);
  return float(v);
}

// How tokens are routed, from the keys the family's llama.cpp loader reads.
void read_moe_routing(const GgufFile& f, const ArchSpec& arch, HParams& h) {
  const std::string p = h.arch + ".";
  const uint8_t keys = arch.moe_keys;
  h.expert_weights_norm = arch.moe_norm_topk;
  h.gating = arch.gating;
  if (keys & moe_keys::kDenseLead) {
    h.n_layer_dense_lead = f.get_int(p + "leading_dense_block_count").value_or(0);
    if (h.n_layer_dense_lead < 0 || h.n_layer_dense_lead > h.n_layer)
      fail("{}: key '{}': expected 0 to {} blocks, found {}", f.path(), p + "leading_dense_block_count", h.n_layer,
           h.n_layer_dense_lead);
  }
  if (keys & moe_keys::kLayerStep) {
    const std::string k = p + "interleave_moe_layer_step";
    h.moe_layer_step = f.get_int(k).value_or(0);
    if (!f.find(k)) fail("{}: missing required key '{}'", f.path(), k);
    if (h.moe_layer_step < 1 || h.moe_layer_step > h.n_layer)
      fail("{}: key '{}': expected 1 to {}, found {}", f.path(), k, h.n_layer, h.moe_layer_step);
  }
  if (keys & moe_keys::kWeightsScale) {
    h.expert_weights_scale = float(f.get_float(p + "expert_weights_scale").value_or(0.0));
    if (!std::isfinite(h.expert_weights_scale))
      fail("{}: key '{}': expected a finite scale", f.path(), p + "expert_weights_scale");
  }
  if (keys & moe_keys::kWeightsNorm) h.expert_weights_norm = f.get_bool(p + "expert_weights_norm").value_or(false);
  if (keys & moe_keys::kGatingFunc) {
    const int64_t g = f.get_int(p + "expert_gating_func").value_or(0);  // 0: none, the family's default
    if (g < 0 || g > 3) fail("{}: key '{}': expected 1 (softmax), 2 (sigmoid) or 3 (softmax of the chosen), found {}",
                             f.path(), p + "expert_gating_func", g);
    if (g != 0) h.gating = ExpertGating(g);
  }
  // Read for every family, as llama.cpp's common loader does.
  h.n_expert_groups = f.get_int(p + "expert_group_count").value_or(0);
  h.n_group_used = f.get_int(p + "expert_group_used_count").value_or(0);
  if (h.n_expert_groups > 1) {
    if (h.n_expert % h.n_expert_groups != 0 || h.n_group_used < 1 || h.n_group_used > h.n_expert_groups ||
        h.n_expert / h.n_expert_groups < 2 || h.n_group_used * (h.n_expert / h.n_expert_groups) < h.n_expert_used)
      fail("{}: keys '{}' / '{}': {} groups, {} used, do not fit {} experts of which {} are used", f.path(),
           p + "expert_group_count", p + "expert_group_used_count", h.n_expert_groups, h.n_group_used, h.n_expert,
           h.n_expert_used);
  }
}

// A size key as llama.cpp's get_key_or_arr reads it: one value for every layer, or (rows with
// per_layer_sizes or per_layer_shapes) an array of one value per layer (integers or bools), each
// from `min` up. An array also covers the n_trailing multi-token-prediction blocks after the
// forward pass's (llama.cpp reads it over block_count); their values are checked and dropped.
// nullopt: absent.
std::optional<std::vector<int64_t>> layer_values(const GgufFile& f, const std::string& key, int64_t n_layer,
                                                 bool per_layer, int64_t min, int64_t n_trailing) {
  const GgufValue* found = f.find(key);
  if (const GgufArray* a = per_layer && found ? found->as_array() : nullptr) {
    if (a->size() != uint64_t(n_layer + n_trailing))
      fail("{}: key '{}': expected {} values (one per layer), found {}", f.path(), key, n_layer + n_trailing,
           a->size());
    std::vector<int64_t> v;
    for (uint64_t i = 0; i < a->size(); ++i) {
      const GgufValue e = a->at(i);
      const auto x = e.type == GgufValueType::BOOL ? std::optional<int64_t>(*e.as_bool()) : e.as_int();
      if (!x || *x < min || *x > kMaxSize)
        fail("{}: key '{}': layer {}: expected a size from {} to {}", f.path(), key, i, min, kMaxSize);
      v.push_back(*x);
    }
    v.resize(size_t(n_layer));
    return v;
  }
  const auto x = f.get_int(key);
  if (!x) return std::nullopt;
  if (*x < min || *x > kMaxSize)
    fail("{}: key '{}': expected a size from {} to {}, found {}", f.path(), key, min, kMaxSize, *x);
  return std::vector<int64_t>(size_t(n_layer), *x);
}

// Expert counts, widths and routing of a MoE file. The experts' width falls back to
// feed_forward_length (Mixtral-style files: llama, mistral3, granite; 0 means "not set", as
// llama.cpp reads it), or for single_sublayer rows to layer 0's width over the experts used, as
// llama.cpp's nemotron_h loader.
void read_experts(const GgufFile& f, const ArchSpec& arch, HParams& h) {
  const std::string p = h.arch + ".";
  h.n_expert = positive(f, p + "expert_count", f.get_int(p + "expert_count"));
  h.n_expert_used = positive(f, p + "expert_used_count", f.get_int(p + "expert_used_count"));
  if (h.n_expert_used > h.n_expert)
    fail("{}: key '{}': {} experts used but only {} exist", f.path(), p + "expert_used_count", h.n_expert_used,
         h.n_expert);
  int64_t n_ff_exp = f.get_int(p + "expert_feed_forward_length").value_or(0);
  if (n_ff_exp == 0)
    n_ff_exp = arch.single_sublayer ? h.layer_sizes[0].n_ff / h.n_expert_used
                                    : f.get_int(p + "feed_forward_length").value_or(0);
  h.n_ff_expert = positive(f, p + "expert_feed_forward_length", n_ff_exp);
  check_width(f, p + "expert_count", h.n_expert, p + "expert_feed_forward_length", 2 * h.n_ff_expert);
  h.n_embd_moe = h.n_embd;
  if (arch.moe_latent && f.get_int(p + "moe_latent_size").value_or(0) != 0)
    h.n_embd_moe = positive(f, p + "moe_latent_size", f.get_int(p + "moe_latent_size"));
  check_width(f, p + "expert_count", h.n_expert, p + "moe_latent_size", h.n_embd_moe);
  read_moe_routing(f, arch, h);
}

// Per-layer head counts (openelm, deci): the largest sizes the buffers; each layer's own must
// divide (KV heads 0 with heads: deci's linear attention).
void read_layer_heads(const GgufFile& f, const ArchSpec& arch, HParams& h) {
  const std::string p = h.arch + ".";
  // 0 heads: deci's layers without attention, or the recurrent layers of a NoKvHeads row.
  const int64_t min = arch.per_layer_zero || arch.recurrent_layers == RecurrentLayers::NoKvHeads ||
                              arch.recurrent_layers == RecurrentLayers::NoKvHeadsNoFfn
                          ? 0
                          : 1;
  const int64_t mtp = h.n_layer_nextn;
  const auto heads = layer_values(f, p + "attention.head_count", h.n_layer, true, min, mtp);
  if (!heads) fail("{}: missing required key '{}'", f.path(), p + "attention.head_count");
  const auto kv = layer_values(f, p + "attention.head_count_kv", h.n_layer, true, min, mtp).value_or(*heads);
  h.layer_sizes.resize(size_t(h.n_layer));
  for (int64_t l = 0; l < h.n_layer; ++l) {
    const int64_t nh = (*heads)[size_t(l)], nkv = kv[size_t(l)];
    if ((nkv > 0 && nh % nkv != 0) || (nh == 0 && nkv > 0))
      fail("{}: key '{}': layer {}: {} heads are not a multiple of {} KV heads", f.path(), p + "attention.head_count_kv",
           l, nh, nkv);
    h.layer_sizes[size_t(l)].n_head = nh;
    h.layer_sizes[size_t(l)].n_head_kv = nkv;
    h.n_head = std::max(h.n_head, nh);
    h.n_head_kv = std::max(h.n_head_kv, nkv);
  }
}

// Windows and RoPE of the FixedWindow families, as their llama.cpp loaders set them.
void read_fixed_window(const GgufFile& f, const ArchSpec& arch, HParams& h) {
  const std::string p = h.arch + ".";
  const bool chunked = arch.fixed_window == FixedWindow::Chunked;
  const std::string wkey = p + "attention.sliding_window";
  const auto window = f.get_int(wkey);
  if (f.find(wkey) && !(window && *window >= 0)) fail("{}: key '{}': expected a size", f.path(), wkey);
  const int64_t n = h.n_layer;
  h.layer_no_rope.assign(size_t(n), false);
  const bool windows = chunked ? !(window && *window == 0) : (window && *window > 0);
  if (!windows) {
    if (chunked) h.layer_no_rope[size_t(n - 1)] = true;
    return;
  }
  const std::string pkey = p + "attention.sliding_window_pattern";
  const auto pattern = f.get_int(pkey);
  if (f.find(pkey) && !(pattern && *pattern >= 0 && *pattern <= kMaxSize))
    fail("{}: key '{}': expected one count", f.path(), pkey);
  const int64_t period = pattern.value_or(4);
  for (int64_t l = 0; l < n; ++l) {
    if (chunked) {
      h.layer_is_swa[size_t(l)] = period == 0 || l % period < period - 1;
      h.layer_no_rope[size_t(l)] = (l + 1) % 4 == 0;
    } else {
      h.layer_is_swa[size_t(l)] = period == 0 || l % period != 0;
      h.layer_no_rope[size_t(l)] = n != 4 && l % 4 == 0;
    }
  }
  if (chunked) {
    h.attn_chunk = 8192;
    h.attn_temp_floor = 8192;
    h.attn_temp_scale = 0.1f;
    h.attn_temp_offset = 1.0f;
  } else {
    h.swa_window = 4096;
  }
}

// YaRN as llama_context sets it up when rope.scaling.type is yarn (ext_factor 1): the ramp's
// correction dims from beta_fast 32 and beta_slow 1 (llama.cpp's defaults, which only the
// loaders of the rows with yarn_keys change) and the attention factor, whose
// 1 + 0.1 ln(factor) ggml's rope multiplies back in. A no-op without YaRN.
void finish_yarn(const ArchSpec& arch, HParams& h) {
  if (h.rope_ext_factor == 0.0f) return;
  rope_yarn_corr_dims(h.n_rot, h.n_ctx_orig, h.rope_base, h.yarn_beta_fast, h.yarn_beta_slow, h.yarn_corr);
  const float factor = 1.0f / h.rope_freq_scale;
  const auto get_mscale = [](float s, float m) { return s <= 1.0f ? 1.0f : 0.1f * m * std::log(s) + 1.0f; };
  float attn = get_mscale(factor, 1.0f);
  if (h.rope_yarn_log_mul != 0.0f) {
    const float all_dims = h.rope_yarn_log_mul;
    const float m = arch.yarn_mscale_all_dims && all_dims != 1.0f ? all_dims : 1.0f;
    attn = get_mscale(factor, m) / get_mscale(factor, all_dims);
  }
  attn *= 1.0f / (1.0f + 0.1f * std::log(factor));
  h.rope_attn_factor *= attn;
}

// Multi-head latent attention's sizes (ArchSpec::mla), as llama.cpp's deepseek2 and minicpm3
// loaders read them, and the attention scale their graphs use. h.head_dim holds key_length
// (or n_embd / n_head) on entry; on return it is the cached head size (hparams.h).
void read_mla(const GgufFile& f, const ArchSpec& arch, HParams& h, int64_t v_len) {
  const std::string p = h.arch + ".";
  auto key = [&](const char* k) { return p + k; };
  const bool deepseek = arch.mla == Mla::AbsorbedIfSet;  // deepseek2's loader (mistral4 shares it)
  h.n_lora_kv = positive(f, key("attention.kv_lora_rank"), f.get_int(key("attention.kv_lora_rank")));
  // The "lite" sizes read no q_lora_rank (Q is one attn_q), whatever the file says; as
  // llama.cpp, by block_count before the multi-token-prediction blocks are taken off.
  bool lite = false;
  if (!arch.no_q_lora_at.empty()) {
    const int64_t blocks = f.get_int(key("block_count")).value_or(0);
    const GgufArray* tokens = f.get_array("tokenizer.ggml.tokens");
    const int64_t n_vocab = f.get_int(key("vocab_size")).value_or(tokens ? int64_t(tokens->size()) : 0);
    for (const LayerVocab& lv : arch.no_q_lora_at)
      lite |= blocks == lv.n_layer && (lv.n_vocab == 0 || n_vocab == lv.n_vocab);
  }
  lite |= !arch.mla_q_lora;
  // Elsewhere the key is required; 0 means no low rank there too (llama.cpp tests q_lora_rank > 0).
  const std::optional<int64_t> q_lora = f.get_int(key("attention.q_lora_rank"));
  h.n_lora_q = lite || q_lora == 0 ? 0 : positive(f, key("attention.q_lora_rank"), q_lora);
  const int64_t k_mla = deepseek ? f.get_int(key("attention.key_length_mla")).value_or(0) : 0;
  const int64_t v_mla = deepseek ? f.get_int(key("attention.value_length_mla")).value_or(0) : 0;
  if ((k_mla == 0) != (v_mla == 0))
    fail("{}: keys '{}' and '{}': set both or neither (found {} and {})", f.path(), key("attention.key_length_mla"),
         key("attention.value_length_mla"), k_mla, v_mla);
  h.mla_absorbed = k_mla != 0;
  // kimi-linear (the row without q_lora): llama.cpp's graph for its older files without the MLA
  // key lengths puts k_pe before k_nope in the expanded keys, which the Expanded path does not.
  if (!arch.mla_q_lora && !h.mla_absorbed)
    fail("{}: keys '{}' / '{}': required by {} (files without them cache expanded K/V heads, not supported yet)",
         f.path(), key("attention.key_length_mla"), key("attention.value_length_mla"), h.arch);
  if (h.mla_absorbed) {
    h.head_dim_k_mla = positive(f, key("attention.key_length_mla"), k_mla);
    h.head_dim_v_mla = positive(f, key("attention.value_length_mla"), v_mla);
    // The cache holds the latent and the roped key part: key_length and value_length say so.
    if (h.head_dim != h.n_lora_kv + h.n_rot || v_len != h.n_lora_kv)
      fail("{}: keys '{}' / '{}': expected {} (kv_lora_rank + rope dimensions) and {} (kv_lora_rank), found {} and {}",
           f.path(), key("attention.key_length"), key("attention.value_length"), h.n_lora_kv + h.n_rot, h.n_lora_kv,
           h.head_dim, v_len);
    if (h.n_rot >= h.head_dim_k_mla)
      fail("{}: key '{}': {} rope dimensions leave no unroped part of the {}-wide query heads", f.path(),
           key("rope.dimension_count"), h.n_rot, h.head_dim_k_mla);
    h.n_head_kv = 1;  // one latent for all heads (MQA)
    for (LayerSizes& z : h.layer_sizes)  // per-layer head counts (kimi-linear): every attention layer's
      if (z.n_head_kv > 0) z.n_head_kv = 1;
  } else {
    h.head_dim_k_mla = h.head_dim;
    h.head_dim_v_mla = positive(f, key("attention.value_length"), v_len);
    h.head_dim = std::max(h.head_dim_k_mla, h.head_dim_v_mla);
    if (h.n_head_kv != h.n_head)
      fail("{}: key '{}': latent attention up-projects every head's keys, expected {} KV heads, found {}", f.path(),
           key("attention.head_count_kv"), h.n_head, h.n_head_kv);
  }
  // Every per-token width below (q, latent, expanded K/V, absorbed queries) is at most this.
  const int64_t widest = std::max({h.n_lora_q, h.n_lora_kv, h.head_dim, h.head_dim_k_mla, h.head_dim_v_mla}) + h.n_rot;
  check_width(f, key("attention.head_count"), h.n_head, "the widest latent-attention row", 2 * widest);
  if (deepseek) {
    if (const auto t = f.get_float(key("attention.temperature_scale")); t && *t != 0.0)
      fail("{}: key '{}': attention temperature scaling is not supported yet", f.path(),
           key("attention.temperature_scale"));
    // llama.cpp cancels the 0.1 its converter multiplies in ([TAG_DEEPSEEK2_YARN_LOG_MUL_FIX]).
    if (const auto m = f.get_float(key("rope.scaling.yarn_log_multiplier"))) h.rope_yarn_log_mul = float(*m) / 0.1f;
    finish_yarn(arch, h);
    // deepseek2's graph: kq_scale = mscale^2 / sqrt(key size), mscale from the attention
    // factor and the log multiplier under frequency scaling (1 without it).
    const float ln = std::log(1.0f / h.rope_freq_scale);
    const float attn_factor_org = h.rope_attn_factor * (1.0f + 0.1f * ln);
    const float mscale = attn_factor_org * (1.0f + 0.1f * h.rope_yarn_log_mul * ln);
    h.attn_scale = 1.0f * mscale * mscale / std::sqrt(float(h.head_dim_k_mla));
  } else {
    finish_yarn(arch, h);
    h.attn_scale = 1.0f / std::sqrt(float(h.head_dim_k_mla));
  }
}

// The per-layer shapes of a per_layer_shapes row (gemma4, as llama.cpp's loader reads it):
// head counts and FFN widths per layer, the windowed layers' own head size and rotary count,
// the window pattern per layer, and the layers that share an earlier layer's K/V cache.
void read_layer_shapes(const GgufFile& f, HParams& h) {
  const std::string p = h.arch + ".";
  const int64_t n = h.n_layer;
  auto arr = [&](const std::string& k, int64_t fallback) {
    return layer_values(f, p + k, n, true, 0).value_or(std::vector<int64_t>(size_t(n), fallback));
  };
  const std::vector<int64_t> heads = arr("attention.head_count", h.n_head), kv = arr("attention.head_count_kv", h.n_head);
  const std::vector<int64_t> ff = arr("feed_forward_length", h.n_ff);
  const std::vector<int64_t> swa = layer_values(f, p + "attention.sliding_window_pattern", n, true, 0).value_or(std::vector<int64_t>{});
  if (swa.empty()) fail("{}: missing required key '{}'", f.path(), p + "attention.sliding_window_pattern");
  if (!f.find(p + "attention.sliding_window")) fail("{}: missing required key '{}'", f.path(), p + "attention.sliding_window");
  for (int64_t l = 0; l < n; ++l) h.layer_is_swa[size_t(l)] = swa[size_t(l)] != 0;
  const int64_t hd_swa = positive(f, p + "attention.key_length_swa", f.get_int(p + "attention.key_length_swa").value_or(h.head_dim));
  if (f.get_int(p + "attention.value_length_swa").value_or(hd_swa) != hd_swa)
    fail("{}: key '{}': value length differs from key length {} (not supported)", f.path(),
         p + "attention.value_length_swa", hd_swa);
  const int64_t rot_swa = f.get_int(p + "rope.dimension_count_swa").value_or(h.n_rot);
  if (rot_swa <= 0 || rot_swa > hd_swa || rot_swa % 2 != 0)
    fail("{}: key '{}': expected an even count up to the head size {}, found {}", f.path(), p + "rope.dimension_count_swa",
         hd_swa, rot_swa);
  const int64_t shared = f.get_int(p + "attention.shared_kv_layers").value_or(0);
  const int64_t kv_from = n - shared;  // layers from here on reuse the caches of kv_from - 2 / - 1
  if (shared < 0 || (shared > 0 && kv_from < 2))
    fail("{}: key '{}': {} shared layers leave fewer than 2 of {} layers with their own K/V", f.path(),
         p + "attention.shared_kv_layers", shared, n);
  for (int64_t l = 0; l < n; ++l) {
    LayerSizes& s = h.layer_sizes[size_t(l)];
    const bool w = h.layer_is_swa[size_t(l)];
    s.n_head = heads[size_t(l)];
    s.n_head_kv = kv[size_t(l)];
    s.n_ff = ff[size_t(l)];
    s.head_dim = w ? hd_swa : h.head_dim;
    s.n_rot = int(w ? rot_swa : h.n_rot);
    s.kv_source = l < kv_from ? l : kv_from - (w ? 2 : 1);
    if (s.n_head <= 0 || s.n_head_kv <= 0 || s.n_head % s.n_head_kv != 0 || s.n_ff <= 0)
      fail("{}: layer {}: {} heads, {} KV heads and FFN width {} (expected positive sizes, heads a multiple of KV heads)",
           f.path(), l, s.n_head, s.n_head_kv, s.n_ff);
    check_width(f, p + "attention.head_count", s.n_head, p + "attention.key_length", s.head_dim);
    check_width(f, p + "feed_forward_length", s.n_ff, "2", 2);
  }
  // A shared layer reads a cache written with its own head shape and window.
  for (int64_t l = kv_from; l < n; ++l) {
    const LayerSizes& s = h.layer_sizes[size_t(l)];
    const LayerSizes& src = h.layer_sizes[size_t(s.kv_source)];
    if (src.head_dim != s.head_dim || src.n_head_kv != s.n_head_kv || h.layer_is_swa[size_t(l)] != h.layer_is_swa[size_t(s.kv_source)])
      fail("{}: layer {} shares layer {}'s K/V cache, which has another head shape or window (not supported)", f.path(),
           l, s.kv_source);
  }
  h.n_embd_per_layer = f.get_int(p + "embedding_length_per_layer_input").value_or(-1);
  if (h.n_embd_per_layer < 0 || h.n_embd_per_layer > kMaxSize)
    fail("{}: key '{}': expected a width from 0 to {} (required)", f.path(), p + "embedding_length_per_layer_input", kMaxSize);
  check_width(f, p + "embedding_length_per_layer_input", h.n_embd_per_layer, p + "block_count", n);
}

}  // namespace trident::hparams_keys
