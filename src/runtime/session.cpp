// The forward pass: one generic transformer block driven by the architecture row.
#include "runtime/session.h"
#include "runtime/recurrent_layers.h"
#include "runtime/session_buffers.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "format/checked.h"
#include "format/error.h"
#include "format/memory_budget.h"
#include "kernels/ops.h"
#include "kernels/recurrent.h"
#include "tensor/types.h"

namespace trident {

Session::Session(const Model& model, const SessionOptions& opt) : model_(model), opt_(opt) {
  const HParams& h = model.hp();
  if (opt_.n_threads < 0) fail("invalid thread count {} (expected >= 1)", opt_.n_threads);
  if (opt_.n_threads == 0) opt_.n_threads = available_cores();
  if (opt_.n_ctx < 0) fail("invalid context size {} (expected >= 1)", opt_.n_ctx);
  if (opt_.n_ctx == 0) opt_.n_ctx = std::min<int64_t>(h.n_ctx_train > 0 ? h.n_ctx_train : 4096, 4096);
  if (opt_.n_ubatch <= 0) fail("invalid micro-batch size {} (expected >= 1)", opt_.n_ubatch);
  opt_.n_ubatch = std::min(opt_.n_ubatch, opt_.n_ctx);
  fusion_ = FusionPlan(opt_.fuse_qkv, opt_.fuse_gate_up, opt_.verbose);
  cc_.kernels = &kernel_table();
  cc_.scratch = &scratch_;
  pool_ = std::make_unique<ThreadPool>(opt_.n_threads);
  cc_.pool = pool_.get();
  cc_.observer = opt_.observer;
  seqs_ = std::make_unique<SeqPool>(opt_.n_seq_max, h.n_layer, opt_.n_ctx, h.kv_row_elems(), h.kv_v_elems(),
                                    opt_.k_type, opt_.v_type, recurrent_shapes(h));

  buf_ = std::make_unique<Buffers>();
  Buffers& b = *buf_;
  const int64_t n = b.n_ub = opt_.n_ubatch;
  int64_t n_ff = std::max({h.n_ff, h.n_ff_expert, h.n_ff_shared});
  for (const LayerWeights& L : model.layers()) n_ff = std::max(n_ff, L.down.n_in);  // arctic's: n_embd
  // The widest layer sizes the buffers (shapes differ per layer in some families).
  int64_t n_qkv = mla_group_width(model), n_q = 0, n_rot = h.n_rot;
  for (const LayerSizes& s : h.layer_sizes) {
    n_ff = std::max(n_ff, s.n_ff);
    n_qkv = std::max(n_qkv, (model.arch().gated_q ? 2 : 1) * s.n_q() + 2 * s.n_kv());
    n_q = std::max(n_q, s.n_q());
    n_rot = std::max<int64_t>(n_rot, s.n_rot);
  }
  b.tok.resize(size_t(n));
  b.pos.resize(size_t(n));
  b.seq.resize(size_t(n));
  b.tiles.reserve(size_t(n));
  b.x.resize(size_t(n * h.n_embd));
  b.cur.resize(b.x.size());
  b.out.resize(b.x.size());
  if (std::any_of(model.layers().begin(), model.layers().end(), [](const LayerWeights& L) {
        return L.parallel != Parallel::None || (L.sizes.recurrent() && L.sizes.n_head > 0);
      }))
    b.par.resize(b.x.size());
  if (std::any_of(model.layers().begin(), model.layers().end(), [](const LayerWeights& L) { return L.moe_norm; }))
    b.block_in.resize(b.x.size());
  b.qkv.resize(size_t(n * n_qkv));
  if (h.mla()) {
    b.mla_q.resize(size_t(n * h.n_head * h.head_dim_k_mla));
    b.mla_qa.resize(size_t(n * h.n_q()));
    b.mla_kv.resize(size_t(n * h.n_head * (h.head_dim_k_mla - h.n_rot + h.head_dim_v_mla)));
    b.mla_k.resize(size_t(n * h.n_kv()));
    b.mla_v.resize(size_t(n * std::max(h.n_kv(), h.n_head * h.head_dim_v_mla)));
  }
  b.attn.resize(size_t(n * n_q));
  if (h.delta.n_v_heads > 0) {
    const DeltaNetSizes& dn = h.delta;
    b.dn_in.resize(size_t(n * dn.in_width()));
    b.dn_conv.resize(size_t(n * dn.conv_dim()));
    b.dn_gates.resize(size_t(n * dn.gates_width()));
    b.dn_out.resize(size_t(n * dn.value_dim()));
  }
  // A round of experts (moe.cpp) holds every row routed in a few-token batch, so a decoded
  // token's experts run together; a longer batch's rounds hold n rows, as many as one expert
  // may receive.
  b.moe_batch_rows = h.n_expert > 0 ? std::max(n, std::min(n * h.n_expert_used, kMoeRoundRows)) : 0;
  const int64_t ffn_rows = std::max(n, b.moe_batch_rows);
  b.gu.resize(size_t(ffn_rows * 2 * n_ff));
  b.act.resize(size_t(ffn_rows * n_ff));
  b.rope.resize(size_t(n * n_rot));
  if (model.per_layer_token_embd()) {
    b.pl_in.resize(size_t(n * h.n_layer * h.n_embd_per_layer));
    b.pl_act.resize(size_t(n * h.n_embd_per_layer));
  }
  if (h.recurrent()) {
    const RecurrentBufferSizes r = recurrent_buffer_sizes(h);
    b.rec_in.resize(size_t(n * r.in));
    b.rec_conv.resize(size_t(n * r.conv));
    b.rec_y.resize(size_t(n * r.y));
    b.rec_dt.resize(size_t(n * r.dt));
  }
  if (h.n_expert > 0) {
    b.router.resize(size_t(n * h.n_expert));
    b.chosen.resize(size_t(n * h.n_expert_used));
    b.chosen_w.resize(b.chosen.size());
    const int64_t dm = std::max(h.n_embd, h.n_embd_moe);
    b.moe_x.resize(size_t(b.moe_batch_rows * dm));
    b.moe_y.resize(size_t(n * h.n_expert_used * dm));
    if (std::any_of(model.layers().begin(), model.layers().end(),
                    [](const LayerWeights& L) { return !L.latent_down.segments.empty(); }))
      b.moe_lat.resize(size_t(n * h.n_embd_moe));
    b.moe_rows.resize(size_t(b.moe_batch_rows));
    b.moe_count.resize(size_t(h.n_expert));
    b.moe_order.resize(size_t(h.n_expert));
    b.moe_sel.resize(size_t(h.n_expert));
    b.moe_group_score.resize(size_t(std::max<int64_t>(h.n_expert_groups, 0)));
    b.moe_group_order.resize(b.moe_group_score.size());
  }
}

Session::~Session() = default;

void Session::eval(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits) {
  const HParams& h = model_.hp();
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= h.n_vocab)
      fail("token id {} at index {} is outside the vocabulary (0..{})", tokens[i], i, h.n_vocab - 1);
  if (n_past() + int64_t(tokens.size()) > opt_.n_ctx)
    fail("{} tokens after {} already evaluated do not fit the context of {} (use -c)",
         tokens.size(), n_past(), opt_.n_ctx);
  if (tokens.empty()) {
    logits.clear();
    return;
  }
  seqs_->ensure(0);
  const int64_t n = int64_t(tokens.size()), p0 = n_past();
  std::vector<int64_t> pos(static_cast<size_t>(n));
  std::vector<int32_t> seq(static_cast<size_t>(n), 0);
  std::vector<uint8_t> want(static_cast<size_t>(n), all_logits ? 1 : 0);
  for (int64_t i = 0; i < n; ++i) pos[size_t(i)] = p0 + i;
  want.back() = 1;
  decode({tokens, pos, seq, want}, logits);
}

