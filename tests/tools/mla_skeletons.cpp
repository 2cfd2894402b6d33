// Writes skeletons (convert/synth_skeleton.h) of latent-attention models that llama.cpp's
// test-llama-archs files do not cover: its deepseek2 model has one head, no expert groups and
// no rope scaling. deepseek2-heads4: 4 heads over one latent (absorbed attn_k_b / attn_v_b),
// 8 experts in 4 groups of which 2 are used, a selection bias, normalised and scaled weights;
// deepseek2-lite-yarn: 26 blocks, a size llama.cpp's loader takes for DeepSeek-V2-Lite (no
// q_lora_rank: one attn_q), YaRN rope scaling with DeepSeek-V2's log multiplier. The tokenizer keys are copied from the test-llama-archs skeleton.
// Usage: trident_mla_skeletons tests/data/archs/deepseek2-moe.skel.gguf OUTDIR
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#include "convert/synth_skeleton.h"
#include "format/error.h"
#include "format/gguf_writer.h"

using namespace trident;

namespace {

struct Shape {
  std::string name;
  int64_t q_lora = 64;
  bool yarn = false;
  int64_t n_layer = 3;
};

void write(const GgufFile& tok, const Shape& s, const std::string& dir) {
  constexpr int64_t kEmbd = 64, kHead = 4, kLora = 64, kRope = 32, kNope = 32, kV = 32, kFf = 96, kFfExp = 32,
                    kExperts = 8, kVocab = 128;
  const int64_t kLayers = s.n_layer;
  GgufWriter w;
  for (const GgufKv& kv : tok.metadata())
    if (kv.key.starts_with("tokenizer.") || kv.key.starts_with("general.")) w.set(kv.key, kv.value);
  const std::string p = "deepseek2.";
  w.set_u32(p + "vocab_size", kVocab);
  w.set_u32(p + "context_length", 4096);
  w.set_u32(p + "embedding_length", kEmbd);
  w.set_u32(p + "block_count", kLayers);
  w.set_u32(p + "leading_dense_block_count", 1);
  w.set_u32(p + "feed_forward_length", kFf);
  w.set_u32(p + "attention.head_count", kHead);
  w.set_u32(p + "attention.head_count_kv", 1);
  w.set_u32(p + "attention.key_length", kLora + kRope);
  w.set_u32(p + "attention.value_length", kLora);
  w.set_u32(p + "attention.key_length_mla", kNope + kRope);
  w.set_u32(p + "attention.value_length_mla", kV);
  if (s.q_lora) w.set_u32(p + "attention.q_lora_rank", uint32_t(s.q_lora));
  w.set_u32(p + "attention.kv_lora_rank", kLora);
  w.set_f32(p + "attention.layer_norm_rms_epsilon", 1e-6f);
  w.set_u32(p + "rope.dimension_count", kRope);
  w.set_f32(p + "rope.freq_base", 10000.0f);
  if (s.yarn) {
    w.set_string(p + "rope.scaling.type", "yarn");
    w.set_f32(p + "rope.scaling.factor", 40.0f);
    w.set_u32(p + "rope.scaling.original_context_length", 64);
    w.set_f32(p + "rope.scaling.yarn_log_multiplier", 0.0707f);  // 0.1 x DeepSeek-V2's mscale_all_dim
  }
  w.set_u32(p + "expert_count", kExperts);
  w.set_u32(p + "expert_used_count", 2);
  w.set_u32(p + "expert_shared_count", 1);
  w.set_u32(p + "expert_feed_forward_length", kFfExp);
  w.set_f32(p + "expert_weights_scale", 2.5f);
  w.set_bool(p + "expert_weights_norm", true);
  w.set_u32(p + "expert_gating_func", 2);  // sigmoid
  w.set_u32(p + "expert_group_count", 4);
  w.set_u32(p + "expert_group_used_count", 2);

  std::vector<std::string> t;
  auto add = [&](const std::string& name, std::vector<int64_t> ne) {
    std::string dims;
    for (size_t i = 0; i < ne.size(); ++i) dims += (i ? "," : "") + std::to_string(ne[i]);
    t.push_back(fmt::format("{} f32 {}", name, dims));
  };
  add("token_embd.weight", {kEmbd, kVocab});
  add("output_norm.weight", {kEmbd});
  add("output.weight", {kEmbd, kVocab});
  for (int64_t l = 0; l < kLayers; ++l) {
    const std::string b = fmt::format("blk.{}.", l);
    add(b + "attn_norm.weight", {kEmbd});
    if (s.q_lora) {
      add(b + "attn_q_a_norm.weight", {s.q_lora});
      add(b + "attn_q_a.weight", {kEmbd, s.q_lora});
      add(b + "attn_q_b.weight", {s.q_lora, kHead * (kNope + kRope)});
    } else {
      add(b + "attn_q.weight", {kEmbd, kHead * (kNope + kRope)});
    }
    add(b + "attn_kv_a_norm.weight", {kLora});
    add(b + "attn_kv_a_mqa.weight", {kEmbd, kLora + kRope});
    add(b + "attn_k_b.weight", {kNope, kLora, kHead});
    add(b + "attn_v_b.weight", {kLora, kV, kHead});
    add(b + "attn_output.weight", {kHead * kV, kEmbd});
    add(b + "ffn_norm.weight", {kEmbd});
    if (l == 0) {
      add(b + "ffn_gate.weight", {kEmbd, kFf});
      add(b + "ffn_up.weight", {kEmbd, kFf});
      add(b + "ffn_down.weight", {kFf, kEmbd});
      continue;
    }
    add(b + "ffn_gate_inp.weight", {kEmbd, kExperts});
    add(b + "exp_probs_b.bias", {kExperts});
    add(b + "ffn_gate_exps.weight", {kEmbd, kFfExp, kExperts});
    add(b + "ffn_up_exps.weight", {kEmbd, kFfExp, kExperts});
    add(b + "ffn_down_exps.weight", {kFfExp, kEmbd, kExperts});
    add(b + "ffn_gate_shexp.weight", {kEmbd, kFfExp});
    add(b + "ffn_up_shexp.weight", {kEmbd, kFfExp});
    add(b + "ffn_down_shexp.weight", {kFfExp, kEmbd});
  }
  w.set_string_array(kSkeletonKey, t);
  GgufWriteOptions o;
  o.overwrite = true;
  w.write(dir + "/" + s.name + ".skel.gguf", o);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DEEPSEEK2_SKELETON OUTDIR\n", argv[0]);
    return 1;
  }
  try {
    const auto tok = GgufFile::open(argv[1]);
    write(*tok, {"deepseek2-heads4", 64, false}, argv[2]);
    write(*tok, {"deepseek2-lite-yarn", 0, true, 26}, argv[2]);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
