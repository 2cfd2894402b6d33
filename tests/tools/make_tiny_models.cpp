// Writes the tiny random-weight models used as references for architectures that the shared
// goldens do not cover (starcoder2, olmo2, phi3 longrope). Deterministic: the same build writes the same
// bytes. The tokenizer is copied from stories260K so llama.cpp can load the files.
// Usage: make_tiny_models STORIES260K.gguf OUTDIR
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "format/error.h"
#include "format/gguf_writer.h"

using namespace trident;

namespace {

constexpr int64_t kEmbd = 128, kHead = 4, kHeadKv = 2, kHeadDim = 32, kFf = 256, kLayers = 2;

struct Maker {
  GgufWriter w;
  std::mt19937_64 rng;
  std::vector<std::vector<float>> keep;  // tensors must outlive write()

  explicit Maker(uint64_t seed) : rng(seed) {}

  void tensor(const std::string& name, std::vector<int64_t> ne, float mean, float std) {
    size_t n = 1;
    for (int64_t d : ne) n *= size_t(d);
    std::normal_distribution<double> nd(0.0, 1.0);
    auto& v = keep.emplace_back(n);
    for (float& x : v) x = float(mean + std * nd(rng));
    // The inner buffer stays put when `keep` grows (vectors move, their storage does not).
    const float* data = v.data();
    w.add_tensor({name, GgmlType::F32, ne, [data, n](const auto& emit) { emit(data, n * 4); }});
  }
  void matrix(const std::string& name, int64_t in, int64_t out, float gain = 1.0f) {
    tensor(name, {in, out}, 0.0f, gain / std::sqrt(float(in)));
  }
  void norm(const std::string& name, int64_t n, float scale = 1.0f) { tensor(name, {n}, scale, 0.1f * scale); }
  // n values uniform in [lo, hi], ascending (as real per-frequency RoPE factors are).
  void ramp(const std::string& name, int64_t n, float lo, float hi) {
    std::uniform_real_distribution<double> ud(lo, hi);
    auto& v = keep.emplace_back(size_t(n));
    for (float& x : v) x = float(ud(rng));
    std::sort(v.begin(), v.end());
    const float* data = v.data();
    w.add_tensor({name, GgmlType::F32, {n}, [data, n](const auto& emit) { emit(data, size_t(n) * 4); }});
  }
};

void common_keys(Maker& m, const GgufFile& tok, const std::string& arch, const std::string& name) {
  m.w.set_string("general.architecture", arch);
  m.w.set_string("general.name", name);
  m.w.set_u32("general.file_type", 0);
  const std::string p = arch + ".";
  m.w.set_u32(p + "context_length", 512);
  m.w.set_u32(p + "embedding_length", kEmbd);
  m.w.set_u32(p + "block_count", kLayers);
  m.w.set_u32(p + "feed_forward_length", kFf);
  m.w.set_u32(p + "attention.head_count", kHead);
  m.w.set_u32(p + "attention.head_count_kv", kHeadKv);
  m.w.set_u32(p + "rope.dimension_count", kHeadDim);
  m.w.set_f32(p + "rope.freq_base", 10000.0f);
  for (const GgufKv& kv : tok.metadata())
    if (kv.key.rfind("tokenizer.", 0) == 0) m.w.set(kv.key, kv.value);
}

void make_starcoder2(const GgufFile& tok, const std::string& out) {
  Maker m(201);
  common_keys(m, tok, "starcoder2", "golden-tiny-starcoder2");
  m.w.set_f32("starcoder2.attention.layer_norm_epsilon", 1e-5f);
  m.tensor("token_embd.weight", {kEmbd, 512}, 0.0f, 0.1f);
  for (int l = 0; l < kLayers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    m.norm(b + "attn_norm.weight", kEmbd);
    m.tensor(b + "attn_norm.bias", {kEmbd}, 0.0f, 0.1f);
    m.matrix(b + "attn_q.weight", kEmbd, kHead * kHeadDim, 2.5f);
    m.tensor(b + "attn_q.bias", {kHead * kHeadDim}, 0.0f, 0.2f);
    m.matrix(b + "attn_k.weight", kEmbd, kHeadKv * kHeadDim, 2.5f);
    m.tensor(b + "attn_k.bias", {kHeadKv * kHeadDim}, 0.0f, 0.2f);
    m.matrix(b + "attn_v.weight", kEmbd, kHeadKv * kHeadDim);
    m.tensor(b + "attn_v.bias", {kHeadKv * kHeadDim}, 0.0f, 0.2f);
    m.matrix(b + "attn_output.weight", kHead * kHeadDim, kEmbd);
    m.tensor(b + "attn_output.bias", {kEmbd}, 0.0f, 0.1f);
    m.norm(b + "ffn_norm.weight", kEmbd);
    m.tensor(b + "ffn_norm.bias", {kEmbd}, 0.0f, 0.1f);
    m.matrix(b + "ffn_up.weight", kEmbd, kFf);
    m.tensor(b + "ffn_up.bias", {kFf}, 0.0f, 0.1f);
    m.matrix(b + "ffn_down.weight", kFf, kEmbd);
    m.tensor(b + "ffn_down.bias", {kEmbd}, 0.0f, 0.1f);
  }
  m.norm("output_norm.weight", kEmbd, 2.5f);
  m.tensor("output_norm.bias", {kEmbd}, 0.0f, 0.1f);
  m.tensor("output.weight", {kEmbd, 512}, 0.0f, 0.1f);
  m.w.write(out, {.overwrite = true});
}

void make_olmo2(const GgufFile& tok, const std::string& out) {
  Maker m(202);
  common_keys(m, tok, "olmo2", "golden-tiny-olmo2");
  m.w.set_f32("olmo2.attention.layer_norm_rms_epsilon", 1e-6f);
  m.tensor("token_embd.weight", {kEmbd, 512}, 0.0f, 0.1f);
  for (int l = 0; l < kLayers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    m.matrix(b + "attn_q.weight", kEmbd, kHead * kHeadDim);
    m.matrix(b + "attn_k.weight", kEmbd, kHeadKv * kHeadDim);
    m.matrix(b + "attn_v.weight", kEmbd, kHeadKv * kHeadDim);
    m.norm(b + "attn_q_norm.weight", kHead * kHeadDim, 2.5f);
    m.norm(b + "attn_k_norm.weight", kHeadKv * kHeadDim, 2.5f);
    m.matrix(b + "attn_output.weight", kHead * kHeadDim, kEmbd);
    m.norm(b + "post_attention_norm.weight", kEmbd);
    m.matrix(b + "ffn_gate.weight", kEmbd, kFf);
    m.matrix(b + "ffn_up.weight", kEmbd, kFf);
    m.matrix(b + "ffn_down.weight", kFf, kEmbd);
    m.norm(b + "post_ffw_norm.weight", kEmbd);
  }
  m.norm("output_norm.weight", kEmbd, 2.5f);
  m.tensor("output.weight", {kEmbd, 512}, 0.0f, 0.1f);
  m.w.write(out, {.overwrite = true});
}

// phi3 with longrope scaling laid out as llama.cpp's converter writes Phi-3.5-mini: fused QKV,
// gate+up in one ffn_up, shared rope_factors_long/short, an original context of 256 within a
// 4096 context (scale 16), attn_factor sqrt(1 + ln 16 / ln 256), an ignored sliding window.
void make_phi3_longrope(const GgufFile& tok, const std::string& out) {
  Maker m(203);
  common_keys(m, tok, "phi3", "golden-tiny-phi-three-longrope");  // "phi3" in the name breaks llama.cpp
  const uint32_t n_ctx = 4096, n_ctx_orig = 256;
  m.w.set_u32("phi3.context_length", n_ctx);
  m.w.set_u32("phi3.rope.scaling.original_context_length", n_ctx_orig);
  m.w.set_f32("phi3.rope.scaling.attn_factor",
              float(std::sqrt(1.0 + std::log(double(n_ctx) / n_ctx_orig) / std::log(double(n_ctx_orig)))));
  m.w.set_u32("phi3.attention.sliding_window", 262144);
  m.w.set_f32("phi3.attention.layer_norm_rms_epsilon", 1e-5f);
  m.tensor("token_embd.weight", {kEmbd, 512}, 0.0f, 0.1f);
  m.ramp("rope_factors_long.weight", kHeadDim / 2, 1.0f, 20.0f);
  m.ramp("rope_factors_short.weight", kHeadDim / 2, 1.0f, 1.5f);
  for (int l = 0; l < kLayers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    m.norm(b + "attn_norm.weight", kEmbd);
    m.matrix(b + "attn_qkv.weight", kEmbd, (kHead + 2 * kHeadKv) * kHeadDim, 2.5f);
    m.matrix(b + "attn_output.weight", kHead * kHeadDim, kEmbd);
    m.norm(b + "ffn_norm.weight", kEmbd);
    m.matrix(b + "ffn_up.weight", kEmbd, 2 * kFf);
    m.matrix(b + "ffn_down.weight", kFf, kEmbd);
  }
  m.norm("output_norm.weight", kEmbd, 2.5f);
  m.tensor("output.weight", {kEmbd, 512}, 0.0f, 0.1f);
  m.w.write(out, {.overwrite = true});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s STORIES260K.gguf OUTDIR\n", argv[0]);
    return 2;
  }
  try {
    auto tok = GgufFile::open(argv[1]);
    const std::string dir = argv[2];
    make_starcoder2(*tok, dir + "/tiny-starcoder2-f32.gguf");
    make_olmo2(*tok, dir + "/tiny-olmo2-f32.gguf");
    make_phi3_longrope(*tok, dir + "/tiny-phi3-longrope-f32.gguf");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_tiny_models: %s\n", e.what());
    return 1;
  }
  return 0;
}