// Checks every row before anything runs; returns the number of rows that want logits.
int64_t Session::check_batch(const BatchView& b) const {
  const HParams& h = model_.hp();
  const size_t n = b.token.size();
  if (b.pos.size() != n || b.seq.size() != n || b.logits.size() != n)
    fail("batch: token, pos, seq and logits have different lengths ({}, {}, {}, {})", n, b.pos.size(),
         b.seq.size(), b.logits.size());
  std::vector<int64_t> next(size_t(seqs_->n_seq_max()), -1);  // next position per sequence
  int64_t wanted = 0;
  for (size_t i = 0; i < n; ++i) {
    const int32_t s = b.seq[i];
    if (b.token[i] < 0 || b.token[i] >= h.n_vocab)
      fail("batch row {}: token id {} is outside the vocabulary (0..{})", i, b.token[i], h.n_vocab - 1);
    if (!seqs_->exists(s)) fail("batch row {}: sequence {} does not exist", i, s);
    int64_t& want = next[size_t(s)];
    if (want < 0) want = seqs_->length(s);
    if (b.pos[i] != want)
      fail("batch row {}: sequence {} continues at position {}, found {} (a sequence's rows must follow its "
           "cache in order)", i, s, want, b.pos[i]);
    if (want >= opt_.n_ctx) fail("batch row {}: sequence {} is full (context of {} tokens)", i, s, opt_.n_ctx);
    ++want;
    wanted += b.logits[i] ? 1 : 0;
  }
  return wanted;
}

