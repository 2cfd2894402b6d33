// synth's weight types, tensor plan and metadata. Which tensors and keys a family has comes
// from its registry row (model/arch.h) and the shape; nothing here tests a family's name.
#include "convert/synth_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "convert/quant_mix.h"
#include "format/error.h"
#include "tensor/types.h"

namespace trident {
namespace {

// One weight type: a llama-quantize mix of convert/quant_mix.h, or one GGML type for every
// matrix; general.file_type is llama.cpp's llama_ftype (a K type alone: its _S mix's number).
struct TypeRow {
  std::string_view name;
  SynthType type;
  bool is_mix;
  QuantMix mix;
  GgmlType single;
  uint32_t file_type;
};

using S = SynthType;
using GT = GgmlType;
constexpr std::array<TypeRow, 22> kTypes = {{
    {"f32", S::F32, true, QuantMix::F32, GT::F32, 0},
    {"f16", S::F16, true, QuantMix::F16, GT::F16, 1},
    {"q8_0", S::Q8_0, true, QuantMix::Q8_0, GT::Q8_0, 7},
    {"q4_0", S::Q4_0, true, QuantMix::Q4_0, GT::Q4_0, 2},
    {"q4_k_m", S::Q4_K_M, true, QuantMix::Q4_K_M, GT::Q4_K, 15},
    {"bf16", S::BF16, false, QuantMix::F16, GT::BF16, 32},
    {"q4_1", S::Q4_1, false, QuantMix::F16, GT::Q4_1, 3},
    {"q5_0", S::Q5_0, false, QuantMix::F16, GT::Q5_0, 8},
    {"q5_1", S::Q5_1, false, QuantMix::F16, GT::Q5_1, 9},
    {"q2_k", S::Q2_K, false, QuantMix::F16, GT::Q2_K, 10},
    {"q3_k", S::Q3_K, false, QuantMix::F16, GT::Q3_K, 11},
    {"q4_k", S::Q4_K, false, QuantMix::F16, GT::Q4_K, 14},
    {"q5_k", S::Q5_K, false, QuantMix::F16, GT::Q5_K, 16},
    {"q6_k", S::Q6_K, false, QuantMix::F16, GT::Q6_K, 18},
    {"iq4_nl", S::IQ4_NL, false, QuantMix::F16, GT::IQ4_NL, 25},
    {"iq4_xs", S::IQ4_XS, false, QuantMix::F16, GT::IQ4_XS, 30},
    {"mxfp4", S::MXFP4, false, QuantMix::F16, GT::MXFP4, 38},
    {"nvfp4", S::NVFP4, false, QuantMix::F16, GT::NVFP4, 39},
    {"tq1_0", S::TQ1_0, false, QuantMix::F16, GT::TQ1_0, 36},
    {"tq2_0", S::TQ2_0, false, QuantMix::F16, GT::TQ2_0, 37},
    {"q1_0", S::Q1_0, false, QuantMix::F16, GT::Q1_0, 40},
    {"q2_0", S::Q2_0, false, QuantMix::F16, GT::Q2_0, 41},
}};

const TypeRow& type_row(SynthType t) {
  for (const TypeRow& r : kTypes)
    if (r.type == t) return r;
  fail("synth: unknown weight type {}", int(t));
}

}  // namespace

std::optional<SynthType> synth_type_from_name(std::string_view name) {
  for (const TypeRow& r : kTypes)
    if (r.name == name) return r.type;
  return std::nullopt;
}

std::string synth_type_names() {
  std::string s;
  for (const TypeRow& r : kTypes) s += (s.empty() ? "" : ", ") + std::string(r.name);
  return s;
}

std::string_view synth_type_name(SynthType t) { return type_row(t).name; }

namespace synth_detail {
namespace {

// A mix "pure" for the single-type mixes (llama-quantize would make a q4_0 file's output q6_K;
// here every matrix is the one type, so the file's speed is that type's); q4_k_m keeps
// llama-quantize's per-tensor rules, which are what makes it q4_k_m. A single type: rows that fit
// none of its blocks in Q8_0, else F16, as llama-quantize falls back to a type the row fits.
// What llama-quantize never converts (routers, convolutions, ...) stays F32, as llama.cpp's
// converter writes it and its graph needs it (ssm_conv takes F32 weights only).
GgmlType tensor_type(const Resolved& r, const std::string& name, size_t n_dims, WeightRole role, int64_t layer,
                     int64_t row_len) {
  if (role == WeightRole::Router || !tensor_is_quantizable(name, uint32_t(n_dims), false)) return GgmlType::F32;
  const TypeRow& t = type_row(r.type);
  if (t.is_mix) {
    MixModel m;
    m.n_layer = r.n_layer;
    m.n_gqa = r.shape->n_head_kv > 0 ? r.shape->n_head / r.shape->n_head_kv : 0;
    m.n_expert = r.moe ? r.shape->n_expert : 0;
    m.tied_output = r.shape->tied_output;
    return mix_tensor_type(t.mix, m, t.mix != QuantMix::Q4_K_M, name, layer, row_len);
  }
  if (row_len % layout_of(t.single).block_size == 0) return t.single;
  return row_len % layout_of(GgmlType::Q8_0).block_size == 0 ? GgmlType::Q8_0 : GgmlType::F16;
}

// One layer's attention and FFN shape as synth lays it out.
struct SynthLayer {
  bool swa = false, has_kv = true, has_v = true, moe = false, recurrent = false;
  int64_t head_dim = 0, n_head_kv = 0, n_ff = 0;
};

SynthLayer synth_layer(const Resolved& r, int64_t l) {
  const SynthShape& s = *r.shape;
  const bool moe = r.moe && l >= r.n_dense_lead;
  // Every attn_interval-th layer attends (RecurrentLayers::Interval, the only recurrent layout synth writes).
  const bool recurrent = r.arch->recurrent() && (l + 1) % s.attn_interval != 0;
  if (!r.arch->per_layer_shapes) return {false, true, true, moe, recurrent, s.head_dim, s.n_head_kv, s.n_ff};
  SynthLayer y;
  y.moe = moe;
  y.swa = (l + 1) % s.swa_every != 0;
  y.head_dim = y.swa ? s.head_dim_swa : s.head_dim;
  y.n_head_kv = y.swa ? s.n_head_kv_swa : s.n_head_kv;
  y.has_kv = l < r.n_layer - s.n_kv_shared;
  y.has_v = y.has_kv && (y.swa || !s.v_from_k_global);
  y.n_ff = !y.has_kv && s.wide_shared_ffn ? 2 * s.n_ff : s.n_ff;
  return y;
}

// Whether the family's loader reads Q as one attn_q at this size without a q_lora_rank key
// (ArchSpec::no_q_lora_at): elsewhere a shape without Q's low rank writes the key as 0.
bool lite_size(const Resolved& r) {
  for (const LayerVocab& lv : r.arch->no_q_lora_at)
    if (lv.n_layer == r.n_layer && (lv.n_vocab == 0 || lv.n_vocab == r.n_vocab)) return true;
  return false;
}

class Planner {
 public:
  explicit Planner(const Resolved& r) : r_(r), s_(*r.shape), a_(*r.arch) {}

