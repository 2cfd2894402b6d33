// One sequence's key and value cache: per layer [n_ctx, n_head_kv * head_dim] rows, F32 or F16.
// Rows are positions, so attention reads a sequence's keys as one strided block.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "kernels/attention.h"

namespace trident {

class KvCache {
 public:
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t row_elems, KvType k_type, KvType v_type);

  // Stores one token's K and V (n floats each, n <= row_elems: a layer narrower than the
  // widest fills the start of its rows) for a layer at position pos.
  void store(int64_t layer, int64_t pos, const float* k, const float* v, int64_t n);
  // View of one KV head of a layer (rows are positions).
  KvView head(int64_t layer, int64_t kv_head, int64_t head_dim) const;
  // Copies positions [0, n) of every layer from `src` (same shape and types).
  void copy_prefix(const KvCache& src, int64_t n);
  // Positions [0, n) of one layer's K (v = false) or V rows, n * row_bytes(v) bytes, for
  // save/restore.
  const uint8_t* rows(int64_t layer, bool v) const {
    return (v ? v_ : k_).get() + size_t(layer * n_ctx_) * row_bytes(v);
  }
  uint8_t* rows(int64_t layer, bool v) { return (v ? v_ : k_).get() + size_t(layer * n_ctx_) * row_bytes(v); }
  size_t row_bytes(bool v) const { return v ? v_row_bytes_ : k_row_bytes_; }
  int64_t n_layer() const { return n_layer_; }
  int64_t n_ctx() const { return n_ctx_; }
  uint64_t bytes() const { return k_bytes_ + v_bytes_; }

 private:
  int64_t n_layer_, n_ctx_, row_elems_;
  KvType k_type_, v_type_;
  size_t k_row_bytes_, v_row_bytes_;
  // [n_layer][n_ctx][row], from calloc: the kernel maps zero pages on first write, so a large
  // context costs memory only as far as it is filled.
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t[], Free> k_, v_;
  uint64_t k_bytes_ = 0, v_bytes_ = 0;
};

}  // namespace trident
