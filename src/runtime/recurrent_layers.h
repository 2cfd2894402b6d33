// Private to runtime/: the per-layer shapes of a model's recurrent state (SeqPool keeps one
// RecurrentState of these per sequence; runtime/recurrent_layers.cpp runs the mixers over it).
#pragma once
#include <vector>

#include "model/hparams.h"
#include "runtime/recurrent_state.h"

namespace trident {

// One shape per layer, as llama.cpp sizes its r / s state rows (llama_hparams::n_embd_r,
// n_embd_s); all zero for attention layers. Empty when the model has no recurrent layer.
std::vector<RecurrentLayerShape> recurrent_shapes(const HParams& h);

// Per-token widths of the mixers' work buffers (Session::Buffers rec_*), the widest layer's.
struct RecurrentBufferSizes {
  int64_t in = 0;    // the input projection's output
  int64_t conv = 0;  // the convolution's output
  int64_t y = 0;     // the mixer's output before out_proj
  int64_t dt = 0;    // time steps (Mamba-1: x_db, then dt)
};
RecurrentBufferSizes recurrent_buffer_sizes(const HParams& h);

}  // namespace trident
