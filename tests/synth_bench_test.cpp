// trident synth (shapes, determinism, loadability) and trident bench (statistics, ratios,
// output formats, flag validation). Models are cut to one layer and a 300-token vocabulary so
// the whole file runs in seconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "format/error.h"
#include "model/model.h"
#include "convert/synth.h"
#include "runtime/bench.h"
#include "runtime/session.h"
#include "test_util.h"

namespace trident {
namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string make_synth(const std::string& shape, SynthType type, uint64_t seed = 1, int64_t layers = 1,
                       int threads = 0) {
  SynthOptions o;
  o.threads = threads;
  o.shape = shape;
  o.type = type;
  o.seed = seed;
  o.n_layer = layers;
  o.n_vocab = 300;
  const std::string path = test::temp_path(shape + ".gguf");
  synth_model(o, path);
  return path;
}

// Evaluates a few tokens; every logit must be finite and the last row's spread "a few units".
void expect_sane_logits(const std::string& path) {
  auto m = Model::load(path);
  SessionOptions so;
  so.n_ctx = 16;
  so.n_threads = 2;
  Session s(*m, so);
  std::vector<float> logits;
  const std::vector<int32_t> ids = {1, 50, 100, 299, 7};
  s.eval(ids, true, logits);
  ASSERT_EQ(logits.size(), ids.size() * 300);
  for (float x : logits) ASSERT_TRUE(std::isfinite(x)) << path;
  std::vector<double> last(logits.end() - 300, logits.end());
  const double sd = sample_stddev(last);
  EXPECT_GT(sd, 0.5) << path;
  EXPECT_LT(sd, 20.0) << path;
}

uint64_t plan_params(const std::vector<SynthTensor>& plan) {
  uint64_t n = 0;
  for (const auto& t : plan) {
    if (t.name == "rope_freqs.weight") continue;  // a buffer, not a parameter, in HF counts
    uint64_t e = 1;
    for (int64_t d : t.ne) e *= uint64_t(d);
    n += e;
  }
  return n;
}

// Full-size plans reproduce the published parameter counts exactly, which pins every width,
// head count, layer count, vocabulary size and the tied / untied output.
TEST(Synth, FullShapesMatchPublishedParameterCounts) {
  const std::map<std::string, uint64_t> expected = {
      {"llama-3.2-1b", 1235814400ull}, {"llama-3.1-8b", 8030261248ull}, {"qwen3-0.6b", 596049920ull},
      {"qwen3-4b", 4022468096ull},     {"qwen2.5-1.5b", 1543714304ull}, {"gemma3-1b", 999885952ull},
      {"qwen3-30b-a3b", 30532122624ull}, {"gemma2-2b", 2614341888ull}, {"deepseek-v2-lite", 15706484224ull},
      {"gpt-oss-20b", 20914757184ull}};
  for (const auto& [shape, n] : expected) {
    SynthOptions o;
    o.shape = shape;
    EXPECT_EQ(plan_params(synth_plan(o)), n) << shape;
  }
}

TEST(Synth, TinyModelsLoadAndEvaluateToFiniteLogits) {
  for (SynthType t : {SynthType::Q8_0, SynthType::Q4_0}) {
    const std::string p = make_synth("llama-3.2-1b", t);
    {
      auto m = Model::load(p);
      EXPECT_EQ(m->hp().n_embd, 2048);
      EXPECT_EQ(m->hp().n_head_kv, 8);
      EXPECT_EQ(m->hp().n_layer, 1);
      EXPECT_NE(m->rope_factors(512), nullptr);
    }
    expect_sane_logits(p);
    std::filesystem::remove(p);
  }
  const std::string moe = make_synth("qwen3-30b-a3b", SynthType::Q4_0);
  {
    auto m = Model::load(moe);
    EXPECT_EQ(m->hp().n_expert, 128);
    EXPECT_EQ(m->hp().n_expert_used, 8);
    EXPECT_EQ(m->hp().n_ff_expert, 768);
  }
  expect_sane_logits(moe);
  std::filesystem::remove(moe);
  for (const char* shape : {"qwen2.5-1.5b", "gemma3-1b"}) {
    const std::string p = make_synth(shape, SynthType::Q8_0);
    expect_sane_logits(p);
    std::filesystem::remove(p);
  }
}

TEST(Synth, SameSeedSameBytesWhateverTheThreadCount) {
  const std::string a = make_synth("qwen3-0.6b", SynthType::Q8_0, 7);
  const std::string b = make_synth("qwen3-0.6b", SynthType::Q8_0, 7, 1, /*threads=*/1);
  const std::string c = make_synth("qwen3-0.6b", SynthType::Q8_0, 8);
  const std::string ba = slurp(a);
  EXPECT_GT(ba.size(), 1000000u);
  EXPECT_TRUE(ba == slurp(b));
  EXPECT_FALSE(ba == slurp(c));
  for (const auto& p : {a, b, c}) std::filesystem::remove(p);
}

TEST(Synth, Q4KMixFollowsLlamaQuantize) {
  SynthOptions o;
  o.shape = "llama-3.2-1b";  // 16 layers: "more bits" layers are 0, 1, 4, 7, 10, 13, 14, 15
  o.type = SynthType::Q4_K_M;
  std::map<std::string, GgmlType> ty;
  for (const auto& t : synth_plan(o)) ty[t.name] = t.type;
  EXPECT_EQ(ty["token_embd.weight"], GgmlType::Q6_K);  // tied: it is the output matrix too
  EXPECT_EQ(ty["blk.0.attn_v.weight"], GgmlType::Q6_K);
  EXPECT_EQ(ty["blk.2.attn_v.weight"], GgmlType::Q4_K);
  EXPECT_EQ(ty["blk.4.ffn_down.weight"], GgmlType::Q6_K);
  EXPECT_EQ(ty["blk.5.ffn_down.weight"], GgmlType::Q4_K);
  EXPECT_EQ(ty["blk.5.attn_q.weight"], GgmlType::Q4_K);
  EXPECT_EQ(ty["blk.5.attn_norm.weight"], GgmlType::F32);
  o.shape = "gemma3-1b";  // 1152-wide rows do not fit 256-element blocks: llama.cpp's fallbacks
  ty.clear();
  for (const auto& t : synth_plan(o)) ty[t.name] = t.type;
  EXPECT_EQ(ty["blk.3.attn_q.weight"], GgmlType::Q5_0);
  EXPECT_EQ(ty["token_embd.weight"], GgmlType::Q8_0);
  EXPECT_EQ(ty["blk.3.ffn_down.weight"], GgmlType::Q4_K);  // 6912 = 27 * 256
  o.shape = "qwen3-30b-a3b";
  ty.clear();
  for (const auto& t : synth_plan(o)) ty[t.name] = t.type;
  EXPECT_EQ(ty["output.weight"], GgmlType::Q6_K);
  EXPECT_EQ(ty["token_embd.weight"], GgmlType::Q4_K);
  EXPECT_EQ(ty["blk.0.ffn_gate_inp.weight"], GgmlType::F32);
  EXPECT_EQ(ty["blk.0.ffn_down_exps.weight"], GgmlType::Q6_K);
}

TEST(Synth, TinyQ4KMEvaluates) {
  const std::string p = make_synth("qwen3-0.6b", SynthType::Q4_K_M);
  expect_sane_logits(p);
  std::filesystem::remove(p);
}

TEST(Synth, CliWritesAFileAndRejectsBadValuesListingValidOnes) {
  const std::string out = test::temp_path("cli.gguf");
  auto r = test::run_trident("synth --shape qwen3-0.6b --type q4_0 --layers 1 --vocab 300 --seed 3 -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("qwen3-0.6b q4_0 (qwen3)"), std::string::npos) << r.out;
  r = test::run_trident("synth --shape qwen3-0.6b --type q4_0 --layers 1 --vocab 300 -o " + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("output exists (use --force to overwrite)"), std::string::npos) << r.err;
  std::filesystem::remove(out);

  r = test::run_trident("synth --shape llama-9b --type f16 -o " + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--shape: unknown shape 'llama-9b' (valid: llama-3.2-1b, llama-3.1-8b, qwen3-0.6b, "
                       "qwen3-4b, qwen2.5-1.5b, gemma3-1b, qwen3-30b-a3b, gemma4-tiny, qwen3-30b-a3b-24l, "
                       "mixtral-8x7b-8l, gemma2-2b, deepseek-v2-lite, gpt-oss-20b, qwen3.5-0.8b)"),
            std::string::npos) << r.err;
  r = test::run_trident("synth --shape qwen3-0.6b --type q7_k -o " + out);
  EXPECT_NE(r.err.find("--type: unknown type 'q7_k' (valid: f32, f16, q8_0, q4_0, q4_k_m, bf16, q4_1, q5_0, q5_1, "
                       "q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, iq4_xs, mxfp4, nvfp4, tq1_0, tq2_0, q1_0, q2_0)"),
            std::string::npos) << r.err;
  r = test::run_trident("synth --shape qwen3-0.6b --arch gpt2 --type f16 -o " + out);
  EXPECT_NE(r.err.find("--arch: unknown architecture 'gpt2' (valid: llama, qwen2, qwen3, qwen3moe, gemma3, gemma4, "
                       "gemma2, deepseek2, gpt-oss, qwen35)"), std::string::npos) << r.err;
  r = test::run_trident("synth --shape qwen3-0.6b --type f16 --experts 2 -o " + out);
  EXPECT_NE(r.err.find("--experts: shape 'qwen3-0.6b' has no experts as qwen3"), std::string::npos) << r.err;
  r = test::run_trident("synth --shape deepseek-v2-lite --arch qwen3moe --type f16 -o " + out);
  EXPECT_NE(r.err.find("--arch: qwen3moe has no latent attention and shape 'deepseek-v2-lite' has it"),
            std::string::npos) << r.err;
  r = test::run_trident("synth --shape qwen3-0.6b --type f16 --vocab 100 -o " + out);
  EXPECT_NE(r.err.find("--vocab: expected 259 to"), std::string::npos) << r.err;
  r = test::run_trident("synth --shape qwen3-0.6b --arch qwen3moe --type f16 -o " + out);
  EXPECT_NE(r.err.find("has no experts"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(Bench, StatisticsAndRatios) {
  EXPECT_DOUBLE_EQ(mean({1, 2, 3, 4}), 2.5);
  EXPECT_NEAR(sample_stddev({1, 2, 3, 4}), std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_EQ(sample_stddev({5}), 0.0);
  EXPECT_EQ(bench_test_name(512, 0), "pp512");
  EXPECT_EQ(bench_test_name(0, 128), "tg128");
  EXPECT_EQ(bench_test_name(512, 128), "pp512+tg128");
  EXPECT_TRUE(fusion_list_varies({FusionMode::Auto, FusionMode::Off}));
  EXPECT_FALSE(fusion_list_varies({FusionMode::On, FusionMode::Auto}));

  BenchGrid g;
  g.threads = {1};
  g.ubatch = {8, 16};
  g.k_types = g.v_types = {KvType::F16};
  g.fuse_qkv = {FusionMode::On, FusionMode::Off};
  g.fuse_gate_up = {FusionMode::On, FusionMode::Off};
  g.tests = {{8, 0}};
  std::vector<BenchResult> rs;
  for (const BenchCase& c : expand_grid(g, 0)) {
    BenchResult r;
    r.c = c;
    r.avg_ts = 100.0 + (c.fuse_qkv == FusionMode::On ? 10 : 0) + (c.fuse_gate_up == FusionMode::On ? 20 : 0);
    rs.push_back(r);
  }
  ASSERT_EQ(rs.size(), 8u);
  fill_ratios(rs, true, true);
  for (const BenchResult& r : rs) {
    ASSERT_TRUE(r.ratio.has_value());
    EXPECT_DOUBLE_EQ(*r.ratio, r.avg_ts / 100.0);  // against qkv off + gate-up off, same ubatch
  }
  std::vector<BenchModelInfo> models(1);
  models[0].weight_bytes = 1000000000;  // 1 GB per token at 5 t/s over 10 GB/s: 50 %
  rs[0].c.n_prompt = 0;
  rs[0].c.n_gen = 4;
  rs[0].avg_ts = 5;
  fill_rooflines(rs, models, 10.0);
  ASSERT_TRUE(rs[0].roofline_pct.has_value());
  EXPECT_NEAR(*rs[0].roofline_pct, 50.0, 1e-9);
  EXPECT_FALSE(rs[1].roofline_pct.has_value());  // prompt tests have no roofline
}

class BenchCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = new std::string(make_synth("qwen3-0.6b", SynthType::Q8_0, 5)); }
  static void TearDownTestSuite() {
    std::filesystem::remove(*model_);
    delete model_;
  }
  static std::string* model_;
};
std::string* BenchCli::model_ = nullptr;

TEST_F(BenchCli, JsonRowsFieldsAndRatio) {
  auto r = test::run_trident("bench -m " + *model_ + " -p 8 -n 4 -r 2 -t 1 -ub 4,8 --fuse-qkv on,off -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 8u);  // 2 ubatch x 2 fusion x (pp8, tg4)
  int tg = 0;
  for (const auto& row : j) {
    for (const char* k : {"model_filename", "model_type", "model_size", "model_n_params", "n_threads", "n_ubatch",
                          "n_prompt", "n_gen", "avg_ts", "stddev_ts", "samples_ts", "samples_ns", "fuse_qkv",
                          "fuse_gate_up", "ratio", "type_k", "type_v", "test_time", "avg_ns"})
      EXPECT_TRUE(row.contains(k)) << k;
    EXPECT_EQ(row["model_filename"], *model_);
    EXPECT_EQ(row["n_threads"], 1);
    EXPECT_EQ(row["samples_ts"].size(), 2u);
    EXPECT_GT(row["avg_ts"].get<double>(), 0.0);
    EXPECT_EQ(row["fuse_gate_up"], "on");
    ASSERT_TRUE(row["ratio"].is_number());
    if (row["fuse_qkv"] == "off") {
      EXPECT_DOUBLE_EQ(row["ratio"].get<double>(), 1.0);
    }
    tg += row["n_gen"] == 4 && row["n_prompt"] == 0;
  }
  EXPECT_EQ(tg, 4);
  EXPECT_EQ(j[0]["model_type"].get<std::string>().rfind("qwen3 ", 0), 0u);
}

TEST_F(BenchCli, MarkdownCsvMembwAndPlot) {
  const std::string svg = test::temp_path("plot.svg");
  auto r = test::run_trident("bench -m " + *model_ + " -p 8 -n 2 -pg 4,2 -r 1 -t 1 -ub 4,8 --fuse-gate-up on,off "
                             "--membw --membw-mib 16 --plot " + svg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| model"), std::string::npos) << r.out;
  for (const char* s : {"fused (qkv/gate-up)", "ratio", "% roofline", "pp8", "tg2", "pp4+tg2", "on/off", "±", "GB/s"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;  // no progress line when stderr is not a terminal
  const std::string plot = slurp(svg);
  EXPECT_EQ(plot.rfind("<svg", 0), 0u);
  EXPECT_NE(plot.find("<polyline"), std::string::npos);
  EXPECT_NE(plot.find("pp4+tg2"), std::string::npos);
  std::filesystem::remove(svg);

  r = test::run_trident("bench -m " + *model_ + " -p 4 -n 0 -r 1 -t 1 -o csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("model_filename,model_type,", 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
}

// The chart against llama.cpp: llama-bench's JSON rows for the same file and threads add a dotted
// llama.cpp line, a trident ÷ llama.cpp ratio for prompt tests and a marker on generation bars.
TEST_F(BenchCli, PlotWithLlamaBenchRows) {
  const std::string svg = test::temp_path("plot-llama.svg"), llama = test::temp_path("llama-bench.json");
  const std::string file = std::filesystem::path(*model_).filename().string();
  {
    std::ofstream out(llama);
    out << "[{\"model_filename\": \"/elsewhere/" << file << "\", \"n_prompt\": 8, \"n_gen\": 0, \"n_ubatch\": 4,"
        << " \"n_threads\": 1, \"avg_ts\": 50.0},"
        << " {\"model_filename\": \"" << file << "\", \"n_prompt\": 8, \"n_gen\": 0, \"n_ubatch\": 8,"
        << " \"n_threads\": 1, \"avg_ts\": 60.0},"
        << " {\"model_filename\": \"" << file << "\", \"n_prompt\": 0, \"n_gen\": 2, \"n_ubatch\": 512,"
        << " \"n_threads\": 1, \"avg_ts\": 20.0, \"extra\": [1, 2]}]\n";
  }
  auto r = test::run_trident("bench -m " + *model_ + " -p 8 -n 2 -r 1 -t 1 -ub 4,8 --fuse-qkv on,off -o json --plot " +
                             svg + " --plot-llama " + llama);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string plot = slurp(svg);
  for (const char* s : {"fused ÷ unfused", "trident ÷ llama.cpp", "llama.cpp (same file, threads)",
                        "stroke-dasharray=\"9 3 2 3\"", "stroke-dasharray=\"1 3\"", "<rect", "pp8", "tg2", "1 repetition "})
    EXPECT_NE(plot.find(s), std::string::npos) << s;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(plot.find(j[0]["build_commit"].get<std::string>()), std::string::npos);
  std::filesystem::remove(svg);

  // Bad input: one line naming the file, row and field, and no chart.
  auto bad = [&](const std::string& text, const std::string& expected) {
    std::ofstream(llama) << text;
    auto e = test::run_trident("bench -m " + *model_ + " -p 4 -n 0 -r 1 -t 1 --plot " + svg + " --plot-llama " + llama);
    EXPECT_EQ(e.exit_code, 1);
    EXPECT_NE(e.err.find("trident: error: --plot-llama " + llama + ": " + expected), std::string::npos) << e.err;
    EXPECT_FALSE(std::filesystem::exists(svg));
  };
  bad("[{\"model_filename\": 3}]", "row 0: expected a string field 'model_filename'");
  bad("[{\"model_filename\": \"m\", \"n_prompt\": 1.5}]", "row 0: expected an integer in 0..2^30 field 'n_prompt'");
  bad("{\"a\": 1}", "expected llama-bench's JSON array of rows");
  bad("[{", "not JSON");
  std::filesystem::remove(llama);
  r = test::run_trident("bench -m " + *model_ + " -p 4 -n 0 --plot-llama " + llama);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--plot-llama: expected --plot too"), std::string::npos) << r.err;
}

TEST(Bench, RejectsBadValues) {
  const std::string m = " -m does-not-matter.gguf ";
  auto r = test::run_trident("bench" + m + "-p -1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("-p: expected a token count >= 0, found '-1'"), std::string::npos) << r.err;
  r = test::run_trident("bench" + m + "-ub 0");
  EXPECT_NE(r.err.find("-ub: expected a micro-batch size >= 1, found '0'"), std::string::npos) << r.err;
  r = test::run_trident("bench" + m + "-t 2,x");
  EXPECT_NE(r.err.find("-t: expected a thread count >= 1, found 'x'"), std::string::npos) << r.err;
  r = test::run_trident("bench" + m + "-o xml");
  EXPECT_NE(r.err.find("-o: expected md, csv, json, jsonl or sql, found 'xml'"), std::string::npos) << r.err;
  r = test::run_trident("bench" + m + "--fuse-qkv on,maybe");
  EXPECT_NE(r.err.find("--fuse-qkv: expected on, off or auto, found 'maybe'"), std::string::npos) << r.err;
  r = test::run_trident("bench" + m + "-ctk q8_0");
  EXPECT_NE(r.err.find("-ctk: expected f16 or f32, found 'q8_0'"), std::string::npos) << r.err;
  r = test::run_trident("bench" + m + "-pg 512");
  EXPECT_NE(r.err.find("-pg: expected PROMPT,GEN"), std::string::npos) << r.err;
  r = test::run_trident("bench" + m + "-p 0 -n 0");
  EXPECT_NE(r.err.find("nothing to run"), std::string::npos) << r.err;
  r = test::run_trident("bench -m missing-model.gguf -p 4 -n 0 -r 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("missing-model.gguf"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace trident
