// Architectures are data: one row per GGUF `general.architecture` — the registry. Every tool
// reads the same row: the loader and the generic block (runtime/session.cpp), the Hugging Face
// converter and exporter (convert/hf_*), synth, fuse/unfuse and inspect. Nothing else tests
// architecture names.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "kernels/ops.h"
#include "kernels/recurrent.h"

namespace trident {

enum class NormKind : uint8_t { Rms, Layer };
// Q/K norms. PerHead: one [head_dim] weight for every head; PerHeadEach: a [head_dim, n_head]
// weight, each head its own row (command-r, stablelm); Full: over the whole [n_head * head_dim].
enum class QkNormKind : uint8_t { None, PerHead, PerHeadEach, Full };
// Attention and FFN side by side on the block input, x + attn(n1(x)) + ffn(n2(x)): SharedNorm
// uses one norm for both (phi2, command-r), OwnNorm a second (ffn_norm) on x (gptneox).
enum class Parallel : uint8_t { None, SharedNorm, OwnNorm };
// µP multipliers (embedding, residual, logit): granite reads them (logit_scale required,
// attention.scale too); minicpm reads the three with its own defaults when absent. Grok reads
// embedding_scale, attention.output_scale (its only score scale, inside the soft-cap),
// attn_logit_softcapping, logit_scale (a multiplier, before final_logit_softcapping), each
// with grok-1's value when absent. MiniCpm3: llama.cpp's minicpm3 graph fixes the three
// (embeddings x 12, residuals x 1.4 / sqrt(n_layer), logits x 256 / n_embd) and reads no key.
enum class Mup : uint8_t { None, Granite, MiniCpm, Grok, MiniCpm3 };
// Multi-head latent attention (DeepSeek V2): Q through an optional low-rank pair (attn_q_a,
// attn_q_a_norm, attn_q_b), K and V from one compressed latent (attn_kv_a_mqa, attn_kv_a_norm)
// plus a single roped key part shared by the heads. Expanded: attn_kv_b up-projects the latent
// to per-head keys and values, and attention is ordinary multi-head (minicpm3, and deepseek2
// files without the MLA key lengths). AbsorbedIfSet: when the file sets
// attention.key_length_mla / value_length_mla, attn_k_b is absorbed into the queries,
// attention runs over the latent cache, and attn_v_b up-projects its output (runtime/mla.cpp).
enum class Mla : uint8_t { None, Expanded, AbsorbedIfSet };
// Multi-axis RoPE of vision-language models (rope.dimension_sections: time, height, width,
// extra). A text token has all positions equal but the extra one, which is 0, so the pairs of
// the extra section do not rotate. Sections: contiguous (qwen2vl); Interleaved (qwen3vl).
// SectionsIfSet: M-RoPE with the NeoX layout when the file's first two sections are set, else
// the row's plain RoPE (glm4, glm4moe).
enum class MRope : uint8_t { None, Sections, Interleaved, SectionsIfSet };
enum class Presence : uint8_t { None, Optional, Required };
// How the router's logits become expert weights (llama.cpp's expert_gating_func: 1, 2, 3).
enum class ExpertGating : uint8_t { Softmax = 1, Sigmoid = 2, SoftmaxWeight = 3 };
// MoE keys a family's loader reads (a bit set): leading_dense_block_count,
// expert_weights_scale, expert_weights_norm, expert_gating_func, interleave_moe_layer_step
// (required: every step-th block is MoE, ernie4_5-moe).
namespace moe_keys {
inline constexpr uint8_t kDenseLead = 1, kWeightsScale = 2, kWeightsNorm = 4, kGatingFunc = 8, kLayerStep = 16;
}
// A dense FFN beside the routed experts of a MoE layer. ScaledSum (grok): present or not per
// layer, on the experts' input; (dense + experts) * sqrt(2) / 2. Residual (arctic): required,
// n_embd wide, the layer's FFN sub-layer; the experts then read the block's input through
// their own norm (ffn_norm_exps) and add to the residual last.
enum class MoeDense : uint8_t { None, ScaledSum, Residual };
// Relu gated: relu(gate) * up. SwigluOai: gpt-oss's clamped SwiGLU (kernels/ops.h swiglu_oai),
// gated FFNs only.
enum class Activation : uint8_t { Silu, GeluTanh, ReluSqr, Relu, SwigluOai };
// None: the blocks have no feed-forward sub-layer (mamba: the mixer is the whole block).
// A Plain row's routed and shared experts are plain too (up, act, down: nemotron_h's ReLU²).
enum class FfnKind : uint8_t { Gated, Plain, Moe, None };
// What mixes tokens in a layer: attention over the K/V cache, or a recurrent block carrying a
// per-sequence state (runtime/recurrent_layers.cpp): LFM2's gated short convolution, Mamba-1's
// and Mamba-2's selective scans, the gated delta rule (Qwen3-Next / Qwen3.5). Plamo2: Mamba-2's
// per-head scan (one group of B and C) fed Mamba-1's projections (ssm_x gives dt, B and C, each
// RMS-normed with a weight; ssm_dt maps dt to the heads), no convolution bias, no group norm.
// Kda: Kimi delta attention (kimi-linear; runtime/kda_layer.cpp), the delta rule with a decay
// per key channel, short convolutions on q, k and v, and a sigmoid-gated output norm.
enum class Mixer : uint8_t { Attention, ShortConv, Mamba1, Mamba2, DeltaNet, Plamo2, Kda };
// Which layers run the row's recurrent mixer, as the family's llama.cpp loader decides
// (is_recr): None; All; NoKvHeads, the layers whose attention.head_count_kv (a per-layer array)
// is 0 (lfm2, jamba, granitehybrid); NoKvHeadsNoFfn, those whose head_count_kv and
// feed_forward_length (per-layer arrays) are both 0 (nemotron_h); Interval, all but every
// full_attention_interval-th layer (1-based, default 4) unless attention.recurrent_layers lists
// them per layer (qwen3next).
enum class RecurrentLayers : uint8_t { None, All, NoKvHeads, NoKvHeadsNoFfn, Interval };
// Windows whose size llama.cpp's loader fixes: attention.sliding_window only says whether
// (absent or > 0) the layers follow a local / global pattern (attention.sliding_window_pattern,
// default 4); so is the pattern of the layers without RoPE.
enum class FixedWindow : uint8_t {
  None,
  // llama4: the first pattern - 1 layers of each pattern attend within chunks of 8192
  // positions; every 4th layer (1-based) has no RoPE and tunes the attention temperature.
  // Without windows (the key at 0) only the last layer skips RoPE, as llama.cpp's
  // n_no_rope_layer_step = n_layer gives.
  Chunked,
  // smallthinker: all but every pattern-th layer (0-based, from the first) use a window of
  // 4096; every 4th layer (0-based, from the first) has no RoPE. Without windows all rope.
  Sliding,
};
// Gated delta-net layers (linear attention with a recurrent state, docs/recurrent.md) between
// full-attention ones; attention.recurrent_layers (or full_attention_interval, default 4) says
// which. Their input projections, as llama.cpp reads them:
//   Separate (qwen35, qwen35moe): attn_qkv, attn_gate (z), ssm_beta, ssm_alpha, each with its
//     weight scale, like ssm_out's; value head h reads key head h % n_k_heads.
//   PerKeyHead (qwen3next): attn_qkv and attn_gate, or the older ssm_in holding per key head
//     [q, k, v, z]; ssm_ba holding per key head [beta, alpha]; no weight scales on these nor on
//     ssm_out; value head h reads key head h / (n_v_heads / n_k_heads).
enum class DeltaNetKind : uint8_t { None, Separate, PerKeyHead };

// How a family's HF config describes sliding-window attention.
enum class HfWindowKeys : uint8_t {
  None,
  Window,       // `sliding_window` on every layer, written as attention.sliding_window even when 0 (phi3)
  LayerPattern,  // `sliding_window` + `sliding_window_pattern` / `layer_types`, `rope_local_base_freq`,
                 // logit soft-capping keys (gemma3)
  Alternating    // `sliding_window` on every other layer, `attn_logit_softcapping` and
                 // `final_logit_softcapping`, all three required as llama.cpp's converter reads them (gemma2)
};

// How the family's Hugging Face checkpoints look (convert, export-hf). Empty `classes`: the
// family has no HF converter.
struct HfFacts {
  std::span<const std::string_view> classes;  // config "architectures"; [0] is written by export
  std::string_view model_type;                // config "model_type" written by export
  bool permute_qk = false;       // HF stores Q/K rows rotate-half; GGUF llama wants interleaved pairs
  bool native_fused = false;     // HF itself stores qkv_proj and gate_up_proj fused (phi3)
  float norm_offset = 0.0f;      // HF stores w - offset for norm weights (gemma: 1)
  // transformers' defaults for keys a config.json may omit
  double default_rms_eps = 1e-6;
  double default_rope_theta = 10000.0;
  int64_t default_n_ctx = 32768;
  int64_t default_n_head = 0, default_n_head_kv = 0, default_head_dim = 0;  // 0: required / derived
  bool write_head_dim = false;   // always write attention.key_length (its converter does)
  bool write_vocab_size = false; // <arch>.vocab_size (llama's converter writes it)
  bool partial_rotary = false;   // partial_rotary_factor and a top-level original_max_position_embeddings
  HfWindowKeys window = HfWindowKeys::None;
  bool mup_multipliers = false;  // attention/embedding/residual_multiplier, logits_scaling (granite)
  bool head_dim_from_heads = false;  // config head_dim must be hidden_size / heads (granite's converter drops it)
  bool no_rope_layers = false;   // no_rope_layers (1: RoPE), which must follow the row's no_rope_every (smollm3)
  bool experts_in_intermediate = false;  // intermediate_size is each expert's width, no dense FFN (olmoe)
  double fixed_rms_eps = 0;      // written whatever the config says (olmoe's converter: 1e-5); 0: the config's
  bool drops_lm_head = false;    // its converter skips lm_head.weight: the output is the embeddings (gemma2)
  // config.json keys export writes as its transformers class expects them
  bool export_attention_bias = false, export_mlp_bias = false, export_no_sliding_window = false;
};

// A model size by block count and vocabulary size (0: any).
struct LayerVocab {
  int64_t n_layer = 0, n_vocab = 0;
};

// A value synth's skeleton filler gives tensors whose name ends with `suffix` (the last that
// matches) instead of the random draw (normal, std 0.01) that would break the model:
// value + scale * that draw (rope factors, per-layer output scales, norms of a family whose
// block multiplies them together).
// scale multiplies the draw: llama.cpp's random models draw every weight at std 0.01 with norms
// around 0, under which a recurrent mixer's output vanishes against the residual (zeroing it
// left their logits unchanged), so their fixtures use unit norms and larger mixer weights.
struct SkeletonInit {
  std::string_view suffix;
  float value = 1.0f;
  float scale = 1.0f;
};

struct ArchSpec {
  std::string_view name;
  NormKind norm = NormKind::Rms;
  bool pre_norm = true;    // attn_norm / ffn_norm before each sub-layer
  bool norm_params = true; // norms have weight tensors (olmo's LayerNorms have none)
  bool norm_bias = false;  // RMS norms with optional `.bias` tensors (phimoe); LayerNorms always read them
  bool post_norm = false;  // a norm on each sub-layer's output, before its residual add
  std::string_view post_attn_norm = "post_attention_norm";  // their tensors (grok: attn_output_norm)
  std::string_view post_ffn_norm = "post_ffw_norm";
  std::string_view post_ffn_norm_alt = "";  // read when post_ffn_norm is absent (grok: post_ffw_norm)
  std::string_view post_norm_weight = ".weight";  // the post norms' weight suffix (plamo2: none)
  RopeLayout rope = RopeLayout::Adjacent;
  QkNormKind qk_norm = QkNormKind::None;
  bool qk_norm_optional = false;  // the Q/K norm tensors may be absent (stablelm)
  bool qk_norm_only_with_q = false;  // attn_k_norm alone is loaded and unused (mpt)
  bool qk_norm_after_rope = false;  // the Q/K norms apply to the rotated Q and K (hunyuan)
  Parallel parallel = Parallel::None;
  // A layer with attn_norm_2 norms the attention's input with it and the FFN's with attn_norm
  // (falcon 40B); without it the two share attn_norm.
  bool attn_norm_2 = false;
  bool parallel_by_key = false;          // use_parallel_residual says whether (gptneox)
  bool parallel_if_no_ffn_norm = false;  // parallel exactly when a layer has no ffn_norm (stablelm)
  Activation act = Activation::Silu;
  FfnKind ffn = FfnKind::Gated;
  bool embd_scale = false;      // embeddings times sqrt(n_embd) (gemma)
  bool sliding_window = false;  // layers alternate local (windowed) and global attention
  int default_swa_pattern = 0;  // every n-th layer is global when the file has no pattern key
  float default_rope_base = 10000.0f;
  float default_rope_base_swa = 10000.0f;  // 0: the global base (rope.freq_base)
  bool moe_norm_topk = false;   // renormalise the chosen experts' weights to sum to 1
  ExpertGating gating = ExpertGating::Softmax;  // when the file does not say (kGatingFunc)
  uint8_t moe_keys = 0;
  MoeDense moe_dense = MoeDense::None;
  bool shared_expert_gate = false;  // shared experts weighed by sigmoid(x . ffn_gate_inp_shexp) (qwen2moe)
  bool moe_if_experts = false;  // a dense family whose files may be MoE: expert_count > 0 (llama, mistral3)
  // With experts, a layer is a mixture exactly when it has a router (blk.N.ffn_gate_inp), the
  // others dense (jamba).
  bool moe_by_router = false;
  bool logit_scale_mult = false;  // logits times logit_scale (command-r; 0 means none)
  Mup mup = Mup::None;
  Mla mla = Mla::None;
  // YaRN's attention factor with rope.scaling.yarn_log_multiplier as both mscale and
  // mscale_all_dim (llama.cpp special-cases DEEPSEEK2 only; mistral4 keeps mscale 1).
  bool yarn_mscale_all_dims = false;
  // llama.cpp's loader reads the family's own YaRN keys (rope.scaling.yarn_beta_fast, _slow,
  // yarn_log_multiplier, ext / attn factors; grok also moves beta_fast to 8): YaRN files of
  // these families are refused until those are followed (grok, mistral3).
  bool yarn_keys = false;
  // Sizes at which the loader reads no attention.q_lora_rank and Q is one attn_q (deepseek2:
  // DeepSeek-V2-Lite, GigaChat3, Kanana-2); elsewhere the key is required.
  std::span<const LayerVocab> no_q_lora_at{};
  bool mla_q_lora = true;  // false: no attention.q_lora_rank read at any size, Q is one attn_q (kimi-linear)
  MRope mrope = MRope::None;
  // Reads nextn_predict_layers: the last that many blocks are multi-token-prediction layers,
  // which llama.cpp loads and never runs (glm4, exaone4).
  bool nextn_layers = false;
  bool causal = true;           // false: every token of a batch sees all of it (diffusion LMs: dream, llada)
  bool n_ff_doubled = false;    // feed_forward_length is twice the FFN's width (qwen)
  // ALiBi instead of RoPE: a fixed maximum bias (bloom, refact: 8), or attention.max_alibi_bias
  // (mpt, jais; 0: none), applied only at this block count when set (baichuan: 40, its 13B).
  float alibi_bias = 0.0f;
  bool alibi_by_key = false;
  bool attn_scale_inv_head_dim = false;  // queries scaled by 1 / head_dim, not its square root (jais)
  int64_t alibi_only_at_n_layer = 0;
  int64_t rope_only_at_n_layer = 0;  // RoPE only at this block count (baichuan: 32, its 7B)
  bool embd_norm = false;        // a LayerNorm on the embeddings (token_embd_norm: bloom)
  Presence pos_embd = Presence::None;  // learned absolute positions, position_embd (gpt2; mpt: optional)
  int no_rope_every = 0;        // every n-th layer (1-based) skips RoPE (smollm3: 4)
  bool rope_freqs = false;      // RoPE divides by a rope_freqs.weight tensor when present (llama 3 scaling)
  // Logit soft-capping, cap * tanh(x / cap): attention scores (gemma2 reads attn_logit_softcapping,
  // default 50) and output logits (final_logit_softcapping; 0 means none).
  bool attn_softcap = false;
  bool final_softcap = false;
  float default_final_softcap = 0.0f;
  int64_t default_swa_window = 0;   // attention.sliding_window when the file has none (gemma2: 4096)
  bool swa_all_layers = false;      // a window (> 0) applies to every attention layer; no pattern key (lfm2)
  bool rope_finetuned_switch = false;  // rope.scaling.finetuned false (default true) means no RoPE (granitehybrid)
  int64_t swa_only_at_n_layer = 0;  // windowed only at this block count (exaone4: 64, its 32B)
  bool rope_only_swa = false;       // a windowed model ropes only its windowed layers (exaone4)
  bool looped = false;              // reads num_loops: the layers run that many times (nanbeige)
  // Queries scale by 1 / sqrt(n_embd / n_head) instead of 1 / sqrt(head_dim) at this block
  // count (gemma2 27B, as llama.cpp decides by model size).
  int64_t embd_head_scale_at_n_layer = 0;
  // Whether llama.cpp's graph for the family passes the `.scale` tensors of the dense FFN to
  // build_ffn (llama, qwen3) and those of the routed experts to build_moe_ffn (llama,
  // qwen3moe). Most graphs pass neither: their loader reads the tensors and they change nothing.
  // (No family passes router scales; shexp_scales below says which pass the shared experts'.)
  bool ffn_scales = false;
  bool expert_scales = false;
  // Tensors llama.cpp loads for this family and its graph never reads (olmoe's Q/K/V biases and
  // scales, ernie4_5's attn_output.bias): per layer, the name after "blk.N.", or a whole name
  // (llada's rope_freqs.weight). They are accepted and change nothing.
  std::span<const std::string_view> unused_tensors{};
  // gpt-oss: a learned logit per head (attn_sinks) joins each softmax's denominator, and the
  // routed experts have biases (ffn_{gate,up,down}_exps.bias, [width, n_expert]).
  bool attn_sinks = false;
  bool expert_biases = false;
  bool clamp_kqv = false;       // reads attention.clamp_kqv: Q, K, V clamped to [-c, c] (0: none)
  bool gate_up_in_up = false;   // llama.cpp stores dense gate + up as one double-height ffn_up (phi3)
  std::string_view ffn_norm = "ffn_norm";  // the pre-FFN norm's tensor (seed_oss: post_attention_norm)
  std::string_view ffn_norm_weight = ".weight";  // its weight's suffix (falcon-h1: none, blk.N.ffn_norm)
  // The family's real checkpoints (synth writes them so; the loader detects by presence).
  bool qkv_bias = false;        // Q/K/V biases (qwen2)
  int64_t typical_swa_window = 0;
  bool synth = false;           // synth can lay out this family's tensors
  FixedWindow fixed_window = FixedWindow::None;
  // Unweighted RMS norm of each Q and K head after RoPE on the roped layers (llama4's L2 norm),
  // except at this expert count (llama.cpp: not for its 128-expert model).
  bool qk_l2_norm = false;
  int64_t qk_l2_off_at_n_expert = 0;
  // llama4: experts are chosen by the raw router logits and each expert's input (not output)
  // is multiplied by its gate value.
  bool moe_weight_input = false;
  bool router_on_layer_input = false;  // the router reads the block's input, not the normed FFN input (smallthinker)
  // attention.head_count, head_count_kv and feed_forward_length may be per-layer arrays
  // (openelm, deci). With per_layer_zero a 0 means: no attention (heads), a linear
  // n_embd x n_embd attn_output on the normed input instead (KV heads), no layer at all (FFN,
  // as llama.cpp's deci graph drops it).
  bool per_layer_sizes = false;
  bool per_layer_zero = false;
  // Tensors llama.cpp loads for a classifier / reranker head, which generation does not read.
  std::span<const std::string_view> head_tensors{};
  // Per-layer shapes (gemma4), in the same HParams::layer_sizes: head_count, head_count_kv and
  // feed_forward_length may be per-layer arrays; windowed layers have their own head size and rotary count
  // (attention.key_length_swa, rope.dimension_count_swa); attention.sliding_window_pattern is
  // a per-layer array (required, as is attention.sliding_window); the last
  // attention.shared_kv_layers layers attend to an earlier layer's K/V cache instead of their own.
  bool per_layer_shapes = false;
  bool v_from_k = false;         // a layer without attn_v uses its K projection as V (gemma4)
  bool v_norm = false;           // V is RMS-normed per head without a weight (gemma4)
  float fixed_attn_scale = 0.0f; // queries scaled by this, not 1 / sqrt(head_dim) (gemma4: 1, its Q norm scales)
  bool layer_out_scale = false;  // an optional blk.N.layer_output_scale [1] multiplies the layer's output
  // Per-layer inputs (runtime/per_layer_inputs.cpp): embedding_length_per_layer_input (required;
  // 0: none) wide rows per layer from per_layer_token_embd and per_layer_model_proj, gated
  // into each layer's output (gemma4).
  bool per_layer_inputs = false;
  bool rope_freqs_global = false;  // rope_freqs.weight applies to global layers only, required when one exists
  // Windowed layers rope without the file's linear scaling: llama.cpp's get_rope_freq_scale
  // gives them rope_freq_scale_train_swa, 1 unless the family's loader copies the trained scale
  // (gemma2, exaone4, olmo2, gpt-oss, llama4 and smallthinker do; gemma3 and gemma4 do not).
  bool swa_rope_unscaled = false;
  bool llamacpp_separate_qkv = false;  // llama.cpp's loader reads attn_q/k/v only, never attn_qkv (gemma4)
  bool llamacpp_fused_qkv_only = false;  // llama.cpp's loader reads attn_qkv only, never attn_q/k/v (plamo2)
  std::span<const SkeletonInit> skeleton_inits{};
  // Recurrent layers: which mixer (kernels/recurrent.h) and on which layers; the others attend.
  Mixer mixer = Mixer::Attention;
  RecurrentLayers recurrent_layers = RecurrentLayers::None;
  std::string_view output_norm = "output_norm";  // the final norm's tensor (lfm2: token_embd_norm)
  // Each block is one sub-layer under attn_norm (nemotron_h): a layer whose
  // feed_forward_length is > 0 is that FFN alone (no attention, no K/V cache, whatever its head
  // counts say); the others are their mixer alone (attention, or the recurrent one), no FFN.
  bool single_sublayer = false;
  // Attention and the recurrent mixer side by side in every layer (falcon-h1): both read the
  // normed input and their outputs are summed into the residual; the layers keep their heads
  // and K/V cache.
  bool attention_beside_mixer = false;
  bool ssm_norm_optional = false;  // Mamba-2's grouped norm may be absent: no norm (falcon-h1)
  DeltaNetKind delta_net = DeltaNetKind::None;
  // The attention's Q projection is twice as wide: per head head_dim queries, then head_dim
  // gate values; the attention's output is multiplied by their sigmoid (qwen3next, qwen35).
  bool gated_q = false;
  bool shexp_scales = false;  // the shared experts' weight scales apply (qwen3next, qwen35moe)
  // The routed experts may run in a narrower latent space (nemotron_h): moe_latent_size (0 or
  // absent: n_embd) is their width; ffn_latent_down maps the expert input into it and
  // ffn_latent_up maps their weighted sum back, both required when it differs from n_embd.
  bool moe_latent = false;
  HfFacts hf{};

