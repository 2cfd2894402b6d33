// Builds a Model from a GGUF file: finds each tensor the architecture row needs, checks its
// shape against the hyper-parameters, and wraps weights as row-segment views. Fusion is a
// load-time plan: Q/K/V and gate/up are grouped here whether the file stores them separately
// or as one tensor, so the forward pass never knows which.
#include "model/weight_loader.h"

namespace trident {

void WeightLoader::load() {
  const HParams& h = m_.hp_;
  m_.token_embd_ = &require("token_embd.weight", {h.n_embd, -1});
  m_.hp_.n_vocab = m_.token_embd_->ne[1];
  check_computable(*m_.token_embd_);
  if (m_.arch_->embd_norm) {
    m_.embd_norm_ = vec("token_embd_norm.weight", h.n_embd, true);
    m_.embd_norm_b_ = vec("token_embd_norm.bias", h.n_embd, true);
  }
  if (m_.arch_->pos_embd != Presence::None) {
    m_.pos_embd_ = find("position_embd.weight");
    if (!m_.pos_embd_ && m_.arch_->pos_embd == Presence::Required) require("position_embd.weight", {});
    if (m_.pos_embd_) {
      check_shape(*m_.pos_embd_, {h.n_embd, -1});
      check_computable(*m_.pos_embd_);
    }
  }
  if (m_.arch_->norm_params) {
    const std::string on(m_.arch_->output_norm);
    m_.output_norm_ = vec(on + ".weight", h.n_embd, true);
    if (m_.arch_->norm == NormKind::Layer || m_.arch_->norm_bias)
      m_.output_norm_b_ = vec(on + ".bias", h.n_embd, false);
  }
  if (find("output.weight")) {
    m_.output_ = projection("output", h.n_embd, m_.hp_.n_vocab, true);
  } else {
    m_.output_ = whole_projection(*m_.token_embd_, h.n_embd, m_.hp_.n_vocab);
  }
  if (m_.arch_->rope_freqs) m_.rope_factors_ = vec("rope_freqs.weight", h.n_rot / 2, false);
  // gemma4: one table for the global layers ([head size / 2]), required when there is one.
  if (m_.arch_->rope_freqs_global)
    m_.rope_factors_ = vec("rope_freqs.weight", h.head_dim / 2,
                           std::count(h.layer_is_swa.begin(), h.layer_is_swa.end(), false) > 0);
  if (m_.arch_->per_layer_inputs && h.n_embd_per_layer > 0) {
    const int64_t w = h.n_embd_per_layer * h.n_layer;
    m_.pl_token_embd_ = &require("per_layer_token_embd.weight", {w, h.n_vocab});
    check_computable(*m_.pl_token_embd_);
    m_.pl_model_proj_ = projection("per_layer_model_proj", h.n_embd, w, true);
    m_.pl_proj_norm_ = vec("per_layer_proj_norm.weight", h.n_embd_per_layer, true);
  }
  m_.rope_factors_long_ = vec("rope_factors_long.weight", h.n_rot / 2, false);
  m_.rope_factors_short_ = vec("rope_factors_short.weight", h.n_rot / 2, false);
  m_.layers_.resize(size_t(h.n_layer));
  for (int64_t l = 0; l < h.n_layer; ++l) load_layer(l);
  refuse_unused();
}

void WeightLoader::load_layer(int64_t l) {
  const HParams& h = m_.hp_;
  const ArchSpec& a = *m_.arch_;
  LayerWeights& L = m_.layers_[size_t(l)];
  const std::string b = fmt::format("blk.{}.", l);
  const bool ln = a.norm == NormKind::Layer || a.norm_bias;  // norms may have biases

  const bool norms = a.norm_params;
  // The layer's shape (openelm, deci, gemma4 per layer); deci's zeros: no attention, linear
  // attention, no layer.
  const LayerSizes z = h.layer_sizes[size_t(l)];
  const int64_t nq = z.n_q(), nkv = z.n_kv();
  L.sizes = z;
  if (norms && (z.n_head > 0 || z.recurrent())) L.attn_norm = vec(b + "attn_norm.weight", h.n_embd, a.pre_norm);
  if (z.recurrent()) load_recurrent(L, b, z.mixer);
  if (norms && ln) L.attn_norm_b = vec(b + "attn_norm.bias", h.n_embd, false);
  // gated_q: per head head_dim queries, then head_dim gate values.
  const int64_t nq_rows = a.gated_q ? 2 * nq : nq;
  if (a.mla != Mla::None && z.n_head > 0) {
    load_mla(L, b);
  } else if (z.n_head_kv > 0) {
    std::vector<PartSpec> qkv = {{b + "attn_q", nq_rows}, {b + "attn_k", nkv}, {b + "attn_v", nkv}};
    if (!h.layer_has_kv(l)) {
      // A layer reading an earlier layer's cache: llama.cpp loads its K/V weights if present
      // and uses none.
      for (const char* t : {"attn_k", "attn_v"}) projection(b + t, h.n_embd, nkv, false);
      vec(b + "attn_k_norm.weight", z.head_dim, false);
      qkv.resize(1);
    } else if (a.v_from_k && !find(b + "attn_v.weight") && !find(b + "attn_qkv.weight")) {
      L.v_from_k = true;
      qkv.resize(2);
    }
    L.qkv = group(qkv.size() == 3 ? b + "attn_qkv" : "", qkv, h.n_embd, "Q/K/V");
    if (qkv.size() < 3) {
      L.qkv.fusable = qkv.size() > 1;
      L.qkv.why_not = "a layer without its own V projection";
    }
  }
  if (a.qk_norm != QkNormKind::None && z.n_head_kv > 0) {
    const bool req = !a.qk_norm_optional;
    if (a.qk_norm == QkNormKind::PerHeadEach) {
      L.q_norm = floats(b + "attn_q_norm.weight", {z.head_dim, z.n_head}, req);
      L.k_norm = floats(b + "attn_k_norm.weight", {z.head_dim, z.n_head_kv}, req);
    } else {
      const bool shared = a.qk_norm == QkNormKind::PerHead;
      L.q_norm = vec(b + "attn_q_norm.weight", shared ? z.head_dim : nq, req);
      // A layer on another layer's cache computes no K (its attn_k_norm was read above).
      if (h.layer_has_kv(l)) L.k_norm = vec(b + "attn_k_norm.weight", shared ? z.head_dim : nkv, req);
    }
    if (a.qk_norm_only_with_q && !L.q_norm) L.k_norm = nullptr;
    if (h.layer_has_kv(l) && !L.q_norm != !L.k_norm)
      fail("{}: layer {} has only one of attn_q_norm and attn_k_norm", f_.path(), l);
    if (L.q_norm && a.norm == NormKind::Layer && a.qk_norm == QkNormKind::Full) {
      L.q_norm_b = vec(b + "attn_q_norm.bias", nq, false);
      L.k_norm_b = vec(b + "attn_k_norm.bias", nkv, false);
    } else if (a.qk_norm_only_with_q) {
      vec(b + "attn_k_norm.bias", nkv, false);  // loaded with its unused norm
    }
  }
  if (a.mla == Mla::None && z.n_head > 0) {
    L.wo = projection(b + "attn_output", z.n_head_kv > 0 ? nq : h.n_embd, h.n_embd, true);
    if (z.n_head_kv == 0) {
      // deci's linear attention is the bare matrix: its bias and scale are loaded, unused.
      L.wo.bias = nullptr;
      L.wo.segments.front().scale = 1.0f;
    }
  }
  if (a.attn_sinks) L.attn_sinks = vec(b + "attn_sinks.weight", z.n_head, true);
  const std::string post_w(a.post_norm_weight);
  if (a.post_norm) L.post_attn_norm = vec(b + std::string(a.post_attn_norm) + post_w, h.n_embd, true);

  // single_sublayer: a layer with an FFN has no mixer, and its FFN is normed by attn_norm.
  const bool ffn_alone = a.single_sublayer && z.n_ff > 0;
  L.has_mixer = !ffn_alone;
  const std::string ffn_norm = b + std::string(ffn_alone ? "attn_norm" : a.ffn_norm);
  // The FFN norms its own input unless it shares the attention's (SharedNorm); stablelm's
  // layers are parallel exactly when they have no ffn_norm.
  L.parallel = a.parallel_by_key && !h.parallel_residual ? Parallel::None : a.parallel;
  const bool reads_ffn_norm = norms && z.n_ff > 0 && (a.parallel != Parallel::SharedNorm || a.parallel_if_no_ffn_norm);
  if (reads_ffn_norm) {
    L.ffn_norm = vec(ffn_norm + std::string(ffn_alone ? ".weight" : a.ffn_norm_weight), h.n_embd,
                     a.pre_norm && a.parallel != Parallel::SharedNorm);
    if (ln) L.ffn_norm_b = vec(ffn_norm + ".bias", h.n_embd, false);
    if (a.parallel_if_no_ffn_norm && L.ffn_norm) L.parallel = Parallel::None;
  }
  if (a.post_norm) {
    const bool alt = !a.post_ffn_norm_alt.empty() && !find(b + std::string(a.post_ffn_norm) + post_w);
    L.post_ffn_norm = vec(b + std::string(alt ? a.post_ffn_norm_alt : a.post_ffn_norm) + post_w, h.n_embd, true);
  }
  if (a.attn_norm_2) {
    if (const float* n2 = vec(b + "attn_norm_2.weight", h.n_embd, false)) {
      L.ffn_norm = L.attn_norm;
      L.ffn_norm_b = L.attn_norm_b;
      L.attn_norm = n2;
      L.attn_norm_b = vec(b + "attn_norm_2.bias", h.n_embd, false);
      L.parallel = Parallel::OwnNorm;
    }
  }

  // deci: llama.cpp's graph drops a layer without FFN whole (its attention output is unused).
  L.has_ffn = a.ffn != FfnKind::None && !(a.single_sublayer && z.n_ff == 0);
  // nemotron_h: its FFN layers only; jamba: the layers with a router.
  L.moe = (a.moe_by_router ? h.moe && find(b + "ffn_gate_inp.weight") : h.layer_is_moe(l)) && L.has_ffn;
  L.skip = L.has_ffn && z.n_ff == 0;
  if (!a.moe() && !a.moe_if_experts && find(b + "ffn_gate_inp.weight"))
    fail("{}: layer {} is a mixture-of-experts layer ('{}ffn_gate_inp.weight'), which trident does not run for "
         "architecture {} yet", f_.path(), l, b, h.arch);
  if (L.moe && !L.skip && L.has_ffn) load_moe(L, b);
  scales_ignored_ = !a.ffn_scales;
  // The dense FFN: of a dense layer, or beside the experts (MoeDense; grok's by presence).
  if (!L.skip && L.has_ffn && (!L.moe || a.moe_dense == MoeDense::Residual))
    load_dense_ffn(L, b, L.moe ? h.n_embd : z.n_ff);
  else if (!L.skip && a.moe_dense == MoeDense::ScaledSum && (find(b + "ffn_up.weight") || find(b + "ffn_gate_up.weight")))
    load_dense_ffn(L, b, h.n_ff);
  if (L.moe && a.moe_dense == MoeDense::Residual) L.moe_norm = vec(b + "ffn_norm_exps.weight", h.n_embd, true);
  scales_ignored_ = false;
  bias_before_scale(L.gate_up, L.down);
  L.swa = h.layer_is_swa[size_t(l)];
  L.rope = h.rope && (a.no_rope_every == 0 || (l + 1) % a.no_rope_every != 0);
  const bool fixed_no_rope = !h.layer_no_rope.empty() && h.layer_no_rope[size_t(l)];
  if (fixed_no_rope) L.rope = false;
  L.attn_temp = fixed_no_rope && h.attn_temp_scale != 0.0f;
  L.qk_l2 = h.qk_l2_norm && L.rope;
  if (a.rope_only_swa && h.swa_window > 0) L.rope = L.swa;
  L.rope_base = L.swa ? h.rope_base_swa : h.rope_base;
  L.rope_factors = !(a.rope_freqs_global && L.swa);
  L.rope_freq_scale = a.swa_rope_unscaled && L.swa ? 1.0f : h.rope_freq_scale;
  if (a.layer_out_scale) L.out_scale = vec(b + "layer_output_scale.weight", 1, false);
  if (m_.pl_token_embd_) {
    L.pl_gate = projection(b + "inp_gate", h.n_embd, h.n_embd_per_layer, true);
    L.pl_proj = projection(b + "proj", h.n_embd_per_layer, h.n_embd, true);
    L.pl_post_norm = vec(b + "post_norm.weight", h.n_embd, true);
  }
}

void WeightLoader::load_dense_ffn(LayerWeights& L, const std::string& b, int64_t nf) {
  const HParams& h = m_.hp_;
  if (m_.arch_->ffn == FfnKind::Plain) {
    L.gate_up = group("", {{b + "ffn_up", nf}}, h.n_embd, "up");
    L.gate_up.fusable = false;
    L.gate_up.why_not = "plain feed-forward has no gate";
    L.down = projection(b + "ffn_down", nf, h.n_embd, true);
    L.act_scales = vec(b + "ffn.act.scales", nf, false);
    return;
  }
  // Gate and up stored apart, as `ffn_gate_up`, or (phi3) as a double-height `ffn_up`.
  const GgufTensorInfo* up = find(b + "ffn_up.weight");
  const bool up_holds_gate = !find(b + "ffn_gate.weight") && up && up->ne[1] == 2 * nf;
  const std::string fused_name = up_holds_gate ? b + "ffn_up" : b + "ffn_gate_up";
  std::vector<PartSpec> parts = {{b + "ffn_gate", nf}, {b + "ffn_up", nf}};
  if (up_holds_gate) parts = {{b + "ffn_up.gate", nf}, {b + "ffn_up.up", nf}};
  L.gate_up = group(fused_name, parts, h.n_embd, "gate/up");
  L.down = projection(b + "ffn_down", nf, h.n_embd, true);
}


std::unique_ptr<Model> Model::load(const std::string& path, const LoadOptions& opt) {
  std::unique_ptr<Model> m(new Model());
  m->file_ = GgufFile::open(path);
  const std::string arch = m->file_->require_string("general.architecture");
  m->arch_ = find_arch(arch);
  if (!m->arch_ && !unsupported_reason(arch).empty())
    fail("{}: key 'general.architecture': architecture '{}' needs {}, which trident does not run yet", path,
         printable(arch), unsupported_reason(arch));
  if (!m->arch_)
    fail("{}: key 'general.architecture': unsupported architecture '{}' (supported: {})", path,
         printable(arch), supported_arch_names());
  m->hp_ = read_hparams(*m->file_, *m->arch_);
  m->repack_ = opt.repack;
  WeightLoader(*m).load();
  return m;
}

// As llama.cpp's llama_model::get_rope_factors: rope_freqs wins; otherwise long factors when
// the context exceeds the original one. llama.cpp pads the context to a multiple of 256 first.
const float* Model::rope_factors(int64_t n_ctx) const {
  if (rope_factors_) return rope_factors_;
  return (n_ctx + 255) / 256 * 256 > hp_.n_ctx_orig ? rope_factors_long_ : rope_factors_short_;
}

uint64_t Model::weight_bytes() const {
  uint64_t n = 0;
  for (const auto& t : file_->tensors()) n += t.n_bytes;
  // Only n_expert_used of n_expert experts are read per token.
  if (hp_.n_expert > 0) {
    uint64_t expert = 0;
    for (const auto& t : file_->tensors())
      if (t.name.find("_exps.") != std::string::npos) expert += t.n_bytes;
    n -= expert - expert / uint64_t(hp_.n_expert) * uint64_t(hp_.n_expert_used);
  }
  // The embedding table is read one row per token, not whole.
  if (output_.segments.front().data != file_->tensor_data(*token_embd_)) n -= token_embd_->n_bytes;
  return n;
}

uint64_t Model::n_params() const {
  uint64_t n = 0;
  for (const auto& t : file_->tensors()) n += t.n_elements;
  return n;
}

}  // namespace trident
