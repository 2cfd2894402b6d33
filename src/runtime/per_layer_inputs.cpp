// Per-layer inputs (gemma4; ArchSpec::per_layer_inputs): besides the residual stream, every
// token carries one small row per layer, built once from the token and its embedding, which
// each layer gates into its output. As llama.cpp's gemma4 graph (project_per_layer_inputs and
// the block's "per-layer embedding" step), operation for operation, so the bits agree.
#include <cmath>

#include "kernels/ops.h"
#include "runtime/projection_run.h"
#include "runtime/session.h"
#include "runtime/session_buffers.h"
#include "tensor/types.h"

namespace trident {

// pl_in[t][l] = (rms_norm(per_layer_model_proj x_t / sqrt(n_embd)) * per_layer_proj_norm
//                + per_layer_token_embd[tok_t][l] * sqrt(n_pl)) / sqrt(2)
// x: the scaled embeddings [n, n_embd]; pl_in: [n, n_layer, n_pl].
void Session::per_layer_inputs(int64_t n) {
  const HParams& h = model_.hp();
  Buffers& b = *buf_;
  const int64_t n_pl = h.n_embd_per_layer, width = n_pl * h.n_layer;
  run_projection(model_.per_layer_model_proj(), b.x.data(), h.n_embd, n, b.pl_in.data(), width, cc_);
  const GgufTensorInfo& te = *model_.per_layer_token_embd();
  const uint8_t* base = model_.file().tensor_data(te);
  const size_t rb = row_bytes(te.type, width);
  const DequantizeRowFn dq = type_traits(te.type)->dequantize_row;
  const float proj_scale = 1.0f / std::sqrt(float(h.n_embd));
  const float tok_scale = std::sqrt(float(n_pl));
  const float input_scale = 1.0f / std::sqrt(2.0f);
  const float* norm = model_.per_layer_proj_norm();
  cc_.pool->parallel_for(n, [&](int64_t t) {
    thread_local std::vector<float> tok;
    tok.resize(size_t(width));
    dq(base + size_t(b.tok[size_t(t)]) * rb, tok.data(), width);
    float* row = b.pl_in.data() + t * width;
    for (int64_t i = 0; i < width; ++i) row[i] *= proj_scale;
    for (int64_t l = 0; l < h.n_layer; ++l) rms_norm(row + l * n_pl, norm, row + l * n_pl, n_pl, h.norm_eps);
    for (int64_t i = 0; i < width; ++i) row[i] = (row[i] + tok[size_t(i)] * tok_scale) * input_scale;
  }, n * width >= kMinParallelElements);
}

// x += rms_norm(proj(gelu(inp_gate x) * pl_in[.][l])) * post_norm, the layer's last step
// before layer_output_scale.
void Session::per_layer_block(const LayerWeights& L, int64_t l, int64_t n) {
  const HParams& h = model_.hp();
  Buffers& b = *buf_;
  const int64_t n_pl = h.n_embd_per_layer, width = n_pl * h.n_layer;
  run_projection(L.pl_gate, b.x.data(), h.n_embd, n, b.pl_act.data(), n_pl, cc_);
  cc_.kernels->gelu(b.pl_act.data(), n * n_pl);
  for (int64_t t = 0; t < n; ++t) {
    float* g = b.pl_act.data() + t * n_pl;
    const float* in = b.pl_in.data() + t * width + l * n_pl;
    for (int64_t i = 0; i < n_pl; ++i) g[i] *= in[i];
  }
  run_projection(L.pl_proj, b.pl_act.data(), n_pl, n, b.out.data(), h.n_embd, cc_);
  norm_rows(L.pl_post_norm, nullptr, b.out.data(), b.out.data(), n);
  add_inplace(b.x.data(), b.out.data(), n * h.n_embd);
}

}  // namespace trident
