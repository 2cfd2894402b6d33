// The loader's per-mixer and per-FFN-kind weights: gated delta nets, recurrent mixers, latent
// attention, experts and shared experts (the generic layer is model/loader.cpp).
#include "model/weight_loader.h"

namespace trident {

void WeightLoader::load_delta_net(LayerWeights& L, const std::string& b) {
  const HParams& h = m_.hp_;
  const DeltaNetSizes& s = h.delta;
  DeltaNetWeights& D = L.delta;
  const int64_t cd = s.conv_dim(), vd = s.value_dim(), nv = s.n_v_heads, d = h.n_embd;
  // qwen3next's graph multiplies by the bare input and output weights (their scales are
  // loaded and change nothing); qwen35's applies each one's scale.
  const bool per_key_head = m_.arch_->delta_net == DeltaNetKind::PerKeyHead;
  scales_ignored_ = per_key_head;
  if (!per_key_head) {
    D.in = group("", {{b + "attn_qkv", cd}, {b + "attn_gate", vd}, {b + "ssm_beta", nv}, {b + "ssm_alpha", nv}}, d,
                 "delta-net input");
  } else {
    // Parts as row segments: llama.cpp's views of ssm_in (per key head q, k, v, z) and of
    // ssm_ba (per key head beta, alpha) become plain q|k|v, z, beta, alpha rows.
    const int64_t nk = s.n_k_heads, r = nv / nk, hk = s.head_k_dim, hv = s.head_v_dim;
    std::vector<std::vector<RowSegment>> parts(4);
    const GgufTensorInfo* qkv = find(b + "attn_qkv.weight");
    const GgufTensorInfo* in = find(b + "ssm_in.weight");
    if (in) {
      check_shape(*in, {d, cd + vd});
      weight_scale(b + "ssm_in", 1, 0);
    }
    if (qkv) {  // llama.cpp then leaves ssm_in unused
      check_shape(*qkv, {d, cd});
      weight_scale(b + "attn_qkv", 1, 0);
      parts[0].push_back(segment(*qkv, 0, cd));
      parts[1].push_back(segment(require(b + "attn_gate.weight", {d, vd}), 0, vd));
      weight_scale(b + "attn_gate", 1, 0);
    } else {
      if (!in) require(b + "attn_qkv.weight", {d, cd});
      const int64_t w = 2 * hk + 2 * r * hv;  // one key head's rows
      for (int64_t part = 0; part < 3; ++part)  // q, k, v
        for (int64_t kh = 0; kh < nk; ++kh)
          parts[0].push_back(part < 2 ? segment(*in, kh * w + part * hk, hk) : segment(*in, kh * w + 2 * hk, r * hv));
      for (int64_t kh = 0; kh < nk; ++kh) parts[1].push_back(segment(*in, kh * w + 2 * hk + r * hv, r * hv));
    }
    const GgufTensorInfo& ba = require(b + "ssm_ba.weight", {d, 2 * nv});
    for (int64_t kh = 0; kh < nk; ++kh) {
      parts[2].push_back(segment(ba, kh * 2 * r, r));
      parts[3].push_back(segment(ba, kh * 2 * r + r, r));
    }
    D.in = segments_group(parts, {cd, vd, nv, nv}, d, {b + "qkv", b + "z", b + "beta", b + "alpha"});
  }
  const GgufTensorInfo& conv = require(b + "ssm_conv1d.weight", {s.d_conv, cd});
  D.conv_w.resize(size_t(s.d_conv * cd));
  conv_weight_time_major(as_f32(conv, 0, s.d_conv * cd), cd, s.d_conv, D.conv_w.data());
  D.dt_bias = vec(b + "ssm_dt.bias", nv, true);
  D.a = vec(b + "ssm_a", nv, true);
  D.norm = vec(b + "ssm_norm.weight", s.head_v_dim, true);
  D.out = projection(b + "ssm_out", vd, d, true);
  scales_ignored_ = false;
}

void WeightLoader::load_kda(LayerWeights& L, const std::string& b) {
  const HParams& h = m_.hp_;
  const DeltaNetSizes& s = h.delta;
  KdaWeights& K = L.kda;
  const int64_t vd = s.value_dim(), hd = s.head_k_dim, nh = s.n_v_heads, d = h.n_embd;
  // llama.cpp's kimi-linear graph multiplies by the bare weights of this layer: their scales
  // are loaded and change nothing.
  scales_ignored_ = true;
  // q, k, v as llama.cpp's create_tensor_qkv reads them (apart or one attn_qkv; their biases
  // are loaded and unused: its KDA graph adds none), then f_a, g_a and beta, in one group.
  ProjectionGroup qkv = group(b + "attn_qkv", {{b + "attn_q", vd}, {b + "attn_k", vd}, {b + "attn_v", vd}}, d, "Q/K/V");
  std::vector<std::vector<RowSegment>> parts;
  std::vector<int64_t> widths;
  std::vector<std::string> names;
  for (size_t i = 0; i < 3; ++i) {
    parts.push_back(qkv.parts[i].segments);
    widths.push_back(vd);
    names.push_back(qkv.part_names[i]);
  }
  for (const auto& [name, width] : std::vector<std::pair<std::string, int64_t>>{
           {b + "ssm_f_a", hd}, {b + "ssm_g_a", hd}, {b + "ssm_beta", nh}}) {
    parts.push_back(projection(name, d, width, true).segments);
    widths.push_back(width);
    names.push_back(name);
  }
  K.in = segments_group(parts, widths, d, names);
  // The three convolutions ([d_conv, 1, value_dim], a trailing 1 or not) as one over q|k|v:
  // channels are independent, so the joined kernel computes each as its own.
  K.conv_w.resize(size_t(s.d_conv * s.conv_dim()));
  std::vector<float> part(size_t(s.d_conv * vd));
  for (int64_t i = 0; i < 3; ++i) {
    const std::string name = b + "ssm_conv1d_" + "qkv"[i] + ".weight";
    conv_weight_time_major(floats(name, {s.d_conv, 1, vd}, true), vd, s.d_conv, part.data());
    for (int k = 0; k < s.d_conv; ++k)
      std::copy_n(part.data() + k * vd, vd, K.conv_w.data() + k * s.conv_dim() + i * vd);
  }
  K.f_b = projection(b + "ssm_f_b", hd, vd, true);
  K.g_b = projection(b + "ssm_g_b", hd, vd, true);
  K.dt_bias = vec(b + "ssm_dt.bias", vd, true);
  K.a = floats(b + "ssm_a", {1, nh}, true);
  K.norm = vec(b + "ssm_norm.weight", hd, true);
  K.out = projection(b + "attn_output", vd, d, true);
  scales_ignored_ = false;
}

void WeightLoader::load_recurrent(LayerWeights& L, const std::string& b, Mixer mixer) {
  const HParams& h = m_.hp_;
  RecurrentWeights& r = L.rec;
  // The file's conv1d [d_conv, channels] (ggml order) as the kernel's time-major rows.
  auto conv = [&](const std::string& name, int64_t ch, int64_t d_conv) {
    const float* w = floats(name, {d_conv, ch}, true);
    auto& out = m_.owned_.emplace_back(size_t(d_conv * ch));
    conv_weight_time_major(w, ch, int(d_conv), out.data());
    return out.data();
  };
  if (mixer == Mixer::ShortConv) {
    r.in = projection(b + "shortconv.in_proj", h.n_embd, 3 * h.n_embd, true);
    r.conv = conv(b + "shortconv.conv.weight", h.n_embd, h.shortconv_l_cache);
    r.out = projection(b + "shortconv.out_proj", h.n_embd, h.n_embd, true);
    return;
  }
  const int64_t di = h.ssm_d_inner, ds = h.ssm_d_state;
  if (mixer == Mixer::Mamba1) {
    r.in = projection(b + "ssm_in", h.n_embd, 2 * di, true);
    r.conv = conv(b + "ssm_conv1d.weight", di, h.ssm_d_conv);
    r.conv_b = vec(b + "ssm_conv1d.bias", di, true);
    r.x = projection(b + "ssm_x", di, h.ssm_dt_rank + 2 * ds, true);
    r.dt = projection(b + "ssm_dt", h.ssm_dt_rank, di, true);  // with its bias
    if (!r.dt.bias) fail("{}: missing tensor '{}ssm_dt.bias' (required by architecture {})", f_.path(), b, h.arch);
    // RMS norms of dt, B and C (jamba's; llama.cpp applies them when all three are present).
    r.dt_norm = vec(b + "ssm_dt_norm.weight", h.ssm_dt_rank, false);
    r.b_norm = vec(b + "ssm_b_norm.weight", ds, false);
    r.c_norm = vec(b + "ssm_c_norm.weight", ds, false);
    if (!r.dt_norm || !r.b_norm || !r.c_norm) r.dt_norm = r.b_norm = r.c_norm = nullptr;
    r.a = floats(b + "ssm_a", {ds, di}, true);
    r.d = vec(b + "ssm_d", di, true);
    r.out = projection(b + "ssm_out", di, h.n_embd, true);
    return;
  }
  if (mixer == Mixer::Mamba2) {
    const int64_t nh = h.ssm_dt_rank, ch = di + 2 * h.ssm_n_group * ds;
    r.in = projection(b + "ssm_in", h.n_embd, di + ch + nh, true);
    r.conv = conv(b + "ssm_conv1d.weight", ch, h.ssm_d_conv);
    r.conv_b = vec(b + "ssm_conv1d.bias", ch, true);
    r.dt_b = vec(b + "ssm_dt.bias", nh, true);
    r.a = floats(b + "ssm_a", {1, nh}, true);
    r.d = floats(b + "ssm_d", {1, nh}, true);
    r.norm = floats(b + "ssm_norm.weight", {di / h.ssm_n_group, h.ssm_n_group}, !m_.arch_->ssm_norm_optional);
    r.out = projection(b + "ssm_out", di, h.n_embd, true);
    return;
  }
  if (mixer == Mixer::Plamo2) {
    // Rows reordered at load (views, no copies): ssm_in holds per head [z | x] (head_dim each),
    // read as every head's x then every head's z (Mamba-1's x | z); ssm_x holds B | C | dt, read
    // as dt | B | C (Mamba-1's order). Their weight scales are unused (ArchSpec::unused_tensors).
    const int64_t nh = h.ssm_dt_rank, hd = di / nh, rank = h.ssm_dt_dim;
    const GgufTensorInfo& in = require(b + "ssm_in.weight", {h.n_embd, 2 * di});
    r.in.n_in = h.n_embd;
    r.in.n_out = 2 * di;
    for (int64_t part : {1, 0})
      for (int64_t i = 0; i < nh; ++i) r.in.segments.push_back(segment(in, i * 2 * hd + part * hd, hd));
    r.conv = conv(b + "ssm_conv1d.weight", di, h.ssm_d_conv);
    const GgufTensorInfo& x = require(b + "ssm_x.weight", {di, rank + 2 * ds});
    r.x.n_in = di;
    r.x.n_out = rank + 2 * ds;
    r.x.segments = {segment(x, 2 * ds, rank), segment(x, 0, 2 * ds)};
    r.dt = projection(b + "ssm_dt", rank, nh, true);  // with its bias
    if (!r.dt.bias) fail("{}: missing tensor '{}ssm_dt.bias' (required by architecture {})", f_.path(), b, h.arch);
    r.dt_norm = vec(b + "ssm_dt_norm", rank, true);
    r.b_norm = vec(b + "ssm_b_norm", ds, true);
    r.c_norm = vec(b + "ssm_c_norm", ds, true);
    r.a = vec(b + "ssm_a", nh, true);
    r.d = vec(b + "ssm_d", nh, true);
    r.out = projection(b + "ssm_out", di, h.n_embd, true);
    return;
  }
  if (mixer == Mixer::DeltaNet) return load_delta_net(L, b);
  if (mixer == Mixer::Kda) return load_kda(L, b);
  fail("{}: layer {}: the {} mixer is not supported yet", f_.path(), b, h.arch);
}

void WeightLoader::load_mla(LayerWeights& L, const std::string& b) {
  const HParams& h = m_.hp_;
  const int64_t kv_a = h.n_lora_kv + h.n_rot, nope = h.head_dim_k_mla - h.n_rot, dv = h.head_dim_v_mla;
  const int64_t n_q = h.n_head * h.head_dim_k_mla;
  // llama.cpp's latent-attention graphs multiply by the bare Q / KV projections (their scales
  // are loaded and change nothing); the attention output's scale applies.
  scales_ignored_ = true;
  if (h.n_lora_q > 0) {
    L.qkv = group("", {{b + "attn_q_a", h.n_lora_q}, {b + "attn_kv_a_mqa", kv_a}}, h.n_embd, "Q_a/KV_a");
    L.q_a_norm = vec(b + "attn_q_a_norm.weight", h.n_lora_q, true);
    L.q_b = projection(b + "attn_q_b", h.n_lora_q, n_q, true);
  } else {
    L.qkv = group("", {{b + "attn_q", n_q}, {b + "attn_kv_a_mqa", kv_a}}, h.n_embd, "Q/KV_a");
  }
  L.kv_a_norm = vec(b + "attn_kv_a_norm.weight", h.n_lora_kv, true);
  if (h.mla_absorbed) {
    // [nope, n_lora_kv, n_head] and [n_lora_kv, dv, n_head]: head i is rows [i * height, ...).
    const GgufTensorInfo& kb = require(b + "attn_k_b.weight", {nope, h.n_lora_kv, h.n_head});
    const GgufTensorInfo& vb = require(b + "attn_v_b.weight", {h.n_lora_kv, dv, h.n_head});
    for (int64_t i = 0; i < h.n_head; ++i) {
      Projection k, v;
      k.n_in = nope, k.n_out = h.n_lora_kv, k.segments = {segment(kb, i * h.n_lora_kv, h.n_lora_kv)};
      v.n_in = h.n_lora_kv, v.n_out = dv, v.segments = {segment(vb, i * dv, dv)};
      L.k_b.push_back(std::move(k));
      L.v_b.push_back(std::move(v));
    }
  } else {
    L.kv_b = projection(b + "attn_kv_b", h.n_lora_kv, h.n_head * (nope + dv), true);
  }
  scales_ignored_ = false;
  L.wo = projection(b + "attn_output", h.n_head * dv, h.n_embd, true);
}

void WeightLoader::load_moe(LayerWeights& L, const std::string& b) {
  const HParams& h = m_.hp_;
  const int64_t ne = h.n_expert, nf = h.n_ff_expert, dm = h.n_embd_moe;
  scales_ignored_ = true;  // no graph scales the router or the latent projections
  L.router = projection(b + "ffn_gate_inp", h.n_embd, ne, true);
  L.expert_bias = vec(b + "exp_probs_b.bias", ne, false);
  if (m_.arch_->moe_latent) {
    L.latent_down = projection(b + "ffn_latent_down", h.n_embd, dm, dm != h.n_embd);
    L.latent_up = projection(b + "ffn_latent_up", dm, h.n_embd, dm != h.n_embd);
  }
  scales_ignored_ = !m_.arch_->expert_scales;
  if (m_.arch_->ffn == FfnKind::Plain) return load_plain_experts(L, b);
  const GgufTensorInfo* gu = find(b + "ffn_gate_up_exps.weight");
  const GgufTensorInfo* gate = gu ? nullptr : &require(b + "ffn_gate_exps.weight", {h.n_embd, nf, ne});
  const GgufTensorInfo* up = gu ? nullptr : &require(b + "ffn_up_exps.weight", {h.n_embd, nf, ne});
  if (gu) check_shape(*gu, {h.n_embd, 2 * nf, ne});
  const GgufTensorInfo& down = require(b + "ffn_down_exps.weight", {nf, h.n_embd, ne});
  // gpt-oss: expert e's biases are column e of [width, n_expert] tensors (the fused gate/up
  // bias, gate then up per expert, as `fuse` concatenates them).
  const float *gate_b = nullptr, *up_b = nullptr, *down_b = nullptr;
  if (m_.arch_->expert_biases) {
    if (gu) {
      gate_b = floats(b + "ffn_gate_up_exps.bias", {2 * nf, ne}, true);
      up_b = gate_b + nf;
    } else {
      gate_b = floats(b + "ffn_gate_exps.bias", {nf, ne}, true);
      up_b = floats(b + "ffn_up_exps.bias", {nf, ne}, true);
    }
    down_b = floats(b + "ffn_down_exps.bias", {h.n_embd, ne}, true);
  }
  const int64_t gu_stride = gu ? 2 * nf : nf;  // between experts' gate (or up) biases
  for (int64_t e = 0; e < ne; ++e) {
    ProjectionGroup g;
    g.part_col = {0, nf};
    g.part_names = {fmt::format("{}ffn_gate_exps[{}]", b, e), fmt::format("{}ffn_up_exps[{}]", b, e)};
    g.fused.n_in = h.n_embd;
    g.fused.n_out = 2 * nf;
    g.from_fused_tensor = gu != nullptr;
    // Expert e of a 3-D tensor is rows [e * height, (e + 1) * height) of its 2-D view.
    RowSegment gs = gu ? segment(*gu, e * 2 * nf, nf) : segment(*gate, e * nf, nf);
    RowSegment us = gu ? segment(*gu, e * 2 * nf + nf, nf) : segment(*up, e * nf, nf);
    if (gu) {
      gs.scale = fused_scale(b + "ffn_gate_up_exps", ne, 2, e, 0);
      us.scale = fused_scale(b + "ffn_gate_up_exps", ne, 2, e, 1);
      if (gs.scale == us.scale) {
        g.fused.segments.push_back(segment(*gu, e * 2 * nf, 2 * nf));
        g.fused.segments.back().scale = gs.scale;
      } else {
        g.fused.segments = {gs, us};
      }
    } else {
      gs.scale = weight_scale(b + "ffn_gate_exps", ne, e);
      us.scale = weight_scale(b + "ffn_up_exps", ne, e);
      g.fused.segments = {gs, us};
    }
    for (const RowSegment& s : {gs, us}) {
      Projection p;
      p.n_in = h.n_embd;
      p.n_out = nf;
      p.segments = {s};
      g.parts.push_back(std::move(p));
    }
    if (gate_b) {
      g.parts[0].bias = gate_b + e * gu_stride;
      g.parts[1].bias = up_b + e * gu_stride;
      if (gu) {
        g.fused.bias = g.parts[0].bias;
      } else {
        auto& cat = m_.owned_.emplace_back(g.parts[0].bias, g.parts[0].bias + nf);
        cat.insert(cat.end(), g.parts[1].bias, g.parts[1].bias + nf);
        g.fused.bias = cat.data();
      }
    }
    L.expert_gate_up.push_back(std::move(g));
    Projection d;
    d.n_in = nf;
    d.n_out = h.n_embd;
    d.segments = {segment(down, e * h.n_embd, h.n_embd)};
    d.segments.back().scale = weight_scale(b + "ffn_down_exps", ne, e);
    if (down_b) d.bias = down_b + e * h.n_embd;
    L.expert_down.push_back(std::move(d));
  }
  scales_ignored_ = !m_.arch_->shexp_scales;  // most graphs pass the shared experts none
  load_shared_experts(L, b);
  scales_ignored_ = true;
}

// Ungated experts (a Plain row's: up, activation, down), n_embd_moe wide; expert e is rows
// [e * height, (e + 1) * height) of each 3-D tensor's 2-D view.
void WeightLoader::load_plain_experts(LayerWeights& L, const std::string& b) {
  const HParams& h = m_.hp_;
  const int64_t ne = h.n_expert, nf = h.n_ff_expert, dm = h.n_embd_moe;
  const GgufTensorInfo& up = require(b + "ffn_up_exps.weight", {dm, nf, ne});
  const GgufTensorInfo& down = require(b + "ffn_down_exps.weight", {nf, dm, ne});
  for (int64_t e = 0; e < ne; ++e) {
    Projection p;
    p.n_in = dm;
    p.n_out = nf;
    p.segments = {segment(up, e * nf, nf)};
    p.segments.back().scale = weight_scale(b + "ffn_up_exps", ne, e);
    ProjectionGroup g;
    g.part_col = {0};
    g.part_names = {fmt::format("{}ffn_up_exps[{}]", b, e)};
    g.fused = p;
    g.parts = {std::move(p)};
    g.fusable = false;
    g.why_not = "plain experts have no gate";
    L.expert_gate_up.push_back(std::move(g));
    Projection d;
    d.n_in = nf;
    d.n_out = dm;
    d.segments = {segment(down, e * dm, dm)};
    d.segments.back().scale = weight_scale(b + "ffn_down_exps", ne, e);
    L.expert_down.push_back(std::move(d));
  }
  scales_ignored_ = !m_.arch_->shexp_scales;
  load_shared_experts(L, b);
  scales_ignored_ = true;
}

void WeightLoader::load_shared_experts(LayerWeights& L, const std::string& b) {
  const GgufTensorInfo* up = find(b + "ffn_up_shexp.weight");
  if (!up) return;
  HParams& h = m_.hp_;
  const int64_t nf = up->ne[1];
  if (h.n_ff_shared != 0 && h.n_ff_shared != nf)
    fail("{}: tensor '{}': expected {} rows as in earlier layers, found {}", f_.path(), up->name, h.n_ff_shared, nf);
  h.n_ff_shared = nf;
  if (m_.arch_->ffn == FfnKind::Plain) {  // ungated, as the row's dense FFN
    L.shared_gate_up = group("", {{b + "ffn_up_shexp", nf}}, h.n_embd, "shared up");
    L.shared_gate_up.fusable = false;
    L.shared_gate_up.why_not = "plain feed-forward has no gate";
  } else {
    L.shared_gate_up = group("", {{b + "ffn_gate_shexp", nf}, {b + "ffn_up_shexp", nf}}, h.n_embd, "shared gate/up");
  }
  L.shared_down = projection(b + "ffn_down_shexp", nf, h.n_embd, true);
  bias_before_scale(L.shared_gate_up, L.shared_down);
  // qwen2moe: the shared experts' output is weighed by sigmoid(x . ffn_gate_inp_shexp).
  scales_ignored_ = true;  // no graph scales the shared experts' gate
  if (m_.arch_->shared_expert_gate) L.shared_gate = projection(b + "ffn_gate_inp_shexp", h.n_embd, 1, true);
}

}  // namespace trident
