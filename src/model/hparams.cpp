#include "model/hparams.h"

#include <cmath>

#include "format/checked.h"
#include "format/error.h"

namespace trident {
namespace {

// Widths derived from the keys (n_head * head_dim, 2 * n_ff, ...) index rows with int64_t
// arithmetic in the kernels; bounding them here keeps every later product far from overflow.
constexpr int64_t kMaxSize = int64_t(1) << 32;
constexpr uint64_t kMaxWidth = uint64_t(1) << 31;

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

// A key llama.cpp reads with get_key_or_arr: absent, one integer for every layer, or an array
// of n_layer integers (or bools). Empty when absent.
std::vector<int64_t> per_layer_ints(const GgufFile& f, const std::string& key, int64_t n_layer) {
  const GgufValue* v = f.find(key);
  if (!v) return {};
  const GgufArray* a = v->as_array();
  if (!a) return std::vector<int64_t>(size_t(n_layer), *f.get_int(key));
  if (int64_t(a->size()) != n_layer)
    fail("{}: key '{}': expected {} values (one per layer), found {}", f.path(), key, n_layer, a->size());
  std::vector<int64_t> out;
  for (const GgufValue e : *a) {
    std::optional<int64_t> x = e.type == GgufValueType::BOOL ? std::optional<int64_t>(*e.as_bool()) : e.as_int();
    if (!x || x < 0 || *x > kMaxSize)
      fail("{}: key '{}': expected integers from 0 to {}", f.path(), key, kMaxSize);
    out.push_back(*x);
  }
  return out;
}

// The per-layer shapes of a per_layer_shapes row (gemma4, as llama.cpp's loader reads it):
// head counts and FFN widths per layer, the windowed layers' own head size and rotary count,
// the window pattern per layer, and the layers that share an earlier layer's K/V cache.
void read_layer_shapes(const GgufFile& f, HParams& h) {
  const std::string p = h.arch + ".";
  const int64_t n = h.n_layer;
  auto arr = [&](const std::string& k, int64_t fallback) {
    std::vector<int64_t> v = per_layer_ints(f, p + k, n);
    return v.empty() ? std::vector<int64_t>(size_t(n), fallback) : v;
  };
  const std::vector<int64_t> heads = arr("attention.head_count", h.n_head), kv = arr("attention.head_count_kv", h.n_head);
  const std::vector<int64_t> ff = arr("feed_forward_length", h.n_ff);
  const std::vector<int64_t> swa = per_layer_ints(f, p + "attention.sliding_window_pattern", n);
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
    LayerShape& s = h.layer[size_t(l)];
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
    const LayerShape& s = h.layer[size_t(l)];
    const LayerShape& src = h.layer[size_t(s.kv_source)];
    if (src.head_dim != s.head_dim || src.n_head_kv != s.n_head_kv || h.layer_is_swa[size_t(l)] != h.layer_is_swa[size_t(s.kv_source)])
      fail("{}: layer {} shares layer {}'s K/V cache, which has another head shape or window (not supported)", f.path(),
           l, s.kv_source);
  }
  h.n_embd_per_layer = f.get_int(p + "embedding_length_per_layer_input").value_or(-1);
  if (h.n_embd_per_layer < 0 || h.n_embd_per_layer > kMaxSize)
    fail("{}: key '{}': expected a width from 0 to {} (required)", f.path(), p + "embedding_length_per_layer_input", kMaxSize);
  check_width(f, p + "embedding_length_per_layer_input", h.n_embd_per_layer, p + "block_count", n);
}

}  // namespace

