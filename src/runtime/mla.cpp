// Multi-head latent attention (DeepSeek V2; model/arch.h Mla, model/hparams.h), as llama.cpp's
// deepseek2 and minicpm3 graphs compute it:
//   q     = q_b(rms(q_a(x))) (or q(x)), per head [nope | rope]
//   kv_a  = kv_a_mqa(x) = [latent (n_lora_kv) | k_pe (n_rot)]; latent = rms(latent); k_pe roped
//   (kimi-linear: no RoPE, the rope parts of q and k_pe as projected)
// Absorbed (the file has attn_k_b / attn_v_b): each head's query becomes
// [k_b_h^T q_nope_h | q_pe_h], attention runs over the cached [latent | k_pe] rows with the
// latent as values (one KV head), and v_b_h up-projects each head's output. Only the latent and
// k_pe are cached. Expanded (attn_kv_b): kv_b(latent) gives per-head k_nope and v; keys are
// [k_nope_h | k_pe] and attention is ordinary multi-head.
// Attention kernels take one head size for K and V; where they differ the shorter rows are
// zero-padded (expanded), or the V "rows" are the K rows and only the first n_lora_kv
// outputs are read (absorbed): each output element is its own sum (kernels/attention.h), so
// the padding changes no bits of the elements used.
#include <algorithm>
#include <cstring>

#include "kernels/ops.h"
#include "runtime/session.h"
#include "runtime/session_buffers.h"

