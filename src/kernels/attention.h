// Attention of the query heads that share one KV head (GQA), for a run of consecutive
// tokens, over an F32 or F16 key/value cache.
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

// Token t (< n_tokens) sits at position p = pos0 + t and sees keys [first(t), last(t)]:
// last(t) = p (causal), or last_key for every token when last_key >= 0 (non-causal: diffusion
// LMs see their whole batch); first(t) = max(first_key, p - window + 1) if window > 0 (sliding
// window), else first_key (chunked attention: the first key of the tokens' chunk; the caller
// cuts tasks at chunk boundaries).
// Query head g (< n_heads) of token t: q + t * q_stride + g * head_dim, head_dim floats; its
// output goes to out + t * out_stride + g * head_dim:
//   out = softmax(bias_g(cap(scale * q . K[first(t)..last(t)]))) . V[first(t)..last(t)]
// where cap(s) = softcap * tanh(s / softcap) when softcap > 0 (gemma2's logit soft-capping),
// else s; and bias_g(s_j) = s_j + alibi[g] * float(j - p) when alibi is set (ALiBi: one slope
// per head of the task), else s_j. With sinks (gpt-oss), head g's learned logit sinks[g] joins
// the softmax's denominator as one more score with no value row.
// Every kernel computes a given (token, head) output with the same arithmetic whatever the
// task holds (attention.cpp defines it), so callers may split tokens and heads freely.
struct AttentionTask {
  const float* q = nullptr;
  float* out = nullptr;
  int64_t q_stride = 0, out_stride = 0;  // floats between tokens
  int64_t n_tokens = 0;
  int n_heads = 0;
  int head_dim = 0;
  int64_t pos0 = 0;
  int64_t window = 0;
  int64_t first_key = 0;
  int64_t last_key = -1;
  float scale = 1.0f;
  float softcap = 0.0f;
  const float* alibi = nullptr;  // [n_heads] slopes, or nullptr
  const float* sinks = nullptr;  // [n_heads] attention-sink logits, or nullptr
};
using AttentionFn = void (*)(const AttentionTask& task, const KvView& kv);

// The scalar reference: one (token, head) at a time, written as the definition.
void attention_reference(const AttentionTask& task, const KvView& kv);

}  // namespace trident