HParams read_hparams(const GgufFile& f, const ArchSpec& arch) {
  HParams h;
  h.arch = std::string(arch.name);
  const std::string p = h.arch + ".";
  auto key = [&](const char* k) { return p + k; };
  h.n_embd = positive(f, key("embedding_length"), f.get_int(key("embedding_length")));
  h.n_layer = positive(f, key("block_count"), f.get_int(key("block_count")));
  if (arch.nextn_layers) {
    h.n_layer_nextn = f.get_int(key("nextn_predict_layers")).value_or(0);
    if (h.n_layer_nextn < 0 || h.n_layer_nextn >= h.n_layer)
      fail("{}: key '{}': expected fewer than the {} blocks, found {}", f.path(), key("nextn_predict_layers"), h.n_layer,
           h.n_layer_nextn);
    h.n_layer -= h.n_layer_nextn;
  }
  // Rows with per-layer shapes may give these per layer; the first layer's values stand for
  // the model here, as llama.cpp's n_head() (read_layer_shapes reads every layer's).
  auto first_int = [&](const char* k) -> std::optional<int64_t> {
    if (!arch.per_layer_shapes) return f.get_int(key(k));
    const std::vector<int64_t> v = per_layer_ints(f, key(k), h.n_layer);
    return v.empty() ? std::nullopt : std::optional<int64_t>(v[0]);
  };
  h.n_head = positive(f, key("attention.head_count"), first_int("attention.head_count"));
  h.n_head_kv = positive(f, key("attention.head_count_kv"), first_int("attention.head_count_kv").value_or(h.n_head));
  if (h.n_head % h.n_head_kv != 0)
    fail("{}: key '{}': {} heads are not a multiple of {} KV heads", f.path(),
         key("attention.head_count_kv"), h.n_head, h.n_head_kv);
  if (h.n_embd % h.n_head != 0 && !f.find(key("attention.key_length")))
    fail("{}: key '{}': {} is not a multiple of the {} heads", f.path(), key("embedding_length"),
         h.n_embd, h.n_head);
  h.head_dim = positive(f, key("attention.key_length"),
                        f.get_int(key("attention.key_length")).value_or(h.n_embd / h.n_head));
  check_width(f, key("attention.head_count"), h.n_head, key("attention.key_length"), h.head_dim);
  check_width(f, key("attention.head_count_kv"), h.n_head_kv, key("attention.key_length"), h.head_dim);
  const int64_t v_len = f.get_int(key("attention.value_length")).value_or(h.head_dim);
  if (v_len != h.head_dim)
    fail("{}: key '{}': value length {} differs from key length {} (not supported)", f.path(),
         key("attention.value_length"), v_len, h.head_dim);
  h.n_ctx_train = f.get_int(key("context_length")).value_or(2048);
  if (h.n_ctx_train < 0 || h.n_ctx_train > kMaxSize)
    fail("{}: key '{}': expected a context length from 0 to {}, found {}", f.path(), key("context_length"), kMaxSize,
         h.n_ctx_train);
  const int64_t n_rot = f.get_int(key("rope.dimension_count")).value_or(h.head_dim);
  if (n_rot <= 0 || n_rot > h.head_dim || n_rot % 2 != 0)
    fail("{}: key '{}': expected an even count up to the head size {}, found {}", f.path(),
         key("rope.dimension_count"), h.head_dim, n_rot);
  h.n_rot = int(n_rot);
  const bool layer_norm = arch.norm == NormKind::Layer;
  h.norm_eps = norm_epsilon(f, key(layer_norm ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon"),
                            1e-5);
  // As llama.cpp's loader: attention.causal (default true), which a family may override.
  h.causal = arch.causal && f.get_bool(key("attention.causal")).value_or(true);
  h.rope_base = positive_float(f, key("rope.freq_base"), arch.default_rope_base);
  h.rope_base_swa = positive_float(f, key("rope.freq_base_swa"),
                                   arch.default_rope_base_swa > 0 ? arch.default_rope_base_swa : h.rope_base);
  // As llama.cpp: the type defaults to linear, and a factor of 0 (or none) means "not set".
  if (const std::string type = f.get_string(key("rope.scaling.type")).value_or("linear"); type == "linear") {
    const double factor = f.get_float(key("rope.scaling.factor")).value_or(0.0);
    if (!(factor >= 0) || std::isinf(factor))
      fail("{}: key '{}': expected a positive factor (or 0: none), found {}", f.path(), key("rope.scaling.factor"), factor);
    if (factor > 0) h.rope_freq_scale = float(1.0 / factor);
  } else if (type == "yarn") {
    fail("{}: key '{}': rope scaling 'yarn' is not supported yet (supported: none, linear, longrope)", f.path(),
         key("rope.scaling.type"));
  }
  h.n_ctx_orig = f.get_int(key("rope.scaling.original_context_length")).value_or(h.n_ctx_train);
  if (h.n_ctx_orig < 0) fail("{}: key '{}': negative context length {}", f.path(), key("rope.scaling.original_context_length"), h.n_ctx_orig);
  h.rope_attn_factor = float(f.get_float(key("rope.scaling.attn_factor")).value_or(1.0));
  if (!(std::isfinite(h.rope_attn_factor) && h.rope_attn_factor > 0))
    fail("{}: key '{}': expected a positive factor, found {}", f.path(), key("rope.scaling.attn_factor"), h.rope_attn_factor);

  if (arch.mup == Mup::Granite) {
    // As llama.cpp's granite loader: logit_scale is required, the others default to "none".
    h.logit_scale = float(f.get_float(key("logit_scale")).value_or(0.0));
    if (!f.find(key("logit_scale"))) fail("{}: missing required key '{}'", f.path(), key("logit_scale"));
    h.residual_scale = float(f.get_float(key("residual_scale")).value_or(0.0));
    h.embd_scale = float(f.get_float(key("embedding_scale")).value_or(0.0));
    h.attn_scale = float(f.get_float(key("attention.scale")).value_or(0.0));
    for (auto [v, k] : {std::pair{h.logit_scale, "logit_scale"}, {h.residual_scale, "residual_scale"},
                        {h.embd_scale, "embedding_scale"}, {h.attn_scale, "attention.scale"}})
      if (!std::isfinite(v)) fail("{}: key '{}': expected a finite scale, found {}", f.path(), key(k), v);
  }
  if (arch.mup == Mup::MiniCpm) {
    // As llama.cpp's minicpm loader: the three keys are optional, with its defaults.
    h.embd_scale = float(f.get_float(key("embedding_scale")).value_or(12.0));
    h.residual_scale = float(f.get_float(key("residual_scale")).value_or(1.4f / std::sqrt(float(h.n_layer))));
    h.logit_scale = float(f.get_float(key("logit_scale")).value_or(256.0f / float(h.n_embd)));
    for (auto [v, k] : {std::pair{h.logit_scale, "logit_scale"}, {h.residual_scale, "residual_scale"},
                        {h.embd_scale, "embedding_scale"}})
      if (!std::isfinite(v)) fail("{}: key '{}': expected a finite scale, found {}", f.path(), key(k), v);
  }
  if (arch.logit_scale_mult) {
    h.logit_mult = float(f.get_float(key("logit_scale")).value_or(0.0));
    if (!std::isfinite(h.logit_mult)) fail("{}: key '{}': expected a finite scale, found {}", f.path(), key("logit_scale"), h.logit_mult);
  }
  if (arch.parallel_by_key) h.parallel_residual = f.get_bool(key("use_parallel_residual")).value_or(false);
  if (arch.looped) {
    // llama.cpp repeats the whole stack num_loops times (KV per logical layer); not yet here.
    const int64_t loops = f.get_int(key("num_loops")).value_or(1);
    if (loops != 1)
      fail("{}: key '{}': {} loops over the layers are not supported yet (supported: 1)", f.path(), key("num_loops"),
           loops);
  }
  if (arch.clamp_kqv) {
    h.clamp_kqv = float(f.get_float(key("attention.clamp_kqv")).value_or(0.0));
    if (!(std::isfinite(h.clamp_kqv) && h.clamp_kqv >= 0))
      fail("{}: key '{}': expected a positive bound (or 0: none), found {}", f.path(), key("attention.clamp_kqv"),
           h.clamp_kqv);
  }
  if (arch.attn_softcap) h.attn_softcap = positive_float(f, key("attn_logit_softcapping"), 50.0);
  if (arch.final_softcap) {
    h.final_softcap = float(f.get_float(key("final_logit_softcapping")).value_or(arch.default_final_softcap));
    if (!(std::isfinite(h.final_softcap) && h.final_softcap >= 0))
      fail("{}: key '{}': expected a positive cap (or 0: none), found {}", f.path(), key("final_logit_softcapping"),
           h.final_softcap);
  }
  if (arch.fixed_attn_scale > 0) h.attn_scale = arch.fixed_attn_scale;
  if (arch.attn_scale_inv_head_dim) h.attn_scale = 1.0f / float(h.head_dim);
  if (arch.embd_head_scale_at_n_layer != 0 && h.n_layer == arch.embd_head_scale_at_n_layer)
    h.attn_scale = float(1.0 / std::sqrt(double(h.n_embd / h.n_head)));
  h.moe = arch.ffn == FfnKind::Moe || (arch.moe_if_experts && f.get_int(key("expert_count")).value_or(0) > 0);
  if (h.moe) {
    h.n_expert = positive(f, key("expert_count"), f.get_int(key("expert_count")));
    h.n_expert_used = positive(f, key("expert_used_count"), f.get_int(key("expert_used_count")));
    if (h.n_expert_used > h.n_expert)
      fail("{}: key '{}': {} experts used but only {} exist", f.path(), key("expert_used_count"),
           h.n_expert_used, h.n_expert);
    // Mixtral-style files (llama, mistral3) give the experts' width as feed_forward_length.
    // Mixtral-style files (llama, mistral3, granite) give the experts' width as
    // feed_forward_length; 0 means "not set", as llama.cpp reads it.
    int64_t n_ff_exp = f.get_int(key("expert_feed_forward_length")).value_or(0);
    if (n_ff_exp == 0) n_ff_exp = f.get_int(key("feed_forward_length")).value_or(0);
    h.n_ff_expert = positive(f, key("expert_feed_forward_length"), n_ff_exp);
    h.n_ff = f.get_int(key("feed_forward_length")).value_or(h.n_ff_expert);
    check_width(f, key("expert_count"), h.n_expert, key("expert_feed_forward_length"), 2 * h.n_ff_expert);
    read_moe_routing(f, arch, h);
  } else {
    h.n_ff = positive(f, key("feed_forward_length"), first_int("feed_forward_length"));
    if (arch.n_ff_doubled) {
      if (h.n_ff % 2) fail("{}: key '{}': expected an even width, found {}", f.path(), key("feed_forward_length"), h.n_ff);
      h.n_ff /= 2;
    }
    check_width(f, key("feed_forward_length"), h.n_ff, "2", 2);
  }
  // Per-layer state is allocated from block_count: a file claiming more layers than it holds
  // tensors is refused before anything is sized by the claim.
  if (uint64_t(h.n_layer) > f.tensors().size())
    fail("{}: key '{}': {} layers, but the file holds only {} tensors", f.path(), key("block_count"), h.n_layer,
         f.tensors().size());

  read_positions(f, arch, h);
  h.layer_is_swa.assign(size_t(h.n_layer), false);
  if (arch.sliding_window && (arch.swa_only_at_n_layer == 0 || h.n_layer == arch.swa_only_at_n_layer)) {
    h.swa_window = f.get_int(key("attention.sliding_window")).value_or(arch.default_swa_window);
    if (h.swa_window < 0) fail("{}: key '{}': negative window", f.path(), key("attention.sliding_window"));
    // per_layer_shapes rows give the pattern per layer (read_layer_shapes).
    const int64_t pattern = arch.per_layer_shapes ? 1 : f.get_int(key("attention.sliding_window_pattern")).value_or(arch.default_swa_pattern);
    if (pattern <= 0) fail("{}: key '{}': expected a positive pattern, found {}", f.path(), key("attention.sliding_window_pattern"), pattern);
    // Every pattern-th layer (1-based) is global; the others use the window.
    if (h.swa_window > 0)
      for (int64_t l = 0; l < h.n_layer; ++l) h.layer_is_swa[size_t(l)] = (l + 1) % pattern != 0;
  }
  h.layer.assign(size_t(h.n_layer), LayerShape{h.n_head, h.n_head_kv, h.head_dim, h.n_ff, h.n_rot, 0});
  for (int64_t l = 0; l < h.n_layer; ++l) h.layer[size_t(l)].kv_source = l;
  if (arch.per_layer_shapes) read_layer_shapes(f, h);
  return h;
}

}  // namespace trident