void Session::decode_rows(const BatchView& batch, std::vector<float>& logits, bool hidden) {
  const int64_t nv = hidden ? model_.hp().n_embd : model_.hp().n_vocab;  // a wanted row's width
  hidden_out_ = hidden;
  const int64_t wanted = check_batch(batch);
  check_memory(checked_mul(uint64_t(wanted), uint64_t(nv) * 4, "logits"), fmt::format("the logits of {} rows", wanted));
  logits.resize(size_t(wanted * nv));
  Buffers& b = *buf_;
  const int64_t n_total = int64_t(batch.token.size());
  float* dst = logits.data();
  for (int64_t i0 = 0; i0 < n_total; i0 += opt_.n_ubatch) {
    const int64_t n = std::min(opt_.n_ubatch, n_total - i0);
    std::copy_n(batch.token.data() + i0, n, b.tok.data());
    std::copy_n(batch.pos.data() + i0, n, b.pos.data());
    std::copy_n(batch.seq.data() + i0, n, b.seq.data());
    forward_ubatch(n, batch.logits.data() + i0, dst);
    for (int64_t i = 0; i < n; ++i) {
      seqs_->append(b.seq[size_t(i)], b.tok[size_t(i)]);
      if (batch.logits[size_t(i0 + i)]) dst += nv;
    }
  }
}

void Session::forward_ubatch(int64_t n, const uint8_t* want, float* logits) {
  Buffers& b = *buf_;
  // Attention tiles: runs of rows of one sequence at consecutive positions, cut into tiles of
  // up to `tile` rows (attention_block's task size).
  // Chunked attention (llama4): a tile never spans two chunks, so its rows share their first key.
  const int64_t group = std::max<int64_t>(1, model_.hp().n_head / std::max<int64_t>(1, model_.hp().n_head_kv));
  const int64_t tile = std::max<int64_t>(1, 64 / group), chunk = model_.hp().attn_chunk;
  b.tiles.clear();
  for (int64_t i = 0; i < n;) {
    int64_t j = i + 1;
    while (j < n && b.seq[size_t(j)] == b.seq[size_t(i)] && b.pos[size_t(j)] == b.pos[size_t(j - 1)] + 1 &&
           (chunk == 0 || b.pos[size_t(j)] % chunk != 0))
      ++j;
    for (int64_t t0 = i; t0 < j; t0 += tile)
      b.tiles.push_back({t0, std::min(tile, j - t0), b.pos[size_t(t0)], b.seq[size_t(i)], b.pos[size_t(j - 1)]});
    i = j;
  }
  embed(b.tok.data(), b.pos.data(), n);
  if (model_.per_layer_token_embd()) per_layer_inputs(n);
  for (int64_t l = 0; l < model_.hp().n_layer; ++l) layer(l, n);
  if (std::any_of(want, want + n, [](uint8_t w) { return w != 0; })) output_logits(want, n, logits);
}

