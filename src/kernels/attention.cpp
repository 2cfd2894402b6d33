#include "kernels/attention.h"

#include <cstring>

#include "kernels/ops.h"
#include "tensor/fp16.h"

namespace trident {
namespace {

inline float dot_row(const float* q, const void* row, int n, KvType t) {
  float s = 0.0f;
  if (t == KvType::F32) {
    const float* r = static_cast<const float*>(row);
    for (int i = 0; i < n; ++i) s += q[i] * r[i];
  } else {
    const uint16_t* r = static_cast<const uint16_t*>(row);
    for (int i = 0; i < n; ++i) s += q[i] * fp16_to_fp32(r[i]);
  }
  return s;
}

inline void axpy_row(float a, const void* row, float* out, int n, KvType t) {
  if (t == KvType::F32) {
    const float* r = static_cast<const float*>(row);
    for (int i = 0; i < n; ++i) out[i] += a * r[i];
  } else {
    const uint16_t* r = static_cast<const uint16_t*>(row);
    for (int i = 0; i < n; ++i) out[i] += a * fp16_to_fp32(r[i]);
  }
}

}  // namespace

void attention_head(const float* q, const KvView& kv, int64_t first, int64_t last, int head_dim,
                    float scale, float* scores, float* out) {
  const auto* kb = static_cast<const uint8_t*>(kv.k);
  const auto* vb = static_cast<const uint8_t*>(kv.v);
  const int64_t n = last - first + 1;
  for (int64_t j = 0; j < n; ++j)
    scores[j] = dot_row(q, kb + size_t(first + j) * kv.k_stride, head_dim, kv.k_type) * scale;
  softmax_inplace(scores, n);
  std::memset(out, 0, sizeof(float) * size_t(head_dim));
  for (int64_t j = 0; j < n; ++j) axpy_row(scores[j], vb + size_t(first + j) * kv.v_stride, out, head_dim, kv.v_type);
}

}  // namespace trident
