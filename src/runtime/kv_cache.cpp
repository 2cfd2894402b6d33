#include "runtime/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "format/checked.h"
#include "format/error.h"
#include "format/memory_budget.h"
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
    : n_layer_(n_layer), n_ctx_(n_ctx), row_elems_(row_elems), k_type_(k_type), v_type_(v_type) {
  k_row_bytes_ = size_t(row_elems) * elem_bytes(k_type);
  v_row_bytes_ = size_t(row_elems) * elem_bytes(v_type);
  const uint64_t rows = checked_mul(uint64_t(n_layer), uint64_t(n_ctx), "KV cache size");
  k_bytes_ = checked_mul(rows, k_row_bytes_, "KV cache size");
  v_bytes_ = checked_mul(rows, v_row_bytes_, "KV cache size");
  check_memory(checked_add(k_bytes_, v_bytes_, "KV cache size"), fmt::format("a KV cache of {} tokens", n_ctx));
  k_.reset(static_cast<uint8_t*>(std::calloc(std::max<uint64_t>(k_bytes_, 1), 1)));
  v_.reset(static_cast<uint8_t*>(std::calloc(std::max<uint64_t>(v_bytes_, 1), 1)));
  if (!k_ || !v_) fail("a KV cache of {} tokens: out of memory ({} bytes)", n_ctx, k_bytes_ + v_bytes_);
}

void KvCache::store(int64_t layer, int64_t pos, const float* k, const float* v, int64_t n) {
  const size_t row = size_t(layer * n_ctx_ + pos);
  n = std::min(n, row_elems_);
  put(k_.get() + row * k_row_bytes_, k, n, k_type_);
  put(v_.get() + row * v_row_bytes_, v, n, v_type_);
}

void KvCache::copy_prefix(const KvCache& src, int64_t n) {
  for (int64_t l = 0; l < n_layer_; ++l) {
    std::memcpy(rows(l, false), src.rows(l, false), size_t(n) * k_row_bytes_);
    std::memcpy(rows(l, true), src.rows(l, true), size_t(n) * v_row_bytes_);
  }
}

KvView KvCache::head(int64_t layer, int64_t kv_head, int64_t head_dim) const {
  KvView view;
  const size_t base = size_t(layer * n_ctx_);
  const size_t col = size_t(kv_head * head_dim);
  view.k = k_.get() + base * k_row_bytes_ + col * elem_bytes(k_type_);
  view.v = v_.get() + base * v_row_bytes_ + col * elem_bytes(v_type_);
  view.k_stride = k_row_bytes_;
  view.v_stride = v_row_bytes_;
  view.k_type = k_type_;
  view.v_type = v_type_;
  return view;
}

}  // namespace trident
