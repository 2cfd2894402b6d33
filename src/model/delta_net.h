// The gated delta-net layers of qwen3next / qwen35 / qwen35moe (ArchSpec::delta_net) and Kimi
// delta attention (Mixer::Kda): their sizes and their weights. The forward passes are
// runtime/delta_net_layer.cpp and runtime/kda_layer.cpp, the operations kernels/recurrent.h.
#pragma once
#include <cstdint>
#include <vector>

#include "model/projection.h"

namespace trident {

class GgufFile;
struct ArchSpec;
struct HParams;

// As llama.cpp sizes them: head_k_dim = head_v_dim = ssm.state_size, n_k_heads =
// ssm.group_count, n_v_heads = ssm.time_step_rank, ssm.inner_size = n_v_heads * head_v_dim,
// d_conv = ssm.conv_kernel. The convolution runs over q, k and v: conv_dim channels.
// Kimi delta attention (kda): n_k_heads = n_v_heads = the model's head count (layer 0's
// attention.head_count, llama.cpp's n_head()), head_k_dim = head_v_dim = kda.head_dim.
struct DeltaNetSizes {
  int64_t n_k_heads = 0, n_v_heads = 0, head_k_dim = 0, head_v_dim = 0;
  int d_conv = 0;
  bool kda = false;
  int64_t key_dim() const { return n_k_heads * head_k_dim; }
  int64_t value_dim() const { return n_v_heads * head_v_dim; }
  int64_t conv_dim() const { return 2 * key_dim() + value_dim(); }
  // Width of the input projections' output: qkv, z (value_dim), beta and alpha (n_v_heads each);
  // kda: qkv, f_a and g_a (head_k_dim each), beta (n_v_heads).
  int64_t in_width() const {
    return kda ? conv_dim() + 2 * head_k_dim + n_v_heads : conv_dim() + value_dim() + 2 * n_v_heads;
  }
  // Per token: g and beta (n_v_heads each); kda: g per key channel, the output gate (value_dim
  // each), beta.
  int64_t gates_width() const { return kda ? 2 * value_dim() + n_v_heads : 2 * n_v_heads; }
};

// One delta-net layer's weights.
struct DeltaNetWeights {
  // Parts, in this order, of the projections of the normed input: qkv [conv_dim] (q, k, v),
  // z [value_dim], beta [n_v_heads], alpha [n_v_heads] (beta and alpha before the gates).
  // qwen3next's per-key-head layouts (ssm_in, ssm_ba) are regrouped into these parts as row
  // segments at load time.
  ProjectionGroup in;
  std::vector<float> conv_w;         // [d_conv][conv_dim] time-major (ssm_conv1d)
  const float* dt_bias = nullptr;    // [n_v_heads] (ssm_dt.bias)
  const float* a = nullptr;          // [n_v_heads] (ssm_a: -exp(A_log))
  const float* norm = nullptr;       // [head_v_dim] shared by the value heads (ssm_norm)
  Projection out;                    // [value_dim] -> [n_embd] (ssm_out)
  bool present() const { return !out.segments.empty(); }
};

// One Kimi delta attention layer's weights (kimi-linear; runtime/kda_layer.cpp).
struct KdaWeights {
  // Parts, in this order, of the projections of the normed input: q, k, v [value_dim each]
  // (attn_q/k/v), f_a [head_dim] (ssm_f_a), g_a [head_dim] (ssm_g_a), beta [n_heads] (ssm_beta).
  ProjectionGroup in;
  std::vector<float> conv_w;       // [d_conv][conv_dim] time-major: ssm_conv1d_q, _k, _v side by side
  Projection f_b;                  // [head_dim] -> [value_dim]: the decay gate's up-projection
  Projection g_b;                  // [head_dim] -> [value_dim]: the output gate's
  const float* dt_bias = nullptr;  // [value_dim] (ssm_dt.bias)
  const float* a = nullptr;        // [n_heads] (ssm_a: -exp(A_log))
  const float* norm = nullptr;     // [head_dim] shared by the heads (ssm_norm)
  Projection out;                  // [value_dim] -> [n_embd] (attn_output)
  bool present() const { return !out.segments.empty(); }
};

// h.delta from the ssm.* keys read_recurrent read (which also marked the delta-net layers).
// Throws Error naming the file and key for sizes the layers cannot take.
void read_delta_net_hparams(const GgufFile& f, const ArchSpec& arch, HParams& h);

}  // namespace trident
