// Synthetic GGUF models: shapes table, tensor plan, tokenizer metadata and streamed random
// weights. See synth.h for the determinism and scaling rules.
#include "convert/synth.h"

#include <fmt/format.h>
#include <immintrin.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <numbers>

#include "convert/synth_random.h"
#include "format/error.h"
#include "format/gguf_writer.h"
#include "kernels/dispatch.h"
#include "kernels/thread_pool.h"
#include "model/arch.h"
#include "tensor/quant_fns.h"
#include "tensor/types.h"

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
};

constexpr std::array kTypes = {QuantMix::F32, QuantMix::F16, QuantMix::Q8_0, QuantMix::Q4_0, QuantMix::Q4_K_M};

template <typename Range, typename Name>
std::string join_names(const Range& r, Name name) {
  std::string s;
  for (const auto& x : r) s += (s.empty() ? "" : ", ") + std::string(name(x));
  return s;
}

// How a tensor's values are drawn.
enum class Init : uint8_t {
  Matrix,    // normal-ish, std = scale
  Norm,      // scale * (1 + 5% noise)
  Bias,      // normal-ish, std = scale
  RopeFreqs, // Llama 3 frequency factors (computed, not random)
  One        // 1 (gemma4's rope factors without scaling, its per-layer output scales)
};

struct Planned {
  SynthTensor t;
  Init init = Init::Matrix;
  float scale = 1.0f;
};

struct Resolved {
  const SynthShape* shape = nullptr;
  const ArchSpec* arch = nullptr;
  SynthType type = SynthType::F16;
  int64_t n_vocab = 0, n_layer = 0;
  bool moe = false;
};

Resolved resolve(const SynthOptions& opt) {
  Resolved r;
  r.shape = find_synth_shape(opt.shape);
  if (!r.shape) fail("--shape: unknown shape '{}' (valid: {})", opt.shape, synth_shape_names());
  const std::string_view arch = opt.arch.empty() ? r.shape->arch : std::string_view(opt.arch);
  r.arch = find_arch(arch);
  if (!r.arch || !r.arch->synth) fail("--arch: unknown architecture '{}' (valid: {})", arch, synth_arch_names());
  r.moe = r.arch->ffn == FfnKind::Moe;
  if (r.moe && r.shape->n_expert == 0)
    fail("--arch: {} is a mixture-of-experts architecture but shape '{}' has no experts", arch, r.shape->name);
  r.type = opt.type;
  r.n_vocab = opt.n_vocab ? opt.n_vocab : r.shape->n_vocab;
  // 3 special tokens and 256 byte tokens are the least a byte-fallback vocabulary holds.
  if (r.n_vocab < 259 || r.n_vocab > (int64_t(1) << 24))
    fail("--vocab: expected 259 to {} tokens, found {}", int64_t(1) << 24, r.n_vocab);
  r.n_layer = opt.n_layer ? opt.n_layer : r.shape->n_layer;
  if (r.n_layer < 1 || r.n_layer > 1024) fail("--layers: expected 1 to 1024 layers, found {}", r.n_layer);
  // Shared layers read the caches of the last two that have their own: a windowed, then a global one.
  if (r.arch->per_layer_shapes) {
    const int64_t kv_from = r.n_layer - r.shape->n_kv_shared, every = r.shape->swa_every;
    if (every < 2)
      fail("--arch: {} lays out layers by a window pattern, which shape '{}' does not give (use a {} shape)", arch,
           r.shape->name, arch);
    if (kv_from < 2 || kv_from % every != 0)
      fail("--layers: shape '{}' needs {} layers with their own K/V ending on a global layer (every {}th), found {}",
           r.shape->name, kv_from, every, r.n_layer);
  }
  return r;
}

