// Per-layer size keys (openelm, deci): attention.head_count, head_count_kv and
// feed_forward_length as arrays of one value per layer, as llama.cpp's get_key_or_arr reads
// them. Arrays equal to the scalars change nothing; a wrong length or a bad value is refused
// with one line; `unfuse` splits each layer's fused Q/K/V by that layer's head counts.
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

// The fixture's model (seeded weights from its skeleton).
std::string fixture_model(const std::string& name) {
  const std::string out = test::temp_path(name + ".gguf");
  synth_from_skeleton(kArchs + name + ".skel.gguf", 7, out, false);
  return out;
}

GgufValue u32_array(const std::vector<int64_t>& v) {
  GgufArray a(GgufValueType::UINT32);
  for (int64_t x : v) a.push_back(GgufValue{GgufValueType::UINT32, uint64_t(x)});
  return GgufValue{GgufValueType::ARRAY, std::move(a)};
}


std::vector<float> logits_of(const std::string& path, FusionMode fuse = FusionMode::On) {
  const auto m = Model::load(path);
  return test::eval_logits(*m, {1, 17, 42, 99, 5, 64}, fuse, 1, 64);
}

TEST(FamilyKeys, ArraysEqualToTheScalarsGiveTheSameLogits) {
  const std::string scalar = fixture_model("openelm-dense");
  const std::string arrays = test::with_keys(scalar,
                                       {{"openelm.attention.head_count", u32_array({2, 2})},
                                        {"openelm.attention.head_count_kv", u32_array({2, 2})},
                                        {"openelm.feed_forward_length", u32_array({384, 384})}},
                                       "openelm-arrays.gguf");
  EXPECT_EQ(logits_of(arrays), logits_of(scalar));
  fs::remove(scalar);
  fs::remove(arrays);
}

TEST(FamilyKeys, BadPerLayerArraysAreRefusedWithOneLine) {
  const std::string model = fixture_model("openelm-layers");  // 3 layers: heads 2, 1, 4; KV 2, 1, 2
  struct Case {
    std::string key;
    std::vector<int64_t> values;
    std::string phrase;
  };
  const std::vector<Case> cases = {
      {"openelm.attention.head_count", {2, 1}, "expected 3 values (one per layer), found 2"},
      {"openelm.feed_forward_length", {384, 256, 128, 64}, "expected 3 values (one per layer), found 4"},
      {"openelm.attention.head_count", {2, 0, 4}, "layer 1: expected a size from 1"},
      {"openelm.attention.head_count_kv", {2, 1, 3}, "layer 2: 4 heads are not a multiple of 3 KV heads"},
  };
  for (const Case& c : cases) {
    const std::string bad = test::with_keys(model, {{c.key, u32_array(c.values)}}, "openelm-bad.gguf");
    test::expect_cli_error("logits -m " + bad + " --tokens 1,2", c.phrase);
    fs::remove(bad);
  }
  fs::remove(model);
}

TEST(FamilyKeys, UnfuseSplitsEachLayerByItsOwnHeadCounts) {
  const std::string fused = fixture_model("openelm-layers");
  const std::string plain = test::temp_path("openelm-layers-unfused.gguf");
  const auto r = test::run_trident("unfuse " + fused + " -o " + plain);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = GgufFile::open(plain);
  const int64_t heads[] = {2, 1, 4}, kv[] = {2, 1, 2};
  for (int l = 0; l < 3; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    EXPECT_EQ(f->find_tensor(b + "attn_qkv.weight"), nullptr);
    ASSERT_NE(f->find_tensor(b + "attn_q.weight"), nullptr);
    EXPECT_EQ(f->find_tensor(b + "attn_q.weight")->ne[1], heads[l] * 128) << b;
    EXPECT_EQ(f->find_tensor(b + "attn_k.weight")->ne[1], kv[l] * 128) << b;
    EXPECT_EQ(f->find_tensor(b + "attn_v.weight")->ne[1], kv[l] * 128) << b;
  }
  EXPECT_EQ(logits_of(plain), logits_of(fused));
  EXPECT_EQ(logits_of(fused, FusionMode::Off), logits_of(fused));
  fs::remove(fused);
  fs::remove(plain);
}

}  // namespace
}  // namespace trident

namespace trident {
namespace {

// As llama.cpp's get_rope_freq_scale: gemma3's windowed layers rope without the file's linear
// scaling (its loader leaves rope_freq_scale_train_swa at 1), its global layers with it. The
// fixture's weights (std 0.01) make attention nearly uniform, so its logits cannot show this;
// a synth gemma3-1b file (6 layers, F16) with factor 8 gave NMSE 0.12 against llama.cpp when
// every layer was scaled, 5.7e-7 (its unscaled level) with this rule.
TEST(FamilyKeys, Gemma3WindowedLayersRopeUnscaled) {
  const std::string path = fixture_model("gemma3-linear8");
  const auto m = Model::load(path);
  ASSERT_EQ(m->layers().size(), 4u);
  for (size_t l = 0; l < 4; ++l) {
    EXPECT_EQ(m->layers()[l].swa, l % 2 == 0) << l;  // pattern 2: every 2nd layer is global
    EXPECT_EQ(m->layers()[l].rope_freq_scale, m->layers()[l].swa ? 1.0f : 0.125f) << l;
  }
  fs::remove(path);
}

}  // namespace
}  // namespace trident
