#include "model/arch.h"

#include <array>
#include <utility>

namespace trident {
namespace {

using R = RopeLayout;

constexpr std::array<std::string_view, 2> kLlamaClasses = {"LlamaForCausalLM", "MistralForCausalLM"};
constexpr std::array<std::string_view, 1> kQwen2Classes = {"Qwen2ForCausalLM"};
constexpr std::array<std::string_view, 1> kQwen3Classes = {"Qwen3ForCausalLM"};
constexpr std::array<std::string_view, 1> kQwen3MoeClasses = {"Qwen3MoeForCausalLM"};
constexpr std::array<std::string_view, 2> kGemma3Classes = {"Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"};
constexpr std::array<std::string_view, 1> kPhi3Classes = {"Phi3ForCausalLM"};
constexpr std::array<std::string_view, 1> kGemma2Classes = {"Gemma2ForCausalLM"};
constexpr std::array<std::string_view, 1> kGraniteClasses = {"GraniteForCausalLM"};
constexpr std::array<std::string_view, 1> kSmolLM3Classes = {"SmolLM3ForCausalLM"};
constexpr std::array<std::string_view, 1> kOlmoeClasses = {"OlmoeForCausalLM"};
constexpr std::array<std::string_view, 1> kQwen2MoeClasses = {"Qwen2MoeForCausalLM"};
constexpr std::array<std::string_view, 1> kClassifierHead = {"cls.output.weight"};
// olmoe's and olmo2's graphs multiply by the bare Q/K/V weights.
constexpr std::array<std::string_view, 8> kBareQkv = {"attn_q.bias",  "attn_k.bias",  "attn_v.bias",  "attn_qkv.bias",
                                                      "attn_q.scale", "attn_k.scale", "attn_v.scale", "attn_qkv.scale"};
constexpr std::array<std::string_view, 1> kUnusedWoBias = {"attn_output.bias"};
constexpr std::array<std::string_view, 1> kUnusedOutputBias = {"output.bias"};
// openelm's graph multiplies by the bare fused Q/K/V weight (its attn_output scale applies).
constexpr std::array<std::string_view, 1> kUnusedQkvScale = {"attn_qkv.scale"};
// llada's and refact's loaders read rope factors and output / FFN biases their graphs skip.
constexpr std::array<std::string_view, 5> kUnusedRopeFreqsBiases = {"rope_freqs.weight", "attn_output.bias",
                                                                    "ffn_gate.bias", "ffn_up.bias", "ffn_down.bias"};

// The full-attention layers of the delta-net families: llama.cpp loads Q/K/V biases and its
// graph never adds them.
constexpr std::array<std::string_view, 3> kUnusedQkvBiases = {"attn_q.bias", "attn_k.bias", "attn_v.bias"};

// deepseek2's loader: "lite" files by block count (and vocabulary size for 48 blocks).
constexpr std::array<LayerVocab, 3> kDeepseek2Lite = {{{27, 0}, {26, 0}, {48, 128256}}};

// gemma4 multiplies every layer's output by layer_output_scale and divides global layers'
// rotation frequencies by rope_freqs: random draws around 0 would zero or scatter them.
constexpr std::array<SkeletonInit, 2> kGemma4Inits = {
    SkeletonInit{"rope_freqs.weight", 4.0f}, {"layer_output_scale.weight", 1.0f}};

// Recurrent families (SkeletonInit): unit norms and mixer weights that make the mixer's output
// count, so their fixtures test it (llama.cpp's random draws hide it below 1e-13).
// `.scale` multipliers at 1 (a draw around 0 would silence the projections they scale).
constexpr std::array<SkeletonInit, 5> kShortConvInits = {
    SkeletonInit{"norm.weight", 1.0f, 1.0f}, {".scale", 1.0f, 0.0f}, {"shortconv.in_proj.weight", 0.0f, 10.0f},
    {"shortconv.conv.weight", 0.0f, 30.0f}, {"shortconv.out_proj.weight", 0.0f, 10.0f}};
constexpr std::array<SkeletonInit, 9> kMambaInits = {
    SkeletonInit{"norm.weight", 1.0f, 1.0f}, {".scale", 1.0f, 0.0f},           {"ssm_in.weight", 0.0f, 10.0f},
    {"ssm_x.weight", 0.0f, 10.0f},           {"ssm_dt.weight", 0.0f, 10.0f},   {"ssm_conv1d.weight", 0.0f, 30.0f},
    {"ssm_a", -1.0f, 10.0f},                 {"ssm_d", 1.0f, 10.0f},           {"ssm_out.weight", 0.0f, 10.0f}};
// jamba: Mamba's, and its MoE layers' router and experts ten times test-llama-archs' draws, so
// that the router's choice and the experts move the logits.
constexpr std::array<SkeletonInit, 11> kJambaInits = {
    SkeletonInit{"norm.weight", 1.0f, 1.0f}, {".scale", 1.0f, 0.0f},           {"ssm_in.weight", 0.0f, 10.0f},
    {"ssm_x.weight", 0.0f, 10.0f},           {"ssm_dt.weight", 0.0f, 10.0f},   {"ssm_conv1d.weight", 0.0f, 30.0f},
    {"ssm_a", -1.0f, 10.0f},                 {"ssm_d", 1.0f, 10.0f},           {"ssm_out.weight", 0.0f, 10.0f},
    {"ffn_gate_inp.weight", 0.0f, 10.0f},    {"_exps.weight", 0.0f, 10.0f}};
// kimi-linear: the KDA layers' projections, convolutions and gates large enough that the mixer
// dominates its layer's output; A around -1 (decays around exp(-1) per step).
constexpr std::array<SkeletonInit, 15> kKdaInits = {
    SkeletonInit{"norm.weight", 1.0f, 1.0f}, {".scale", 1.0f, 0.0f},             {"attn_q.weight", 0.0f, 10.0f},
    {"attn_k.weight", 0.0f, 10.0f},          {"attn_v.weight", 0.0f, 10.0f},     {"ssm_conv1d_q.weight", 0.0f, 30.0f},
    {"ssm_conv1d_k.weight", 0.0f, 30.0f},    {"ssm_conv1d_v.weight", 0.0f, 30.0f}, {"ssm_f_a.weight", 0.0f, 10.0f},
    {"ssm_f_b.weight", 0.0f, 10.0f},         {"ssm_g_a.weight", 0.0f, 10.0f},    {"ssm_g_b.weight", 0.0f, 10.0f},
    {"ssm_beta.weight", 0.0f, 10.0f},        {"ssm_a", -1.0f, 50.0f},            {"attn_output.weight", 0.0f, 10.0f}};
// nemotron_h: the MoE layer's weights ten times test-llama-archs' draws, so that the router's
// choice and every expert path move the logits well above the test's tolerance.
constexpr std::array<SkeletonInit, 15> kNemotronHInits = {
    SkeletonInit{"norm.weight", 1.0f, 1.0f}, {".scale", 1.0f, 0.0f},           {"ssm_in.weight", 0.0f, 10.0f},
    {"ssm_x.weight", 0.0f, 10.0f},           {"ssm_dt.weight", 0.0f, 10.0f},   {"ssm_conv1d.weight", 0.0f, 30.0f},
    {"ssm_a", -1.0f, 10.0f},                 {"ssm_d", 1.0f, 10.0f},           {"ssm_out.weight", 0.0f, 10.0f},
    {"ffn_gate_inp.weight", 0.0f, 10.0f},    {"exp_probs_b.bias", 0.0f, 10.0f}, {"_exps.weight", 0.0f, 10.0f},
    {"_shexp.weight", 0.0f, 10.0f},          {"ffn_latent_down.weight", 0.0f, 10.0f},
    {"ffn_latent_up.weight", 0.0f, 10.0f}};
constexpr std::array<SkeletonInit, 10> kGraniteHybridInits = {
    SkeletonInit{"norm.weight", 1.0f, 1.0f}, {".scale", 1.0f, 0.0f},           {"ssm_in.weight", 0.0f, 10.0f},
    {"ssm_x.weight", 0.0f, 10.0f},           {"ssm_dt.weight", 0.0f, 10.0f},   {"ssm_conv1d.weight", 0.0f, 30.0f},
    {"ssm_a", -1.0f, 10.0f},                 {"ssm_d", 1.0f, 10.0f},           {"ssm_out.weight", 0.0f, 10.0f},
    {"rope_freqs.weight", 1.0f, 1.0f}};
// falcon-h1's FFN norm is blk.N.ffn_norm, no .weight suffix; attention weights as large as the
// mixer's, so that the sum of the two tests both (at std 0.01, dropping attention moved NMSE
// to 7e-5 only).
constexpr std::array<SkeletonInit, 12> kFalconH1Inits = {
    SkeletonInit{"norm.weight", 1.0f, 1.0f}, {".scale", 1.0f, 0.0f},           {"ssm_in.weight", 0.0f, 10.0f},
    {"ssm_conv1d.weight", 0.0f, 30.0f},      {"ssm_a", -1.0f, 10.0f},          {"ssm_d", 1.0f, 10.0f},
    {"ssm_out.weight", 0.0f, 10.0f},         {"ffn_norm", 1.0f, 1.0f},         {"attn_q.weight", 0.0f, 10.0f},
    {"attn_k.weight", 0.0f, 10.0f},          {"attn_v.weight", 0.0f, 10.0f},   {"attn_output.weight", 0.0f, 10.0f}};
constexpr std::array<std::string_view, 2> kFalconH1Unused = {"attn_output.bias", "rope_freqs.weight"};
// plamo2: its post norms and dt / B / C norms have no .weight suffix (all end in _norm).
constexpr std::array<SkeletonInit, 10> kPlamo2Inits = {
    SkeletonInit{"norm.weight", 1.0f, 1.0f}, {".scale", 1.0f, 0.0f},           {"ssm_in.weight", 0.0f, 10.0f},
    {"ssm_x.weight", 0.0f, 10.0f},           {"ssm_dt.weight", 0.0f, 10.0f},   {"ssm_conv1d.weight", 0.0f, 30.0f},
    {"ssm_a", -1.0f, 10.0f},                 {"ssm_d", 1.0f, 10.0f},           {"ssm_out.weight", 0.0f, 10.0f},
    {"_norm", 1.0f, 1.0f}};
// plamo2's graph passes no weight scale but attn_output's (its FFN's: ffn_scales).
constexpr std::array<std::string_view, 5> kPlamo2Unused = {"attn_qkv.scale", "ssm_in.scale", "ssm_x.scale",
                                                           "ssm_dt.scale", "ssm_out.scale"};

constexpr uint8_t kAllMoeKeys =
    moe_keys::kDenseLead | moe_keys::kWeightsScale | moe_keys::kWeightsNorm | moe_keys::kGatingFunc;

// Each row says only how the family differs from a plain llama block.
constexpr std::array kArchs = {
    ArchSpec{.name = "llama", .moe_norm_topk = true, .moe_if_experts = true, .rope_freqs = true, .ffn_scales = true,
             .expert_scales = true, .synth = true,
             .hf = {.classes = kLlamaClasses, .model_type = "llama", .permute_qk = true, .default_n_ctx = 2048,
                    .write_vocab_size = true, .export_attention_bias = true, .export_mlp_bias = true}},
    ArchSpec{.name = "qwen2", .rope = R::Neox, .qkv_bias = true, .synth = true,
             .hf = {.classes = kQwen2Classes, .model_type = "qwen2", .export_no_sliding_window = true}},
    ArchSpec{.name = "qwen3", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .ffn_scales = true, .synth = true,
             .head_tensors = kClassifierHead,
             .hf = {.classes = kQwen3Classes, .model_type = "qwen3", .export_attention_bias = true}},
    ArchSpec{.name = "qwen3moe", .rope = R::Neox, .qk_norm = QkNormKind::PerHead,
             .ffn = FfnKind::Moe, .moe_norm_topk = true, .expert_scales = true, .synth = true,
             .hf = {.classes = kQwen3MoeClasses, .model_type = "qwen3_moe", .export_attention_bias = true}},
    ArchSpec{.name = "gemma3", .post_norm = true, .rope = R::Neox, .qk_norm = QkNormKind::PerHead,
             .act = Activation::GeluTanh, .embd_scale = true, .sliding_window = true,
             .default_swa_pattern = 6, .default_rope_base = 1000000.0f, .final_softcap = true,
             .typical_swa_window = 512, .synth = true, .swa_rope_unscaled = true,
             .hf = {.classes = kGemma3Classes, .model_type = "gemma3_text", .norm_offset = 1.0f,
                    .default_rope_theta = 1000000.0, .default_n_ctx = 131072, .default_n_head = 8,
                    .default_n_head_kv = 4, .default_head_dim = 256, .write_head_dim = true,
                    .window = HfWindowKeys::LayerPattern}},
    // Per-layer head sizes, KV sharing across layers and per-layer inputs (gemma 3n's successor).
    ArchSpec{.name = "gemma4", .post_norm = true, .rope = R::Neox, .qk_norm = QkNormKind::PerHead,
             .act = Activation::GeluTanh, .embd_scale = true, .sliding_window = true, .final_softcap = true,
             .default_final_softcap = 30.0f, .synth = true, .per_layer_shapes = true, .v_from_k = true,
             .v_norm = true, .fixed_attn_scale = 1.0f, .layer_out_scale = true, .per_layer_inputs = true,
             .rope_freqs_global = true, .swa_rope_unscaled = true, .llamacpp_separate_qkv = true, .skeleton_inits = kGemma4Inits},
    ArchSpec{.name = "gemma", .rope = R::Neox, .act = Activation::GeluTanh, .embd_scale = true},
    ArchSpec{.name = "gemma2", .post_norm = true, .rope = R::Neox, .act = Activation::GeluTanh,
             .embd_scale = true, .sliding_window = true, .default_swa_pattern = 2, .default_rope_base_swa = 0.0f,
             .attn_softcap = true, .final_softcap = true, .default_final_softcap = 30.0f,
             .default_swa_window = 4096, .embd_head_scale_at_n_layer = 46,
             .typical_swa_window = 4096, .synth = true,
             .hf = {.classes = kGemma2Classes, .model_type = "gemma2", .norm_offset = 1.0f, .default_n_ctx = 8192,
                    .default_n_head = 8, .default_n_head_kv = 4, .default_head_dim = 256, .write_head_dim = true,
                    .window = HfWindowKeys::Alternating, .drops_lm_head = true}},
    ArchSpec{.name = "phi3", .rope = R::Neox, .gate_up_in_up = true,
             .hf = {.classes = kPhi3Classes, .model_type = "phi3", .native_fused = true, .default_rms_eps = 1e-5,
                    .default_n_ctx = 4096, .partial_rotary = true, .window = HfWindowKeys::Window}},
    ArchSpec{.name = "starcoder2", .norm = NormKind::Layer, .rope = R::Neox,
             .act = Activation::GeluTanh, .ffn = FfnKind::Plain},
    // Llama-block families that differ only in their converters and tokenizers.
    ArchSpec{.name = "mistral3", .moe_norm_topk = true, .moe_if_experts = true, .yarn_keys = true, .rope_freqs = true,
             .ffn_scales = true, .expert_scales = true},
    ArchSpec{.name = "internlm2"},
    ArchSpec{.name = "xverse"},
    ArchSpec{.name = "maincoder", .qk_norm = QkNormKind::PerHead},
    ArchSpec{.name = "orion", .norm = NormKind::Layer, .rope = R::Neox},
    ArchSpec{.name = "seed_oss", .rope = R::Neox, .ffn_norm = "post_attention_norm"},
    ArchSpec{.name = "arcee", .act = Activation::ReluSqr, .ffn = FfnKind::Plain, .rope_freqs = true},
    ArchSpec{.name = "granite", .moe_norm_topk = true, .moe_if_experts = true, .mup = Mup::Granite,
             .rope_freqs = true,
             .hf = {.classes = kGraniteClasses, .model_type = "granite", .permute_qk = true, .default_n_ctx = 2048,
                    .mup_multipliers = true, .head_dim_from_heads = true, .export_attention_bias = true,
                    .export_mlp_bias = true}},
    ArchSpec{.name = "granitemoe", .moe_norm_topk = true, .moe_if_experts = true, .mup = Mup::Granite,
             .rope_freqs = true},
    ArchSpec{.name = "smollm3", .no_rope_every = 4,
             .hf = {.classes = kSmolLM3Classes, .model_type = "smollm3", .permute_qk = true,
                    .default_rope_theta = 2000000.0, .no_rope_layers = true, .export_attention_bias = true,
                    .export_mlp_bias = true, .export_no_sliding_window = true}},
    ArchSpec{.name = "olmo", .norm = NormKind::Layer, .norm_params = false, .clamp_kqv = true},
    ArchSpec{.name = "olmoe", .rope = R::Neox, .qk_norm = QkNormKind::Full, .ffn = FfnKind::Moe,
             .unused_tensors = kBareQkv,
             .hf = {.classes = kOlmoeClasses, .model_type = "olmoe", .default_rms_eps = 1e-5, .default_n_ctx = 4096,
                    .experts_in_intermediate = true, .fixed_rms_eps = 1e-5, .export_attention_bias = true}},
    ArchSpec{.name = "qwen2moe", .rope = R::Neox, .ffn = FfnKind::Moe, .shared_expert_gate = true, .qkv_bias = true,
             .hf = {.classes = kQwen2MoeClasses, .model_type = "qwen2_moe", .export_no_sliding_window = true}},
    ArchSpec{.name = "phi2", .norm = NormKind::Layer, .rope = R::Neox, .parallel = Parallel::SharedNorm,
             .act = Activation::GeluTanh, .ffn = FfnKind::Plain},
    ArchSpec{.name = "gptneox", .norm = NormKind::Layer, .rope = R::Neox, .parallel = Parallel::OwnNorm,
             .parallel_by_key = true, .act = Activation::GeluTanh, .ffn = FfnKind::Plain},
    ArchSpec{.name = "stablelm", .norm = NormKind::Layer, .rope = R::Neox, .qk_norm = QkNormKind::PerHeadEach,
             .qk_norm_optional = true, .parallel = Parallel::SharedNorm, .parallel_if_no_ffn_norm = true},
    ArchSpec{.name = "command-r", .norm = NormKind::Layer, .qk_norm = QkNormKind::PerHeadEach,
             .qk_norm_optional = true, .parallel = Parallel::SharedNorm, .logit_scale_mult = true},
    ArchSpec{.name = "ernie4_5", .unused_tensors = kUnusedWoBias},
    ArchSpec{.name = "nanbeige", .rope_freqs = true, .looped = true, .ffn_scales = true},
    ArchSpec{.name = "pangu-embedded", .rope_freqs = true},
    ArchSpec{.name = "exaone4", .pre_norm = false, .post_norm = true, .rope = R::Neox, .qk_norm = QkNormKind::PerHead,
             .sliding_window = true, .default_swa_pattern = 4, .default_rope_base_swa = 0.0f, .nextn_layers = true,
             .rope_freqs = true, .default_swa_window = 4096, .swa_only_at_n_layer = 64, .rope_only_swa = true},
    ArchSpec{.name = "exaone", .rope = R::Neox, .rope_freqs = true},
    ArchSpec{.name = "phimoe", .norm_bias = true, .rope = R::Neox, .ffn = FfnKind::Moe, .moe_norm_topk = true},
    ArchSpec{.name = "olmo2", .pre_norm = false, .post_norm = true, .rope = R::Neox,
             .qk_norm = QkNormKind::Full, .unused_tensors = kBareQkv},
    // Vision-language models, text only: M-RoPE (text positions), deepstack adds zeros.
    ArchSpec{.name = "qwen2vl", .rope = R::Neox, .mrope = MRope::Sections, .unused_tensors = kUnusedOutputBias,
             .qkv_bias = true},
    ArchSpec{.name = "qwen3vl", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .mrope = MRope::Interleaved,
             .head_tensors = kClassifierHead},
    ArchSpec{.name = "qwen3vlmoe", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .ffn = FfnKind::Moe,
             .moe_norm_topk = true, .mrope = MRope::Interleaved},
    // Diffusion language models: one non-causal pass over the whole batch.
    ArchSpec{.name = "dream", .rope = R::Neox, .causal = false, .unused_tensors = kUnusedOutputBias, .qkv_bias = true},
    ArchSpec{.name = "llada", .causal = false, .unused_tensors = kUnusedRopeFreqsBiases},
    ArchSpec{.name = "llada-moe", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .ffn = FfnKind::Moe, .causal = false},
    ArchSpec{.name = "rnd1", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .ffn = FfnKind::Moe,
             .moe_norm_topk = true, .causal = false},
    ArchSpec{.name = "qwen", .rope = R::Neox, .n_ff_doubled = true},
    ArchSpec{.name = "minicpm", .moe_norm_topk = true, .moe_if_experts = true, .mup = Mup::MiniCpm, .rope_freqs = true},
    // ALiBi families.
    ArchSpec{.name = "baichuan", .alibi_bias = 8.0f, .alibi_only_at_n_layer = 40, .rope_only_at_n_layer = 32},
    ArchSpec{.name = "bloom", .norm = NormKind::Layer, .act = Activation::GeluTanh, .ffn = FfnKind::Plain,
             .alibi_bias = 8.0f, .embd_norm = true},
    ArchSpec{.name = "glm4", .post_norm = true, .mrope = MRope::SectionsIfSet, .nextn_layers = true},
    // DeepSeek-style MoE: leading dense blocks, shared experts, routing read from the file.
    ArchSpec{.name = "deepseek", .ffn = FfnKind::Moe,
             .moe_keys = moe_keys::kDenseLead | moe_keys::kWeightsScale},
    ArchSpec{.name = "glm4moe", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .qk_norm_optional = true,
             .ffn = FfnKind::Moe, .gating = ExpertGating::Sigmoid, .moe_keys = kAllMoeKeys,
             .mrope = MRope::SectionsIfSet, .nextn_layers = true, .ffn_norm = "post_attention_norm"},
    ArchSpec{.name = "dots1", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .ffn = FfnKind::Moe,
             .moe_keys = kAllMoeKeys},
    ArchSpec{.name = "bailingmoe", .ffn = FfnKind::Moe, .moe_keys = moe_keys::kWeightsScale | moe_keys::kWeightsNorm,
             .rope_freqs = true},
    ArchSpec{.name = "hunyuan-dense", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .qk_norm_after_rope = true,
             .rope_freqs = true},
    ArchSpec{.name = "hunyuan_vl", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .qk_norm_after_rope = true,
             .mrope = MRope::SectionsIfSet, .rope_freqs = true},
    ArchSpec{.name = "hunyuan-moe", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .qk_norm_after_rope = true,
             .ffn = FfnKind::Moe, .moe_norm_topk = true, .rope_freqs = true},
    ArchSpec{.name = "ernie4_5-moe", .ffn = FfnKind::Moe, .moe_norm_topk = true,
             .moe_keys = moe_keys::kDenseLead | moe_keys::kLayerStep, .unused_tensors = kUnusedWoBias},
    ArchSpec{.name = "dbrx", .norm = NormKind::Layer, .rope = R::Neox, .ffn = FfnKind::Moe, .moe_norm_topk = true,
             .clamp_kqv = true, .ffn_norm = "attn_output_norm"},
    ArchSpec{.name = "falcon", .norm = NormKind::Layer, .rope = R::Neox, .parallel = Parallel::SharedNorm,
             .attn_norm_2 = true, .act = Activation::GeluTanh, .ffn = FfnKind::Plain},
    ArchSpec{.name = "jais", .norm = NormKind::Layer, .alibi_by_key = true, .attn_scale_inv_head_dim = true},
    ArchSpec{.name = "nemotron", .norm = NormKind::Layer, .rope = R::Neox, .act = Activation::ReluSqr,
             .ffn = FfnKind::Plain},
    ArchSpec{.name = "jais2", .norm = NormKind::Layer, .rope = R::Neox, .act = Activation::ReluSqr,
             .ffn = FfnKind::Plain},
    ArchSpec{.name = "codeshell", .norm = NormKind::Layer, .rope = R::Neox, .act = Activation::GeluTanh,
             .ffn = FfnKind::Plain},
    ArchSpec{.name = "chatglm"},  // gate and up as one double-height ffn_up, found by shape
    ArchSpec{.name = "plamo", .rope = R::Neox, .parallel = Parallel::SharedNorm},
    ArchSpec{.name = "minimax-m2", .rope = R::Neox, .qk_norm = QkNormKind::Full, .ffn = FfnKind::Moe,
             .moe_norm_topk = true, .moe_keys = moe_keys::kGatingFunc, .unused_tensors = kBareQkv},
    ArchSpec{.name = "mpt", .norm = NormKind::Layer, .qk_norm = QkNormKind::Full, .qk_norm_optional = true,
             .qk_norm_only_with_q = true, .act = Activation::GeluTanh, .ffn = FfnKind::Plain, .alibi_by_key = true,
             .pos_embd = Presence::Optional, .clamp_kqv = true},
    // Multi-head latent attention (runtime/mla.cpp). mistral4's llama.cpp model is deepseek2's.
    ArchSpec{.name = "deepseek2", .ffn = FfnKind::Moe, .moe_keys = kAllMoeKeys, .mla = Mla::AbsorbedIfSet,
             .yarn_mscale_all_dims = true, .no_q_lora_at = kDeepseek2Lite, .nextn_layers = true,
             .synth = true},
    ArchSpec{.name = "mistral4", .ffn = FfnKind::Moe, .moe_keys = kAllMoeKeys, .mla = Mla::AbsorbedIfSet,
             .no_q_lora_at = kDeepseek2Lite, .nextn_layers = true},
    ArchSpec{.name = "minicpm3", .rope = R::Neox, .mup = Mup::MiniCpm3, .mla = Mla::Expanded},
    // Learned absolute positions.
    ArchSpec{.name = "gpt2", .norm = NormKind::Layer, .act = Activation::GeluTanh, .ffn = FfnKind::Plain,
             .pos_embd = Presence::Required},
    ArchSpec{.name = "starcoder", .norm = NormKind::Layer, .act = Activation::GeluTanh, .ffn = FfnKind::Plain,
             .pos_embd = Presence::Required},
    // Attention sinks, clamped SwiGLU experts with biases, softmax over the chosen experts.
    ArchSpec{.name = "gpt-oss", .rope = R::Neox, .act = Activation::SwigluOai, .ffn = FfnKind::Moe,
             .sliding_window = true, .default_swa_pattern = 2, .default_rope_base_swa = 0.0f,
             .gating = ExpertGating::SoftmaxWeight, .attn_sinks = true, .expert_biases = true,
             .ffn_norm = "post_attention_norm", .synth = true},
    // grok: µP-style multipliers, soft-capped scores, post-norms, a dense FFN beside the experts.
    ArchSpec{.name = "grok", .post_norm = true, .post_attn_norm = "attn_output_norm",
             .post_ffn_norm = "layer_output_norm", .post_ffn_norm_alt = "post_ffw_norm", .rope = R::Neox, .act = Activation::GeluTanh,
             .ffn = FfnKind::Moe, .moe_norm_topk = true, .moe_dense = MoeDense::ScaledSum, .mup = Mup::Grok,
             .yarn_keys = true},
    // arctic: a dense residual FFN, then the experts on the block's input.
    ArchSpec{.name = "arctic", .ffn = FfnKind::Moe, .moe_norm_topk = true, .moe_dense = MoeDense::Residual},
    ArchSpec{.name = "refact", .alibi_bias = 8.0f, .unused_tensors = kUnusedRopeFreqsBiases},
    // Chunked local attention, no-RoPE layers with temperature tuning, L2-normed Q/K, interleaved
    // MoE whose sigmoid gates weigh the experts' inputs, beside a shared expert.
    ArchSpec{.name = "llama4", .ffn = FfnKind::Moe, .gating = ExpertGating::Sigmoid, .moe_keys = moe_keys::kLayerStep,
             .rope_freqs = true, .fixed_window = FixedWindow::Chunked, .qk_l2_norm = true,
             .qk_l2_off_at_n_expert = 128, .moe_weight_input = true},
    // ReLU-gated experts routed from the block's input; fixed windows and no-RoPE layers.
    ArchSpec{.name = "smallthinker", .rope = R::Neox, .act = Activation::Relu, .ffn = FfnKind::Moe,
             .moe_norm_topk = true, .moe_keys = moe_keys::kGatingFunc, .fixed_window = FixedWindow::Sliding,
             .router_on_layer_input = true},
    // Per-layer head counts and FFN widths; deci's layers may lack attention, use a linear one,
    // or (no FFN) be dropped.
    ArchSpec{.name = "openelm", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .unused_tensors = kUnusedQkvScale,
             .per_layer_sizes = true},
    ArchSpec{.name = "deci", .rope_freqs = true, .per_layer_sizes = true, .per_layer_zero = true},
    // Hybrid: gated short-convolution layers (no KV heads) between attention layers, whose
    // optional window covers them all; the final norm is stored as token_embd_norm.
    ArchSpec{.name = "lfm2", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .sliding_window = true,
             .swa_all_layers = true, .per_layer_sizes = true, .skeleton_inits = kShortConvInits, .mixer = Mixer::ShortConv,
             .recurrent_layers = RecurrentLayers::NoKvHeads, .output_norm = "token_embd_norm"},
    // lfm2's layers with sigmoid-routed experts after the leading dense blocks (no window: its
    // llama.cpp loader reads none).
    ArchSpec{.name = "lfm2moe", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .ffn = FfnKind::Moe,
             .moe_norm_topk = true, .gating = ExpertGating::Sigmoid,
             .moe_keys = moe_keys::kDenseLead | moe_keys::kGatingFunc, .per_layer_sizes = true,
             .skeleton_inits = kShortConvInits, .mixer = Mixer::ShortConv, .recurrent_layers = RecurrentLayers::NoKvHeads,
             .output_norm = "token_embd_norm"},
    // Hybrids: gated delta-net layers (runtime/delta_net_layer.cpp) with every n-th layer full
    // attention with a gated Q; the pre-FFN norm is post_attention_norm.
    ArchSpec{.name = "qwen35", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .mrope = MRope::Interleaved,
             .nextn_layers = true, .ffn_scales = true, .unused_tensors = kUnusedQkvBiases,
             .ffn_norm = "post_attention_norm", .synth = true, .llamacpp_separate_qkv = true, .mixer = Mixer::DeltaNet,
             .recurrent_layers = RecurrentLayers::Interval, .delta_net = DeltaNetKind::Separate,
             .gated_q = true},
    ArchSpec{.name = "qwen35moe", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .ffn = FfnKind::Moe,
             .moe_norm_topk = true, .shared_expert_gate = true, .mrope = MRope::Interleaved, .nextn_layers = true,
             .expert_scales = true, .unused_tensors = kUnusedQkvBiases, .ffn_norm = "post_attention_norm",
             .llamacpp_separate_qkv = true, .mixer = Mixer::DeltaNet,
             .recurrent_layers = RecurrentLayers::Interval, .delta_net = DeltaNetKind::Separate, .gated_q = true,
             .shexp_scales = true},
    ArchSpec{.name = "qwen3next", .rope = R::Neox, .qk_norm = QkNormKind::PerHead, .ffn = FfnKind::Moe,
             .moe_norm_topk = true, .shared_expert_gate = true, .nextn_layers = true, .expert_scales = true,
             .unused_tensors = kUnusedQkvBiases, .ffn_norm = "post_attention_norm", .llamacpp_separate_qkv = true,
             .mixer = Mixer::DeltaNet, .recurrent_layers = RecurrentLayers::Interval,
             .delta_net = DeltaNetKind::PerKeyHead, .gated_q = true, .shexp_scales = true},
    // State-space models: every block is norm -> selective scan -> residual, without attention
    // or FFN (Mamba-1: per-channel A over d_state; Mamba-2: heads, groups, a gated group norm).
    ArchSpec{.name = "mamba", .ffn = FfnKind::None, .skeleton_inits = kMambaInits, .mixer = Mixer::Mamba1, .recurrent_layers = RecurrentLayers::All},
    ArchSpec{.name = "mamba2", .ffn = FfnKind::None, .skeleton_inits = kMambaInits, .mixer = Mixer::Mamba2, .recurrent_layers = RecurrentLayers::All},
    // Mamba-1 layers (no KV heads; dt, B and C RMS-normed with weights) between attention layers
    // without RoPE. With experts, the layers with a router (ffn_gate_inp) are mixtures of
    // feed_forward_length-wide experts: softmax over all, the chosen weights neither
    // renormalised nor scaled (llama.cpp's jamba loader reads no expert_weights_* key).
    ArchSpec{.name = "jamba", .moe_if_experts = true, .moe_by_router = true, .no_rope_every = 1,
             .per_layer_sizes = true, .skeleton_inits = kJambaInits, .mixer = Mixer::Mamba1,
             .recurrent_layers = RecurrentLayers::NoKvHeads},
    // Kimi delta attention layers (no KV heads) between latent-attention layers without RoPE
    // (always one attn_q, no q_lora_rank), deepseek2's sigmoid-routed experts with renormalised,
    // scaled weights and a shared expert after the leading dense blocks.
    ArchSpec{.name = "kimi-linear", .ffn = FfnKind::Moe, .moe_norm_topk = true, .gating = ExpertGating::Sigmoid,
             .moe_keys = moe_keys::kDenseLead | moe_keys::kWeightsScale | moe_keys::kGatingFunc,
             .mla = Mla::AbsorbedIfSet, .mla_q_lora = false, .no_rope_every = 1, .per_layer_sizes = true,
             .skeleton_inits = kKdaInits, .mixer = Mixer::Kda, .recurrent_layers = RecurrentLayers::NoKvHeads},
    // granite's µP block (biases, optional experts with shared ones) with Mamba-2 layers where
    // head_count_kv is 0.
    ArchSpec{.name = "granitehybrid", .moe_norm_topk = true, .moe_if_experts = true, .mup = Mup::Granite,
             .rope_freqs = true, .rope_finetuned_switch = true, .per_layer_sizes = true, .skeleton_inits = kGraniteHybridInits,
             .mixer = Mixer::Mamba2, .recurrent_layers = RecurrentLayers::NoKvHeads},
    // Mamba-2 layers, attention layers without RoPE and ReLU² FFN layers interleaved, each block
    // one sub-layer under attn_norm: feed_forward_length > 0 makes an FFN layer, else
    // head_count_kv 0 a Mamba-2 one. With expert_count > 0 every FFN layer is a mixture:
    // sigmoid router with selection bias, ungated ReLU² experts in an optional latent space
    // (moe_latent_size) and an ungated shared expert. Its graph passes the weight scales of the
    // dense FFN, the experts and the shared expert. The multi-token-prediction blocks
    // (nextn_predict_layers) are loaded and not run, as llama.cpp's forward pass.
    ArchSpec{.name = "nemotron_h", .act = Activation::ReluSqr, .ffn = FfnKind::Plain,
             .gating = ExpertGating::Sigmoid, .moe_keys = moe_keys::kWeightsScale | moe_keys::kWeightsNorm, .moe_if_experts = true,
             .nextn_layers = true, .no_rope_every = 1, .ffn_scales = true, .expert_scales = true, .per_layer_sizes = true,
             .skeleton_inits = kNemotronHInits, .mixer = Mixer::Mamba2, .recurrent_layers = RecurrentLayers::NoKvHeadsNoFfn,
             .single_sublayer = true, .shexp_scales = true, .moe_latent = true},
    // Attention (NeoX RoPE) and Mamba-2 side by side in every layer, then a gated SiLU FFN
    // whose norm is stored as blk.N.ffn_norm. Falcon-H1's µP multipliers are folded into the
    // weights by llama.cpp's converter; its graph reads none, nor attn_output.bias or rope_freqs.
    ArchSpec{.name = "falcon-h1", .rope = R::Neox, .unused_tensors = kFalconH1Unused, .ffn_norm_weight = "",
             .skeleton_inits = kFalconH1Inits, .mixer = Mixer::Mamba2, .recurrent_layers = RecurrentLayers::All,
             .attention_beside_mixer = true, .ssm_norm_optional = true},
    // PLaMo-2's Mamba layers (Mixer::Plamo2) where head_count_kv is 0, attention layers with a Q/K
    // norm per head; both sub-layers post-normed (norms stored without .weight); gate and up as
    // one double-height ffn_up.
    ArchSpec{.name = "plamo2", .post_norm = true, .post_attn_norm = "post_attention_norm",
             .post_ffn_norm = "post_ffw_norm", .post_norm_weight = "", .rope = R::Neox,
             .qk_norm = QkNormKind::PerHeadEach, .unused_tensors = kPlamo2Unused, .gate_up_in_up = true,
             .per_layer_sizes = true, .llamacpp_fused_qkv_only = true, .skeleton_inits = kPlamo2Inits,
             .mixer = Mixer::Plamo2,
             .recurrent_layers = RecurrentLayers::NoKvHeads},
    // llama.cpp's nemotron_h model under another name (its loader and graph are nemotron_h's).
    ArchSpec{.name = "nemotron_h_moe", .act = Activation::ReluSqr, .ffn = FfnKind::Plain,
             .gating = ExpertGating::Sigmoid, .moe_keys = moe_keys::kWeightsScale | moe_keys::kWeightsNorm, .moe_if_experts = true,
             .nextn_layers = true, .no_rope_every = 1, .ffn_scales = true, .expert_scales = true, .per_layer_sizes = true,
             .skeleton_inits = kNemotronHInits, .mixer = Mixer::Mamba2, .recurrent_layers = RecurrentLayers::NoKvHeadsNoFfn,
             .single_sublayer = true, .shexp_scales = true, .moe_latent = true},
};

constexpr std::array<std::string_view, 7> kLlamaCppGateUpExpsArchs = {
    "cohere2moe", "deepseek2", "deepseek2-ocr", "granite_swa", "hy_v3", "qwen35moe", "qwen3next"};

// llama.cpp's LLM_TYPE_70B: the families whose load_hparams give that size, and at which block
// count (llama only with grouped K/V heads; with n_head == n_head_kv it is the 65B).
struct LlamaCpp70B {
  std::string_view arch;
  int64_t n_layer;
  bool needs_gqa;
};
constexpr std::array<LlamaCpp70B, 5> kLlamaCpp70B = {{
    {"llama", 80, true}, {"qwen2", 80, false}, {"deci", 80, false}, {"olmo", 80, false}, {"jais2", 68, false}}};

// Latent-attention relatives whose attention is more than MLA (llama.cpp's src/models/).
constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kUnsupported = {{
    {"deepseek32", "DeepSeek sparse attention (an indexer picks the keys each query sees)"},
    {"glm-dsa", "DeepSeek sparse attention (an indexer picks the keys each query sees)"},
    {"kimi-k3", "cross-layer residual attention, the situ activation and KDA's gate lower bound (beyond kimi-linear's Kimi delta attention)"},
}};

template <typename Keep, typename Name>
std::string join_rows(Keep keep, Name name, std::string_view sep) {
  std::string s;
  for (const ArchSpec& a : kArchs)
    if (keep(a)) s += (s.empty() ? "" : std::string(sep)) + name(a);
  return s;
}

}  // namespace

const ArchSpec* find_arch(std::string_view name) {
  for (const ArchSpec& a : kArchs)
    if (a.name == name) return &a;
  return nullptr;
}

std::string_view unsupported_reason(std::string_view name) {
  for (const auto& [arch, why] : kUnsupported)
    if (arch == name) return why;
  return {};
}

const ArchSpec* find_arch_by_hf_class(std::string_view hf_class) {
  for (const ArchSpec& a : kArchs)
    for (std::string_view c : a.hf.classes)
      if (c == hf_class) return &a;
  return nullptr;
}

std::span<const ArchSpec> all_archs() { return kArchs; }

std::string supported_arch_names() {
  return join_rows([](const ArchSpec&) { return true; }, [](const ArchSpec& a) { return std::string(a.name); }, ", ");
}

std::string synth_arch_names() {
  return join_rows([](const ArchSpec& a) { return a.synth; }, [](const ArchSpec& a) { return std::string(a.name); },
                   ", ");
}

std::string supported_hf_archs() {
  return join_rows([](const ArchSpec& a) { return a.has_hf(); },
                   [](const ArchSpec& a) {
                     std::string s;
                     for (size_t i = 0; i < a.hf.classes.size(); ++i) s += (i ? ", " : "") + std::string(a.hf.classes[i]);
                     return s + " (" + std::string(a.name) + ")";
                   },
                   "; ");
}

bool llamacpp_reads_gate_up_exps(std::string_view arch) {
  for (std::string_view a : kLlamaCppGateUpExpsArchs)
    if (a == arch) return true;
  return false;
}

bool llamacpp_reads_fused_qkv(std::string_view arch) {
  const ArchSpec* a = find_arch(arch);
  return !(a && a->llamacpp_separate_qkv);
}

bool llamacpp_reads_separate_qkv(std::string_view arch) {
  const ArchSpec* a = find_arch(arch);
  return !(a && a->llamacpp_fused_qkv_only);
}

bool llamacpp_dense_gate_up_in_up(std::string_view arch) {
  const ArchSpec* a = find_arch(arch);
  return a && a->gate_up_in_up;
}

LlamaCppQuantFacts llamacpp_quant_facts(std::string_view arch, int64_t n_layer, int64_t n_head, int64_t n_head_kv) {
  LlamaCppQuantFacts f;
  f.falcon = arch == "falcon";
  f.mxfp4_experts_only = arch == "bailingmoe3";
  for (const LlamaCpp70B& r : kLlamaCpp70B)
    if (r.arch == arch && r.n_layer == n_layer && (!r.needs_gqa || n_head != n_head_kv)) f.is_70b = true;
  return f;
}

}  // namespace trident
