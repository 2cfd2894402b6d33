// Private to the attention kernels: the arithmetic every variant shares (so that all of them
// give the reference's bits), the micro-kernels a SIMD file supplies, and the tiled driver.
//
// Definition of one (token, head) output, for keys [first, last]:
//   keys are taken in chunks of kAttnChunk positions aligned to multiples of kAttnChunk (the
//   chunking depends on key positions only, never on the batch or the thread split);
//   M = -inf, L = 0, acc[d] = 0; for each chunk, over its keys j in [first, last]:
//     s_j   = dot8(q, K_j) * scale;  with soft-capping: s_j = softcap * std::tanh(s_j * (1 / softcap));
//             with ALiBi: s_j = s_j + slope * float(j - p)
//     m     = max_j s_j;  if m > M: a = exp_poly(M - m), L *= a, acc[d] *= a, M = m
//     p_j   = exp_poly(s_j - M);  L += sum8(p_j)
//     acc[d] = fma(p_j, V_j[d], acc[d])   for j ascending
//   with a sink logit S (after the last chunk): if S > M: a = exp_poly(M - S), L *= a,
//     acc[d] *= a, M = S;  L += exp_poly(S - M)
//   out[d] = acc[d] * (1 / L)
// dot8: eight lanes, lane l = fma-chain over d = l, l + 8, ... (elements past head_dim are
// zeros), then reduce8. sum8: lane l sums p_j for j = l (mod 8) ascending, then reduce8.
// reduce8(v) = ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/attention.h"
#include "kernels/dispatch.h"
#include "kernels/exp_poly.h"

