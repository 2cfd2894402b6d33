// Fusion across weight types: a layer whose Q, K and V have different types runs as one
// segmented matmul, and its logits equal the unfused path's bit for bit.
#include <gtest/gtest.h>

#include <filesystem>

#include "format/gguf_writer.h"
#include "model/model.h"
#include "runtime/session.h"
#include "tensor/types.h"
#include "test_util.h"

namespace trident {
namespace {

// Copies an F32 model, re-quantizing chosen tensors (by name suffix) to other types.
std::string requantized_copy(const std::string& src, const std::vector<std::pair<std::string, GgmlType>>& rules,
                             const std::string& name) {
  auto f = GgufFile::open(src);
  GgufWriter w;
  w.copy_metadata(*f);
  for (const GgufTensorInfo& t : f->tensors()) {
    GgmlType type = t.type;
    for (const auto& [suffix, ty] : rules)
      if (t.name.size() >= suffix.size() && t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0)
        type = ty;
    const GgufFile* fp = f.get();
    const GgufTensorInfo* tp = &t;
    w.add_tensor({t.name, type, std::vector<int64_t>(t.ne, t.ne + t.n_dims), [fp, tp, type](const auto& emit) {
                    const float* x = reinterpret_cast<const float*>(fp->tensor_data(*tp));
                    if (type == GgmlType::F32) return emit(x, tp->n_bytes);
                    const int64_t n = tp->ne[0];
                    std::vector<uint8_t> row(row_bytes(type, n));
                    for (int64_t r = 0; r < tp->rows(); ++r) {
                      type_traits(type)->quantize_row(x + r * n, row.data(), n);
                      emit(row.data(), row.size());
                    }
                  }});
  }
  const std::string out = test::temp_path(name);
  w.write(out);
  return out;
}

std::vector<float> logits(const Model& m, FusionMode fuse, int threads) {
  return test::eval_logits(m, {1, 403, 407, 261, 378, 432, 383, 286}, fuse, threads, 64);
}

void expect_mixed_fusion_is_exact(const std::string& path, GgmlType qk, GgmlType v) {
  auto m = Model::load(path);
  const ProjectionGroup& g = m->layers()[0].qkv;
  ASSERT_EQ(g.fused.segments.size(), 3u);
  EXPECT_EQ(g.fused.segments[0].type, qk);
  EXPECT_EQ(g.fused.segments[1].type, qk);
  EXPECT_EQ(g.fused.segments[2].type, v);
  EXPECT_TRUE(g.mixed_types());
  const std::vector<float> unfused = logits(*m, FusionMode::Off, 1);
  for (float x : unfused) ASSERT_TRUE(std::isfinite(x));
  EXPECT_EQ(logits(*m, FusionMode::On, 1), unfused);
  EXPECT_EQ(logits(*m, FusionMode::On, 2), unfused);
}

TEST(Fusion, MixedQ4_0AndQ8_0IsBitIdentical) {
  const std::string p = requantized_copy(test::golden_model("tiny-llama-f32.gguf"),
                                         {{"attn_q.weight", GgmlType::Q4_0}, {"attn_k.weight", GgmlType::Q4_0},
                                          {"attn_v.weight", GgmlType::Q8_0}}, "mixed-q4_0-q8_0.gguf");
  expect_mixed_fusion_is_exact(p, GgmlType::Q4_0, GgmlType::Q8_0);
  std::filesystem::remove(p);
}

TEST(Fusion, MixedQ4_KAndQ6_KIsBitIdentical) {
  const std::string p = requantized_copy(test::golden_model("tiny-llama-f32.gguf"),
                                         {{"attn_q.weight", GgmlType::Q4_K}, {"attn_k.weight", GgmlType::Q4_K},
                                          {"attn_v.weight", GgmlType::Q6_K}}, "mixed-q4_k-q6_k.gguf");
  expect_mixed_fusion_is_exact(p, GgmlType::Q4_K, GgmlType::Q6_K);
  std::filesystem::remove(p);
}

// Q4_K_M as llama-quantize writes it: layer 1 keeps V in Q6_K while Q/K are Q4_K.
TEST(Fusion, RealQ4_K_MFileHasAMixedLayer) {
  auto m = Model::load(test::golden_model("tiny-qwen3-q4_k_m.gguf"));
  EXPECT_FALSE(m->layers()[0].qkv.mixed_types());
  EXPECT_TRUE(m->layers()[1].qkv.mixed_types());
  EXPECT_EQ(m->layers()[1].qkv.fused.segments[2].type, GgmlType::Q6_K);
}

// Fusion is a plan over views of the mapped file: no weight bytes are copied.
TEST(Fusion, GroupsAreViewsOfTheMappedFile) {
  auto m = Model::load(test::golden_model("tiny-llama-fusedqkv-f32.gguf"));
  const ProjectionGroup& g = m->layers()[0].qkv;
  ASSERT_TRUE(g.from_fused_tensor);
  const GgufTensorInfo* t = m->file().find_tensor("blk.0.attn_qkv.weight");
  ASSERT_NE(t, nullptr);
  const uint8_t* base = m->file().tensor_data(*t);
  EXPECT_EQ(g.fused.segments[0].data, base);
  EXPECT_EQ(g.parts[1].segments[0].data, base + 256 * g.parts[1].segments[0].row_stride);
  EXPECT_EQ(g.parts[2].segments[0].data, base + (256 + 128) * g.parts[2].segments[0].row_stride);
}

}  // namespace
}  // namespace trident
