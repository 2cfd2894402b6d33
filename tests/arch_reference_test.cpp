// Every architecture family against llama.cpp: each fixture in tests/data/archs is a skeleton
// (metadata + tensor table) that `synth_from_skeleton` fills with seeded weights at test time,
// and llama.cpp's prompt logits on exactly those bytes (tests/data/archs/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "convert/synth_skeleton.h"
#include "format/error.h"
#include "model/arch.h"
#include "model/model.h"
#include "runtime/session.h"
#include "test_util.h"

namespace trident {
namespace {

namespace fs = std::filesystem;

const std::string kDir = test::source_dir() + "/tests/data/archs";

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kDir))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<float> logits(const Model& m, const std::vector<int32_t>& ids, FusionMode fuse, int threads) {
  return test::eval_logits(m, ids, fuse, threads, 512);
}

class ArchReference : public ::testing::TestWithParam<std::string> {};

TEST_P(ArchReference, LogitsMatchLlamaCppAndFusionIsBitIdentical) {
  const std::string name = GetParam();
  std::ifstream in(kDir + "/" + name + ".json");
  const auto ref = nlohmann::json::parse(in);
  const std::string model = test::temp_path(name + ".gguf");
  synth_from_skeleton(kDir + "/" + name + ".skel.gguf", ref.at("seed").get<uint64_t>(), model, false);
  const auto m = Model::load(model);
  const auto ids = ref.at("prompt_ids").get<std::vector<int32_t>>();
  const std::vector<float> got = logits(*m, ids, FusionMode::On, 1);
  const auto want = ref.at("prompt_logits").get<std::vector<std::vector<float>>>();
  ASSERT_EQ(got.size(), want.size() * size_t(m->hp().n_vocab));
  double num = 0, den = 0;
  for (size_t t = 0; t < want.size(); ++t)
    for (size_t i = 0; i < want[t].size(); ++i) {
      const double a = want[t][i], b = got[t * want[t].size() + i];
      num += (a - b) * (a - b);
      den += a * a;
    }
  // test-llama-archs accepts 1e-6, but its tiny random weights hide real mistakes below that:
  // applying `.scale` tensors llama.cpp's graph ignores gave ~1e-9 on eight families. A faithful
  // block lands at ~1e-13 (float rounding only), so the bar here is 1e-11.
  EXPECT_LE(num / den, 1e-11) << name << ": normalized mean squared error against llama.cpp";
  EXPECT_EQ(logits(*m, ids, FusionMode::Off, 1), got) << name << ": fused vs unfused";
  EXPECT_EQ(logits(*m, ids, FusionMode::On, 2), got) << name << ": 1 vs 2 threads";
  // Decoding too (fixtures made with DUMP_GREEDY): llama.cpp's greedy steps of one token each.
  if (ref.contains("greedy_ids")) {
    const auto want_ids = ref.at("greedy_ids").get<std::vector<int32_t>>();
    SessionOptions opt;
    opt.n_ctx = 512;
    opt.n_threads = 1;
    opt.k_type = opt.v_type = KvType::F32;
    Session s(*m, opt);
    std::vector<float> last;
    s.eval(ids, false, last);
    std::vector<int32_t> got_ids;
    for (size_t k = 0; k < want_ids.size(); ++k) {
      got_ids.push_back(int32_t(std::max_element(last.begin(), last.end()) - last.begin()));
      s.eval(std::span(&got_ids.back(), 1), false, last);
    }
    EXPECT_EQ(got_ids, want_ids) << name << ": greedy steps against llama.cpp";
  }
  fs::remove(model);
}

INSTANTIATE_TEST_SUITE_P(Families, ArchReference, ::testing::ValuesIn(fixture_names()),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

// A family without a reference could drift from llama.cpp unnoticed: every registry row needs
// one here, among the shared goldens, or among tests/data's models.
TEST(ArchReference, EveryRegistryRowHasAReference) {
  std::set<std::string> covered;
  auto add_arch_of = [&](const fs::path& p) {
    try {
      covered.insert(GgufFile::open(p.string())->require_string("general.architecture"));
    } catch (const Error&) {
    }
  };
  for (const std::string& dir : std::vector<std::string>{kDir, test::source_dir() + "/tests/data", test::shared_dir() + "/golden/models"})
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".gguf") add_arch_of(e.path());
  for (const ArchSpec& a : all_archs())
    EXPECT_TRUE(covered.count(std::string(a.name))) << "registry row '" << a.name << "' has no reference logits";
}

}  // namespace
}  // namespace trident