  std::vector<Planned> run() {
    const int64_t n_pl = a_.per_layer_inputs ? s_.n_embd_per_layer : 0;
    mat("token_embd.weight", {s_.n_embd, r_.n_vocab}, WeightRole::Embd, -1);
    // llama.cpp only accepts rope_freqs on architectures that read it.
    if (s_.llama3_rope_factor > 0 && a_.rope_freqs) vec("rope_freqs.weight", {s_.head_dim / 2}, Init::RopeFreqs, 1.0f);
    if (a_.rope_freqs_global) vec("rope_freqs.weight", {s_.head_dim / 2}, Init::One, 1.0f);
    if (n_pl > 0) {
      mat("per_layer_token_embd.weight", {n_pl * r_.n_layer, r_.n_vocab}, WeightRole::Other, -1);
      mat("per_layer_model_proj.weight", {s_.n_embd, n_pl * r_.n_layer}, WeightRole::Other, -1);
      vec("per_layer_proj_norm.weight", {n_pl}, Init::Norm, 1.0f);
    }
    for (int64_t l = 0; l < r_.n_layer; ++l) {
      const std::string b = fmt::format("blk.{}.", l);
      const SynthLayer y = synth_layer(r_, l);
      if (a_.pre_norm) vec(b + "attn_norm.weight", {s_.n_embd}, Init::Norm, 1.0f);
      if (y.recurrent) delta_net(b, l);
      else if (a_.mla != Mla::None) latent_attention(b, l);
      else attention(b, l, y);
      if (a_.post_norm) vec(b + std::string(a_.post_attn_norm) + std::string(a_.post_norm_weight), {s_.n_embd}, Init::Norm, 1.0f);
      if (a_.pre_norm) vec(b + std::string(a_.ffn_norm) + std::string(a_.ffn_norm_weight), {s_.n_embd}, Init::Norm, 1.0f);
      if (y.moe) experts(b, l);
      else ffn(b, l, y.n_ff);
      if (a_.post_norm) vec(b + std::string(a_.post_ffn_norm) + std::string(a_.post_norm_weight), {s_.n_embd}, Init::Norm, 1.0f);
      if (n_pl > 0) {
        mat(b + "inp_gate.weight", {s_.n_embd, n_pl}, WeightRole::Other, l);
        mat(b + "proj.weight", {n_pl, s_.n_embd}, WeightRole::Other, l);
        vec(b + "post_norm.weight", {s_.n_embd}, Init::Norm, 1.0f);
      }
      if (a_.layer_out_scale) vec(b + "layer_output_scale.weight", {1}, Init::One, 1.0f);
    }
    // Real models' final norms are a few times larger than the others; 3 gives logits with a
    // standard deviation of a few units whatever the depth.
    vec("output_norm.weight", {s_.n_embd}, Init::Norm, 3.0f);
    if (!s_.tied_output) mat("output.weight", {s_.n_embd, r_.n_vocab}, WeightRole::Output, -1);
    return std::move(plan_);
  }

