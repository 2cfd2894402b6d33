// Kimi delta attention (model/delta_net.h KdaWeights), as llama.cpp's kimi-linear graph builds
// its KDA layers: the input projections (q, k, v, f_a, g_a, beta), the causal convolutions of
// q, k and v carrying the sequence's last inputs, SiLU, an L2 norm of each q and k head; the
// decay gate per key channel g = softplus(f_b(f_a) + dt_bias) * A[head] and beta = sigmoid;
// the delta rule with that decay (kernels/recurrent.h kda) on the sequence's state; each head's
// output RMS-normed, times sigmoid(g_b(g_a)); the output projection.
#include "kernels/ops.h"
#include "kernels/recurrent.h"
#include "runtime/session.h"
#include "runtime/session_buffers.h"

namespace trident {

void Session::kda_block(const LayerWeights& L, int64_t l, int64_t n) {
  const HParams& h = model_.hp();
  const DeltaNetSizes& s = h.delta;
  const KdaWeights& K = L.kda;
  Buffers& b = *buf_;
  const int64_t d = h.n_embd, wi = s.in_width(), cd = s.conv_dim(), vd = s.value_dim();
  const int64_t hd = s.head_k_dim, nh = s.n_v_heads, gw = s.gates_width();
  const float eps = h.norm_eps;
  // dn_in rows: q | k | v | f_a | g_a | beta; dn_gates rows: g [vd] | output gate [vd] | beta [nh].
  run_group(K.in, fusion_.fuse_qkv(K.in, n, cc_), b.cur.data(), d, n, b.dn_in.data(), wi, cc_);
  run_projection(K.f_b, b.dn_in.data() + cd, wi, n, b.dn_gates.data(), gw, cc_);
  run_projection(K.g_b, b.dn_in.data() + cd + hd, wi, n, b.dn_gates.data() + vd, gw, cc_);

  const ShortConv cv{cd, s.d_conv, K.conv_w.data(), nullptr};
  conv_tiles(cv, l, b.dn_in.data(), wi, b.dn_conv.data());
  // Per token: SiLU, the L2 norms of the q and k heads, the gates.
  cc_.pool->parallel_for(n, [&](int64_t t) {
    float* c = b.dn_conv.data() + t * cd;
    cc_.kernels->silu(c, cd);
    for (int64_t i = 0; i < 2 * nh; ++i) l2_norm(c + i * hd, c + i * hd, hd, eps);
    float* g = b.dn_gates.data() + t * gw;
    for (int64_t i = 0; i < vd; ++i) g[i] = softplus(g[i] + K.dt_bias[i]) * K.a[i / hd];
    const float* beta_in = b.dn_in.data() + t * wi + cd + 2 * hd;
    for (int64_t i = 0; i < nh; ++i) g[2 * vd + i] = sigmoid(beta_in[i]);
  }, n * cd >= kMinParallelElements);

  const DeltaNet op{nh, nh, hd, hd, KHeadMap::Tiled};
  for (const Buffers::Tile& tl : b.tiles) kda(op, delta_tile_rows(b, tl, s, seqs_->state(tl.seq).ssm(l)), cc_.pool);
  // norm(out) * sigmoid(output gate) per head, then the output projection.
  cc_.pool->parallel_for(n, [&](int64_t t) {
    float* y = b.dn_out.data() + t * vd;
    group_rms_norm(y, K.norm, true, y, vd, hd, eps);
    sigmoid_gate_mul(y, b.dn_gates.data() + t * gw + vd, vd);
  }, n * vd >= kMinParallelElements);
  run_projection(K.out, b.dn_out.data(), vd, n, b.out.data(), d, cc_);
}

}  // namespace trident
