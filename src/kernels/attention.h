// Attention of one query head over a run of cached keys and values.
#pragma once
#include <cstddef>
#include <cstdint>

namespace trident {

enum class KvType : uint8_t { F32, F16 };

struct KvView {
  const void* k = nullptr;  // row j at k + j * stride bytes, head_dim elements of `type`
  const void* v = nullptr;
  size_t k_stride = 0, v_stride = 0;
  KvType k_type = KvType::F32, v_type = KvType::F32;
};

// out[head_dim] = softmax(scale * q . K[first..last]) . V[first..last].
// scores: scratch of at least (last - first + 1) floats. Keys outside [first, last] are masked.
void attention_head(const float* q, const KvView& kv, int64_t first, int64_t last, int head_dim,
                    float scale, float* scores, float* out);

}  // namespace trident
