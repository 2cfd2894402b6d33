// Private to runtime/: the work buffers of a Session, shared by session.cpp and moe.cpp.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/recurrent.h"
#include "runtime/session.h"

namespace trident {

// Row operations over fewer elements than this run on one thread: waking another costs more.
constexpr int64_t kMinParallelElements = 16384;
// Routed rows one round of experts may hold beyond the batch's own n (moe.cpp): 8 tokens of
// 8 experts, i.e. every decode-sized batch of the MoE families at hand.
constexpr int64_t kMoeRoundRows = 64;

// Width of latent attention's input projections (q_a or q, then kv_a), 0 for other families.
int64_t mla_group_width(const Model& m);

// Work buffers for one micro-batch, rows of n_ub tokens. Allocated once per session.
struct Session::Buffers {
  int64_t n_ub = 0;
  // The rows of the micro-batch: token, position and sequence
  std::vector<int32_t> tok;   // [n_ub]
  std::vector<int64_t> pos;   // [n_ub]
  std::vector<int32_t> seq;   // [n_ub]
  // Attention tiles: runs of consecutive rows of one sequence (consecutive positions), split
  // into tiles; a tile's rows share each K/V row load.
  struct Tile {
    int64_t row0 = 0, n = 0, pos0 = 0;
    int32_t seq = 0;
    int64_t last = 0;  // the last position of the tile's run (what non-causal attention sees)
  };
  std::vector<Tile> tiles;
  std::vector<float> x;       // [n_ub, n_embd] residual stream
  std::vector<float> cur;     // [n_ub, n_embd] normed input of a sub-layer
  std::vector<float> qkv;     // [n_ub, n_q + 2 n_kv]
  std::vector<float> attn;    // [n_ub, n_q]
  std::vector<float> out;     // [n_ub, n_embd] sub-layer output
  std::vector<float> par;     // [n_ub, n_embd] attention output of a parallel block
  std::vector<float> block_in;  // [n_ub, n_embd] the block's input (arctic's experts read it)
  std::vector<float> gu;      // [max(n_ub, moe_batch_rows), 2 n_ff] gate | up
  std::vector<float> act;     // [max(n_ub, moe_batch_rows), n_ff]
  std::vector<float> rope;    // [n_ub, n_rot] cos/sin per token
  // Latent attention (runtime/mla.cpp)
  std::vector<float> mla_q;   // [n_ub, n_head * head_dim_k_mla] queries after attn_q_b
  std::vector<float> mla_qa;  // [n_ub, n_q] the queries attention reads (absorbed, or padded)
  std::vector<float> mla_kv;  // [n_ub, n_head * (nope + head_dim_v_mla)] attn_kv_b's output
  std::vector<float> mla_k;   // [n_ub, n_kv] expanded K rows (padded)
  std::vector<float> mla_v;   // [n_ub, n_kv] expanded V rows; absorbed: [n_ub, n_head * head_dim_v_mla]
  std::vector<float> pl_in;   // [n_ub, n_layer, n_embd_per_layer] per-layer inputs (empty: none)
  std::vector<float> pl_act;  // [n_ub, n_embd_per_layer] one layer's gated per-layer input
  // Gated delta-net layers (runtime/delta_net_layer.cpp)
  std::vector<float> dn_in;     // [n_ub, in_width] qkv | z | beta | alpha projections (kda: qkv | f_a | g_a | beta)
  std::vector<float> dn_conv;   // [n_ub, conv_dim] q | k | v after the convolution
  std::vector<float> dn_gates;  // [n_ub, gates_width] g | beta (kda: g | output gate | beta)
  std::vector<float> dn_out;    // [n_ub, value_dim] the delta rule's output, then gated-normed
  // Recurrent mixers (runtime/recurrent_layers.cpp; widths: recurrent_buffer_sizes)
  std::vector<float> rec_in;    // [n_ub, in] the input projection's output
  std::vector<float> rec_conv;  // [n_ub, conv] the convolution's output
  std::vector<float> rec_y;     // [n_ub, y] the mixer's output before out_proj
  std::vector<float> rec_dt;    // [n_ub, dt] time steps
  // MoE routing
  std::vector<float> router;  // [n_ub, n_expert]
  std::vector<int32_t> chosen;     // [n_ub, n_expert_used]
  std::vector<float> chosen_w;     // [n_ub, n_expert_used]
  std::vector<float> moe_x;        // [moe_batch_rows, max(n_embd, n_embd_moe)] gathered expert inputs
  std::vector<float> moe_y;        // [n_ub * n_expert_used, n_embd_moe] expert outputs
  std::vector<float> moe_lat;      // [n_ub, n_embd_moe] latent input, then weighted sum (latent rows)
  std::vector<int32_t> moe_rows;   // [moe_batch_rows] (token, rank) slot of each gathered row
  std::vector<int32_t> moe_count;  // [n_expert] rows routed to each expert
  int64_t moe_batch_rows = 0;      // rows of moe_x, gu and act one round of experts may use
  std::vector<int32_t> moe_order;  // [n_expert] experts sorted by router probability
  std::vector<float> moe_sel;      // [n_expert] selection scores of one token
  std::vector<float> moe_group_score;     // [n_expert_groups] (grouped experts)
  std::vector<int32_t> moe_group_order;   // [n_expert_groups]
};

// The delta rule's rows (kernels/recurrent.h) of one tile for the gated delta net and Kimi delta
// attention alike: q | k | v from dn_conv, g and beta from dn_gates (beta last in both layouts),
// the output into dn_out; `state` is the tile's sequence's. (A template: Session::Buffers and
// its Tile are private to Session, whose members call this.)
template <class Buffers, class Tile>
DeltaNetRows delta_tile_rows(Buffers& b, const Tile& tl, const DeltaNetSizes& s, float* state) {
  const int64_t cd = s.conv_dim(), gw = s.gates_width(), vd = s.value_dim();
  DeltaNetRows io;
  io.q = b.dn_conv.data() + tl.row0 * cd;
  io.k = io.q + s.key_dim();
  io.v = io.q + 2 * s.key_dim();
  io.q_stride = io.k_stride = io.v_stride = cd;
  io.g = b.dn_gates.data() + tl.row0 * gw;
  io.beta = io.g + gw - s.n_v_heads;
  io.gate_stride = io.g_stride = gw;
  io.out = b.dn_out.data() + tl.row0 * vd;
  io.out_stride = vd;
  io.n_tokens = tl.n;
  io.state = state;
  return io;
}

}  // namespace trident