 private:
  void vec(std::string name, std::vector<int64_t> ne, Init init, float scale) {
    plan_.push_back({{std::move(name), GgmlType::F32, std::move(ne)}, init, scale});
  }
  // Weights: std 1/sqrt(fan_in) keeps each projection's output at the scale of its input.
  void mat(std::string name, std::vector<int64_t> ne, WeightRole role, int64_t layer) {
    const GgmlType t = tensor_type(r_, name, ne.size(), role, layer, ne[0]);
    const float std = 1.0f / std::sqrt(float(ne[0]));
    plan_.push_back({{std::move(name), t, std::move(ne)}, Init::Matrix, std});
  }

  void attention(const std::string& b, int64_t l, const SynthLayer& y) {
    const int64_t n_q = s_.n_head * y.head_dim, n_kv = y.n_head_kv * y.head_dim;
    // gated_q: per head head_dim queries, then head_dim gate values.
    mat(b + "attn_q.weight", {s_.n_embd, a_.gated_q ? 2 * n_q : n_q}, WeightRole::Other, l);
    if (y.has_kv) mat(b + "attn_k.weight", {s_.n_embd, n_kv}, WeightRole::Other, l);
    if (y.has_v) mat(b + "attn_v.weight", {s_.n_embd, n_kv}, WeightRole::AttnV, l);
    if (a_.qkv_bias || s_.qkv_bias) {
      vec(b + "attn_q.bias", {n_q}, Init::Bias, 0.1f);
      vec(b + "attn_k.bias", {n_kv}, Init::Bias, 0.1f);
      vec(b + "attn_v.bias", {n_kv}, Init::Bias, 0.1f);
    }
    if (a_.qk_norm != QkNormKind::None) {
      const bool per_head = a_.qk_norm == QkNormKind::PerHead;
      vec(b + "attn_q_norm.weight", {per_head ? y.head_dim : n_q}, Init::Norm, 1.0f);
      if (y.has_kv) vec(b + "attn_k_norm.weight", {per_head ? y.head_dim : n_kv}, Init::Norm, 1.0f);
    }
    mat(b + "attn_output.weight", {n_q, s_.n_embd}, WeightRole::Other, l);
    if (s_.attn_out_bias) vec(b + "attn_output.bias", {s_.n_embd}, Init::Bias, 0.1f);
    // A learned logit per head in each softmax's denominator.
    if (a_.attn_sinks) vec(b + "attn_sinks.weight", {s_.n_head}, Init::Bias, 1.0f);
  }

