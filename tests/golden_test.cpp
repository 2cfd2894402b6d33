// End-to-end: trident's logits and greedy ids against llama.cpp's goldens
// (../shared/golden/README.md gives the tolerances used here), and the bit-identity
// guarantees: fused == unfused, 1 thread == 2 threads.
#include <gtest/gtest.h>

#include <cmath>

#include "model/model.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "test_util.h"

namespace trident {
namespace {

struct Case {
  const char* json;
  double max_abs;  // README tolerance for this weight type / arch
  bool quantized;
  int64_t n_ctx = 512;  // the reference's context (phi3 longrope picks its factors by it)
};

const Case kCases[] = {
    {"stories260K.json", 1e-3, false},           {"stories260K-bos.json", 1e-3, false},
    {"tiny-llama-f32.json", 1e-3, false},        {"tiny-llama-fusedqkv-f32.json", 1e-3, false},
    {"tiny-llama-q8_0.json", 0.5, true},         {"tiny-llama-q4_0.json", 0.5, true},
    {"tiny-llama-q6_k.json", 0.5, true},         {"tiny-llama-q4_k_m.json", 0.5, true},
    {"tiny-qwen2-f32.json", 1e-3, false},        {"tiny-qwen2-fusedqkv-f32.json", 1e-3, false},
    {"tiny-qwen3-f32.json", 1e-3, false},        {"tiny-qwen3-fusedqkv-f32.json", 1e-3, false},
    {"tiny-qwen3-q8_0.json", 0.5, true},         {"tiny-qwen3-q4_0.json", 0.5, true},
    {"tiny-qwen3-q6_k.json", 0.5, true},         {"tiny-qwen3-q4_k_m.json", 0.5, true},
    {"tiny-gemma3-f32.json", 5e-3, false},       {"tiny-phi3-f32.json", 1e-3, false},
    {"tiny-qwen3moe-f32.json", 1e-3, false},
    // made here: tests/data/README.md
    {"tests/data/tiny-starcoder2-f32.json", 5e-3, false}, {"tests/data/tiny-olmo2-f32.json", 1e-3, false},
    {"tests/data/tiny-phi3-longrope-f32.json", 1e-3, false},  // 512 > 256: long factors
    {"tests/data/tiny-phi3-longrope-ctx256-f32.json", 1e-3, false, 256},  // short factors
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.json; }

SessionOptions golden_options(FusionMode fuse, int threads, int64_t n_ctx) {
  SessionOptions o;
  o.n_ctx = n_ctx;
  o.n_ubatch = 512;
  o.n_threads = threads;
  o.k_type = o.v_type = KvType::F32;
  o.fuse_qkv = o.fuse_gate_up = fuse;
  return o;
}

std::vector<float> prompt_logits(const Model& m, const std::vector<int32_t>& ids, FusionMode fuse, int threads,
                                 int64_t n_ctx, int64_t ubatch = 512) {
  return test::eval_logits(m, ids, fuse, threads, n_ctx, ubatch);
}

class GoldenTest : public ::testing::TestWithParam<Case> {};

TEST_P(GoldenTest, PromptLogitsMatchReference) {
  const Case& c = GetParam();
  const test::Golden g = test::load_golden(c.json);
  auto m = Model::load(test::golden_model(g.model));
  const int64_t nv = m->hp().n_vocab;
  const std::vector<float> got = prompt_logits(*m, g.prompt_ids, FusionMode::Auto, 1, c.n_ctx);
  double max_diff = 0, sq = 0;
  int argmax_mismatch = 0;
  for (size_t r = 0; r < g.prompt_logits.size(); ++r) {
    const float* row = got.data() + r * size_t(nv);
    for (int64_t j = 0; j < nv; ++j) {
      const double d = std::fabs(double(row[j]) - g.prompt_logits[r][size_t(j)]);
      max_diff = std::max(max_diff, d);
      sq += d * d;
    }
    argmax_mismatch += argmax(row, nv) != argmax(g.prompt_logits[r].data(), nv);
  }
  const double rms = std::sqrt(sq / double(g.prompt_logits.size() * size_t(nv)));
  EXPECT_LE(max_diff, c.max_abs) << c.json;
  if (c.quantized) {
    EXPECT_LE(rms, 0.05) << c.json;
    EXPECT_LE(argmax_mismatch, 1) << c.json;
  } else {
    EXPECT_EQ(argmax_mismatch, 0) << c.json;
  }
  RecordProperty("max_abs_diff", std::to_string(max_diff));
}

TEST_P(GoldenTest, GreedyIdsMatchReference) {
  const Case& c = GetParam();
  const test::Golden g = test::load_golden(c.json);
  auto m = Model::load(test::golden_model(g.model));
  const int64_t nv = m->hp().n_vocab;
  Session s(*m, golden_options(FusionMode::Auto, 2, c.n_ctx));
  std::vector<float> logits;
  s.eval(g.prompt_ids, false, logits);
  // Teacher forcing: feed the reference ids, so one near-tie cannot derail the rest. Our argmax
  // must equal the reference id at every step whose reference top-2 margin exceeds twice the
  // tolerance (below that a correct engine may legitimately pick the other token).
  size_t checked = 0;
  for (size_t k = 0; k < g.greedy_ids.size(); ++k) {
    if (g.greedy_margin[k] >= 2 * c.max_abs) {
      EXPECT_EQ(argmax(logits.data(), nv), g.greedy_ids[k]) << c.json << " step " << k;
      ++checked;
    }
    s.eval(std::vector<int32_t>{g.greedy_ids[k]}, false, logits);
    if (k < g.greedy_logits_first4.size()) {
      double d = 0;
      for (int64_t j = 0; j < nv; ++j)
        d = std::max(d, std::fabs(double(logits[size_t(j)]) - g.greedy_logits_first4[k][size_t(j)]));
      EXPECT_LE(d, c.max_abs) << c.json << " greedy_logits_first4[" << k << "]";
    }
  }
  if (!c.quantized) {
    EXPECT_GE(checked, g.greedy_ids.size() / 2) << c.json;
  }
  RecordProperty("greedy_ids_checked", int(checked));
}

// Fusion on/off, 1/2 threads and micro-batch size never change a bit.
TEST_P(GoldenTest, FusionThreadsAndUbatchAreBitIdentical) {
  const Case& c = GetParam();
  const test::Golden g = test::load_golden(c.json);
  auto m = Model::load(test::golden_model(g.model));
  const std::vector<float> base = prompt_logits(*m, g.prompt_ids, FusionMode::Off, 1, c.n_ctx);
  EXPECT_EQ(prompt_logits(*m, g.prompt_ids, FusionMode::On, 1, c.n_ctx), base) << c.json << ": fused vs unfused";
  EXPECT_EQ(prompt_logits(*m, g.prompt_ids, FusionMode::On, 2, c.n_ctx), base) << c.json << ": 2 threads";
  EXPECT_EQ(prompt_logits(*m, g.prompt_ids, FusionMode::Off, 2, c.n_ctx, 3), base) << c.json << ": ubatch 3";
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string s = info.param.json;
  s = s.substr(0, s.size() - 5);
  if (s.rfind('/') != std::string::npos) s = s.substr(s.rfind('/') + 1);
  for (char& ch : s)
    if (!isalnum((unsigned char)ch)) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenTest, ::testing::ValuesIn(kCases), case_name);

}  // namespace
}  // namespace trident