// The mix of convert/quant_mix.h, "pure" for the single-type mixes (llama-quantize would make a
// q4_0 file's output q6_K; here every matrix is the one type, so the file's speed is that
// type's); q4_k_m keeps llama-quantize's per-tensor rules, which are what makes it q4_k_m.
GgmlType tensor_type(const Resolved& r, const std::string& name, WeightRole role, int64_t layer, int64_t row_len) {
  if (role == WeightRole::Router) return GgmlType::F32;  // llama-quantize never converts the router
  MixModel m;
  m.n_layer = r.n_layer;
  m.n_gqa = r.shape->n_head_kv > 0 ? r.shape->n_head / r.shape->n_head_kv : 0;
  m.n_expert = r.moe ? r.shape->n_expert : 0;
  m.tied_output = r.shape->tied_output;
  return mix_tensor_type(r.type, m, r.type != QuantMix::Q4_K_M, name, layer, row_len);
}

// One layer's attention and FFN shape as synth lays it out.
struct SynthLayer {
  bool swa = false, has_kv = true, has_v = true;
  int64_t head_dim = 0, n_head_kv = 0, n_ff = 0;
};

SynthLayer synth_layer(const Resolved& r, int64_t l) {
  const SynthShape& s = *r.shape;
  if (!r.arch->per_layer_shapes) return {false, true, true, s.head_dim, s.n_head_kv, s.n_ff};
  SynthLayer y;
  y.swa = (l + 1) % s.swa_every != 0;
  y.head_dim = y.swa ? s.head_dim_swa : s.head_dim;
  y.n_head_kv = y.swa ? s.n_head_kv_swa : s.n_head_kv;
  y.has_kv = l < r.n_layer - s.n_kv_shared;
  y.has_v = y.has_kv && (y.swa || !s.v_from_k_global);
  y.n_ff = !y.has_kv && s.wide_shared_ffn ? 2 * s.n_ff : s.n_ff;
  return y;
}