void Session::embed(const int32_t* tokens, const int64_t* pos, int64_t n) {
  const HParams& h = model_.hp();
  const GgufTensorInfo& te = model_.token_embd();
  const uint8_t* base = model_.file().tensor_data(te);
  const size_t rb = row_bytes(te.type, h.n_embd);
  const DequantizeRowFn dq = type_traits(te.type)->dequantize_row;
  const float scale = model_.arch().embd_scale ? std::sqrt(float(h.n_embd)) : 1.0f;
  for (int64_t t = 0; t < n; ++t) {
    float* x = buf_->x.data() + t * h.n_embd;
    dq(base + size_t(tokens[t]) * rb, x, h.n_embd);
    if (scale != 1.0f)
      for (int64_t i = 0; i < h.n_embd; ++i) x[i] *= scale;
    if (h.embd_scale != 0.0f)
      for (int64_t i = 0; i < h.n_embd; ++i) x[i] *= h.embd_scale;
    if (const GgufTensorInfo* pe = model_.pos_embd()) {
      // Learned absolute positions: a row per position up to the trained context.
      if (pos[t] >= pe->ne[1])
        fail("position {} is beyond the {} learned positions of the model (use -c {})", pos[t], pe->ne[1], pe->ne[1]);
      thread_local std::vector<float> row;
      row.resize(size_t(h.n_embd));
      type_traits(pe->type)->dequantize_row(model_.file().tensor_data(*pe) + size_t(pos[t]) * row_bytes(pe->type, h.n_embd),
                                            row.data(), h.n_embd);
      add_inplace(x, row.data(), h.n_embd);
    }
    if (model_.embd_norm()) layer_norm(x, model_.embd_norm(), model_.embd_norm_b(), x, h.n_embd, h.norm_eps);
  }
}

// The generic block. Every architecture runs exactly this; the row says which pieces apply.
void Session::layer(int64_t l, int64_t n) {
  const ArchSpec& a = model_.arch();
  const LayerWeights& L = model_.layers()[size_t(l)];
  const int64_t d = model_.hp().n_embd;
  Buffers& b = *buf_;
  if (L.skip) return;
  if (L.moe && a.router_on_layer_input)
    run_projection(L.router, b.x.data(), d, n, b.router.data(), model_.hp().n_expert, cc_);

  if (L.moe_norm) std::copy_n(b.x.data(), size_t(n * d), b.block_in.data());
  // attention (or recurrent mixer) sub-layer; none in nemotron_h's FFN layers
  if (L.has_mixer) {
    if (a.pre_norm)
      norm_rows(L.attn_norm, L.attn_norm_b, b.x.data(), b.cur.data(), n);
    else
      std::copy_n(b.x.data(), size_t(n * d), b.cur.data());
    mixer_block(L, l, n);
    if (L.parallel != Parallel::None) {
      // x + attn(n1(x)) + ffn(n(x)): the FFN reads the same x (and, SharedNorm, the same cur).
      std::copy_n(b.out.data(), size_t(n * d), b.par.data());
      if (L.parallel == Parallel::OwnNorm) norm_rows(L.ffn_norm, L.ffn_norm_b, b.x.data(), b.cur.data(), n);
      ffn(L, n);
      add_inplace(b.out.data(), b.par.data(), n * d);
      add_residual(b.out.data(), n * d);
      return;
    }
    if (a.post_norm) norm_rows(L.post_attn_norm, nullptr, b.out.data(), b.out.data(), n);
    add_residual(b.out.data(), n * d);
  }
  if (!L.has_ffn) return;  // mamba: the mixer is the whole block

  // feed-forward sub-layer
  if (a.pre_norm)
    norm_rows(L.ffn_norm, L.ffn_norm_b, b.x.data(), b.cur.data(), n);
  else
    std::copy_n(b.x.data(), size_t(n * d), b.cur.data());
  ffn(L, n);
  if (a.post_norm) norm_rows(L.post_ffn_norm, nullptr, b.out.data(), b.out.data(), n);
  add_residual(b.out.data(), n * d);

  // arctic: the experts on the block's input through their own norm, added last.
  if (L.moe_norm) {
    norm_rows(L.moe_norm, nullptr, b.block_in.data(), b.cur.data(), n);
    moe_block(L, n);
    add_residual(b.out.data(), n * d);
  }
  if (L.pl_post_norm) per_layer_block(L, l, n);
  if (L.out_scale)
    for (int64_t i = 0; i < n * d; ++i) b.x[size_t(i)] *= *L.out_scale;
}

