// `trident quantize` against llama-quantize (llama.cpp 3f545bec):
//  - the golden llama-quantize files (tiny-llama/qwen3 q4_0, q6_k, q8_0, q4_k_m): same type and
//    same bytes for every tensor, and general.file_type;
//  - llama-quantize's per-tensor choices for every mix on tiny-llama / tiny-qwen3, recorded in
//    tests/data/quantize/types-*.json (see the README there);
//  - the rules llama.cpp applies to shapes the tiny models lack (GQA >= 4, 8 experts, falcon,
//    70B, MXFP4_MOE stacks, fallbacks), stated here from llama-quant.cpp;
//  - the importance-weighted quantizers: with the synthetic imatrices of tests/data/quantize,
//    the bytes ggml's own quantize_<type> writes (sha256 prefixes recorded), for dense and MoE
//    weights, through the CLI on 1 and 3 threads alike;
//  - the imatrix readers (GGUF, legacy .dat) and the one-line refusals.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "convert/imatrix.h"
#include "convert/quantize_rewrite.h"
#include "format/gguf.h"
#include "sha256.h"
#include "tensor/types.h"
#include "test_util.h"

namespace trident {
namespace {

using T = GgmlType;
namespace fs = std::filesystem;

std::string data(const std::string& f) { return test::source_dir() + "/tests/data/quantize/" + f; }

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::string sha_of(const GgufFile& f, const GgufTensorInfo& t) { return test::sha256_hex(f.tensor_data(t), t.n_bytes); }

// The types trident's chooser gives every tensor of `path` for `mix`.
std::map<std::string, T> choose(const std::string& path, QuantMix mix, bool has_imatrix, MixOptions opt = {}) {
  auto f = GgufFile::open(path);
  std::vector<MixTensor> mt;
  for (const auto& t : f->tensors()) mt.push_back({t.name, t.type, t.n_dims, {t.ne[0], t.ne[1], t.ne[2], t.ne[3]}});
  const auto c = choose_mix_types(mix, mix_model_of(*f, has_imatrix), opt, mt);
  std::map<std::string, T> out;
  for (size_t i = 0; i < mt.size(); ++i) out[std::string(mt[i].name)] = c[i].type;
  return out;
}

TEST(QuantizeMix, GoldenLlamaQuantizeFilesSameTypesAndBytes) {
  for (const char* model : {"tiny-llama", "tiny-qwen3"})
    for (const char* mix : {"q4_0", "q6_k", "q8_0", "q4_k_m"}) {
      const std::string out = test::temp_path(std::string(model) + mix + ".gguf");
      auto r = test::run_trident(fmt::format("quantize {} {} {} 2", test::golden_model(std::string(model) + "-f32.gguf"), out, mix));
      ASSERT_EQ(r.exit_code, 0) << r.err;
      auto ours = GgufFile::open(out);
      auto ref = GgufFile::open(test::golden_model(std::string(model) + "-" + mix + ".gguf"));
      EXPECT_EQ(ours->get_int("general.file_type"), ref->get_int("general.file_type")) << model << " " << mix;
      ASSERT_EQ(ours->tensors().size(), ref->tensors().size());
      for (const auto& t : ref->tensors()) {
        const GgufTensorInfo* o = ours->find_tensor(t.name);
        ASSERT_NE(o, nullptr) << t.name;
        EXPECT_EQ(o->type, t.type) << model << " " << mix << " " << t.name;
        EXPECT_EQ(sha_of(*ours, *o), sha_of(*ref, t)) << model << " " << mix << " " << t.name;
      }
      fs::remove(out);
    }
}

TEST(QuantizeMix, NamesAliasesAndFileTypes) {
  EXPECT_EQ(quant_mix_from_name("Q4_K_M"), QuantMix::Q4_K_M);
  EXPECT_EQ(quant_mix_from_name("q4_k"), QuantMix::Q4_K_M);
  EXPECT_EQ(quant_mix_from_name("Q3_K"), QuantMix::Q3_K_M);
  EXPECT_EQ(quant_mix_from_name("15"), QuantMix::Q4_K_M);
  EXPECT_EQ(quant_mix_from_name("iq2_xxs"), QuantMix::IQ2_XXS);
  EXPECT_EQ(quant_mix_from_name("q3_x"), std::nullopt);
  EXPECT_EQ(quant_mix_file_type(QuantMix::IQ2_M), 29u);
  EXPECT_EQ(quant_mix_file_type(QuantMix::MXFP4_MOE), 38u);
  EXPECT_EQ(quant_mix_default_type(QuantMix::IQ2_S), T::IQ2_XS);  // llama.cpp's mapping, not the name
  EXPECT_EQ(quant_mix_default_type(QuantMix::IQ3_M), T::IQ3_S);
}

// One dense 32-layer model (GQA 8: 32 heads, 4 KV heads) and its tensors, for the rules the
// tiny models cannot show.
struct Synthetic {
  std::vector<std::string> names;
  std::vector<MixTensor> tensors;
  explicit Synthetic(int layers, int64_t n_expert = 0, bool tied = false) {
    auto add = [&](std::string n, int64_t ne0, int64_t ne1, int64_t ne2 = 1) {
      names.push_back(std::move(n));
      tensors.push_back({{}, T::F32, ne2 > 1 ? 3u : 2u, {ne0, ne1, ne2, 1}});
    };
    add("token_embd.weight", 4096, 32000);
    if (!tied) add("output.weight", 4096, 32000);
    for (int l = 0; l < layers; ++l) {
      const std::string b = "blk." + std::to_string(l) + ".";
      for (const char* p : {"attn_q", "attn_k", "attn_v", "attn_output"}) add(b + p + ".weight", 4096, 1024);
      if (n_expert > 0) {
        for (const char* p : {"ffn_gate_exps", "ffn_up_exps"}) add(b + p + ".weight", 4096, 1408, n_expert);
        add(b + "ffn_down_exps.weight", 1408 * 2, 4096, n_expert);
        add(b + "ffn_gate_inp.weight", 4096, n_expert);
      } else {
        for (const char* p : {"ffn_gate", "ffn_up"}) add(b + p + ".weight", 4096, 14336);
        add(b + "ffn_down.weight", 14336, 4096);
      }
    }
    for (size_t i = 0; i < names.size(); ++i) tensors[i].name = names[i];
  }
  std::map<std::string, T> choose(QuantMix mix, const MixModel& m, MixOptions opt = {}) const {
    const auto c = choose_mix_types(mix, m, opt, tensors);
    std::map<std::string, T> out;
    for (size_t i = 0; i < names.size(); ++i) out[names[i]] = c[i].type;
    return out;
  }
};

// Expected values restated from llama_tensor_get_type_impl (llama-quant.cpp at 3f545bec).
TEST(QuantizeMix, RulesForShapesTheTinyModelsLack) {
  const Synthetic s(32);
  MixModel m{.n_layer = 32, .n_gqa = 8};
  auto q = s.choose(QuantMix::Q4_K_M, m);
  EXPECT_EQ(q["output.weight"], T::Q6_K);
  EXPECT_EQ(q["token_embd.weight"], T::Q4_K);
  // use_more_bits(i, 32): i < 4, i >= 28, (i - 4) % 3 == 2.
  for (int l : {0, 3, 6, 9, 28, 31}) EXPECT_EQ(q["blk." + std::to_string(l) + ".attn_v.weight"], T::Q6_K) << l;
  for (int l : {4, 5, 7, 26}) EXPECT_EQ(q["blk." + std::to_string(l) + ".ffn_down.weight"], T::Q4_K) << l;
  q = s.choose(QuantMix::Q2_K, m);
  EXPECT_EQ(q["blk.5.attn_v.weight"], T::Q4_K);  // GQA >= 4
  EXPECT_EQ(q["blk.5.ffn_down.weight"], T::Q3_K);
  EXPECT_EQ(q["blk.5.attn_output.weight"], T::Q3_K);
  q = s.choose(QuantMix::Q3_K_M, m);
  EXPECT_EQ(q["blk.1.attn_v.weight"], T::Q5_K);
  EXPECT_EQ(q["blk.2.attn_v.weight"], T::Q4_K);
  EXPECT_EQ(q["blk.1.ffn_down.weight"], T::Q5_K);  // first sixteenth
  EXPECT_EQ(q["blk.2.ffn_down.weight"], T::Q4_K);
  q = s.choose(QuantMix::IQ3_XS, m, {});
  EXPECT_EQ(q["blk.2.ffn_gate.weight"], T::IQ3_S);   // outside the middle
  EXPECT_EQ(q["blk.4.ffn_gate.weight"], T::IQ3_XXS);
  EXPECT_EQ(q["blk.4.attn_q.weight"], T::IQ3_XXS);
  q = s.choose(QuantMix::IQ2_XXS, m);
  EXPECT_EQ(q["output.weight"], T::Q5_K);
  EXPECT_EQ(q["token_embd.weight"], T::Q2_K);
  EXPECT_EQ(q["blk.3.attn_v.weight"], T::Q4_K);
  EXPECT_EQ(q["blk.3.ffn_down.weight"], T::Q2_K);   // first eighth by position
  EXPECT_EQ(q["blk.4.ffn_down.weight"], T::IQ2_XXS);
  // An importance matrix changes Q4_0's first ffn_down layers and IQ4_NL's.
  m.has_imatrix = true;
  EXPECT_EQ(s.choose(QuantMix::Q4_0, m)["blk.2.ffn_down.weight"], T::Q4_1);
  EXPECT_EQ(s.choose(QuantMix::IQ4_NL, m)["blk.2.ffn_down.weight"], T::IQ4_NL);
  m.has_imatrix = false;
  EXPECT_EQ(s.choose(QuantMix::Q4_0, m)["blk.2.ffn_down.weight"], T::Q4_0);
  EXPECT_EQ(s.choose(QuantMix::IQ4_NL, m)["blk.2.ffn_down.weight"], T::Q5_K);
  // falcon: Q3_K_L's attn_output is Q4_K, and the output Q8_0.
  m.falcon = true;
  q = s.choose(QuantMix::Q3_K_L, m);
  EXPECT_EQ(q["blk.0.attn_output.weight"], T::Q4_K);
  EXPECT_EQ(q["output.weight"], T::Q8_0);
  m.falcon = false;
  // The 70B: attn_v Q3_K/Q4_K become Q5_K.
  m.is_70b = true;
  EXPECT_EQ(s.choose(QuantMix::Q4_K_S, m)["blk.10.attn_v.weight"], T::Q5_K);
  m.is_70b = false;
  // Options: --pure, --output-tensor-type, --token-embedding-type, --leave-output-tensor.
  MixOptions pure;
  pure.pure = true;
  q = s.choose(QuantMix::Q4_K_M, m, pure);
  EXPECT_EQ(q["output.weight"], T::Q4_K);
  EXPECT_EQ(q["blk.0.attn_v.weight"], T::Q4_K);
  MixOptions types;
  types.output_type = T::Q8_0;
  types.embd_type = T::F16;
  q = s.choose(QuantMix::Q4_K_M, m, types);
  EXPECT_EQ(q["output.weight"], T::Q8_0);
  EXPECT_EQ(q["token_embd.weight"], T::F16);
  MixOptions leave;
  leave.leave_output = true;
  EXPECT_EQ(s.choose(QuantMix::Q4_K_M, m, leave)["output.weight"], T::F32);
  MixOptions out_q8;
  out_q8.output_type = T::Q8_0;
  EXPECT_EQ(s.choose(QuantMix::F16, m, out_q8)["output.weight"], T::Q8_0);
}

TEST(QuantizeMix, MoeRulesReadTheLayerFromTheName) {
  const Synthetic s(8, 8);
  MixModel m{.n_layer = 8, .n_gqa = 8, .n_expert = 8};
  auto q = s.choose(QuantMix::Q4_K_M, m);
  EXPECT_EQ(q["blk.3.attn_v.weight"], T::Q8_0);  // 8 experts: attn_v and attn_k in Q8_0
  EXPECT_EQ(q["blk.3.attn_k.weight"], T::Q8_0);
  EXPECT_EQ(q["blk.3.attn_output.weight"], T::Q5_K);
  EXPECT_EQ(q["blk.0.ffn_down_exps.weight"], T::Q6_K);  // use_more_bits(0, 8)
  EXPECT_EQ(q["blk.1.ffn_down_exps.weight"], T::Q4_K);
  EXPECT_EQ(q["blk.1.ffn_gate_inp.weight"], T::F32);  // the router is never converted
  q = s.choose(QuantMix::MXFP4_MOE, m);
  EXPECT_EQ(q["blk.1.ffn_up_exps.weight"], T::MXFP4);
  EXPECT_EQ(q["blk.1.attn_q.weight"], T::Q8_0);
  EXPECT_EQ(q["output.weight"], T::Q8_0);
  EXPECT_EQ(q["token_embd.weight"], T::Q8_0);
}

TEST(QuantizeMix, RowsThatDoNotDivideTheBlockFallBack) {
  // stories260K: n_embd 64, n_ff 172. Q4_K rows of 64 -> Q5_0; ffn_down rows of 172 fit no
  // block: F16 (llama-quantize refuses Q8_0 / Q4_0 there; trident keeps F16).
  auto q = choose(test::golden_model("stories260K.gguf"), QuantMix::Q4_K_M, false);
  EXPECT_EQ(q["blk.0.attn_q.weight"], T::Q5_0);
  EXPECT_EQ(q["blk.0.ffn_down.weight"], T::F16);
  EXPECT_EQ(q["output.weight"], T::Q8_0);  // the output's rows do not divide 256: Q8_0
  q = choose(test::golden_model("stories260K.gguf"), QuantMix::IQ4_XS, false);
  EXPECT_EQ(q["blk.0.attn_q.weight"], T::IQ4_NL);
}

// llama-quantize's choice for every tensor of every mix it accepts on the tiny models, and its
// bytes wherever trident has every type of the mix (tests/data/quantize/types-*.json, from
// scripts/make-quantize-fixtures.sh; skipped where the fixture is absent).
TEST(QuantizeMix, EveryMixChoosesLlamaQuantizesTypesAndBytes) {
  int types_checked = 0, bytes_checked = 0;
  for (const std::string model : {"tiny-llama", "tiny-qwen3"})
    for (const std::string im : {"", "-imatrix"}) {
      const std::string fx = data("types-" + model + im + ".json");
      if (!fs::exists(fx)) continue;
      const std::string in_path = test::golden_model(model + "-f32.gguf");
      Imatrix imatrix;
      if (!im.empty()) imatrix = read_imatrix(data(model + ".imatrix.gguf"));
      auto in = GgufFile::open(in_path);
      const nlohmann::json fixture = read_json(fx);
      for (const auto& [mix_name, entry] : fixture.items()) {
        const auto mix = quant_mix_from_name(mix_name);
        ASSERT_TRUE(mix) << mix_name;
        EXPECT_EQ(quant_mix_file_type(*mix), entry["file_type"].get<uint32_t>()) << mix_name;
        QuantizeOptions o;
        o.mix = *mix;
        if (!im.empty()) o.imatrix = &imatrix, o.imatrix_path = "x";
        const RewritePlan plan = plan_quantize(*in, o);
        bool writable = plan.groups_rewritten > 0;
        for (const RewriteTensor& t : plan.tensors) {
          const auto& want = entry["tensors"].at(t.name);
          EXPECT_EQ(layout_of(t.type).name, want["type"].get<std::string>()) << model << im << " " << mix_name << " " << t.name;
          writable &= type_traits(t.type) && type_traits(t.type)->quantize_rows;
          ++types_checked;
        }
        if (!writable) continue;
        const std::string out = test::temp_path(model + im + mix_name + ".gguf");
        write_rewrite(*in, plan, out, {}, 2);
        auto f = GgufFile::open(out);
        for (const auto& t : f->tensors()) {
          EXPECT_EQ(sha_of(*f, t).substr(0, 16), entry["tensors"].at(t.name)["sha256"].get<std::string>())
              << model << im << " " << mix_name << " " << t.name;
          ++bytes_checked;
        }
        fs::remove(out);
      }
    }
  if (types_checked == 0) GTEST_SKIP() << "no llama-quantize fixtures in tests/data/quantize";
  EXPECT_GT(bytes_checked, 0);
}

// Pure mix per type, for the importance-weighted comparisons.
QuantMix pure_mix_of(const std::string& type) {
  static const std::map<std::string, std::string> kMix = {{"q2_K", "q2_k"}, {"q3_K", "q3_k_s"}, {"q4_K", "q4_k_s"},
                                                          {"q5_K", "q5_k_s"}, {"q6_K", "q6_k"}};
  const auto it = kMix.find(type);
  return *quant_mix_from_name(it == kMix.end() ? type : it->second);
}

TEST(QuantizeImatrix, WeightedQuantizersWriteGgmlsBytes) {
  const auto fx = read_json(data("ggml-imatrix-sha256.json"));
  for (const auto& [model, types] : fx.items()) {
    const std::string im_path = data(model.substr(0, model.size() - 4) + "-synthetic.imatrix.gguf");
    const Imatrix im = read_imatrix(im_path);
    auto f = GgufFile::open(test::golden_model(model + ".gguf"));
    for (const auto& [type, tensors] : types.items()) {
      const T t = *ggml_type_from_name(type);
      for (const auto& [name, sha] : tensors.items()) {
        const GgufTensorInfo& ti = *f->find_tensor(name);
        const std::vector<float>& w = im.entries.at(name);
        const float* x = reinterpret_cast<const float*>(f->tensor_data(ti));
        const int64_t n = ti.ne[0], rows = ti.ne[1];
        std::vector<uint8_t> q(row_bytes(t, n) * size_t(rows * ti.ne[2]));
        for (int64_t e = 0; e < ti.ne[2]; ++e)
          type_traits(t)->quantize_rows(x + e * n * rows, q.data() + row_bytes(t, n) * size_t(e * rows), rows, n,
                                        w.data() + e * n);
        EXPECT_EQ(test::sha256_hex(q.data(), q.size()).substr(0, 16), sha.get<std::string>()) << model << " " << type << " " << name;
      }
    }
  }
}

TEST(QuantizeImatrix, CliWritesTheSameBytesOnAnyThreadCount) {
  const auto fx = read_json(data("ggml-imatrix-sha256.json"));
  const std::string model = test::golden_model("tiny-qwen3moe-f32.gguf"), im = data("tiny-qwen3moe-synthetic.imatrix.gguf");
  for (const char* type : {"q4_K", "q5_0"}) {
    std::string prev;
    for (int threads : {1, 3}) {
      const std::string out = test::temp_path(fmt::format("moe-{}-{}.gguf", type, threads));
      auto r = test::run_trident(fmt::format("quantize {} {} {} {} --pure --imatrix {}", model, out, quant_mix_name(pure_mix_of(type)),
                                             threads, im));
      ASSERT_EQ(r.exit_code, 0) << r.err;
      auto f = GgufFile::open(out);
      EXPECT_EQ(f->get_string("quantize.imatrix.file"), im);
      EXPECT_EQ(f->get_string("quantize.imatrix.dataset"), "synthetic");
      for (const auto& [name, sha] : fx.at("tiny-qwen3moe-f32").at(type).items())
        EXPECT_EQ(sha_of(*f, *f->find_tensor(name)).substr(0, 16), sha.get<std::string>()) << type << " " << name;
      std::string all;
      for (const auto& t : f->tensors()) all += sha_of(*f, t);
      if (!prev.empty()) {
        EXPECT_EQ(all, prev) << type;
      }
      prev = all;
      fs::remove(out);
    }
  }
}

// A legacy .dat holding the GGUF file's entries (values stored as (sum / count) * calls).
void write_legacy(const Imatrix& from, const std::string& path, int32_t ncall) {
  std::ofstream o(path, std::ios::binary);
  auto i32 = [&](int32_t v) { o.write(reinterpret_cast<const char*>(&v), 4); };
  i32(int32_t(from.entries.size()));
  for (const auto& [name, v] : from.entries) {
    i32(int32_t(name.size()));
    o.write(name.data(), std::streamsize(name.size()));
    i32(ncall);
    i32(int32_t(v.size()));
    for (float x : v) {
      const float s = x * float(ncall);
      o.write(reinterpret_cast<const char*>(&s), 4);
    }
  }
  i32(7);
  i32(4);
  o.write("text", 4);
}

TEST(QuantizeImatrix, ReadsGgufAndLegacyFormats) {
  const Imatrix g = read_imatrix(data("tiny-qwen3moe-synthetic.imatrix.gguf"));
  EXPECT_FALSE(g.legacy);
  EXPECT_EQ(g.chunk_count, 1);
  const auto& e = g.entries.at("blk.0.ffn_down_exps.weight");
  ASSERT_EQ(e.size() % 4, 0u);
  // The last expert saw no token: weight 1 on every column, as llama-quantize gives it.
  EXPECT_EQ(e.back(), 1.0f);
  const std::string legacy = test::temp_path("im.dat");
  write_legacy(g, legacy, 4);
  const Imatrix l = read_imatrix(legacy);
  EXPECT_TRUE(l.legacy);
  EXPECT_EQ(l.chunk_count, 7);
  ASSERT_EQ(l.datasets, std::vector<std::string>{"text"});
  for (const auto& [name, v] : g.entries)
    for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(l.entries.at(name)[i], v[i] * 4.0f / 4.0f) << name;
  fs::remove(legacy);
}

TEST(QuantizeImatrix, RefusalsAreOneLine) {
  const std::string llama = test::golden_model("tiny-llama-f32.gguf"), out = test::temp_path("r.gguf");
  test::expect_cli_error("quantize " + llama + " " + out + " iq2_xxs",
                         "tensor 'blk.0.attn_q.weight': the iq2_xxs mix writes it as iq2_xxs, which needs an importance matrix (--imatrix FILE)");
  test::expect_cli_error("quantize " + llama + " " + out + " q2_k_s",
                         "which needs an importance matrix (--imatrix FILE)");
  EXPECT_FALSE(fs::exists(out));
  // An imatrix entry of the wrong size (tiny-llama's rows of 256 for stories260K's of 64).
  test::expect_cli_error("quantize " + test::golden_model("stories260K.gguf") + " " + out + " q8_0 --imatrix " +
                             data("tiny-llama-synthetic.imatrix.gguf"),
                         "tensor 'output.weight': the importance matrix has 256 values for it, expected 64");
  const std::string bad = test::temp_path("bad.dat");
  std::ofstream(bad, std::ios::binary).write("\x02\0\0\0\x05\0\0\0ab", 10);
  test::expect_cli_error("quantize " + llama + " " + out + " q4_0 --imatrix " + bad, "entry 1: bad name length 5");
  test::expect_cli_error("quantize " + llama + " " + out + " q4_0 --output-tensor-type q9_9", "--output-tensor-type: unknown type 'q9_9'");
  fs::remove(bad);
}

}  // namespace
}  // namespace trident