std::vector<Planned> build_plan(const Resolved& r) {
  const SynthShape& s = *r.shape;
  const ArchSpec& a = *r.arch;
  std::vector<Planned> plan;
  auto vec = [&](std::string name, int64_t n, Init init, float scale) {
    plan.push_back({{std::move(name), GgmlType::F32, {n}}, init, scale});
  };
  // Weights: std 1/sqrt(fan_in) keeps each projection's output at the scale of its input.
  auto mat = [&](std::string name, std::vector<int64_t> ne, WeightRole role, int64_t layer) {
    const GgmlType t = tensor_type(r, name, role, layer, ne[0]);
    const float std = 1.0f / std::sqrt(float(ne[0]));
    plan.push_back({{std::move(name), t, std::move(ne)}, Init::Matrix, std});
  };

  mat("token_embd.weight", {s.n_embd, r.n_vocab}, WeightRole::Embd, -1);
  // llama.cpp only accepts rope_freqs on architectures that read it.
  if (s.llama3_rope_factor > 0 && a.rope_freqs) vec("rope_freqs.weight", s.head_dim / 2, Init::RopeFreqs, 1.0f);
  if (a.rope_freqs_global) vec("rope_freqs.weight", s.head_dim / 2, Init::One, 1.0f);
  const int64_t n_pl = a.per_layer_inputs ? s.n_embd_per_layer : 0;
  if (n_pl > 0) {
    mat("per_layer_token_embd.weight", {n_pl * r.n_layer, r.n_vocab}, WeightRole::Other, -1);
    mat("per_layer_model_proj.weight", {s.n_embd, n_pl * r.n_layer}, WeightRole::Other, -1);
    vec("per_layer_proj_norm.weight", n_pl, Init::Norm, 1.0f);
  }
  for (int64_t l = 0; l < r.n_layer; ++l) {
    const std::string b = fmt::format("blk.{}.", l);
    const SynthLayer y = synth_layer(r, l);
    const int64_t n_q = s.n_head * y.head_dim, n_kv = y.n_head_kv * y.head_dim, n_ff = y.n_ff;
    if (a.pre_norm) vec(b + "attn_norm.weight", s.n_embd, Init::Norm, 1.0f);
    mat(b + "attn_q.weight", {s.n_embd, n_q}, WeightRole::Other, l);
    if (y.has_kv) mat(b + "attn_k.weight", {s.n_embd, n_kv}, WeightRole::Other, l);
    if (y.has_v) mat(b + "attn_v.weight", {s.n_embd, n_kv}, WeightRole::AttnV, l);
    if (a.qkv_bias) {
      vec(b + "attn_q.bias", n_q, Init::Bias, 0.1f);
      vec(b + "attn_k.bias", n_kv, Init::Bias, 0.1f);
      vec(b + "attn_v.bias", n_kv, Init::Bias, 0.1f);
    }
    if (a.qk_norm != QkNormKind::None) {
      const bool per_head = a.qk_norm == QkNormKind::PerHead;
      vec(b + "attn_q_norm.weight", per_head ? y.head_dim : n_q, Init::Norm, 1.0f);
      if (y.has_kv) vec(b + "attn_k_norm.weight", per_head ? y.head_dim : n_kv, Init::Norm, 1.0f);
    }
    mat(b + "attn_output.weight", {n_q, s.n_embd}, WeightRole::Other, l);
    if (a.post_norm) vec(b + "post_attention_norm.weight", s.n_embd, Init::Norm, 1.0f);
    if (a.pre_norm) vec(b + "ffn_norm.weight", s.n_embd, Init::Norm, 1.0f);
    if (r.moe) {
      const int64_t nf = s.n_ff_expert, ne = s.n_expert;
      mat(b + "ffn_gate_inp.weight", {s.n_embd, ne}, WeightRole::Router, l);
      mat(b + "ffn_gate_exps.weight", {s.n_embd, nf, ne}, WeightRole::Other, l);
      mat(b + "ffn_up_exps.weight", {s.n_embd, nf, ne}, WeightRole::Other, l);
      mat(b + "ffn_down_exps.weight", {nf, s.n_embd, ne}, WeightRole::FfnDown, l);
    } else {
      if (a.ffn == FfnKind::Gated) mat(b + "ffn_gate.weight", {s.n_embd, n_ff}, WeightRole::Other, l);
      mat(b + "ffn_up.weight", {s.n_embd, n_ff}, WeightRole::Other, l);
      mat(b + "ffn_down.weight", {n_ff, s.n_embd}, WeightRole::FfnDown, l);
    }
    if (a.post_norm) vec(b + "post_ffw_norm.weight", s.n_embd, Init::Norm, 1.0f);
    if (n_pl > 0) {
      mat(b + "inp_gate.weight", {s.n_embd, n_pl}, WeightRole::Other, l);
      mat(b + "proj.weight", {n_pl, s.n_embd}, WeightRole::Other, l);
      vec(b + "post_norm.weight", s.n_embd, Init::Norm, 1.0f);
    }
    if (a.layer_out_scale) vec(b + "layer_output_scale.weight", 1, Init::One, 1.0f);
  }
  // Real models' final norms are a few times larger than the others; 3 gives logits with a
  // standard deviation of a few units whatever the depth.
  vec("output_norm.weight", s.n_embd, Init::Norm, 3.0f);
  if (!s.tied_output) mat("output.weight", {s.n_embd, r.n_vocab}, WeightRole::Output, -1);
  return plan;
}

// ---- tokenizer -------------------------------------------------------------------------

