#include "model/hparams.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "format/checked.h"
#include "format/error.h"
#include "kernels/ops.h"
#include "model/hparams_keys.h"

namespace trident {
using namespace hparams_keys;


HParams read_hparams(const GgufFile& f, const ArchSpec& arch) {
  HParams h;
  h.arch = std::string(arch.name);
  const std::string p = h.arch + ".";
  auto key = [&](const char* k) { return p + k; };
  h.n_embd = positive(f, key("embedding_length"), f.get_int(key("embedding_length")));
  h.n_layer = positive(f, key("block_count"), f.get_int(key("block_count")));
  // Per-layer state is allocated from block_count: a file claiming more layers than it holds
  // tensors is refused before anything is sized by the claim.
  if (uint64_t(h.n_layer) > f.tensors().size())
    fail("{}: key '{}': {} layers, but the file holds only {} tensors", f.path(), key("block_count"), h.n_layer,
         f.tensors().size());
  if (arch.nextn_layers) {
    h.n_layer_nextn = f.get_int(key("nextn_predict_layers")).value_or(0);
    if (h.n_layer_nextn < 0 || h.n_layer_nextn >= h.n_layer)
      fail("{}: key '{}': expected fewer than the {} blocks, found {}", f.path(), key("nextn_predict_layers"), h.n_layer,
           h.n_layer_nextn);
    h.n_layer -= h.n_layer_nextn;
  }
  // Rows with per-layer shapes (gemma4) may give these per layer; the first layer's values
  // stand for the model here, as llama.cpp's n_head() (read_layer_shapes reads every layer's).
  auto first_int = [&](const char* k) -> std::optional<int64_t> {
    if (!arch.per_layer_shapes) return f.get_int(key(k));
    const auto v = layer_values(f, key(k), h.n_layer, true, 0);
    return v ? std::optional<int64_t>((*v)[0]) : std::nullopt;
  };
  h.n_ctx_train = f.get_int(key("context_length")).value_or(2048);
  if (h.n_ctx_train < 0 || h.n_ctx_train > kMaxSize)
    fail("{}: key '{}': expected a context length from 0 to {}, found {}", f.path(), key("context_length"), kMaxSize,
         h.n_ctx_train);
  // A family whose every layer is recurrent (mamba) has no attention unless beside the mixer
  // (falcon-h1): its files' head keys are 0 or absent, and llama.cpp reads none of the sizes below.
  int64_t v_len = 0;
  if (arch.recurrent_layers != RecurrentLayers::All || arch.attention_beside_mixer) {
    if (arch.per_layer_sizes) {
      read_layer_heads(f, arch, h);
    } else {
      h.n_head = positive(f, key("attention.head_count"), first_int("attention.head_count"));
      h.n_head_kv = positive(f, key("attention.head_count_kv"),
                             first_int("attention.head_count_kv").value_or(h.n_head));
      if (h.n_head % h.n_head_kv != 0)
        fail("{}: key '{}': {} heads are not a multiple of {} KV heads", f.path(),
             key("attention.head_count_kv"), h.n_head, h.n_head_kv);
    }
    // As llama.cpp: the head size derives from the first layer's head count.
    const int64_t head_div = arch.per_layer_sizes ? h.layer_sizes[0].n_head : h.n_head;
    if ((head_div == 0 || h.n_embd % head_div != 0) && !f.find(key("attention.key_length")))
      fail("{}: key '{}': {} is not a multiple of the {} heads", f.path(), key("embedding_length"),
           h.n_embd, head_div);
    h.head_dim = positive(f, key("attention.key_length"),
                          f.get_int(key("attention.key_length")).value_or(head_div ? h.n_embd / head_div : 0));
    check_width(f, key("attention.head_count"), h.n_head, key("attention.key_length"), h.head_dim);
    check_width(f, key("attention.head_count_kv"), h.n_head_kv, key("attention.key_length"), h.head_dim);
    v_len = f.get_int(key("attention.value_length")).value_or(h.head_dim);
    if (v_len != h.head_dim && arch.mla == Mla::None)
      fail("{}: key '{}': value length {} differs from key length {} (not supported)", f.path(),
           key("attention.value_length"), v_len, h.head_dim);
    const int64_t n_rot = f.get_int(key("rope.dimension_count")).value_or(h.head_dim);
    if (n_rot <= 0 || n_rot > h.head_dim || n_rot % 2 != 0)
      fail("{}: key '{}': expected an even count up to the head size {}, found {}", f.path(),
           key("rope.dimension_count"), h.head_dim, n_rot);
    h.n_rot = int(n_rot);
  }
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
    // finish_yarn completes it (read_mla for latent attention, which reads the log multiplier first).
    if (arch.yarn_keys)
      fail("{}: key '{}': rope scaling 'yarn' is not supported yet for {}, whose loader reads its own YaRN keys",
           f.path(), key("rope.scaling.type"), h.arch);
    const double factor = f.get_float(key("rope.scaling.factor")).value_or(0.0);
    if (!(factor >= 0) || std::isinf(factor))
      fail("{}: key '{}': expected a positive factor (or 0: none), found {}", f.path(), key("rope.scaling.factor"), factor);
    if (factor > 0) h.rope_freq_scale = float(1.0 / factor);
    h.rope_ext_factor = 1.0f;
  }
  h.n_ctx_orig = f.get_int(key("rope.scaling.original_context_length")).value_or(h.n_ctx_train);
  if (h.n_ctx_orig < 0) fail("{}: key '{}': negative context length {}", f.path(), key("rope.scaling.original_context_length"), h.n_ctx_orig);
  h.rope_attn_factor = float(f.get_float(key("rope.scaling.attn_factor")).value_or(1.0));
  if (!(std::isfinite(h.rope_attn_factor) && h.rope_attn_factor > 0))
    fail("{}: key '{}': expected a positive factor, found {}", f.path(), key("rope.scaling.attn_factor"), h.rope_attn_factor);
  if (arch.mla != Mla::None) read_mla(f, arch, h, v_len);
  else finish_yarn(arch, h);

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
  if (arch.mup == Mup::Grok) {
    // As llama.cpp's grok loader: every key optional, grok-1's values otherwise; the score
    // scale is attention.output_scale alone (llama.cpp passes 1 as the usual 1 / sqrt(d)).
    h.embd_scale = float(f.get_float(key("embedding_scale")).value_or(78.38367176906169));
    h.logit_mult = float(f.get_float(key("logit_scale")).value_or(0.5773502691896257));
    h.attn_scale = float(f.get_float(key("attention.output_scale")).value_or(0.08838834764831845));
    h.attn_softcap = float(f.get_float(key("attn_logit_softcapping")).value_or(30.0));
    h.final_softcap = float(f.get_float(key("final_logit_softcapping")).value_or(0.0));
    for (auto [v, k] : {std::pair{h.embd_scale, "embedding_scale"}, {h.logit_mult, "logit_scale"},
                        {h.attn_scale, "attention.output_scale"}, {h.attn_softcap, "attn_logit_softcapping"},
                        {h.final_softcap, "final_logit_softcapping"}})
      if (!(std::isfinite(v) && v >= 0)) fail("{}: key '{}': expected a finite scale, found {}", f.path(), key(k), v);
    for (auto [v, k] : {std::pair{h.attn_scale, "attention.output_scale"}, {h.attn_softcap, "attn_logit_softcapping"}})
      if (v == 0) fail("{}: key '{}': expected a positive value, found 0", f.path(), key(k));
    // grok's loader reads YaRN's extrapolation factor (negative: not set), which trident does
    // not implement, and its attention factor, which scales RoPE's cos and sin with attn_factor.
    if (const double ext = f.get_float(key("rope.scaling.yarn_ext_factor")).value_or(-1.0); ext > 0)
      fail("{}: key '{}': YaRN rope scaling ({}) is not supported yet", f.path(), key("rope.scaling.yarn_ext_factor"), ext);
    const double yarn_attn = f.get_float(key("rope.scaling.yarn_attn_factor")).value_or(1.0);
    if (!(std::isfinite(yarn_attn) && yarn_attn > 0))
      fail("{}: key '{}': expected a positive factor, found {}", f.path(), key("rope.scaling.yarn_attn_factor"), yarn_attn);
    h.rope_attn_factor = float(yarn_attn) * h.rope_attn_factor;
  }
  if (arch.mup == Mup::MiniCpm3) {
    h.embd_scale = 12.0f;
    h.residual_scale = 1.4f / std::sqrt(float(h.n_layer));
    h.logit_scale = float(h.n_embd) / 256.0f;  // logits times 256 / n_embd
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
  if (h.moe && !arch.single_sublayer) {
    read_experts(f, arch, h);
    h.n_ff = f.get_int(key("feed_forward_length")).value_or(h.n_ff_expert);
  } else if (arch.ffn == FfnKind::None) {
    h.n_ff = 0;  // the blocks have no feed-forward sub-layer
  } else if (arch.per_layer_sizes) {
    const bool zeros = arch.per_layer_zero || arch.single_sublayer;
    const auto ff = layer_values(f, key("feed_forward_length"), h.n_layer, true, zeros ? 0 : 1, h.n_layer_nextn);
    if (!ff) fail("{}: missing required key '{}'", f.path(), key("feed_forward_length"));
    for (int64_t l = 0; l < h.n_layer; ++l) {
      LayerSizes& z = h.layer_sizes[size_t(l)];
      z.n_ff = (*ff)[size_t(l)];
      h.n_ff = std::max(h.n_ff, z.n_ff);
      if (arch.single_sublayer && z.n_ff > 0) z.n_head = z.n_head_kv = 0;  // an FFN layer: no attention
    }
    check_width(f, key("feed_forward_length"), h.n_ff, "2", 2);
  } else {
    h.n_ff = positive(f, key("feed_forward_length"), first_int("feed_forward_length"));
    if (arch.n_ff_doubled) {
      if (h.n_ff % 2) fail("{}: key '{}': expected an even width, found {}", f.path(), key("feed_forward_length"), h.n_ff);
      h.n_ff /= 2;
    }
    check_width(f, key("feed_forward_length"), h.n_ff, "2", 2);
  }

  if (!arch.per_layer_sizes) h.layer_sizes.assign(size_t(h.n_layer), LayerSizes{h.n_head, h.n_head_kv, h.n_ff});
  else if (h.moe && !arch.single_sublayer)  // the dense layers before the experts (lfm2moe)
    for (LayerSizes& z : h.layer_sizes) z.n_ff = h.n_ff;
  // nemotron_h: every FFN layer (feed_forward_length > 0, read above) is a mixture.
  if (h.moe && arch.single_sublayer) read_experts(f, arch, h);
  // Head size and rotary count are the model's (after read_mla: the cache's head size) unless
  // read_layer_shapes below sets them; every layer has its own K/V cache unless it shares one.
  for (int64_t l = 0; l < h.n_layer; ++l) {
    LayerSizes& z = h.layer_sizes[size_t(l)];
    z.head_dim = h.head_dim;
    z.n_rot = h.n_rot;
    z.kv_source = l;
  }
  h.qk_l2_norm = arch.qk_l2_norm && h.n_expert != arch.qk_l2_off_at_n_expert;

  read_positions(f, arch, h);
  // As llama.cpp's granite loaders: "rope_finetuned as a switch for rope" (Granite 4.0-H: NoPE).
  if (arch.rope_finetuned_switch && !f.get_bool(key("rope.scaling.finetuned")).value_or(true)) h.rope = false;
  h.layer_is_swa.assign(size_t(h.n_layer), false);
  if (arch.fixed_window != FixedWindow::None) read_fixed_window(f, arch, h);
  if (arch.sliding_window && (arch.swa_only_at_n_layer == 0 || h.n_layer == arch.swa_only_at_n_layer)) {
    h.swa_window = f.get_int(key("attention.sliding_window")).value_or(arch.default_swa_window);
    if (h.swa_window < 0) fail("{}: key '{}': negative window", f.path(), key("attention.sliding_window"));
    // per_layer_shapes rows give the pattern per layer (read_layer_shapes).
    const int64_t pattern = arch.per_layer_shapes || arch.swa_all_layers
                                ? 1
                                : f.get_int(key("attention.sliding_window_pattern")).value_or(arch.default_swa_pattern);
    if (pattern <= 0) fail("{}: key '{}': expected a positive pattern, found {}", f.path(), key("attention.sliding_window_pattern"), pattern);
    // Every pattern-th layer (1-based) is global; the others use the window.
    if (h.swa_window > 0)
      for (int64_t l = 0; l < h.n_layer; ++l) h.layer_is_swa[size_t(l)] = arch.swa_all_layers || (l + 1) % pattern != 0;
  }
  if (arch.per_layer_shapes) read_layer_shapes(f, h);
  if (arch.recurrent()) read_recurrent(f, arch, h);
  read_delta_net_hparams(f, arch, h);
  return h;
}

}  // namespace trident