namespace trident {

inline constexpr int64_t kAttnChunk = 64;  // key positions per chunk; a multiple of 16

// The soft-capping step of the definition, shared by the reference and the tiled driver (it
// is scalar in both, so every variant gives the same bits).
static inline float attn_softcap(float s, float cap) { return cap * std::tanh(s * (1.0f / cap)); }
static inline float attn_alibi(float s, float slope, int64_t key, int64_t pos) { return s + slope * float(key - pos); }

// The sink step of the definition: one more score in the denominator (ggml_soft_max_add_sinks),
// scalar in the reference and the tiled driver alike.
static inline void attn_add_sink(float sink, float& m, float& l, float* acc, int hd) {
  if (sink > m) {
    const float a = exp_poly(m - sink);
    l *= a;
    for (int d = 0; d < hd; ++d) acc[d] *= a;
    m = sink;
  }
  l += exp_poly(sink - m);
}

// The last key token t of a task sees (the definition in attention.h).
static inline int64_t attn_last_key(const AttentionTask& a, int64_t t) { return a.last_key >= 0 ? a.last_key : a.pos0 + t; }
// The first key token t sees.
static inline int64_t attn_first_key(const AttentionTask& a, int64_t t) {
  return a.window > 0 ? std::max<int64_t>(a.first_key, a.pos0 + t - a.window + 1) : a.first_key;
}

static inline float attn_reduce8(const float v[8]) {
  const float w0 = v[0] + v[4], w1 = v[1] + v[5], w2 = v[2] + v[6], w3 = v[3] + v[7];
  return (w0 + w2) + (w1 + w3);
}

// What a SIMD file supplies to the driver. Rows are (token, head) pairs of one task; keys are
// chunk-relative indices j0..j1 (0 <= j0 <= j1 < kAttnChunk) from a chunk's first row.
//   q:   [nr][ldq] query rows, zero past head_dim (ldq a multiple of 16)
//   s:   [nr][lds] scores of the chunk, then its weights p
//   acc: [nr][ldacc] output accumulators (ldacc a multiple of 16; columns past head_dim stay 0)
struct AttentionMicroKernels {
  // s[r][j] = dot8(q_r, K row j) * scale, indexed by KvType
  void (*scores[2])(const float* q, int64_t ldq, int64_t nr, const uint8_t* k, size_t k_stride,
                    int head_dim, int64_t j0, int64_t j1, float scale, float* s, int64_t lds);
  // per row: the max / rescale / exp / sum8 step above; s becomes p
  void (*softmax)(float* s, int64_t lds, int64_t nr, int64_t j0, int64_t j1, float* m, float* l,
                  float* acc, int64_t ldacc, int head_dim);
  // acc[r][d] = fma(p[r][j], V row j [d], acc[r][d]) for j = j0..j1 ascending, indexed by KvType
  void (*accumulate[2])(const float* s, int64_t lds, int64_t nr, const uint8_t* v,
                        size_t v_stride, int head_dim, int64_t j0, int64_t j1, float* acc,
                        int64_t ldacc);
};

// The row blocking both SIMD files share. An ISA type K supplies
//   template <KvType T, int R, int J> static void score_block(q, ldq, k, k_stride, head_dim,
//       scale, s, lds)                      -- R rows x J keys (J a multiple of its lanes)
//   template <KvType T> static float score_one(q, k, head_dim)   -- dot8 of one row and key
//   template <KvType T, int R> static void accumulate_rows(s, lds, v, v_stride, head_dim, j0,
//       j1, acc, ldacc)                     -- R rows of the accumulation step
//   static constexpr int kScoreKeys         -- keys per 4-row score block; 2 rows take twice
//                                              as many, 1 row four times
// Rows go in blocks of 4, then 2, then 1; keys past the last whole block one at a time.
template <class K, KvType T, int R, int J>
void attn_score_rows(const float* q, int64_t ldq, const uint8_t* k, size_t ks, int hd, int64_t j0,
                     int64_t j1, float scale, float* s, int64_t lds) {
  int64_t j = j0;
  for (; j + J - 1 <= j1; j += J) K::template score_block<T, R, J>(q, ldq, k + j * ks, ks, hd, scale, s + j, lds);
  for (; j <= j1; ++j)
    for (int r = 0; r < R; ++r) s[r * lds + j] = K::template score_one<T>(q + r * ldq, k + j * ks, hd) * scale;
}

template <class K, KvType T>
void attn_scores(const float* q, int64_t ldq, int64_t nr, const uint8_t* k, size_t ks, int hd,
                 int64_t j0, int64_t j1, float scale, float* s, int64_t lds) {
  constexpr int J = K::kScoreKeys;
  int64_t r = 0;
  for (; r + 4 <= nr; r += 4) attn_score_rows<K, T, 4, J>(q + r * ldq, ldq, k, ks, hd, j0, j1, scale, s + r * lds, lds);
  if (r + 2 <= nr) {
    attn_score_rows<K, T, 2, 2 * J>(q + r * ldq, ldq, k, ks, hd, j0, j1, scale, s + r * lds, lds);
    r += 2;
  }
  if (r < nr) attn_score_rows<K, T, 1, 4 * J>(q + r * ldq, ldq, k, ks, hd, j0, j1, scale, s + r * lds, lds);
}

template <class K, KvType T>
void attn_accumulate(const float* s, int64_t lds, int64_t nr, const uint8_t* v, size_t vs, int hd,
                     int64_t j0, int64_t j1, float* acc, int64_t ldacc) {
  int64_t r = 0;
  for (; r + 4 <= nr; r += 4) K::template accumulate_rows<T, 4>(s + r * lds, lds, v, vs, hd, j0, j1, acc + r * ldacc, ldacc);
  if (r + 2 <= nr) {
    K::template accumulate_rows<T, 2>(s + r * lds, lds, v, vs, hd, j0, j1, acc + r * ldacc, ldacc);
    r += 2;
  }
  if (r < nr) K::template accumulate_rows<T, 1>(s + r * lds, lds, v, vs, hd, j0, j1, acc + r * ldacc, ldacc);
}

// The micro-kernel table of an ISA type K (above) and its softmax step.
template <class K>
constexpr AttentionMicroKernels attn_micro_kernels() {
  return {{attn_scores<K, KvType::F32>, attn_scores<K, KvType::F16>},
          K::softmax,
          {attn_accumulate<K, KvType::F32>, attn_accumulate<K, KvType::F16>}};
}

// Runs a task with the given micro-kernels: all rows of the task share each K/V chunk
// (attention_tiled.cpp).
void attention_tiled(const AttentionTask& task, const KvView& kv, const AttentionMicroKernels& mk);

void register_attention_avx2(KernelTable& t);    // attention_avx2.cpp
void register_attention_avx512(KernelTable& t);  // attention_avx512.cpp

}  // namespace trident
