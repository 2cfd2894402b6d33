// synth's shapes beyond the dense ones (a llama with experts, gemma2, latent attention with
// shared experts and YaRN, gpt-oss), its single-type weight formats, and YaRN on ordinary
// RoPE rows. Full-size shapes are planned only; reduced copies (few layers, experts and
// tokens) are written, loaded and evaluated.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <numbers>
#include <sstream>

#include "convert/synth.h"
#include "kernels/ops.h"
#include "model/model.h"
#include "runtime/bench.h"
#include "runtime/session.h"
#include "tensor/types.h"
#include "gguf_edit.h"
#include "test_util.h"

namespace trident {
namespace {

struct PlanTotals {
  size_t tensors = 0;
  uint64_t params = 0, bytes = 0;
};

PlanTotals totals(const SynthOptions& o) {
  PlanTotals t;
  for (const SynthTensor& x : synth_plan(o)) {
    uint64_t rows = 1;
    for (size_t d = 1; d < x.ne.size(); ++d) rows *= uint64_t(x.ne[d]);
    ++t.tensors;
    t.params += rows * uint64_t(x.ne[0]);
    t.bytes += rows * row_bytes(x.type, x.ne[0]);
  }
  return t;
}

std::map<std::string, std::vector<int64_t>> shapes_of(const SynthOptions& o) {
  std::map<std::string, std::vector<int64_t>> m;
  for (const SynthTensor& t : synth_plan(o)) m[t.name] = t.ne;
  return m;
}

std::string write_reduced(const std::string& shape, SynthType type, int64_t layers, int64_t experts) {
  SynthOptions o;
  o.shape = shape;
  o.type = type;
  o.seed = 3;
  o.n_layer = layers;
  o.n_expert = experts;
  o.n_vocab = 300;
  const std::string path = test::temp_path(shape + ".gguf");
  synth_model(o, path);
  return path;
}

// Every logit of a few tokens finite, the last row's spread "a few units".
void expect_sane_logits(const Model& m) {
  SessionOptions so;
  so.n_ctx = 16;
  so.n_threads = 2;
  Session s(m, so);
  std::vector<float> logits;
  const std::vector<int32_t> ids = {1, 50, 100, 299, 7, 8};
  s.eval(ids, true, logits);
  ASSERT_EQ(logits.size(), ids.size() * 300);
  for (float x : logits) ASSERT_TRUE(std::isfinite(x));
  const std::vector<double> last(logits.end() - 300, logits.end());
  const double sd = sample_stddev(last);
  EXPECT_GT(sd, 0.5);
  EXPECT_LT(sd, 20.0);
}

// Every shape plans at full size at every type: a tensor list whose byte size is the file's
// data (rows of each tensor's type), F32 vectors, and matrices in the asked type or its fallback.
TEST(SynthShapes, EveryShapeAndTypePlans) {
  std::istringstream names(synth_shape_names());
  std::string shape;
  size_t n_shapes = 0;
  while (std::getline(names, shape, ',')) {
    if (shape.front() == ' ') shape.erase(0, 1);
    ++n_shapes;
    SynthOptions o;
    o.shape = shape;
    o.type = SynthType::F16;
    const PlanTotals f16 = totals(o);
    EXPECT_GT(f16.tensors, 5u) << shape;
    o.type = SynthType::Q8_0;
    const PlanTotals q8 = totals(o);
    EXPECT_EQ(q8.params, f16.params) << shape;
    EXPECT_LT(q8.bytes, f16.bytes) << shape;
    std::istringstream types(synth_type_names());
    std::string type;
    while (std::getline(types, type, ',')) {
      if (type.front() == ' ') type.erase(0, 1);
      o.type = *synth_type_from_name(type);
      for (const SynthTensor& t : synth_plan(o)) {
        if (t.ne.size() != 1) continue;
        EXPECT_EQ(t.type, GgmlType::F32) << shape << " " << type << " " << t.name;
      }
    }
  }
  EXPECT_EQ(n_shapes, 14u);
}

TEST(SynthShapes, NewShapesHaveTheirFamiliesTensors) {
  SynthOptions o;
  o.shape = "mixtral-8x7b-8l";
  o.n_layer = 32;  // the published 46.7 B parameters at Mixtral's depth
  EXPECT_EQ(totals(o).params, 46702792704ull);
  o.n_layer = 0;
  auto m = shapes_of(o);
  EXPECT_TRUE(m.count("blk.7.ffn_gate_exps.weight") && !m.count("blk.8.attn_q.weight"));
  EXPECT_EQ(m["blk.0.ffn_down_exps.weight"], (std::vector<int64_t>{14336, 4096, 8}));

  // Half of qwen3-30b-a3b's layers, the same tensors otherwise.
  o = {};
  o.shape = "qwen3-30b-a3b-24l";
  const auto half = synth_plan(o);
  o.shape = "qwen3-30b-a3b";
  o.n_layer = 24;
  const auto cut = synth_plan(o);
  ASSERT_EQ(half.size(), cut.size());
  for (size_t i = 0; i < half.size(); ++i) EXPECT_TRUE(half[i].name == cut[i].name && half[i].ne == cut[i].ne);

  o = {};
  o.shape = "gemma2-2b";
  m = shapes_of(o);
  EXPECT_TRUE(m.count("blk.25.post_attention_norm.weight") && m.count("blk.25.post_ffw_norm.weight"));
  EXPECT_FALSE(m.count("output.weight"));  // tied

  o.shape = "deepseek-v2-lite";
  m = shapes_of(o);
  EXPECT_EQ(m["blk.0.attn_q.weight"], (std::vector<int64_t>{2048, 16 * 192}));
  EXPECT_EQ(m["blk.0.attn_kv_a_mqa.weight"], (std::vector<int64_t>{2048, 576}));
  EXPECT_EQ(m["blk.0.attn_k_b.weight"], (std::vector<int64_t>{128, 512, 16}));
  EXPECT_EQ(m["blk.0.attn_v_b.weight"], (std::vector<int64_t>{512, 128, 16}));
  EXPECT_EQ(m["blk.0.ffn_gate.weight"], (std::vector<int64_t>{2048, 10944}));  // the one dense layer
  EXPECT_FALSE(m.count("blk.1.ffn_gate.weight"));
  EXPECT_EQ(m["blk.1.ffn_gate_exps.weight"], (std::vector<int64_t>{2048, 1408, 64}));
  EXPECT_EQ(m["blk.26.ffn_down_shexp.weight"], (std::vector<int64_t>{2816, 2048}));

  o.shape = "gpt-oss-20b";
  m = shapes_of(o);
  EXPECT_EQ(m["blk.0.attn_sinks.weight"], (std::vector<int64_t>{64}));
  EXPECT_EQ(m["blk.0.attn_output.bias"], (std::vector<int64_t>{2880}));
  EXPECT_EQ(m["blk.0.attn_k.bias"], (std::vector<int64_t>{512}));
  EXPECT_EQ(m["blk.0.ffn_gate_inp.bias"], (std::vector<int64_t>{32}));
  EXPECT_EQ(m["blk.0.ffn_up_exps.bias"], (std::vector<int64_t>{2880, 32}));
  EXPECT_EQ(m["blk.0.ffn_down_exps.bias"], (std::vector<int64_t>{2880, 32}));
  EXPECT_TRUE(m.count("blk.23.post_attention_norm.weight") && !m.count("blk.0.ffn_norm.weight"));

  // Delta-net layers (16 key and 16 value heads of 128) with every 4th layer attending
  // through a gated Q (twice as wide).
  o.shape = "qwen3.5-0.8b";
  m = shapes_of(o);
  EXPECT_EQ(m["blk.0.attn_qkv.weight"], (std::vector<int64_t>{1024, 6144}));
  EXPECT_EQ(m["blk.0.attn_gate.weight"], (std::vector<int64_t>{1024, 2048}));
  EXPECT_EQ(m["blk.0.ssm_conv1d.weight"], (std::vector<int64_t>{4, 6144}));
  EXPECT_EQ(m["blk.0.ssm_a"], (std::vector<int64_t>{16}));
  EXPECT_EQ(m["blk.0.ssm_norm.weight"], (std::vector<int64_t>{128}));
  EXPECT_EQ(m["blk.0.ssm_out.weight"], (std::vector<int64_t>{2048, 1024}));
  EXPECT_FALSE(m.count("blk.0.attn_q.weight"));
  EXPECT_EQ(m["blk.3.attn_q.weight"], (std::vector<int64_t>{1024, 4096}));
  EXPECT_EQ(m["blk.3.attn_k.weight"], (std::vector<int64_t>{1024, 512}));
  EXPECT_EQ(m["blk.3.attn_q_norm.weight"], (std::vector<int64_t>{256}));
  EXPECT_FALSE(m.count("blk.3.attn_qkv.weight"));
  EXPECT_EQ(m["blk.23.ffn_down.weight"], (std::vector<int64_t>{3584, 1024}));
}

// Writes a reduced copy, loads it, runs `check` on its hyper-parameters, evaluates a few
// tokens, removes it.
void check_reduced(const std::string& shape, SynthType type, int64_t layers, int64_t experts,
                   const std::function<void(const HParams&)>& check) {
  SCOPED_TRACE(shape);
  const std::string p = write_reduced(shape, type, layers, experts);
  {
    auto m = Model::load(p);
    check(m->hp());
    expect_sane_logits(*m);
  }
  std::filesystem::remove(p);
}

// Reduced copies: written, loaded with the shape's hyper-parameters, evaluated.
TEST(SynthShapes, ReducedCopiesLoadAndEvaluate) {
  // One layer of one expert (14336 wide) is already 218 M weights: ternary keeps it at 56 MB.
  check_reduced("mixtral-8x7b-8l", SynthType::TQ2_0, 1, 1, [](const HParams& h) {
    EXPECT_EQ(h.n_expert, 1);
    EXPECT_EQ(h.n_expert_used, 1);
    EXPECT_EQ(h.n_ff_expert, 14336);
  });
  check_reduced("gemma2-2b", SynthType::Q4_0, 2, 0, [](const HParams& h) {
    EXPECT_EQ(h.swa_window, 4096);
    EXPECT_FLOAT_EQ(h.attn_softcap, 50.0f);
    EXPECT_FLOAT_EQ(h.final_softcap, 30.0f);
  });
  // 2 layers is not a "lite" block count: q_lora_rank is written as 0 (Q stays one attn_q).
  check_reduced("deepseek-v2-lite", SynthType::Q4_0, 2, 4, [](const HParams& h) {
    EXPECT_EQ(h.n_lora_q, 0);
    EXPECT_EQ(h.n_lora_kv, 512);
    EXPECT_TRUE(h.mla_absorbed);
    EXPECT_EQ(h.n_expert, 4);
    EXPECT_EQ(h.n_layer_dense_lead, 1);
    EXPECT_EQ(h.rope_ext_factor, 1.0f);
  });
  // 4 layers: three delta-net layers, then one attending.
  check_reduced("qwen3.5-0.8b", SynthType::Q8_0, 4, 0, [](const HParams& h) { EXPECT_EQ(h.n_rot, 64); });
  check_reduced("gpt-oss-20b", SynthType::Q4_0, 2, 1, [](const HParams& h) {
    EXPECT_EQ(h.swa_window, 128);
    EXPECT_EQ(h.rope_ext_factor, 1.0f);
  });
}

// Every single type writes a file trident loads and evaluates (the mixes have their own tests
// in synth_bench_test.cpp); matrices are in that type, or Q8_0 where its blocks do not fit.
TEST(SynthShapes, EveryTypeWritesALoadableModel) {
  std::istringstream types(synth_type_names());
  std::string name;
  while (std::getline(types, name, ',')) {
    if (name.front() == ' ') name.erase(0, 1);
    SCOPED_TRACE(name);
    const SynthType t = *synth_type_from_name(name);
    EXPECT_EQ(synth_type_name(t), name);
    if (t == SynthType::F32 || t == SynthType::F16 || t == SynthType::Q8_0 || t == SynthType::Q4_0 ||
        t == SynthType::Q4_K_M)
      continue;
    // gemma4-tiny: 256-wide rows (every block size divides them) and 2 M weights, so the
    // reference quantizers of all seventeen types take seconds, not minutes.
    check_reduced("gemma4-tiny", t, 0, 0, [](const HParams&) {});
  }
  SynthOptions o;
  o.shape = "qwen3-0.6b";
  o.type = SynthType::IQ4_XS;
  std::map<std::string, GgmlType> ty;
  for (const auto& t : synth_plan(o)) ty[t.name] = t.type;
  EXPECT_EQ(ty["blk.0.attn_q.weight"], GgmlType::IQ4_XS);
  EXPECT_EQ(ty["token_embd.weight"], GgmlType::IQ4_XS);
  o.shape = "gemma3-1b";  // 1152-wide rows fit no 256-element block: Q8_0
  ty.clear();
  for (const auto& t : synth_plan(o)) ty[t.name] = t.type;
  EXPECT_EQ(ty["blk.0.attn_q.weight"], GgmlType::Q8_0);
  EXPECT_EQ(ty["blk.0.ffn_down.weight"], GgmlType::IQ4_XS);  // 6912 = 27 * 256
  o.shape = "qwen3-30b-a3b";
  o.type = SynthType::BF16;
  ty.clear();
  for (const auto& t : synth_plan(o)) ty[t.name] = t.type;
  EXPECT_EQ(ty["blk.0.ffn_gate_inp.weight"], GgmlType::F32);
  EXPECT_EQ(ty["blk.0.ffn_up_exps.weight"], GgmlType::BF16);
}

// YaRN as ggml_rope_ext computes it, for gpt-oss's numbers (64 rotary dims, base 150000,
// factor 32, original context 4096, beta_fast 32, beta_slow 1): the ramp spans pair dims 8 to
// 18 (floor / ceil of n_rot ln(orig / (2 pi beta)) / (2 ln base)); below it angles extrapolate
// (plain RoPE), above it they interpolate (divided by the factor); cos and sin are scaled by
// 1 + 0.1 ln(factor). Reference in double, from the formulas.
TEST(SynthShapes, YarnAnglesFollowGgml) {
  const int n_rot = 64;
  const double base = 150000.0, factor = 32.0, orig = 4096.0;
  float corr[2];
  rope_yarn_corr_dims(n_rot, int64_t(orig), float(base), 32.0f, 1.0f, corr);
  const auto dim = [&](double beta) { return n_rot * std::log(orig / (beta * 2 * std::numbers::pi)) / (2 * std::log(base)); };
  EXPECT_EQ(corr[0], std::floor(dim(32.0)));
  EXPECT_EQ(corr[1], std::ceil(dim(1.0)));
  EXPECT_EQ(corr[0], 8.0f);
  EXPECT_EQ(corr[1], 18.0f);
  const double mscale = 1.0 + 0.1 * std::log(factor);
  for (int64_t pos : {0, 1, 7, 300, 5000}) {
    std::vector<float> cs(n_rot);
    rope_angles_yarn(pos, n_rot, float(base), float(1.0 / factor), nullptr, 1.0f, 1.0f, corr, cs.data());
    for (int i = 0; i < n_rot / 2; ++i) {
      const double extrap = double(pos) * std::pow(base, -2.0 * i / n_rot), interp = extrap / factor;
      const double y = (i - corr[0]) / std::max(0.001, double(corr[1] - corr[0]));
      const double ramp = 1.0 - std::clamp(y, 0.0, 1.0);
      const double theta = interp * (1 - ramp) + extrap * ramp;
      // theta up to 5000 rad: float's angle recurrence (theta *= theta_scale) drifts ~1e-7 relative.
      const double tol = 1e-5 + 2e-7 * std::abs(theta);
      EXPECT_NEAR(cs[2 * i], std::cos(theta) * mscale, tol) << pos << " " << i;
      EXPECT_NEAR(cs[2 * i + 1], std::sin(theta) * mscale, tol) << pos << " " << i;
    }
  }
}

// A YaRN file of an ordinary RoPE row: the attention factor is llama_context's (get_mscale(32)
// over 1 + 0.1 ln 32 = 1 with mscale 1), the correction dims as above, and the session's
// logits differ from the same weights without YaRN (every position's angles change).
TEST(SynthShapes, YarnLoadsAndChangesEveryPosition) {
  const std::string p = write_reduced("gpt-oss-20b", SynthType::Q4_0, 1, 1);
  auto m = Model::load(p);
  EXPECT_FLOAT_EQ(m->hp().rope_freq_scale, 1.0f / 32.0f);
  EXPECT_NEAR(m->hp().rope_attn_factor, 1.0f, 1e-6f);
  EXPECT_EQ(m->hp().yarn_corr[0], 8.0f);
  EXPECT_EQ(m->hp().yarn_corr[1], 18.0f);
  EXPECT_EQ(m->hp().n_ctx_orig, 4096);
  const std::string plain = test::with_keys(
      p, {{"gpt-oss.rope.scaling.type", GgufValue{GgufValueType::STRING, std::string("linear")}},
          {"gpt-oss.rope.scaling.factor", GgufValue{GgufValueType::FLOAT32, 0.0}}},
      "gpt-oss-plain.gguf");
  auto m_plain = Model::load(plain);
  EXPECT_EQ(m_plain->hp().rope_ext_factor, 0.0f);
  std::vector<float> a, b;
  const std::vector<int32_t> ids = {1, 50, 100, 299};
  for (auto [model, out] : {std::pair{m.get(), &a}, {m_plain.get(), &b}}) {
    SessionOptions so;
    so.n_ctx = 16;
    so.n_threads = 1;
    Session s(*model, so);
    s.eval(ids, true, *out);
  }
  ASSERT_EQ(a.size(), b.size());
  for (size_t t = 0; t < ids.size(); ++t) {
    double diff = 0;
    for (size_t i = 0; i < 300; ++i) diff = std::max(diff, double(std::abs(a[t * 300 + i] - b[t * 300 + i])));
    EXPECT_GT(diff, 1e-3) << "token " << t;
  }
  m.reset();
  m_plain.reset();
  std::filesystem::remove(p);
  std::filesystem::remove(plain);
}

}  // namespace
}  // namespace trident