void Session::ffn(const LayerWeights& L, int64_t n) {
  if (!L.moe || model_.arch().moe_dense == MoeDense::Residual) return ffn_block(L, n);
  moe_block(L, n);
  if (L.down.segments.empty()) return;
  // grok: the dense FFN beside the experts on their input; (dense + experts) * sqrt(2) / 2
  // (llama.cpp's ggml_scale takes the double sqrt(2) / 2 as a float).
  Buffers& b = *buf_;
  const int64_t m = n * model_.hp().n_embd;
  std::copy_n(b.out.data(), size_t(m), b.moe_x.data());  // moe_x is free after moe_block
  ffn_block(L, n);
  const float s = float(std::sqrt(2.0) / 2);
  for (int64_t i = 0; i < m; ++i) b.out[size_t(i)] = (b.out[size_t(i)] + b.moe_x[size_t(i)]) * s;
}

// The layer's token mixer, b.cur -> b.out: attention, a recurrent mixer, or (falcon-h1) both
// side by side, summed.
void Session::mixer_block(const LayerWeights& L, int64_t l, int64_t n) {
  if (!L.sizes.recurrent()) return attention_block(L, l, n);
  if (L.sizes.n_head == 0) return recurrent_block(L, l, n);
  Buffers& b = *buf_;
  const int64_t m = n * model_.hp().n_embd;
  attention_block(L, l, n);
  std::copy_n(b.out.data(), size_t(m), b.par.data());
  recurrent_block(L, l, n);
  add_inplace(b.out.data(), b.par.data(), m);
}

// x += out, with µP's residual multiplier on the sub-layer's output first.
void Session::add_residual(float* out, int64_t n) {
  const float s = model_.hp().residual_scale;
  if (s != 0.0f)
    for (int64_t i = 0; i < n; ++i) out[i] *= s;
  add_inplace(buf_->x.data(), out, n);
}

void Session::norm_rows(const float* w, const float* bias, const float* x, float* y, int64_t n) {
  const int64_t d = model_.hp().n_embd;
  cc_.pool->parallel_for(n, [&](int64_t t) { norm_vec(w, bias, x + t * d, y + t * d, d); },
                         n * d >= kMinParallelElements);
}

// One vector through the family's norm (LayerNorm or RMS; phimoe's RMS norms add a bias).
void Session::norm_vec(const float* w, const float* bias, const float* x, float* y, int64_t n) const {
  const float eps = model_.hp().norm_eps;
  if (model_.arch().norm == NormKind::Layer) return layer_norm(x, w, bias, y, n, eps);
  rms_norm(x, w, y, n, eps);
  if (bias) add_inplace(y, bias, n);
}

// The Q or K norm of one token's heads, as the row's QkNormKind and norm kind say.
void Session::qk_norm(float* x, const float* w, const float* bias, int64_t heads, int64_t hd) const {
  const QkNormKind kind = model_.arch().qk_norm;
  if (kind == QkNormKind::Full) return norm_vec(w, bias, x, x, heads * hd);
  for (int64_t i = 0; i < heads; ++i)
    norm_vec(kind == QkNormKind::PerHeadEach ? w + i * hd : w, nullptr, x + i * hd, x + i * hd, hd);
}

