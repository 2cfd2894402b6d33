#include "runtime/kv_cache.h"

#include <cstring>

#include "format/checked.h"
#include "format/error.h"
#include "tensor/fp16.h"

namespace trident {
namespace {

size_t elem_bytes(KvType t) { return t == KvType::F32 ? 4 : 2; }

void put(uint8_t* dst, const float* src, int64_t n, KvType t) {
  if (t == KvType::F32) {
    std::memcpy(dst, src, size_t(n) * 4);
  } else {
    auto* d = reinterpret_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = fp32_to_fp16(src[i]);
  }
}

}  // namespace

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t row_elems, KvType k_type, KvType v_type)
    : n_ctx_(n_ctx), row_elems_(row_elems), k_type_(k_type), v_type_(v_type) {
  k_row_bytes_ = size_t(row_elems) * elem_bytes(k_type);
  v_row_bytes_ = size_t(row_elems) * elem_bytes(v_type);
  const uint64_t rows = checked_mul(uint64_t(n_layer), uint64_t(n_ctx), "KV cache size");
  k_.resize(checked_mul(rows, k_row_bytes_, "KV cache size"));
  v_.resize(checked_mul(rows, v_row_bytes_, "KV cache size"));
}

void KvCache::store(int64_t layer, int64_t pos, const float* k, const float* v) {
  const size_t row = size_t(layer * n_ctx_ + pos);
  put(k_.data() + row * k_row_bytes_, k, row_elems_, k_type_);
  put(v_.data() + row * v_row_bytes_, v, row_elems_, v_type_);
}

KvView KvCache::head(int64_t layer, int64_t kv_head, int64_t head_dim) const {
  KvView view;
  const size_t base = size_t(layer * n_ctx_);
  const size_t col = size_t(kv_head * head_dim);
  view.k = k_.data() + base * k_row_bytes_ + col * elem_bytes(k_type_);
  view.v = v_.data() + base * v_row_bytes_ + col * elem_bytes(v_type_);
  view.k_stride = k_row_bytes_;
  view.v_stride = v_row_bytes_;
  view.k_type = k_type_;
  view.v_type = v_type_;
  return view;
}

}  // namespace trident