// A SentencePiece-style vocabulary: <unk>, <s>, </s>, the 256 byte tokens, then filler pieces
// ("▁", single letters and digits, then "▁a", "▁b", ..., "▁aa", ...), all distinct.
void set_tokenizer(GgufWriter& w, int64_t n_vocab) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};  // unknown, control, control
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    types.push_back(6);  // byte
  }
  static constexpr std::string_view kChars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const std::string space = "\xE2\x96\x81";  // SentencePiece's word-start mark
  const int64_t n_chars = int64_t(kChars.size());
  for (int64_t k = 0; int64_t(tokens.size()) < n_vocab; ++k) {
    std::string piece;
    if (k == 0) {
      piece = space;  // so a leading space is one token, and decodes as a space
    } else if (k <= n_chars) {
      piece = std::string(1, kChars[size_t(k - 1)]);
    } else {
      std::string word;  // bijective base 26: a..z, aa..zz, ...
      for (int64_t v = k - n_chars; v > 0; v = (v - 1) / 26) word.insert(word.begin(), char('a' + (v - 1) % 26));
      piece = space + word;
    }
    tokens.push_back(std::move(piece));
    types.push_back(1);  // normal
  }
  std::vector<float> scores(tokens.size(), 0.0f);
  for (size_t i = 259; i < scores.size(); ++i) scores[i] = -float(i - 259);  // earlier pieces merge first
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string("tokenizer.ggml.pre", "default");
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set_bool("tokenizer.ggml.add_eos_token", false);
}

void set_hparams(GgufWriter& w, const Resolved& r, const SynthOptions& opt) {
  const SynthShape& s = *r.shape;
  const std::string p = std::string(r.arch->name) + ".";
  w.set_string("general.architecture", std::string(r.arch->name));
  w.set_string("general.name", fmt::format("synthetic {}", s.name));
  w.set_u32("general.file_type", quant_mix_file_type(r.type));
  if (r.type != SynthType::F16 && r.type != SynthType::F32) w.set_u32("general.quantization_version", 2);
  w.set_string("trident.synth.shape", std::string(s.name));
  w.set("trident.synth.seed", GgufValue{GgufValueType::UINT64, opt.seed});
  w.set_u32(p + "vocab_size", uint32_t(r.n_vocab));
  w.set_u32(p + "context_length", uint32_t(s.n_ctx_train));
  w.set_u32(p + "embedding_length", uint32_t(s.n_embd));
  w.set_u32(p + "block_count", uint32_t(r.n_layer));
  w.set_u32(p + "feed_forward_length", uint32_t(s.n_ff));
  w.set_u32(p + "attention.head_count", uint32_t(s.n_head));
  w.set_u32(p + "attention.head_count_kv", uint32_t(s.n_head_kv));
  w.set_u32(p + "attention.key_length", uint32_t(s.head_dim));
  w.set_u32(p + "attention.value_length", uint32_t(s.head_dim));
  w.set_u32(p + "rope.dimension_count", uint32_t(s.head_dim));
  w.set_f32(p + "rope.freq_base", s.rope_base);
  w.set_f32(p + "attention.layer_norm_rms_epsilon", s.norm_eps);
  const int64_t window = s.swa_window > 0 ? s.swa_window : r.arch->typical_swa_window;
  if (window > 0) w.set_u32(p + "attention.sliding_window", uint32_t(window));
  if (s.final_softcap > 0) w.set_f32(p + "final_logit_softcapping", s.final_softcap);
  if (r.arch->per_layer_shapes) {
    // As gemma4's converter: per-layer KV heads and FFN widths, the window pattern per layer.
    std::vector<int32_t> kv, ff;
    std::vector<bool> swa;
    for (int64_t l = 0; l < r.n_layer; ++l) {
      const SynthLayer y = synth_layer(r, l);
      kv.push_back(int32_t(y.n_head_kv));
      ff.push_back(int32_t(y.n_ff));
      swa.push_back(y.swa);
    }
    w.set_i32_array(p + "attention.head_count_kv", kv);
    w.set_i32_array(p + "feed_forward_length", ff);
    w.set_bool_array(p + "attention.sliding_window_pattern", swa);
    w.set_u32(p + "attention.key_length_swa", uint32_t(s.head_dim_swa));
    w.set_u32(p + "attention.value_length_swa", uint32_t(s.head_dim_swa));
    w.set_u32(p + "rope.dimension_count_swa", uint32_t(s.head_dim_swa));
    w.set_u32(p + "attention.shared_kv_layers", uint32_t(s.n_kv_shared));
  }
  if (r.arch->per_layer_inputs) w.set_u32(p + "embedding_length_per_layer_input", uint32_t(s.n_embd_per_layer));
  if (r.moe) {
    w.set_u32(p + "expert_count", uint32_t(s.n_expert));
    w.set_u32(p + "expert_used_count", uint32_t(s.n_expert_used));
    w.set_u32(p + "expert_feed_forward_length", uint32_t(s.n_ff_expert));
  }
  set_tokenizer(w, r.n_vocab);
}