void Session::attention_block(const LayerWeights& L, int64_t l, int64_t n) {
  const HParams& h = model_.hp();
  if (h.mla()) return mla_attention(L, l, n);
  const ArchSpec& a = model_.arch();
  Buffers& b = *buf_;
  if (attention_free(L, n)) return;
  const LayerSizes& s = L.sizes;
  const bool own_kv = h.layer_has_kv(l);  // else it attends to layer kv_source's cache
  const int64_t n_head = s.n_head, n_head_kv = s.n_head_kv;
  const int hd = int(s.head_dim), n_rot = s.n_rot;
  // gated_q: each row is [q | gate | k | v] once the per-head halves are split apart.
  const int64_t n_q = s.n_q(), n_kv = s.n_kv(), n_qg = a.gated_q ? 2 * n_q : n_q, w = n_qg + 2 * n_kv;
  run_group(L.qkv, fusion_.fuse_qkv(L.qkv, n, cc_), b.cur.data(), h.n_embd, n, b.qkv.data(), w, cc_);

  // YaRN's ramp (h.rope_ext_factor != 0) spans the pair dims its correction gives at this
  // layer's base and rotary count, as ggml_rope_ext computes them per call.
  float yarn_corr[2] = {0.0f, 0.0f};
  if (h.rope_ext_factor != 0.0f)
    rope_yarn_corr_dims(n_rot, h.n_ctx_orig, L.rope_base, h.yarn_beta_fast, h.yarn_beta_slow, yarn_corr);

  // Per token: clamp_kqv, QK-norm (after the split, before RoPE), RoPE, then K/V into the cache.
  cc_.pool->parallel_for(n, [&](int64_t t) {
    float* q = b.qkv.data() + t * w;
    float* k = q + n_qg;
    if (a.gated_q) {
      thread_local std::vector<float> qg;
      qg.assign(q, q + n_qg);
      split_query_gate(qg.data(), n_head, hd, q, q + n_q);
    }
    float* v = k + n_kv;
    if (L.v_from_k) std::copy_n(k, n_kv, v);  // K's projection before K's norm and RoPE
    if (h.clamp_kqv > 0.0f)
      for (int64_t i = 0; i < w; ++i) q[i] = std::clamp(q[i], -h.clamp_kqv, h.clamp_kqv);
    if (L.q_norm && !a.qk_norm_after_rope) {
      qk_norm(q, L.q_norm, L.q_norm_b, n_head, hd);
      if (own_kv) qk_norm(k, L.k_norm, L.k_norm_b, n_head_kv, hd);
    }
    if (a.v_norm && own_kv)
      for (int64_t i = 0; i < n_head_kv; ++i) rms_norm(v + i * hd, nullptr, v + i * hd, hd, h.norm_eps);
    float* cs = b.rope.data() + t * n_rot;
    const float* factors = L.rope_factors ? model_.rope_factors(opt_.n_ctx) : nullptr;
    if (h.rope_ext_factor != 0.0f)
      rope_angles_yarn(b.pos[size_t(t)], n_rot, L.rope_base, L.rope_freq_scale, factors, h.rope_attn_factor,
                       h.rope_ext_factor, yarn_corr, cs);
    else
      rope_angles(b.pos[size_t(t)], n_rot, L.rope_base, L.rope_freq_scale, factors, h.rope_attn_factor, cs);
    // M-RoPE's extra section sits at position 0 for text: cos 0 and sin 0, times attn_factor.
    for (size_t i = 0; i < h.rope_unrotated.size(); ++i)
      if (h.rope_unrotated[i]) cs[2 * i] = h.rope_attn_factor, cs[2 * i + 1] = 0.0f;
    if (L.rope) {
      rope_apply(q, int(n_head), hd, n_rot, h.rope_layout, cs);
      if (own_kv) rope_apply(k, int(n_head_kv), hd, n_rot, h.rope_layout, cs);
    }
    if (L.attn_temp) {
      const float ts = attn_temperature(h, b.pos[size_t(t)]);
      for (int64_t i = 0; i < n_q; ++i) q[i] *= ts;
    }
    if (L.qk_l2)
      for (int64_t i = 0; i < n_head + n_head_kv; ++i) rms_norm(q + i * hd, nullptr, q + i * hd, hd, h.norm_eps);
    if (L.q_norm && a.qk_norm_after_rope) {
      qk_norm(q, L.q_norm, L.q_norm_b, n_head, hd);
      if (own_kv) qk_norm(k, L.k_norm, L.k_norm_b, n_head_kv, hd);
    }
    if (own_kv) seqs_->cache(b.seq[size_t(t)]).store(l, b.pos[size_t(t)], k, v, n_kv);
  }, n * w >= kMinParallelElements);

  attend(L, l, b.qkv.data(), w);
  if (a.gated_q)
    for (int64_t t = 0; t < n; ++t) sigmoid_gate_mul(b.attn.data() + t * n_q, b.qkv.data() + t * w + n_q, n_q);
  run_projection(L.wo, b.attn.data(), n_q, n, b.out.data(), h.n_embd, cc_);
}

