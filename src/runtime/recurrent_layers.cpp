// The recurrent mixers (LayerSizes::mixer != Attention): each replaces attention in the generic
// block (Session::layer), reading the normed rows b.cur and writing the sub-layer's output to
// b.out. Projections run over the whole micro-batch; the convolution and the scan run per
// attention tile (forward_ubatch: consecutive rows of one sequence, in position order), each
// carrying its sequence's RecurrentState, so a prompt in one batch and the same tokens one at a
// time give the same bits (kernels/recurrent.h).
#include "runtime/recurrent_layers.h"

#include <algorithm>

#include "format/error.h"
#include "kernels/ops.h"
#include "kernels/recurrent.h"
#include "runtime/session.h"
#include "runtime/session_buffers.h"

namespace trident {

std::vector<RecurrentLayerShape> recurrent_shapes(const HParams& h) {
  if (!h.recurrent()) return {};
  std::vector<RecurrentLayerShape> s(size_t(h.n_layer));
  for (int64_t l = 0; l < h.n_layer; ++l) {
    RecurrentLayerShape& r = s[size_t(l)];
    switch (h.layer_sizes[size_t(l)].mixer) {
      case Mixer::Attention: break;
      case Mixer::ShortConv: r = short_conv_layer_shape(h.n_embd, h.shortconv_l_cache); break;
      case Mixer::Mamba1: r = mamba1_layer_shape(h.ssm_d_inner, h.ssm_d_state, h.ssm_d_conv); break;
      case Mixer::Mamba2:
      case Mixer::Plamo2:  // 0 groups: the convolution covers x alone
        r = mamba2_layer_shape(h.ssm_d_inner, h.ssm_dt_rank, h.ssm_n_group, h.ssm_d_state, h.ssm_d_conv);
        break;
      case Mixer::DeltaNet:
        // Key heads: group_count of state_size; value heads: time_step_rank of inner_size / that.
        r = delta_net_layer_shape(h.ssm_n_group, h.ssm_dt_rank, h.ssm_d_state, h.ssm_d_inner / h.ssm_dt_rank,
                                  h.ssm_d_conv);
        break;
      case Mixer::Kda:  // q, k and v heads alike (model/delta_net.h)
        r = delta_net_layer_shape(h.delta.n_k_heads, h.delta.n_v_heads, h.delta.head_k_dim, h.delta.head_v_dim,
                                  h.delta.d_conv);
        break;
    }
  }
  return s;
}

// The widest rows the mixers of a model write (Session's buffers are sized by these).
RecurrentBufferSizes recurrent_buffer_sizes(const HParams& h) {
  RecurrentBufferSizes z;
  if (!h.recurrent()) return z;
  const int64_t di = h.ssm_d_inner, ds = h.ssm_d_state, ch = di + 2 * h.ssm_n_group * ds;
  for (const LayerSizes& s : h.layer_sizes) {
    switch (s.mixer) {
      case Mixer::Attention: break;
      case Mixer::ShortConv:
        z.in = std::max(z.in, 3 * h.n_embd);
        z.conv = std::max(z.conv, h.n_embd);
        z.y = std::max(z.y, h.n_embd);
        break;
      case Mixer::Mamba1:
        z.in = std::max(z.in, 2 * di);
        z.conv = std::max(z.conv, di);
        z.y = std::max(z.y, di);
        z.dt = std::max(z.dt, h.ssm_dt_rank + 2 * ds + di);  // x_db, then dt
        break;
      case Mixer::Plamo2:
        z.in = std::max(z.in, 2 * di);
        z.conv = std::max(z.conv, di);
        z.y = std::max(z.y, di);
        z.dt = std::max(z.dt, h.ssm_dt_dim + 2 * ds + h.ssm_dt_rank);  // dt | B | C, then dt per head
        break;
      case Mixer::Kda: break;  // the delta-net buffers (Session::Buffers dn_*)
      case Mixer::Mamba2:
      case Mixer::DeltaNet:
        z.in = std::max(z.in, di + ch + h.ssm_dt_rank);
        z.conv = std::max(z.conv, ch);
        z.y = std::max(z.y, di);
        z.dt = std::max(z.dt, h.ssm_dt_rank);
        break;
    }
  }
  return z;
}

void Session::recurrent_block(const LayerWeights& L, int64_t l, int64_t n) {
  switch (L.sizes.mixer) {
    case Mixer::ShortConv: return short_conv_block(L, l, n);
    case Mixer::Mamba1:
    case Mixer::Mamba2:
    case Mixer::Plamo2: return mamba_block(L, l, n);
    case Mixer::DeltaNet: return delta_net_block(L, l, n);  // runtime/delta_net_layer.cpp
    case Mixer::Kda: return kda_block(L, l, n);  // runtime/kda_layer.cpp
    case Mixer::Attention: break;
  }
  fail("layer {}: this recurrent mixer is not supported yet", l);
}

// The convolution over each tile's rows: x [n, x_stride] (channels from x), y [n, cv.n_ch].
void Session::conv_tiles(const ShortConv& cv, int64_t l, const float* x, int64_t x_stride, float* y) {
  for (const Buffers::Tile& tl : buf_->tiles) {
    ShortConvRows io;
    io.x = x + tl.row0 * x_stride;
    io.x_stride = x_stride;
    io.y = y + tl.row0 * cv.n_ch;
    io.y_stride = cv.n_ch;
    io.n_tokens = tl.n;
    io.state = seqs_->state(tl.seq).conv(l);
    short_conv(cv, io, cc_.pool);
  }
}

// LFM2's gated short convolution: b, c, x = in_proj(cur); y = out_proj(c * conv(b * x)).
void Session::short_conv_block(const LayerWeights& L, int64_t l, int64_t n) {
  Buffers& b = *buf_;
  const int64_t d = model_.hp().n_embd;
  const RecurrentWeights& r = L.rec;
  float* bcx = b.rec_in.data();  // [n, 3 d]: b | c | x
  run_projection(r.in, b.cur.data(), d, n, bcx, 3 * d, cc_);
  float* bx = b.rec_y.data();  // [n, d]
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < d; ++i) bx[t * d + i] = bcx[t * 3 * d + i] * bcx[t * 3 * d + 2 * d + i];
  const ShortConv cv{d, int(model_.hp().shortconv_l_cache), r.conv, nullptr};
  float* conv = b.rec_conv.data();  // [n, d]
  conv_tiles(cv, l, bx, d, conv);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < d; ++i) conv[t * d + i] *= bcx[t * 3 * d + d + i];
  run_projection(r.out, conv, d, n, b.out.data(), d, cc_);
}

