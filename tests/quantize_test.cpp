// `trident quantize`: from the shared F32 base models, every mix llama.cpp's llama-quantize made
// for the goldens (`llama-quantize <f32> <out> TYPE 1`, ../shared/golden/README.md) comes out
// with the same tensor names, types, shapes and bytes, and the same general.file_type; the
// files run; and bad input gets one clear line.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "format/gguf.h"
#include "test_util.h"

namespace trident {
namespace {

struct Case {
  const char* base;    // F32 model in ../shared/golden/models
  const char* golden;  // llama-quantize's output
  const char* type;    // trident quantize --type
};

const Case kCases[] = {
    {"tiny-llama-f32.gguf", "tiny-llama-q8_0.gguf", "q8_0"},
    {"tiny-llama-f32.gguf", "tiny-llama-q4_0.gguf", "q4_0"},
    {"tiny-llama-f32.gguf", "tiny-llama-q6_k.gguf", "q6_k"},
    {"tiny-llama-f32.gguf", "tiny-llama-q4_k_m.gguf", "q4_k_m"},
    {"tiny-qwen3-f32.gguf", "tiny-qwen3-q8_0.gguf", "q8_0"},
    {"tiny-qwen3-f32.gguf", "tiny-qwen3-q4_0.gguf", "q4_0"},
    {"tiny-qwen3-f32.gguf", "tiny-qwen3-q6_k.gguf", "q6_k"},
    {"tiny-qwen3-f32.gguf", "tiny-qwen3-q4_k_m.gguf", "q4_k_m"},
};

TEST(Quantize, MatchesLlamaQuantizeByteForByte) {
  for (const Case& c : kCases) {
    const std::string out = test::temp_path(std::string(c.type) + ".gguf");
    const auto r = test::run_trident("quantize " + test::golden_model(c.base) + " -o " + out + " --type " + c.type);
    ASSERT_EQ(r.exit_code, 0) << c.golden << ": " << r.err;
    auto ours = GgufFile::open(out);
    auto ref = GgufFile::open(test::golden_model(c.golden));
    EXPECT_EQ(ours->get_int("general.file_type"), ref->get_int("general.file_type")) << c.golden;
    ASSERT_EQ(ours->tensors().size(), ref->tensors().size()) << c.golden;
    for (const GgufTensorInfo& t : ref->tensors()) {
      const GgufTensorInfo* o = ours->find_tensor(t.name);
      ASSERT_NE(o, nullptr) << c.golden << ": " << t.name;
      EXPECT_EQ(o->type, t.type) << c.golden << ": " << t.name;
      ASSERT_EQ(o->n_bytes, t.n_bytes) << c.golden << ": " << t.name;
      EXPECT_EQ(std::memcmp(ours->tensor_data(*o), ref->tensor_data(t), t.n_bytes), 0) << c.golden << ": " << t.name;
    }
    std::filesystem::remove(out);
  }
}

TEST(Quantize, OutputRunsAndBadInputIsOneLine) {
  const std::string out = test::temp_path("stories-q8_0.gguf");
  ASSERT_EQ(test::run_trident("quantize " + test::golden_model("stories260K.gguf") + " -o " + out + " --type q8_0").exit_code, 0);
  const auto run = test::run_trident("run -m " + out + " --tokens 1 -n 8 --temp 0");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  // Unknown mix, nothing left to convert, existing output without --force.
  const auto bad = test::run_trident("quantize " + out + " -o " + out + ".x --type q3_x");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("trident: error: --type: unknown type 'q3_x'"), std::string::npos) << bad.err;
  const auto same = test::run_trident("quantize " + out + " -o " + out + ".y --type q8_0");
  EXPECT_EQ(same.exit_code, 1);
  EXPECT_NE(same.err.find("nothing to quantize"), std::string::npos) << same.err;
  EXPECT_FALSE(std::filesystem::exists(out + ".y"));
  const auto exists = test::run_trident("quantize " + test::golden_model("stories260K.gguf") + " -o " + out + " --type q4_0");
  EXPECT_EQ(exists.exit_code, 1) << exists.err;
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace trident