  // Multi-head latent attention as llama.cpp's deepseek2 loader reads it: Q whole or through
  // its low rank, the compressed latent plus the shared roped key, then per head either the
  // split up-projections (attn_k_b / attn_v_b, absorbed) or one attn_kv_b.
  void latent_attention(const std::string& b, int64_t l) {
    const int64_t n_head = s_.n_head, nope = s_.head_dim - s_.n_rot, lora = s_.kv_lora_rank;
    if (s_.q_lora_rank > 0) {
      mat(b + "attn_q_a.weight", {s_.n_embd, s_.q_lora_rank}, WeightRole::Other, l);
      vec(b + "attn_q_a_norm.weight", {s_.q_lora_rank}, Init::Norm, 1.0f);
      mat(b + "attn_q_b.weight", {s_.q_lora_rank, n_head * s_.head_dim}, WeightRole::Other, l);
    } else {
      mat(b + "attn_q.weight", {s_.n_embd, n_head * s_.head_dim}, WeightRole::Other, l);
    }
    mat(b + "attn_kv_a_mqa.weight", {s_.n_embd, lora + s_.n_rot}, WeightRole::Other, l);
    vec(b + "attn_kv_a_norm.weight", {lora}, Init::Norm, 1.0f);
    if (a_.mla == Mla::AbsorbedIfSet) {
      mat(b + "attn_k_b.weight", {nope, lora, n_head}, WeightRole::Other, l);
      mat(b + "attn_v_b.weight", {lora, s_.head_dim_v, n_head}, WeightRole::Other, l);
    } else {
      mat(b + "attn_kv_b.weight", {lora, n_head * (nope + s_.head_dim_v)}, WeightRole::Other, l);
    }
    mat(b + "attn_output.weight", {n_head * s_.head_dim_v, s_.n_embd}, WeightRole::Other, l);
  }

  // A gated delta-net layer as llama.cpp's qwen35 loader reads it (DeltaNetKind::Separate):
  // Q, K (key heads) and V (value heads) in one attn_qkv, the output gate z, beta and alpha
  // per value head, the causal convolution over [q | k | v], the decay's bias and A
  // (negative: exp(softplus(alpha + dt) * A) is a decay in (0, 1)), the output's grouped norm.
  void delta_net(const std::string& b, int64_t l) {
    const int64_t key_dim = s_.ssm_groups * s_.ssm_state, value_dim = s_.ssm_heads * s_.ssm_state;
    const int64_t conv_dim = 2 * key_dim + value_dim;
    mat(b + "attn_qkv.weight", {s_.n_embd, conv_dim}, WeightRole::Other, l);
    mat(b + "attn_gate.weight", {s_.n_embd, value_dim}, WeightRole::Other, l);
    mat(b + "ssm_conv1d.weight", {s_.ssm_conv, conv_dim}, WeightRole::Other, l);
    vec(b + "ssm_dt.bias", {s_.ssm_heads}, Init::Bias, 0.1f);
    vec(b + "ssm_a", {s_.ssm_heads}, Init::Norm, -1.0f);
    mat(b + "ssm_beta.weight", {s_.n_embd, s_.ssm_heads}, WeightRole::Other, l);
    mat(b + "ssm_alpha.weight", {s_.n_embd, s_.ssm_heads}, WeightRole::Other, l);
    vec(b + "ssm_norm.weight", {s_.ssm_state}, Init::Norm, 1.0f);
    mat(b + "ssm_out.weight", {value_dim, s_.n_embd}, WeightRole::Other, l);
  }

