#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "format/error.h"
#include "format/gguf_writer.h"
#include "test_util.h"

namespace trident {
namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Rewriting a file with all its metadata and tensors reproduces it byte for byte.
TEST(GgufWriter, CopyIsByteIdentical) {
  for (const char* name : {"tiny-qwen3-q4_k_m.gguf", "tiny-llama-f32.gguf"}) {
    const std::string src = test::golden_model(name);
    auto f = GgufFile::open(src);
    GgufWriter w;
    w.copy_metadata(*f);
    for (const GgufTensorInfo& t : f->tensors()) {
      const GgufTensorInfo* tp = &t;
      const GgufFile* fp = f.get();
      w.add_tensor({t.name, t.type, std::vector<int64_t>(t.ne, t.ne + t.n_dims),
                    [fp, tp](const auto& emit) { emit(fp->tensor_data(*tp), tp->n_bytes); }});
    }
    const std::string out = test::temp_path("copy.gguf");
    w.write(out);
    EXPECT_EQ(slurp(out), slurp(src)) << name;
    std::filesystem::remove(out);
  }
}

TEST(GgufWriter, RefusesExistingOutputAndLeavesNothingOnError) {
  const std::string out = test::temp_path("exists.gguf");
  { std::ofstream(out) << "x"; }
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  try {
    w.write(out);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("output exists (use --force to overwrite)"), std::string::npos);
  }
  // A tensor callback that writes too few bytes: error, and no file (not even a temp) remains.
  const std::string out2 = test::temp_path("short.gguf");
  w.add_tensor({"t", GgmlType::F32, {4}, [](const auto& emit) { float x = 0; emit(&x, 4); }});
  EXPECT_THROW(w.write(out2), Error);
  EXPECT_FALSE(std::filesystem::exists(out2));
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(out2).parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace trident