// ---- random values ---------------------------------------------------------------------

// x[i] ~ zero-mean, unit-variance, bell-shaped: the sum of four 16-bit uniforms from one
// 64-bit draw (Irwin-Hall), which is several times cheaper than Box-Muller and bounded at
// +-3.46 std, so no outlier dominates a quantization block.
void fill_unit(float* x, int64_t n, uint64_t stream) {
  constexpr float kMean = 2.0f * 65535.0f;
  constexpr float kInvStd = 1.0f / 37837.23f;  // 65536 / sqrt(3)
  uint64_t s = stream;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t v = splitmix64(s);
    const uint32_t sum = uint32_t(v & 0xffff) + uint32_t((v >> 16) & 0xffff) + uint32_t((v >> 32) & 0xffff) + uint32_t(v >> 48);
    x[i] = (float(sum) - kMean) * kInvStd;
  }
}

void fill_rope_freqs(float* x, int64_t n, const SynthShape& s) {
  const double low_wavelen = double(s.llama3_orig_ctx) / s.llama3_low_freq;
  const double high_wavelen = double(s.llama3_orig_ctx) / s.llama3_high_freq;
  for (int64_t i = 0; i < n; ++i) {
    const double freq = 1.0 / std::pow(double(s.rope_base), double(2 * i) / double(s.head_dim));
    const double wavelen = 2.0 * std::numbers::pi / freq;
    double f;
    if (wavelen < high_wavelen) {
      f = 1.0;  // high frequencies are not scaled
    } else if (wavelen > low_wavelen) {
      f = s.llama3_rope_factor;
    } else {  // smooth blend between the two
      const double smooth = (double(s.llama3_orig_ctx) / wavelen - s.llama3_low_freq) / (s.llama3_high_freq - s.llama3_low_freq);
      f = 1.0 / ((1.0 - smooth) / s.llama3_rope_factor + smooth);
    }
    x[i] = float(f);
  }
}

// F32 -> F16 with the F16C instructions: the portable reference converter is half of the
// time of an f16 synth. Both round to nearest even, so the bytes are identical either way.
__attribute__((target("avx,f16c"))) void to_f16_f16c(const float* src, void* dst, int64_t n) {
  auto* out = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  if (i < n) quantize_row_f16(src + i, out + i, n - i);
}

QuantizeRowFn row_converter(GgmlType t) {
  if (t == GgmlType::F16 && cpu_has_f16c()) return to_f16_f16c;
  return type_traits(t)->quantize_row;
}

void fill_row(const Planned& p, const SynthShape& s, uint64_t stream, float* x, int64_t n) {
  switch (p.init) {
    case Init::RopeFreqs: fill_rope_freqs(x, n, s); return;
    case Init::One: std::fill(x, x + n, 1.0f); return;
    case Init::Norm:
      fill_unit(x, n, stream);
      for (int64_t i = 0; i < n; ++i) x[i] = p.scale * (1.0f + 0.05f * x[i]);
      return;
    case Init::Matrix:
    case Init::Bias:
      fill_unit(x, n, stream);
      for (int64_t i = 0; i < n; ++i) x[i] *= p.scale;
      return;
  }
}

