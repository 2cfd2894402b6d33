// The driver of the SIMD attention kernels: every row (token, head) of a task walks the same
// aligned key chunks; rows that see a whole chunk share one pass over its K and V rows, rows
// that see part of it (the causal diagonal, a window's edge) go by token. Each row's arithmetic
// is that of attention_reference whichever way it is grouped.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/attention_impl.h"

namespace trident {

void attention_tiled(const AttentionTask& a, const KvView& kv, const AttentionMicroKernels& mk) {
  const int64_t n_tok = a.n_tokens, g = a.n_heads, rows = n_tok * g;
  const int hd = a.head_dim;
  const int64_t ld = (hd + 15) / 16 * 16;  // row stride of q and acc
  const int64_t lds = kAttnChunk;

  // Scratch per thread: q [rows][ld], acc [rows][ld], s [rows][lds], m [rows], l [rows].
  thread_local std::vector<float> scratch;
  const size_t need = size_t(rows) * size_t(2 * ld + lds + 2);
  if (scratch.size() < need) scratch.resize(need);
  float* q = scratch.data();
  float* acc = q + rows * ld;
  float* s = acc + rows * ld;
  float* m = s + rows * lds;
  float* l = m + rows;
  for (int64_t t = 0; t < n_tok; ++t)
    for (int64_t h = 0; h < g; ++h) {
      float* dst = q + (t * g + h) * ld;
      std::memcpy(dst, a.q + t * a.q_stride + h * hd, sizeof(float) * size_t(hd));
      std::fill(dst + hd, dst + ld, 0.0f);
    }
  std::fill(acc, acc + rows * ld, 0.0f);
  std::fill(m, m + rows, -INFINITY);
  std::fill(l, l + rows, 0.0f);

  const auto* kb = static_cast<const uint8_t*>(kv.k);
  const auto* vb = static_cast<const uint8_t*>(kv.v);
  const auto scores = mk.scores[int(kv.k_type)];
  const auto accumulate = mk.accumulate[int(kv.v_type)];
  auto first = [&](int64_t t) { return attn_first_key(a, t); };
  // Tokens [t0, t1) over chunk keys [j0, j1] of the chunk starting at key c0.
  auto run = [&](int64_t t0, int64_t t1, int64_t c0, int64_t j0, int64_t j1) {
    const int64_t r0 = t0 * g, nr = (t1 - t0) * g;
    scores(q + r0 * ld, ld, nr, kb + size_t(c0) * kv.k_stride, kv.k_stride, hd, j0, j1, a.scale,
           s + r0 * lds, lds);
    if (a.softcap > 0.0f)
      for (int64_t r = r0; r < r0 + nr; ++r)
        for (int64_t j = j0; j <= j1; ++j) s[r * lds + j] = attn_softcap(s[r * lds + j], a.softcap);
    if (a.alibi)
      for (int64_t r = r0; r < r0 + nr; ++r)
        for (int64_t j = j0; j <= j1; ++j)
          s[r * lds + j] = attn_alibi(s[r * lds + j], a.alibi[r % g], c0 + j, a.pos0 + r / g);
    mk.softmax(s + r0 * lds, lds, nr, j0, j1, m + r0, l + r0, acc + r0 * ld, ld, hd);
    accumulate(s + r0 * lds, lds, nr, vb + size_t(c0) * kv.v_stride, kv.v_stride, hd, j0, j1,
               acc + r0 * ld, ld);
  };

  const int64_t last_key = attn_last_key(a, n_tok - 1);
  for (int64_t c0 = first(0) / kAttnChunk * kAttnChunk; c0 <= last_key; c0 += kAttnChunk) {
    const int64_t c1 = c0 + kAttnChunk - 1;
    // Tokens that see the whole chunk: last(t) >= c1 and first(t) <= c0 (both monotone in t).
    const int64_t ta = a.last_key < 0 ? std::max<int64_t>(0, c1 - a.pos0) : a.last_key >= c1 ? 0 : n_tok;
    int64_t tb = n_tok - 1;
    if (a.window > 0) tb = std::min(tb, c0 - a.pos0 + a.window - 1);
    if (a.first_key > c0) tb = -1;
    if (ta <= tb) run(ta, tb + 1, c0, 0, kAttnChunk - 1);
    for (int64_t t = 0; t < n_tok; ++t) {
      if (t >= ta && t <= tb) continue;
      const int64_t lo = std::max(c0, first(t)), hi = std::min(c1, attn_last_key(a, t));
      if (lo <= hi) run(t, t + 1, c0, lo - c0, hi - c0);
    }
  }

  for (int64_t t = 0; t < n_tok; ++t)
    for (int64_t h = 0; h < g; ++h) {
      const int64_t r = t * g + h;
      if (a.sinks) attn_add_sink(a.sinks[h], m[r], l[r], acc + r * ld, hd);
      const float inv = 1.0f / l[r];
      float* dst = a.out + t * a.out_stride + h * hd;
      for (int d = 0; d < hd; ++d) dst[d] = acc[r * ld + d] * inv;
    }
}

}  // namespace trident