namespace trident {

int64_t mla_group_width(const Model& m) {
  const HParams& h = m.hp();
  if (!h.mla()) return 0;
  return (h.n_lora_q > 0 ? h.n_lora_q : h.n_head * h.head_dim_k_mla) + h.n_lora_kv + h.n_rot;
}

void Session::mla_attention(const LayerWeights& L, int64_t l, int64_t n) {
  const HParams& h = model_.hp();
  Buffers& b = *buf_;
  const int64_t w = mla_group_width(model_), w_q = L.qkv.part_col[1];  // [q_a or q | latent | k_pe]
  const int64_t rank = h.n_lora_kv, n_rot = h.n_rot, dk = h.head_dim_k_mla, dv = h.head_dim_v_mla;
  const int64_t nope = dk - n_rot, nq = h.n_head * dk, hd = h.head_dim;
  run_group(L.qkv, fusion_.fuse_qkv(L.qkv, n, cc_), b.cur.data(), h.n_embd, n, b.qkv.data(), w, cc_);

  // Queries: through the low-rank pair when there is one.
  float* q = b.qkv.data();  // [n, q_stride], each head [nope | rope]
  int64_t q_stride = w;
  if (L.q_a_norm) {
    cc_.pool->parallel_for(n, [&](int64_t t) {
      float* qa = b.qkv.data() + t * w;
      rms_norm(qa, L.q_a_norm, qa, h.n_lora_q, h.norm_eps);
    }, n * h.n_lora_q >= kMinParallelElements);
    run_projection(L.q_b, b.qkv.data(), w, n, b.mla_q.data(), nq, cc_);
    q = b.mla_q.data(), q_stride = nq;
  }

  // Per token: RoPE on each head's rope part and on k_pe (not on kimi-linear's: its layers
  // have none, and those parts stay as projected), the latent's norm.
  const float* factors = model_.rope_factors(opt_.n_ctx);
  cc_.pool->parallel_for(n, [&](int64_t t) {
    float* latent = b.qkv.data() + t * w + w_q;
    float* cs = b.rope.data() + t * n_rot;
    if (!L.rope) {
      rms_norm(latent, L.kv_a_norm, latent, rank, h.norm_eps);
      return;
    }
    if (h.rope_ext_factor != 0.0f)
      rope_angles_yarn(b.pos[size_t(t)], int(n_rot), L.rope_base, h.rope_freq_scale, factors, h.rope_attn_factor,
                       h.rope_ext_factor, h.yarn_corr, cs);
    else
      rope_angles(b.pos[size_t(t)], int(n_rot), L.rope_base, h.rope_freq_scale, factors, h.rope_attn_factor, cs);
    rope_apply(q + t * q_stride + nope, int(h.n_head), int(dk), int(n_rot), h.rope_layout, cs);
    rope_apply(latent + rank, 1, int(n_rot), int(n_rot), h.rope_layout, cs);
    rms_norm(latent, L.kv_a_norm, latent, rank, h.norm_eps);
  }, n * w >= kMinParallelElements);

  if (h.mla_absorbed) {
    // Absorbed queries [n, n_head * (rank + n_rot)]: k_b_h^T q_nope_h, then q_pe_h.
    for (int64_t i = 0; i < h.n_head; ++i)
      run_projection(L.k_b[size_t(i)], q + i * dk, q_stride, n, b.mla_qa.data() + i * hd, h.n_q(), cc_);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t i = 0; i < h.n_head; ++i)
        std::copy_n(q + t * q_stride + i * dk + nope, n_rot, b.mla_qa.data() + t * h.n_q() + i * hd + rank);
      // The cached row is [latent | k_pe], already contiguous; V views it.
      seqs_->cache(b.seq[size_t(t)]).store(l, b.pos[size_t(t)], b.qkv.data() + t * w + w_q, nullptr, h.n_kv());
    }
    attend(L, l, b.mla_qa.data(), h.n_q());
    // Each head's first `rank` outputs are its latent mix; v_b_h takes it to [dv].
    for (int64_t i = 0; i < h.n_head; ++i)
      run_projection(L.v_b[size_t(i)], b.attn.data() + i * hd, h.n_q(), n, b.mla_v.data() + i * dv, h.n_head * dv, cc_);
    run_projection(L.wo, b.mla_v.data(), h.n_head * dv, n, b.out.data(), h.n_embd, cc_);
    return;
  }

  // Expanded: per-head keys [k_nope | k_pe] and values from kv_b, padded to head_dim.
  const int64_t wkv = h.n_head * (nope + dv);
  run_projection(L.kv_b, b.qkv.data() + w_q, w, n, b.mla_kv.data(), wkv, cc_);
  cc_.pool->parallel_for(n, [&](int64_t t) {
    const float* kv = b.mla_kv.data() + t * wkv;
    const float* k_pe = b.qkv.data() + t * w + w_q + rank;
    float* k = b.mla_k.data() + t * h.n_kv();
    float* v = b.mla_v.data() + t * h.n_kv();
    float* qp = b.mla_qa.data() + t * h.n_q();
    std::fill(k, k + h.n_kv(), 0.0f);
    std::fill(v, v + h.n_kv(), 0.0f);
    std::fill(qp, qp + h.n_q(), 0.0f);
    for (int64_t i = 0; i < h.n_head; ++i) {
      std::copy_n(kv + i * (nope + dv), nope, k + i * hd);
      std::copy_n(k_pe, n_rot, k + i * hd + nope);
      std::copy_n(kv + i * (nope + dv) + nope, dv, v + i * hd);
      std::copy_n(q + t * q_stride + i * dk, dk, qp + i * hd);
    }
    seqs_->cache(b.seq[size_t(t)]).store(l, b.pos[size_t(t)], k, v, h.n_kv());
  }, n * h.n_kv() >= kMinParallelElements);
  attend(L, l, b.mla_qa.data(), h.n_q());
  const float* o = b.attn.data();
  if (hd != dv) {  // drop the padding: [n, n_head * dv]
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < h.n_head; ++i)
        std::copy_n(b.attn.data() + t * h.n_q() + i * hd, dv, b.mla_v.data() + t * h.n_head * dv + i * dv);
    o = b.mla_v.data();
  }
  run_projection(L.wo, o, h.n_head * dv, n, b.out.data(), h.n_embd, cc_);
}

}  // namespace trident