// Generates a tensor a chunk of rows at a time (rows in parallel, each from its own stream)
// and hands each chunk to `emit`, so memory stays at one chunk whatever the tensor's size.
void generate(const Planned& p, const SynthShape& s, uint64_t seed, ThreadPool& pool,
              const std::function<void(const void*, size_t)>& emit) {
  const int64_t row_len = p.t.ne[0];
  int64_t rows = 1;
  for (size_t d = 1; d < p.t.ne.size(); ++d) rows *= p.t.ne[d];
  const size_t out_row = row_bytes(p.t.type, row_len);
  const QuantizeRowFn quantize = row_converter(p.t.type);
  if (!quantize) fail("synth: no quantizer for type {} (tensor '{}')", layout_of(p.t.type).name, p.t.name);
  uint64_t base = seed ^ fnv1a(p.t.name);
  const uint64_t tensor_stream = splitmix64(base);
  const int64_t chunk_rows = std::clamp<int64_t>(int64_t((16u << 20) / out_row), 1, rows);
  std::vector<uint8_t> buf(size_t(chunk_rows) * out_row);
  for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
    const int64_t n = std::min(chunk_rows, rows - r0);
    try {
      pool.parallel_for(n, [&](int64_t i) {
        thread_local std::vector<float> x;
        x.resize(size_t(row_len));
        uint64_t row_state = tensor_stream + uint64_t(r0 + i) * 0xd1b54a32d192ed03ull;
        fill_row(p, s, splitmix64(row_state), x.data(), row_len);
        quantize(x.data(), buf.data() + size_t(i) * out_row, row_len);
      });
    } catch (const std::exception& e) {
      fail("synth: tensor '{}': {}", p.t.name, e.what());
    }
    emit(buf.data(), size_t(n) * out_row);
  }
}

}  // namespace

const SynthShape* find_synth_shape(std::string_view name) {
  for (const SynthShape& s : kShapes)
    if (s.name == name) return &s;
  return nullptr;
}

std::string synth_shape_names() { return join_names(kShapes, [](const SynthShape& s) { return s.name; }); }
std::string synth_type_names() { return join_names(kTypes, quant_mix_name); }

std::optional<SynthType> synth_type_from_name(std::string_view name) {
  for (QuantMix t : kTypes)
    if (quant_mix_name(t) == name) return t;
  return std::nullopt;
}

std::string_view synth_type_name(SynthType t) { return quant_mix_name(t); }

std::vector<SynthTensor> synth_plan(const SynthOptions& opt) {
  std::vector<SynthTensor> out;
  for (Planned& p : build_plan(resolve(opt))) out.push_back(std::move(p.t));
  return out;
}

SynthSummary synth_model(const SynthOptions& opt, const std::string& path) {
  const Resolved r = resolve(opt);
  // Shared so each tensor's callback can refer to its plan entry after build_plan returns.
  auto plan = std::make_shared<const std::vector<Planned>>(build_plan(r));
  GgufWriter w;
  set_hparams(w, r, opt);
  SynthSummary sum;
  sum.arch = std::string(r.arch->name);
  const SynthShape* shape = r.shape;
  const uint64_t seed = opt.seed;
  auto pool = std::make_shared<ThreadPool>(opt.threads);
  for (const Planned& p : *plan) {
    uint64_t n = 1;
    for (int64_t e : p.t.ne) n *= uint64_t(e);
    sum.n_params += n;
    const Planned* pp = &p;
    w.add_tensor({p.t.name, p.t.type, p.t.ne,
                  [plan, pp, shape, seed, pool](const auto& emit) { generate(*pp, *shape, seed, *pool, emit); }});
  }
  sum.n_tensors = plan->size();
  GgufWriteOptions wo;
  wo.overwrite = opt.overwrite;
  wo.progress = opt.progress;
  w.write(path, wo);
  sum.bytes = std::filesystem::file_size(path);
  return sum;
}

}  // namespace trident
