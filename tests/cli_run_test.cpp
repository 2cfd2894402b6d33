// The CLI end to end, with the exact commands the README and the acceptance criteria use.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace trident {
namespace {

const std::string kStories = test::source_dir() + "/models/stories260K.gguf";

TEST(CliRun, GreedyFromBosReproducesTheKnownStory) {
  const auto r = test::run_trident("run -m " + kStories + " --tokens 1 -n 64 --temp 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const std::vector<int32_t> expected = {
      403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
      401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385,
      328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267,
      337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13,  438, 310};
  EXPECT_EQ(j["prompt_ids"].get<std::vector<int32_t>>(), std::vector<int32_t>{1});
  EXPECT_EQ(j["generated_ids"].get<std::vector<int32_t>>(), expected);
  EXPECT_EQ(j["text"].get<std::string>().rfind(" Once upon a time, there was a little girl named Lily.", 0), 0u);
  EXPECT_TRUE(j["timings"].contains("prompt_tps"));
  EXPECT_TRUE(j["timings"].contains("gen_tps"));
}

TEST(CliRun, PromptTextStreamsAStory) {
  const auto r = test::run_trident("run -m " + kStories + " -p 'Once upon a time' -n 24 --temp 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Once upon a time", 0), 0u) << r.out;
  EXPECT_GT(r.out.size(), 40u);
  EXPECT_NE(r.err.find("generation:"), std::string::npos) << r.err;
}

TEST(CliLogits, OneAndTwoThreadsPrintTheSameBits) {
  const std::string args = "logits -m " + test::golden_model("tiny-qwen3-q4_k_m.gguf") +
                           " --tokens 1,403,407,261,378,432,383,286 -ctk f32 -ctv f32";
  const auto a = test::run_trident(args + " -t 1");
  const auto b = test::run_trident(args + " -t 2 --fuse-qkv off --fuse-gate-up off");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);  // %.9g round-trips float32: equal text is equal bits
  const auto j = nlohmann::json::parse(a.out);
  EXPECT_EQ(j["tokens"].size(), 8u);
  ASSERT_EQ(j["logits"].size(), 8u);
  EXPECT_EQ(j["logits"][0].size(), 512u);
}

TEST(CliInspect, ShowsTensorsTotalsAndFusionPlan) {
  const auto r = test::run_trident("inspect " + test::golden_model("tiny-qwen3-q4_k_m.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("general.architecture"), std::string::npos);
  EXPECT_NE(r.out.find("blk.1.attn_v.weight"), std::string::npos);
  EXPECT_NE(r.out.find("total: 24 tensors"), std::string::npos);
  EXPECT_NE(r.out.find("mixed types: one segmented matmul"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace trident