  void ffn(const std::string& b, int64_t l, int64_t n_ff) {
    if (a_.ffn == FfnKind::Gated || a_.ffn == FfnKind::Moe) mat(b + "ffn_gate.weight", {s_.n_embd, n_ff}, WeightRole::Other, l);
    mat(b + "ffn_up.weight", {s_.n_embd, n_ff}, WeightRole::Other, l);
    mat(b + "ffn_down.weight", {n_ff, s_.n_embd}, WeightRole::FfnDown, l);
  }

  void experts(const std::string& b, int64_t l) {
    const int64_t nf = s_.n_ff_expert, ne = r_.n_expert, ns = s_.n_expert_shared;
    mat(b + "ffn_gate_inp.weight", {s_.n_embd, ne}, WeightRole::Router, l);
    if (a_.expert_biases) vec(b + "ffn_gate_inp.bias", {ne}, Init::Bias, 0.1f);
    mat(b + "ffn_gate_exps.weight", {s_.n_embd, nf, ne}, WeightRole::Other, l);
    mat(b + "ffn_up_exps.weight", {s_.n_embd, nf, ne}, WeightRole::Other, l);
    mat(b + "ffn_down_exps.weight", {nf, s_.n_embd, ne}, WeightRole::FfnDown, l);
    if (a_.expert_biases) {
      vec(b + "ffn_gate_exps.bias", {nf, ne}, Init::Bias, 0.1f);
      vec(b + "ffn_up_exps.bias", {nf, ne}, Init::Bias, 0.1f);
      vec(b + "ffn_down_exps.bias", {s_.n_embd, ne}, Init::Bias, 0.1f);
    }
    if (ns > 0) {
      mat(b + "ffn_gate_shexp.weight", {s_.n_embd, nf * ns}, WeightRole::Other, l);
      mat(b + "ffn_up_shexp.weight", {s_.n_embd, nf * ns}, WeightRole::Other, l);
      mat(b + "ffn_down_shexp.weight", {nf * ns, s_.n_embd}, WeightRole::FfnDown, l);
    }
  }

