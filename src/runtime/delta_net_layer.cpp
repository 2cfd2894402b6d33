// The gated delta-net layer of qwen3next / qwen35 / qwen35moe (model/delta_net.h), as llama.cpp's
// build_layer_attn_linear: the input projections (qkv, z, beta, alpha), the causal convolution
// over q|k|v carrying the sequence's last inputs, SiLU, an L2 norm of each q and k head, the
// gates, the gated delta rule on the sequence's state, the gated RMS norm of each value head
// by silu(z), and the output projection. The operations are kernels/recurrent.h.
#include <cmath>

#include "kernels/ops.h"
#include "kernels/recurrent.h"
#include "runtime/session.h"
#include "runtime/session_buffers.h"

namespace trident {

void Session::delta_net_block(const LayerWeights& L, int64_t l, int64_t n) {
  const HParams& h = model_.hp();
  const DeltaNetSizes& s = h.delta;
  const DeltaNetWeights& D = L.delta;
  Buffers& b = *buf_;
  const int64_t d = h.n_embd, wi = s.in_width(), cd = s.conv_dim(), vd = s.value_dim();
  const int64_t nv = s.n_v_heads, nk = s.n_k_heads;
  const float eps = h.norm_eps;
  run_group(D.in, fusion_.fuse_qkv(D.in, n, cc_), b.cur.data(), d, n, b.dn_in.data(), wi, cc_);

  // The convolution over each tile (consecutive positions of one sequence) with its state.
  const ShortConv cv{cd, s.d_conv, D.conv_w.data(), nullptr};
  conv_tiles(cv, l, b.dn_in.data(), wi, b.dn_conv.data());
  // Per token: SiLU, the L2 norms of the q and k heads, the gates.
  cc_.pool->parallel_for(n, [&](int64_t t) {
    float* c = b.dn_conv.data() + t * cd;
    cc_.kernels->silu(c, cd);
    for (int64_t i = 0; i < 2 * nk; ++i) l2_norm(c + i * s.head_k_dim, c + i * s.head_k_dim, s.head_k_dim, eps);
    const float* beta = b.dn_in.data() + t * wi + cd + vd;
    float* g = b.dn_gates.data() + t * 2 * nv;
    delta_net_gates(beta + nv, beta, D.dt_bias, D.a, nv, g, g + nv);
  }, n * cd >= kMinParallelElements);

  const DeltaNet op{nv, nk, s.head_k_dim, s.head_v_dim,
                    model_.arch().delta_net == DeltaNetKind::PerKeyHead ? KHeadMap::Interleaved : KHeadMap::Tiled};
  for (const Buffers::Tile& tl : b.tiles) delta_net(op, delta_tile_rows(b, tl, s, seqs_->state(tl.seq).ssm(l)), cc_.pool);
  // norm(out) * silu(z) per value head, then the output projection.
  cc_.pool->parallel_for(n, [&](int64_t t) {
    float* y = b.dn_out.data() + t * vd;
    gated_rms_norm(y, D.norm, true, b.dn_in.data() + t * wi + cd, y, vd, s.head_v_dim, eps);
  }, n * vd >= kMinParallelElements);
  run_projection(D.out, b.dn_out.data(), vd, n, b.out.data(), d, cc_);
}

}  // namespace trident