// Attention of the micro-batch's queries (q: [n, q_stride], each token's n_head heads of
// head_dim first) over the cache of layer l (or of the layer whose cache it shares), into
// b.attn [n, n_q].
void Session::attend(const LayerWeights& L, int64_t l, const float* q, int64_t q_stride) {
  const HParams& h = model_.hp();
  Buffers& b = *buf_;
  const int hd = int(L.sizes.head_dim);
  const int64_t n_head = L.sizes.n_head, n_head_kv = L.sizes.n_head_kv, n_q = n_head * hd;
  const int64_t kv_layer = L.sizes.kv_source;  // gemma4: a shared layer reads an earlier layer's cache
  const float scale = h.attn_scale > 0 ? h.attn_scale : 1.0f / std::sqrt(float(hd));
  const int64_t group = n_head / n_head_kv;
  // Tasks: (tile of one sequence's tokens, KV head, slice of the query heads sharing it); a
  // task loads each K/V row once for all its rows. A (token, head) output has the same bits in any task
  // (kernels/attention.h), so the split only balances threads. Slices split a group only
  // when there would be fewer than two tasks per thread (decoding with few KV heads).
  const int64_t n_tiles = int64_t(b.tiles.size());  // forward_ubatch cut them, 64 / group rows
  int64_t slices = 1;
  while (group % (2 * slices) == 0 && n_tiles * n_head_kv * slices < 2 * cc_.pool->size()) slices *= 2;
  const int64_t heads = group / slices, per_tile = n_head_kv * slices;
  const AttentionFn kernel = cc_.kernels->attention;
  // Score work (query rows x keys x head size) below which one thread is faster.
  int64_t score_work = 0;
  for (const Buffers::Tile& tl : b.tiles) score_work += tl.n * (tl.pos0 + tl.n) * n_q;
  const bool worth_threads = score_work >= (int64_t(1) << 16);
  cc_.pool->parallel_for(n_tiles * per_tile, [&](int64_t i) {
    const Buffers::Tile& tl = b.tiles[size_t(n_tiles - 1 - i / per_tile)];  // last tiles first: most keys
    const int64_t t0 = tl.row0;
    const int64_t hh = i % per_tile * heads;  // first query head of the task
    AttentionTask task;
    task.q = q + t0 * q_stride + hh * hd;
    task.q_stride = q_stride;
    task.out = b.attn.data() + t0 * n_q + hh * hd;
    task.out_stride = n_q;
    task.n_tokens = tl.n;
    task.n_heads = int(heads);
    task.head_dim = hd;
    task.pos0 = tl.pos0;
    task.window = L.swa ? h.swa_window : 0;
    task.first_key = L.swa && h.attn_chunk > 0 ? tl.pos0 / h.attn_chunk * h.attn_chunk : 0;
    task.scale = scale;
    task.softcap = h.attn_softcap;
    task.last_key = h.causal ? -1 : tl.last;
    task.alibi = h.alibi_slopes.empty() ? nullptr : h.alibi_slopes.data() + hh;
    task.sinks = L.attn_sinks ? L.attn_sinks + hh : nullptr;
    kernel(task, seqs_->cache(tl.seq).head(kv_layer, hh / group, hd));
  }, worth_threads);
}

// Layers without attention heads (deci): none at all (the sub-layer adds zeros), or with no KV
// heads a linear attn_output on the normed input. False for every other layer.
bool Session::attention_free(const LayerWeights& L, int64_t n) {
  Buffers& b = *buf_;
  const int64_t d = model_.hp().n_embd;
  if (L.sizes.n_head == 0) std::fill_n(b.out.data(), size_t(n * d), 0.0f);
  else if (L.sizes.n_head_kv == 0) run_projection(L.wo, b.cur.data(), d, n, b.out.data(), d, cc_);
  return L.sizes.n_head == 0 || L.sizes.n_head_kv == 0;
}

// llama4's attention temperature at a position (its no-RoPE layers' queries are scaled by it).
float Session::attn_temperature(const HParams& h, int64_t pos) {
  return float(std::log(std::floor((float(pos) + h.attn_temp_offset) / float(h.attn_temp_floor)) + 1.0) *
                   h.attn_temp_scale +
               1.0);
}