// Mamba-1, Mamba-2 and PLaMo-2's (llama.cpp's build_mamba_layer, build_mamba2_layer,
// build_plamo2_mamba_layer; Plamo2 runs Mamba-1's steps with Mamba-2's heads): in_proj gives z and
// the convolution's input (Mamba-2 also dt); conv + bias, silu; the selective scan with its skip
// term; y * silu(z) (Mamba-2: then a grouped RMS norm, when the layer has one); out_proj.
void Session::mamba_block(const LayerWeights& L, int64_t l, int64_t n) {
  const HParams& h = model_.hp();
  Buffers& b = *buf_;
  const RecurrentWeights& r = L.rec;
  const bool m2 = L.sizes.mixer == Mixer::Mamba2, plamo = L.sizes.mixer == Mixer::Plamo2;
  const int64_t d = h.n_embd, di = h.ssm_d_inner, ds = h.ssm_d_state;
  // Mamba-1: a "head" per channel with A per state; Mamba-2 and Plamo2: heads with A per head.
  const int64_t ng = m2 ? h.ssm_n_group : 1, n_head = m2 || plamo ? h.ssm_dt_rank : di;
  const int64_t ch = m2 ? di + 2 * ng * ds : di;         // convolution channels: x (Mamba-2: x, B, C)
  const int64_t w_in = m2 ? di + ch + n_head : 2 * di;  // Mamba-1: x | z; Mamba-2: z | x B C | dt
  float* in = b.rec_in.data();
  run_projection(r.in, b.cur.data(), d, n, in, w_in, cc_);
  const float* z = m2 ? in : in + di;
  float* conv = b.rec_conv.data();  // [n, ch]
  conv_tiles(ShortConv{ch, int(h.ssm_d_conv), r.conv, r.conv_b}, l, m2 ? in + di : in, w_in, conv);
  cc_.kernels->silu(conv, n * ch);

  SsmScan op{n_head, di / n_head, ds, ng, !m2 && !plamo, r.a, r.d};
  const float *dt, *B, *C;
  int64_t dt_stride, bc_stride;
  if (m2) {
    float* dtb = b.rec_dt.data();  // [n, n_head]
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < n_head; ++i) dtb[t * n_head + i] = in[t * w_in + di + ch + i] + r.dt_b[i];
    dt = dtb, dt_stride = n_head;
    B = conv + di, C = conv + di + ng * ds, bc_stride = ch;
  } else {
    // x_db = ssm_x(x): dt_rank | B | C; then dt = ssm_dt(dt part) + bias [n_head], after them in rec_dt.
    const int64_t rank = plamo ? h.ssm_dt_dim : h.ssm_dt_rank, w_xdb = rank + 2 * ds;
    float* xdb = b.rec_dt.data();
    float* dtv = xdb + n * w_xdb;
    run_projection(r.x, conv, di, n, xdb, w_xdb, cc_);
    if (h.ssm_dt_b_c_rms || r.dt_norm)  // falcon-mamba: without weights; jamba, plamo2: with
      for (int64_t t = 0; t < n; ++t) {
        float* row = xdb + t * w_xdb;
        rms_norm(row, r.dt_norm, row, rank, h.norm_eps);
        rms_norm(row + rank, r.b_norm, row + rank, ds, h.norm_eps);
        rms_norm(row + rank + ds, r.c_norm, row + rank + ds, ds, h.norm_eps);
      }
    run_projection(r.dt, xdb, w_xdb, n, dtv, n_head, cc_);
    dt = dtv, dt_stride = n_head;
    B = xdb + rank, C = xdb + rank + ds, bc_stride = w_xdb;
  }
  float* y = b.rec_y.data();  // [n, di]
  for (const Buffers::Tile& tl : b.tiles) {
    SsmScanRows io;
    io.x = conv + tl.row0 * ch, io.x_stride = ch;
    io.dt = dt + tl.row0 * dt_stride, io.dt_stride = dt_stride;
    io.B = B + tl.row0 * bc_stride, io.b_stride = bc_stride;
    io.C = C + tl.row0 * bc_stride, io.c_stride = bc_stride;
    io.y = y + tl.row0 * di, io.y_stride = di;
    io.n_tokens = tl.n;
    io.state = seqs_->state(tl.seq).ssm(l);
    ssm_scan(op, io, cc_.pool);
  }
  for (int64_t t = 0; t < n; ++t) {
    float* yt = y + t * di;
    cc_.kernels->silu_glu(z + t * w_in, yt, yt, di);
    if (m2 && r.norm) group_rms_norm(yt, r.norm, false, yt, di, di / ng, h.norm_eps);
  }
  run_projection(r.out, y, di, n, b.out.data(), d, cc_);
}

}  // namespace trident