  const Resolved& r_;
  const SynthShape& s_;
  const ArchSpec& a_;
  std::vector<Planned> plan_;
};

}  // namespace

Resolved resolve(const SynthOptions& opt) {
  Resolved r;
  r.shape = find_synth_shape(opt.shape);
  if (!r.shape) fail("--shape: unknown shape '{}' (valid: {})", opt.shape, synth_shape_names());
  const SynthShape& s = *r.shape;
  const std::string_view arch = opt.arch.empty() ? s.arch : std::string_view(opt.arch);
  r.arch = find_arch(arch);
  if (!r.arch || !r.arch->synth) fail("--arch: unknown architecture '{}' (valid: {})", arch, synth_arch_names());
  const ArchSpec& a = *r.arch;
  r.moe = a.ffn == FfnKind::Moe || (a.moe_if_experts && s.n_expert > 0);
  if (a.ffn == FfnKind::Moe && s.n_expert == 0)
    fail("--arch: {} is a mixture-of-experts architecture but shape '{}' has no experts", arch, s.name);
  if ((a.mla != Mla::None) != (s.kv_lora_rank > 0))
    fail("--arch: {} {} latent attention and shape '{}' {}", arch, a.mla != Mla::None ? "uses" : "has no",
         s.name, s.kv_lora_rank > 0 ? "has it" : "does not");
  if (a.recurrent() && (a.delta_net != DeltaNetKind::Separate || a.recurrent_layers != RecurrentLayers::Interval))
    fail("--arch: synth writes no {} layers", arch);
  if (a.recurrent() && (s.ssm_state == 0 || s.attn_interval < 1))
    fail("--arch: {} has gated delta-net layers, whose sizes shape '{}' does not give", arch, s.name);
  r.type = opt.type;
  r.n_vocab = opt.n_vocab ? opt.n_vocab : s.n_vocab;
  // 3 special tokens and 256 byte tokens are the least a byte-fallback vocabulary holds.
  if (r.n_vocab < 259 || r.n_vocab > (int64_t(1) << 24))
    fail("--vocab: expected 259 to {} tokens, found {}", int64_t(1) << 24, r.n_vocab);
  r.n_layer = opt.n_layer ? opt.n_layer : s.n_layer;
  if (r.n_layer < 1 || r.n_layer > 1024) fail("--layers: expected 1 to 1024 layers, found {}", r.n_layer);
  r.n_dense_lead = std::min(s.n_dense_lead, r.n_layer);
  if (opt.n_expert != 0 && !r.moe) fail("--experts: shape '{}' has no experts as {}", s.name, arch);
  if (opt.n_expert < 0 || opt.n_expert > 4096) fail("--experts: expected 1 to 4096 experts, found {}", opt.n_expert);
  r.n_expert = opt.n_expert ? opt.n_expert : s.n_expert;
  r.n_expert_used = std::min(s.n_expert_used, r.n_expert);
  // Shared layers read the caches of the last two that have their own: a windowed, then a global one.
  if (a.per_layer_shapes) {
    const int64_t kv_from = r.n_layer - s.n_kv_shared, every = s.swa_every;
    if (every < 2)
      fail("--arch: {} lays out layers by a window pattern, which shape '{}' does not give (use a {} shape)", arch,
           s.name, arch);
    if (kv_from < 2 || kv_from % every != 0)
      fail("--layers: shape '{}' needs {} layers with their own K/V ending on a global layer (every {}th), found {}",
           s.name, kv_from, every, r.n_layer);
  }
  return r;
}

std::vector<Planned> build_plan(const Resolved& r) { return Planner(r).run(); }

void set_hparams(GgufWriter& w, const Resolved& r, const SynthOptions& opt) {
  const SynthShape& s = *r.shape;
  const ArchSpec& a = *r.arch;
  const std::string p = std::string(a.name) + ".";
  const TypeRow& type = type_row(r.type);
  w.set_string("general.architecture", std::string(a.name));
  w.set_string("general.name", fmt::format("synthetic {}", s.name));
  w.set_u32("general.file_type", type.file_type);
  if (type.file_type > 1 && type.file_type != 32) w.set_u32("general.quantization_version", 2);
  w.set_string("trident.synth.shape", std::string(s.name));
  w.set("trident.synth.seed", GgufValue{GgufValueType::UINT64, opt.seed});
  w.set_u32(p + "vocab_size", uint32_t(r.n_vocab));
  w.set_u32(p + "context_length", uint32_t(s.n_ctx_train));
  w.set_u32(p + "embedding_length", uint32_t(s.n_embd));
  w.set_u32(p + "block_count", uint32_t(r.n_layer));
  w.set_u32(p + "feed_forward_length", uint32_t(s.n_ff));
  w.set_u32(p + "attention.head_count", uint32_t(s.n_head));
  // Absorbed latent attention, as llama.cpp's deepseek2 converter writes it: one latent KV
  // head; the cache's key is the latent plus the roped part, its value the latent; the
  // per-head sizes are the _mla keys.
  const bool latent_cache = a.mla == Mla::AbsorbedIfSet;
  const int64_t v_len = a.mla != Mla::None ? s.head_dim_v : s.head_dim;
  w.set_u32(p + "attention.head_count_kv", uint32_t(latent_cache ? 1 : s.n_head_kv));
  w.set_u32(p + "attention.key_length", uint32_t(latent_cache ? s.kv_lora_rank + s.n_rot : s.head_dim));
  w.set_u32(p + "attention.value_length", uint32_t(latent_cache ? s.kv_lora_rank : v_len));
  if (latent_cache) {
    w.set_u32(p + "attention.key_length_mla", uint32_t(s.head_dim));
    w.set_u32(p + "attention.value_length_mla", uint32_t(s.head_dim_v));
  }
  if (a.mla != Mla::None) {
    w.set_u32(p + "attention.kv_lora_rank", uint32_t(s.kv_lora_rank));
    if (s.q_lora_rank > 0 || !lite_size(r)) w.set_u32(p + "attention.q_lora_rank", uint32_t(s.q_lora_rank));
  }
  w.set_u32(p + "rope.dimension_count", uint32_t(s.n_rot > 0 ? s.n_rot : s.head_dim));
  w.set_f32(p + "rope.freq_base", s.rope_base);
  if (s.yarn_factor > 0) {
    w.set_string(p + "rope.scaling.type", "yarn");
    w.set_f32(p + "rope.scaling.factor", s.yarn_factor);
    w.set_u32(p + "rope.scaling.original_context_length", uint32_t(s.yarn_orig_ctx));
    if (s.yarn_log_mul > 0) w.set_f32(p + "rope.scaling.yarn_log_multiplier", s.yarn_log_mul);
  }
  if (a.mrope != MRope::None && s.rope_sections[0] > 0)
    w.set_i32_array(p + "rope.dimension_sections", {s.rope_sections.begin(), s.rope_sections.end()});
  if (a.recurrent()) {
    // As llama.cpp's qwen35 converter: the delta net's sizes as ssm.* keys.
    w.set_u32(p + "ssm.conv_kernel", uint32_t(s.ssm_conv));
    w.set_u32(p + "ssm.inner_size", uint32_t(s.ssm_inner));
    w.set_u32(p + "ssm.state_size", uint32_t(s.ssm_state));
    w.set_u32(p + "ssm.time_step_rank", uint32_t(s.ssm_heads));
    w.set_u32(p + "ssm.group_count", uint32_t(s.ssm_groups));
    w.set_u32(p + "full_attention_interval", uint32_t(s.attn_interval));
  }
  w.set_f32(p + "attention.layer_norm_rms_epsilon", s.norm_eps);
  const int64_t window = s.swa_window > 0 ? s.swa_window : a.typical_swa_window;
  if (window > 0 && a.sliding_window) w.set_u32(p + "attention.sliding_window", uint32_t(window));
  if (s.attn_softcap > 0 && a.attn_softcap) w.set_f32(p + "attn_logit_softcapping", s.attn_softcap);
  if (s.final_softcap > 0) w.set_f32(p + "final_logit_softcapping", s.final_softcap);
  if (a.per_layer_shapes) {
    // As gemma4's converter: per-layer KV heads and FFN widths, the window pattern per layer.
    std::vector<int32_t> kv, ff;
    std::vector<bool> swa;
    for (int64_t l = 0; l < r.n_layer; ++l) {
      const SynthLayer y = synth_layer(r, l);
      kv.push_back(int32_t(y.n_head_kv));
      ff.push_back(int32_t(y.n_ff));
      swa.push_back(y.swa);
    }
    w.set_i32_array(p + "attention.head_count_kv", kv);
    w.set_i32_array(p + "feed_forward_length", ff);
    w.set_bool_array(p + "attention.sliding_window_pattern", swa);
    w.set_u32(p + "attention.key_length_swa", uint32_t(s.head_dim_swa));
    w.set_u32(p + "attention.value_length_swa", uint32_t(s.head_dim_swa));
    w.set_u32(p + "rope.dimension_count_swa", uint32_t(s.head_dim_swa));
    w.set_u32(p + "attention.shared_kv_layers", uint32_t(s.n_kv_shared));
  }
  if (a.per_layer_inputs) w.set_u32(p + "embedding_length_per_layer_input", uint32_t(s.n_embd_per_layer));
  if (r.moe) {
    w.set_u32(p + "expert_count", uint32_t(r.n_expert));
    w.set_u32(p + "expert_used_count", uint32_t(r.n_expert_used));
    // Mixtral-style files (a dense family with experts) give the experts' width as
    // feed_forward_length; MoE families write their own key.
    if (a.ffn == FfnKind::Moe) w.set_u32(p + "expert_feed_forward_length", uint32_t(s.n_ff_expert));
    if (a.moe_keys & moe_keys::kDenseLead) w.set_u32(p + "leading_dense_block_count", uint32_t(r.n_dense_lead));
    if (s.n_expert_shared > 0) w.set_u32(p + "expert_shared_count", uint32_t(s.n_expert_shared));
    if (s.expert_weights_scale > 0 && (a.moe_keys & moe_keys::kWeightsScale))
      w.set_f32(p + "expert_weights_scale", s.expert_weights_scale);
  }
}

}  // namespace synth_detail
}  // namespace trident
