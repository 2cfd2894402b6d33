// The scalar reference for attention: one (token, head) at a time, exactly the definition in
// attention_impl.h. The tiled SIMD kernels reproduce its bits.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/attention_impl.h"
#include "tensor/fp16.h"

namespace trident {
namespace {

inline float kv_elem(const uint8_t* row, int64_t d, KvType t) {
  return t == KvType::F32 ? reinterpret_cast<const float*>(row)[d]
                          : fp16_to_fp32(reinterpret_cast<const uint16_t*>(row)[d]);
}

// dot8 of attention_impl.h: elements past n count as zeros.
float dot8(const float* q, const uint8_t* k, int n, KvType t) {
  float lane[8] = {};
  for (int d0 = 0; d0 < n; d0 += 8)
    for (int l = 0; l < 8; ++l) {
      const int d = d0 + l;
      const float qd = d < n ? q[d] : 0.0f, kd = d < n ? kv_elem(k, d, t) : 0.0f;
      lane[l] = std::fma(qd, kd, lane[l]);
    }
  return attn_reduce8(lane);
}

void attend_one(const float* q, const KvView& kv, int64_t pos, int64_t first, int64_t last, int hd,
                float scale, float softcap, const float* slope, const float* sink, float* acc, float* out) {
  const auto* kb = static_cast<const uint8_t*>(kv.k);
  const auto* vb = static_cast<const uint8_t*>(kv.v);
  float s[kAttnChunk];
  float m_run = -INFINITY, l_run = 0.0f;
  std::fill(acc, acc + hd, 0.0f);
  for (int64_t c0 = first / kAttnChunk * kAttnChunk; c0 <= last; c0 += kAttnChunk) {
    const int64_t lo = std::max(c0, first), hi = std::min(c0 + kAttnChunk - 1, last);
    float m = -INFINITY;
    for (int64_t j = lo; j <= hi; ++j) {
      s[j - c0] = dot8(q, kb + size_t(j) * kv.k_stride, hd, kv.k_type) * scale;
      if (softcap > 0.0f) s[j - c0] = attn_softcap(s[j - c0], softcap);
      if (slope) s[j - c0] = attn_alibi(s[j - c0], *slope, j, pos);
      m = std::max(m, s[j - c0]);
    }
    if (m > m_run) {
      const float a = exp_poly(m_run - m);
      l_run *= a;
      for (int d = 0; d < hd; ++d) acc[d] *= a;
      m_run = m;
    }
    float lane[8] = {};
    for (int64_t j = lo; j <= hi; ++j) {
      s[j - c0] = exp_poly(s[j - c0] - m_run);
      lane[j % 8] += s[j - c0];
    }
    l_run += attn_reduce8(lane);
    for (int64_t j = lo; j <= hi; ++j) {
      const uint8_t* v = vb + size_t(j) * kv.v_stride;
      for (int d = 0; d < hd; ++d) acc[d] = std::fma(s[j - c0], kv_elem(v, d, kv.v_type), acc[d]);
    }
  }
  if (sink) attn_add_sink(*sink, m_run, l_run, acc, hd);
  const float inv = 1.0f / l_run;
  for (int d = 0; d < hd; ++d) out[d] = acc[d] * inv;
}

}  // namespace

void attention_reference(const AttentionTask& a, const KvView& kv) {
  thread_local std::vector<float> acc;
  acc.resize(size_t(a.head_dim));
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    const int64_t pos = a.pos0 + t, last = attn_last_key(a, t);
    const int64_t first = attn_first_key(a, t);
    for (int g = 0; g < a.n_heads; ++g)
      attend_one(a.q + t * a.q_stride + int64_t(g) * a.head_dim, kv, pos, first, last, a.head_dim, a.scale,
                 a.softcap, a.alibi ? a.alibi + g : nullptr, a.sinks ? a.sinks + g : nullptr, acc.data(),
                 a.out + t * a.out_stride + int64_t(g) * a.head_dim);
  }
}

}  // namespace trident
