// The delta-net families' keys (qwen35, qwen3next): which layers are delta-net layers (an
// attention.recurrent_layers array equal to the default interval changes nothing), sizes the
// layers cannot take refused with one line, and `unfuse` leaving a delta-net layer's attn_qkv
// (its convolution's q|k|v input, not attention's) alone.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "convert/synth_skeleton.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "model/model.h"
#include "gguf_edit.h"
#include "test_util.h"

namespace trident {
namespace {

namespace fs = std::filesystem;

const std::string kArchs = test::source_dir() + "/tests/data/archs/";

std::string fixture_model(const std::string& name) {
  const std::string out = test::temp_path(name + ".gguf");
  synth_from_skeleton(kArchs + name + ".skel.gguf", 7, out, false);
  return out;
}

GgufValue u32(int64_t x) { return GgufValue{GgufValueType::UINT32, uint64_t(x)}; }

GgufValue bool_array(const std::vector<bool>& v) {
  GgufArray a(GgufValueType::BOOL);
  for (bool x : v) a.push_back(GgufValue{GgufValueType::BOOL, x});
  return GgufValue{GgufValueType::ARRAY, std::move(a)};
}


std::vector<float> logits_of(const std::string& path) {
  const auto m = Model::load(path);
  return test::eval_logits(*m, {1, 17, 42, 99, 5, 64}, FusionMode::On, 1, 64);
}

TEST(DeltaNetFamilies, RecurrentLayersArrayEqualToTheIntervalGivesTheSameLogits) {
  const std::string interval = fixture_model("qwen35-vheads4");  // 4 blocks, no array: 0-2 delta net
  const std::string arrays = test::with_keys(
      interval, {{"qwen35.attention.recurrent_layers", bool_array({true, true, true, false})}}, "qwen35-array.gguf");
  EXPECT_EQ(logits_of(arrays), logits_of(interval));
  const auto m = Model::load(arrays);
  for (int64_t l = 0; l < 4; ++l) EXPECT_EQ(m->hp().is_delta_net(l), l < 3) << l;
  fs::remove(interval);
  fs::remove(arrays);
}

TEST(DeltaNetFamilies, SizesTheLayersCannotTakeAreRefusedWithOneLine) {
  const std::string model = fixture_model("qwen35-vheads4");  // 4 value heads of 128 over 2 key heads
  struct Case {
    std::map<std::string, GgufValue> keys;
    std::string phrase;
  };
  const std::vector<Case> cases = {
      {{{"qwen35.ssm.inner_size", u32(384)}}, "expected 512 (time_step_rank 4 x state_size 128), found 384"},
      {{{"qwen35.ssm.group_count", u32(3)}}, "do not divide"},
      {{{"qwen35.attention.recurrent_layers", bool_array({true, false})}}, "expected 4 values (one per layer), found 2"},
  };
  for (const Case& c : cases) {
    const std::string bad = test::with_keys(model, c.keys, "qwen35-bad.gguf");
    test::expect_cli_error("logits -m " + bad + " --tokens 1,2", c.phrase);
    fs::remove(bad);
  }
  fs::remove(model);
}

TEST(DeltaNetFamilies, UnfuseLeavesTheDeltaNetInputAlone) {
  const std::string model = fixture_model("qwen35-dense");  // attn_qkv only in its delta-net layer
  const auto r = test::run_trident("unfuse " + model + " -o " + test::temp_path("qwen35-unfused.gguf"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nothing to unfuse"), std::string::npos) << r.err;
  fs::remove(model);
}

}  // namespace
}  // namespace trident