void Session::ffn_block(const LayerWeights& L, int64_t n) {
  const HParams& h = model_.hp();
  const ArchSpec& a = model_.arch();
  Buffers& b = *buf_;
  const int64_t nf = L.down.n_in;
  if (a.ffn == FfnKind::Plain) {
    run_group(L.gate_up, false, b.cur.data(), h.n_embd, n, b.act.data(), nf, cc_);
    plain_act(b.act.data(), n * nf);
    if (L.act_scales)  // mpt: the activation divided by per-channel scales
      for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < nf; ++i) b.act[size_t(t * nf + i)] /= L.act_scales[i];
  } else {
    const int64_t w = 2 * nf;
    run_group(L.gate_up, fusion_.fuse_gate_up(L.gate_up, n, cc_), b.cur.data(), h.n_embd, n, b.gu.data(), w, cc_);
    // Elementwise, so any split gives the same bits; chunks keep both threads busy when decoding.
    constexpr int64_t kChunk = 1024;
    const int64_t per_token = (nf + kChunk - 1) / kChunk, tasks = n * per_token;
    cc_.pool->parallel_for(tasks, [&](int64_t i) {
      const int64_t t = i / per_token, c0 = i % per_token * kChunk, len = std::min(kChunk, nf - c0);
      float* gate = b.gu.data() + t * w + c0;
      gated_act(gate, gate + nf, b.act.data() + t * nf + c0, len);
    }, n * nf >= kMinParallelElements);
  }
  run_projection(L.down, b.act.data(), nf, n, b.out.data(), h.n_embd, cc_);
}

void Session::plain_act(float* x, int64_t n) const {
  const Activation act = model_.arch().act;
  if (act == Activation::GeluTanh)
    cc_.kernels->gelu(x, n);
  else if (act == Activation::ReluSqr)
    relu_sqr_inplace(x, n);
  else
    cc_.kernels->silu(x, n);
}

void Session::gated_act(const float* gate, const float* up, float* out, int64_t n) const {
  if (model_.arch().act == Activation::GeluTanh)
    cc_.kernels->gelu_glu(gate, up, out, n);
  else if (model_.arch().act == Activation::Relu)
    relu_glu(gate, up, out, n);
  else if (model_.arch().act == Activation::SwigluOai)
    swiglu_oai(gate, up, out, n, 1.702f, 7.0f);  // alpha and limit fixed in llama.cpp's graph
  else
    cc_.kernels->silu_glu(gate, up, out, n);
}

// Logits of the rows with want[t] set, in row order: [rows wanted, n_vocab].
void Session::output_logits(const uint8_t* want, int64_t n, float* logits) {
  const HParams& h = model_.hp();
  Buffers& b = *buf_;
  // Gather the wanted rows of the residual stream (out is free here), then norm and project.
  int64_t n_rows = 0;
  for (int64_t t = 0; t < n; ++t)
    if (want[t]) std::copy_n(b.x.data() + t * h.n_embd, h.n_embd, b.out.data() + n_rows++ * h.n_embd);
  norm_rows(model_.output_norm(), model_.output_norm_b(), b.out.data(), b.cur.data(), n_rows);
  if (hidden_out_) {
    std::copy_n(b.cur.data(), n_rows * h.n_embd, logits);
    return;
  }
  run_projection(model_.output(), b.cur.data(), h.n_embd, n_rows, logits, h.n_vocab, cc_);
  // The multiplier before the cap, as grok's graph (command-r, the other reader, has no cap).
  if (h.logit_mult != 0.0f)
    for (int64_t i = 0; i < n_rows * h.n_vocab; ++i) logits[i] *= h.logit_mult;
  if (h.final_softcap != 0.0f) {
    const float inv = 1.0f / h.final_softcap;  // as llama.cpp: scale by 1 / cap, tanh, scale by cap
    // libm's tanh per logit (ggml's bits) costs ~4 ms per token over Gemma 2's 256k vocabulary:
    // split it across the threads, the smallest parallel share per index (elementwise, so the
    // same bits).
    constexpr int64_t kChunk = kMinParallelElements;
    const int64_t total = n_rows * h.n_vocab;
    cc_.pool->parallel_for((total + kChunk - 1) / kChunk, [&](int64_t c) {
      for (int64_t i = c * kChunk; i < std::min(total, (c + 1) * kChunk); ++i)
        logits[i] = h.final_softcap * std::tanh(logits[i] * inv);
    });
  }
  if (h.logit_scale != 0.0f) {
    const float s = 1.0f / h.logit_scale;  // µP divides the logits (as ggml_scale by 1/f)
    for (int64_t i = 0; i < n_rows * h.n_vocab; ++i) logits[i] *= s;
  }
}

}  // namespace trident
