// The shapes synth knows: real checkpoints' hyper-parameters, each row citing its config.json.
#include <array>

#include "convert/synth.h"

namespace trident {
namespace {

// Facts from each model's config.json (hidden_size, num_hidden_layers, num_attention_heads,
// num_key_value_heads, head_dim, intermediate_size, vocab_size, max_position_embeddings,
// rope_theta, rms_norm_eps, tie_word_embeddings, rope_scaling, MoE fields).
constexpr std::array kShapes = {
    SynthShape{.name = "llama-3.2-1b", .arch = "llama", .n_embd = 2048, .n_layer = 16, .n_head = 32,
               .n_head_kv = 8, .head_dim = 64, .n_ff = 8192, .n_vocab = 128256, .n_ctx_train = 131072,
               .rope_base = 500000.0f, .norm_eps = 1e-5f, .tied_output = true,
               .llama3_rope_factor = 32.0f, .llama3_low_freq = 1.0f, .llama3_high_freq = 4.0f,
               .llama3_orig_ctx = 8192},
    SynthShape{.name = "llama-3.1-8b", .arch = "llama", .n_embd = 4096, .n_layer = 32, .n_head = 32,
               .n_head_kv = 8, .head_dim = 128, .n_ff = 14336, .n_vocab = 128256, .n_ctx_train = 131072,
               .rope_base = 500000.0f, .norm_eps = 1e-5f, .tied_output = false,
               .llama3_rope_factor = 8.0f, .llama3_low_freq = 1.0f, .llama3_high_freq = 4.0f,
               .llama3_orig_ctx = 8192},
    SynthShape{.name = "qwen3-0.6b", .arch = "qwen3", .n_embd = 1024, .n_layer = 28, .n_head = 16,
               .n_head_kv = 8, .head_dim = 128, .n_ff = 3072, .n_vocab = 151936, .n_ctx_train = 40960,
               .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied_output = true},
    SynthShape{.name = "qwen3-4b", .arch = "qwen3", .n_embd = 2560, .n_layer = 36, .n_head = 32,
               .n_head_kv = 8, .head_dim = 128, .n_ff = 9728, .n_vocab = 151936, .n_ctx_train = 40960,
               .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied_output = true},
    SynthShape{.name = "qwen2.5-1.5b", .arch = "qwen2", .n_embd = 1536, .n_layer = 28, .n_head = 12,
               .n_head_kv = 2, .head_dim = 128, .n_ff = 8960, .n_vocab = 151936, .n_ctx_train = 32768,
               .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied_output = true},
    SynthShape{.name = "gemma3-1b", .arch = "gemma3", .n_embd = 1152, .n_layer = 26, .n_head = 4,
               .n_head_kv = 1, .head_dim = 256, .n_ff = 6912, .n_vocab = 262144, .n_ctx_train = 32768,
               .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied_output = true},
    SynthShape{.name = "qwen3-30b-a3b", .arch = "qwen3moe", .n_embd = 2048, .n_layer = 48, .n_head = 32,
               .n_head_kv = 4, .head_dim = 128, .n_ff = 6144, .n_vocab = 151936, .n_ctx_train = 40960,
               .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied_output = false, .n_expert = 128,
               .n_expert_used = 8, .n_ff_expert = 768},
    // A small model of gemma4's pieces (not a real checkpoint): windowed and global layers with
    // their own head sizes and KV heads, a window shorter than a test prompt, the last three
    // layers on earlier caches with doubled FFNs, V = K on global layers, per-layer inputs.
    SynthShape{.name = "gemma4-tiny", .arch = "gemma4", .n_embd = 256, .n_layer = 6, .n_head = 4, .n_head_kv = 1,
               .head_dim = 128, .n_ff = 512, .n_vocab = 512, .n_ctx_train = 4096, .rope_base = 1000000.0f,
               .norm_eps = 1e-6f, .tied_output = true, .swa_window = 8, .swa_every = 3, .head_dim_swa = 64,
               .n_head_kv_swa = 2, .n_kv_shared = 3, .n_embd_per_layer = 32, .wide_shared_ffn = true,
               .v_from_k_global = true, .final_softcap = 30.0f},
    // qwen3-30b-a3b with half of its 48 layers, so that a Q4_0 copy fits in 16 GB of RAM (the
    // MoE decode benchmark); everything else as the full model.
    SynthShape{.name = "qwen3-30b-a3b-24l", .arch = "qwen3moe", .n_embd = 2048, .n_layer = 24, .n_head = 32,
               .n_head_kv = 4, .head_dim = 128, .n_ff = 6144, .n_vocab = 151936, .n_ctx_train = 40960,
               .rope_base = 1000000.0f, .norm_eps = 1e-6f, .tied_output = false, .n_expert = 128,
               .n_expert_used = 8, .n_ff_expert = 768},
    // mistralai/Mixtral-8x7B-v0.1 (hidden_size 4096, 32 heads, 8 KV heads, head_dim 128,
    // intermediate_size 14336 per expert, num_local_experts 8, num_experts_per_tok 2, vocab_size
    // 32000, max_position_embeddings 32768, rope_theta 1e6, rms_norm_eps 1e-5, untied) with 8
    // of its 32 layers. Its GGUF is a llama file with experts; the experts' width is
    // feed_forward_length, as llama.cpp's converter writes it.
    SynthShape{.name = "mixtral-8x7b-8l", .arch = "llama", .n_embd = 4096, .n_layer = 8, .n_head = 32,
               .n_head_kv = 8, .head_dim = 128, .n_ff = 14336, .n_vocab = 32000, .n_ctx_train = 32768,
               .rope_base = 1000000.0f, .norm_eps = 1e-5f, .tied_output = false, .n_expert = 8,
               .n_expert_used = 2, .n_ff_expert = 14336},
    // google/gemma-2-2b (hidden_size 2304, 26 layers, 8 heads, 4 KV heads, head_dim 256,
    // intermediate_size 9216, vocab_size 256000, max_position_embeddings 8192, rope_theta 1e4,
    // rms_norm_eps 1e-6, sliding_window 4096 on every other layer, attn_logit_softcapping 50,
    // final_logit_softcapping 30, query_pre_attn_scalar 256 = head_dim, which is the scale
    // llama.cpp uses below 46 layers). Tied output: its converter drops lm_head.
    SynthShape{.name = "gemma2-2b", .arch = "gemma2", .n_embd = 2304, .n_layer = 26, .n_head = 8,
               .n_head_kv = 4, .head_dim = 256, .n_ff = 9216, .n_vocab = 256000, .n_ctx_train = 8192,
               .rope_base = 10000.0f, .norm_eps = 1e-6f, .tied_output = true, .swa_window = 4096,
               .attn_softcap = 50.0f, .final_softcap = 30.0f},
    // deepseek-ai/DeepSeek-V2-Lite (hidden_size 2048, 27 layers, 16 heads, q_lora_rank null,
    // kv_lora_rank 512, qk_nope_head_dim 128, qk_rope_head_dim 64, v_head_dim 128,
    // intermediate_size 10944 for first_k_dense_replace 1 dense layer, 64 routed experts of
    // moe_intermediate_size 1408, 6 per token, n_shared_experts 2, scoring_func softmax,
    // norm_topk_prob false, routed_scaling_factor 1, vocab_size 102400, max_position_embeddings
    // 163840, rope_theta 1e4, rms_norm_eps 1e-6, untied, rope_scaling yarn factor 40,
    // original_max_position_embeddings 4096, mscale = mscale_all_dim = 0.707). Written as
    // llama.cpp's converter writes it today: attn_k_b / attn_v_b with the MLA key lengths, and
    // yarn_log_multiplier 0.1 * mscale_all_dim.
    SynthShape{.name = "deepseek-v2-lite", .arch = "deepseek2", .n_embd = 2048, .n_layer = 27, .n_head = 16,
               .n_head_kv = 16, .head_dim = 192, .n_ff = 10944, .n_vocab = 102400, .n_ctx_train = 163840,
               .rope_base = 10000.0f, .norm_eps = 1e-6f, .tied_output = false, .n_expert = 64,
               .n_expert_used = 6, .n_ff_expert = 1408, .n_expert_shared = 2, .n_dense_lead = 1,
               .expert_weights_scale = 1.0f, .kv_lora_rank = 512, .q_lora_rank = 0,
               .n_rot = 64, .head_dim_v = 128, .yarn_factor = 40.0f, .yarn_log_mul = 0.0707f,
               .yarn_orig_ctx = 4096},
    // openai/gpt-oss-20b (hidden_size 2880, 24 layers, 64 heads, 8 KV heads, head_dim 64,
    // attention_bias true, 32 local experts of intermediate_size 2880, experts_per_token 4,
    // vocab_size 201088, max_position_embeddings 131072, rope_theta 150000, rms_norm_eps 1e-5,
    // untied, sliding_window 128 on every other layer, rope_scaling yarn factor 32 with
    // initial_context_length 4096; attention sinks and expert biases as the family row says).
    SynthShape{.name = "gpt-oss-20b", .arch = "gpt-oss", .n_embd = 2880, .n_layer = 24, .n_head = 64,
               .n_head_kv = 8, .head_dim = 64, .n_ff = 2880, .n_vocab = 201088, .n_ctx_train = 131072,
               .rope_base = 150000.0f, .norm_eps = 1e-5f, .tied_output = false, .qkv_bias = true,
               .attn_out_bias = true, .n_expert = 32, .n_expert_used = 4, .n_ff_expert = 2880,
               .yarn_factor = 32.0f, .yarn_orig_ctx = 4096, .swa_window = 128},
    // Qwen/Qwen3.5-0.8B's text model (hidden_size 1024, 24 layers, 8 heads, 2 KV heads, head_dim
    // 256, intermediate_size 3584, vocab_size 248320, max_position_embeddings 262144,
    // rope_theta 1e7, partial_rotary_factor 0.25, mrope_section [11, 11, 10] interleaved,
    // rms_norm_eps 1e-6, tied; linear attention: 16 key and 16 value heads of 128,
    // linear_conv_kernel_dim 4, full_attention_interval 4).
    SynthShape{.name = "qwen3.5-0.8b", .arch = "qwen35", .n_embd = 1024, .n_layer = 24, .n_head = 8,
               .n_head_kv = 2, .head_dim = 256, .n_ff = 3584, .n_vocab = 248320, .n_ctx_train = 262144,
               .rope_base = 10000000.0f, .norm_eps = 1e-6f, .tied_output = true, .n_rot = 64, .ssm_conv = 4,
               .ssm_state = 128, .ssm_groups = 16, .ssm_heads = 16, .ssm_inner = 2048, .attn_interval = 4,
               .rope_sections = {11, 11, 10, 0}},
};

}  // namespace

const SynthShape* find_synth_shape(std::string_view name) {
  for (const SynthShape& s : kShapes)
    if (s.name == name) return &s;
  return nullptr;
}

std::string synth_shape_names() {
  std::string s;
  for (const SynthShape& x : kShapes) s += (s.empty() ? "" : ", ") + std::string(x.name);
  return s;
}

}  // namespace trident
