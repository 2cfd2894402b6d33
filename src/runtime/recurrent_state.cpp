#include "runtime/recurrent_state.h"

#include <algorithm>
#include <cstring>

#include "format/checked.h"
#include "format/error.h"
#include "format/fd_sink.h"
#include "format/memory_budget.h"

namespace trident {
namespace {

constexpr char kStateMagic[8] = {'T', 'R', 'I', 'D', 'R', 'E', 'C', '1'};
constexpr uint32_t kStateVersion = 1;

struct StreamHeader {
  char magic[8];
  uint32_t version, n_layer;
};
static_assert(sizeof(StreamHeader) == 16);

struct StreamShape {
  uint64_t conv_channels, conv_width, ssm_heads, ssm_rows, ssm_cols;
};
static_assert(sizeof(StreamShape) == 40);

uint64_t nonneg(int64_t v, std::string_view what) {
  if (v < 0) fail("{}: negative size {}", what, v);
  return uint64_t(v);
}

StreamShape stream_shape(const RecurrentLayerShape& s) {
  return {uint64_t(s.conv_channels), uint64_t(s.conv_width), uint64_t(s.ssm_heads), uint64_t(s.ssm_rows),
          uint64_t(s.ssm_cols)};
}

std::string describe(const StreamShape& s) {
  return fmt::format("conv {} x {}, state {} x {} x {}", s.conv_width, s.conv_channels, s.ssm_heads, s.ssm_rows,
                     s.ssm_cols);
}

}  // namespace

RecurrentLayerShape mamba1_layer_shape(int64_t d_inner, int64_t d_state, int64_t d_conv) {
  return {d_inner, d_conv, d_inner, 1, d_state};
}

RecurrentLayerShape mamba2_layer_shape(int64_t d_inner, int64_t n_head, int64_t n_group, int64_t d_state,
                                       int64_t d_conv) {
  if (n_head <= 0 || d_inner < 0 || d_inner % n_head != 0)
    fail("Mamba-2 layer: d_inner {} is not a multiple of the head count {}", d_inner, n_head);
  const uint64_t bc = checked_mul(2 * nonneg(n_group, "Mamba-2 groups"), nonneg(d_state, "Mamba-2 d_state"),
                                  "Mamba-2 conv channels");
  const uint64_t ch = checked_add(uint64_t(d_inner), bc, "Mamba-2 conv channels");
  if (ch > uint64_t(INT64_MAX)) fail("Mamba-2 conv channels: size overflow ({})", ch);
  return {int64_t(ch), d_conv, n_head, d_inner / n_head, d_state};
}

RecurrentLayerShape delta_net_layer_shape(int64_t n_k_heads, int64_t n_v_heads, int64_t head_k_dim,
                                          int64_t head_v_dim, int64_t d_conv) {
  const uint64_t qk = checked_mul(2 * nonneg(n_k_heads, "delta-net key heads"), nonneg(head_k_dim, "delta-net key size"),
                                  "delta-net conv channels");
  const uint64_t v = checked_mul(nonneg(n_v_heads, "delta-net value heads"), nonneg(head_v_dim, "delta-net value size"),
                                 "delta-net conv channels");
  const uint64_t ch = checked_add(qk, v, "delta-net conv channels");
  if (ch > uint64_t(INT64_MAX)) fail("delta-net conv channels: size overflow ({})", ch);
  return {int64_t(ch), d_conv, n_v_heads, head_v_dim, head_k_dim};
}

RecurrentLayerShape short_conv_layer_shape(int64_t n_ch, int64_t d_conv) { return {n_ch, d_conv, 0, 0, 0}; }

RecurrentState::RecurrentState(std::vector<RecurrentLayerShape> layers) {
  uint64_t total = 0;
  layers_.reserve(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    const RecurrentLayerShape& s = layers[l];
    const std::string what = fmt::format("recurrent state of layer {}", l);
    const uint64_t conv_rows = nonneg(s.conv_width, what) > 1 ? uint64_t(s.conv_width) - 1 : 0;
    const uint64_t conv_n = checked_mul(conv_rows, nonneg(s.conv_channels, what), what);
    const uint64_t ssm_n = checked_mul(checked_mul(nonneg(s.ssm_heads, what), nonneg(s.ssm_rows, what), what),
                                       nonneg(s.ssm_cols, what), what);
    Layer layer{s, size_t(total), size_t(conv_n), 0, size_t(ssm_n)};
    total = checked_add(total, conv_n, what);
    layer.ssm_at = size_t(total);
    total = checked_add(total, ssm_n, what);
    layers_.push_back(layer);
  }
  const uint64_t bytes = checked_mul(total, sizeof(float), "recurrent state");
  check_memory(bytes, "a recurrent state");
  data_.assign(size_t(total), 0.0f);
}

void RecurrentState::reset() { std::fill(data_.begin(), data_.end(), 0.0f); }

void RecurrentState::copy_from(const RecurrentState& src) {
  if (src.layers_.size() != layers_.size()) fail("recurrent state: {} layers, expected {}", src.layers_.size(), layers_.size());
  for (size_t l = 0; l < layers_.size(); ++l)
    if (!(src.layers_[l].shape == layers_[l].shape))
      fail("recurrent state: layer {} is {}, expected {}", l, describe(stream_shape(src.layers_[l].shape)),
           describe(stream_shape(layers_[l].shape)));
  data_ = src.data_;
}

uint64_t RecurrentState::serialized_size() const {
  return sizeof(StreamHeader) + layers_.size() * sizeof(StreamShape) + bytes();
}

template <class Put>
void RecurrentState::write(Put&& put) const {
  StreamHeader hd{};
  std::memcpy(hd.magic, kStateMagic, sizeof kStateMagic);
  hd.version = kStateVersion;
  hd.n_layer = uint32_t(layers_.size());
  put(&hd, sizeof hd);
  for (const Layer& l : layers_) {
    const StreamShape s = stream_shape(l.shape);
    put(&s, sizeof s);
  }
  put(data_.data(), data_.size() * sizeof(float));
}

void RecurrentState::save(FdSink& out) const {
  write([&](const void* p, size_t n) { out.put(p, n); });
}

std::vector<uint8_t> RecurrentState::save() const {
  std::vector<uint8_t> out;
  out.reserve(size_t(serialized_size()));
  write([&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  });
  return out;
}

void RecurrentState::restore(std::span<const uint8_t> bytes, std::string_view what) {
  StreamHeader hd{};
  if (bytes.size() < sizeof hd || std::memcmp(bytes.data(), kStateMagic, sizeof kStateMagic) != 0)
    fail("{}: not a trident recurrent state (expected the magic TRIDREC1)", what);
  std::memcpy(&hd, bytes.data(), sizeof hd);
  if (hd.version != kStateVersion) fail("{}: recurrent state version {} (expected {})", what, hd.version, kStateVersion);
  if (hd.n_layer != layers_.size())
    fail("{}: recurrent state of {} layers, this model has {}", what, hd.n_layer, layers_.size());
  const size_t shapes_end = sizeof hd + layers_.size() * sizeof(StreamShape);
  if (bytes.size() < shapes_end) fail("{}: {} bytes, expected {}", what, bytes.size(), serialized_size());
  for (size_t l = 0; l < layers_.size(); ++l) {
    StreamShape got{};
    std::memcpy(&got, bytes.data() + sizeof hd + l * sizeof got, sizeof got);
    const StreamShape want = stream_shape(layers_[l].shape);
    if (std::memcmp(&got, &want, sizeof got) != 0)
      fail("{}: layer {} recurrent state is {}, this model's is {}", what, l, describe(got), describe(want));
  }
  if (bytes.size() != serialized_size()) fail("{}: {} bytes, expected {}", what, bytes.size(), serialized_size());
  std::memcpy(data_.data(), bytes.data() + shapes_end, data_.size() * sizeof(float));
}

}  // namespace trident
