// One sequence's recurrent state, beside its KV cache: per layer the short convolution's last
// inputs and the SSM / delta-rule state, in the layouts kernels/recurrent.h reads and updates.
// Attention layers have none. A new sequence starts from zeros (reset); a sequence that
// continues another's prefix copies its state (copy_from: a recurrent state holds the whole
// prefix, so unlike the KV cache it is copied at the prefix's end only); save/restore writes
// it to a byte stream with a versioned header that restore checks field by field.
//
// Stream layout (little-endian, as the machine writes it):
//   char[8]  "TRIDREC1"
//   u32      format version (1)
//   u32      n_layer
//   per layer: u64 conv_channels, conv_width, ssm_heads, ssm_rows, ssm_cols
//   per layer: the conv state floats, then the SSM state floats
// restore accepts exactly this model's shapes and exactly the size they give.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace trident {

class FdSink;

// The state sizes of one layer; all zero for a layer without state (attention).
struct RecurrentLayerShape {
  int64_t conv_channels = 0;  // channels of the short convolution
  int64_t conv_width = 0;     // its d_conv; the state keeps d_conv - 1 inputs (0 or 1: none)
  // SSM / delta-rule state [ssm_heads][ssm_rows][ssm_cols]: Mamba n_head x head_dim x d_state,
  // gated delta rule n_v_heads x head_v_dim x head_k_dim.
  int64_t ssm_heads = 0, ssm_rows = 0, ssm_cols = 0;
  bool operator==(const RecurrentLayerShape&) const = default;
};

// Shapes from a family's hyper-parameters (as llama.cpp sizes its r/s state tensors). Each
// throws Error naming `what` for a negative or overflowing size.
// Mamba-1: conv over d_inner channels; state d_inner x 1 x d_state.
RecurrentLayerShape mamba1_layer_shape(int64_t d_inner, int64_t d_state, int64_t d_conv);
// Mamba-2: conv over d_inner + 2 n_group d_state channels (x, B, C); state n_head x
// (d_inner / n_head) x d_state. d_inner must be a multiple of n_head.
RecurrentLayerShape mamba2_layer_shape(int64_t d_inner, int64_t n_head, int64_t n_group, int64_t d_state,
                                       int64_t d_conv);
// Gated delta rule (Qwen3-Next / Qwen3.5): conv over q, k and v (2 n_k_heads head_k_dim +
// n_v_heads head_v_dim channels); state n_v_heads x head_v_dim x head_k_dim.
RecurrentLayerShape delta_net_layer_shape(int64_t n_k_heads, int64_t n_v_heads, int64_t head_k_dim,
                                          int64_t head_v_dim, int64_t d_conv);
// A short convolution alone (LFM2): n_ch channels, no SSM state.
RecurrentLayerShape short_conv_layer_shape(int64_t n_ch, int64_t d_conv);

class RecurrentState {
 public:
  // Throws Error for a negative size, an overflow, or a total over the memory budget.
  explicit RecurrentState(std::vector<RecurrentLayerShape> layers);

  int64_t n_layer() const { return int64_t(layers_.size()); }
  const RecurrentLayerShape& shape(int64_t layer) const { return layers_[size_t(layer)].shape; }
  // [conv_width - 1][conv_channels], oldest input first; null when the layer has none.
  float* conv(int64_t layer) { return ptr(layers_[size_t(layer)].conv_at, layers_[size_t(layer)].conv_n); }
  const float* conv(int64_t layer) const { return cptr(layers_[size_t(layer)].conv_at, layers_[size_t(layer)].conv_n); }
  // [ssm_heads][ssm_rows][ssm_cols]; null when the layer has none.
  float* ssm(int64_t layer) { return ptr(layers_[size_t(layer)].ssm_at, layers_[size_t(layer)].ssm_n); }
  const float* ssm(int64_t layer) const { return cptr(layers_[size_t(layer)].ssm_at, layers_[size_t(layer)].ssm_n); }
  uint64_t bytes() const { return uint64_t(data_.size()) * sizeof(float); }

  void reset();  // every state to zeros: a new sequence
  // This state becomes src's (e.g. a sequence continuing another's prefix). Throws Error when
  // the layer shapes differ.
  void copy_from(const RecurrentState& src);

  uint64_t serialized_size() const;
  void save(FdSink& out) const;
  std::vector<uint8_t> save() const;
  // Replaces the state with a saved one. Throws Error naming `what` (a file name) for a bad
  // magic, another version, other shapes or a wrong size; the state is unchanged then.
  void restore(std::span<const uint8_t> bytes, std::string_view what);

 private:
  struct Layer {
    RecurrentLayerShape shape;
    size_t conv_at = 0, conv_n = 0, ssm_at = 0, ssm_n = 0;  // offsets and counts in data_
  };
  float* ptr(size_t at, size_t n) { return n ? data_.data() + at : nullptr; }
  const float* cptr(size_t at, size_t n) const { return n ? data_.data() + at : nullptr; }
  template <class Put>
  void write(Put&& put) const;

  std::vector<Layer> layers_;
  std::vector<float> data_;  // every layer's conv then SSM state, in layer order
};

}  // namespace trident