  bool moe() const { return ffn == FfnKind::Moe; }
  bool recurrent() const { return recurrent_layers != RecurrentLayers::None; }
  bool has_hf() const { return !hf.classes.empty(); }
};

// nullptr when unsupported.
const ArchSpec* find_arch(std::string_view name);
// Why a known architecture trident does not run is refused ("" when none is recorded).
std::string_view unsupported_reason(std::string_view name);
// The row whose HF classes include `hf_class`, or nullptr.
const ArchSpec* find_arch_by_hf_class(std::string_view hf_class);
std::span<const ArchSpec> all_archs();
// "llama, qwen2, ..." for error messages.
std::string supported_arch_names();
// "LlamaForCausalLM, MistralForCausalLM (llama); Qwen2ForCausalLM (qwen2); ..."
std::string supported_hf_archs();
// Architectures synth can write ("llama, qwen2, ...").
std::string synth_arch_names();

// Whether llama.cpp (at 3f545bec, src/models/*.cpp via create_tensor_gate_up_exps) reads an
// `ffn_gate_up_exps` tensor for this architecture; others need the separate tensors. Covers
// families trident does not run too, since `fuse` rewrites files for llama.cpp as well.
bool llamacpp_reads_gate_up_exps(std::string_view arch);
// Whether llama.cpp's loader accepts a fused `attn_qkv` for this architecture (false for rows
// with llamacpp_separate_qkv; true otherwise, as create_tensor_qkv reads it).
bool llamacpp_reads_fused_qkv(std::string_view arch);
// Whether llama.cpp's loader accepts separate `attn_q/k/v` for this architecture (false for rows
// with llamacpp_fused_qkv_only: unfuse leaves their attn_qkv).
bool llamacpp_reads_separate_qkv(std::string_view arch);
// Whether llama.cpp stores this family's dense gate and up as one double-height `ffn_up`.
bool llamacpp_dense_gate_up_in_up(std::string_view arch);

// What llama-quantize's per-tensor rules (src/llama-quant.cpp at 3f545bec) know of a family.
struct LlamaCppQuantFacts {
  bool falcon = false;              // falcon's own attn_output / ffn_down / output rules
  bool is_70b = false;              // LLM_TYPE_70B: attn_v gets more bits
  bool mxfp4_experts_only = false;  // MXFP4_MOE: only FFN expert stacks are MXFP4 (bailingmoe3)
};
LlamaCppQuantFacts llamacpp_quant_facts(std::string_view arch, int64_t n_layer, int64_t n_head, int64_t n_head_kv);

}  // namespace trident
