// gemma4 beyond the prompt logits of tests/data/archs/gemma4-dense (arch_reference_test): the
// shapes the loader reads per layer, K/V sharing across layers when decoding token by token,
// fusion, and the parts trident refuses (MoE layers, gemma4's own tokenizer).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "convert/fuse_rewrite.h"
#include "convert/synth_skeleton.h"
#include "format/error.h"
#include "format/gguf_writer.h"
#include "model/model.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace trident {
namespace {

const std::string kSkeleton = test::source_dir() + "/tests/data/archs/gemma4-dense.skel.gguf";

// The fixture's model, with `edit` applied to a copy of the skeleton's metadata first.
std::string model_file(const std::string& name, const std::function<void(GgufWriter&, std::vector<std::string>&)>& edit = {}) {
  std::string skel = kSkeleton;
  if (edit) {
    const auto f = GgufFile::open(kSkeleton);
    GgufWriter w;
    w.copy_metadata(*f);
    std::vector<std::string> tensors;
    for (const GgufValue v : *f->get_array(kSkeletonKey)) tensors.push_back(*v.as_string());
    edit(w, tensors);
    w.set_string_array(kSkeletonKey, tensors);
    skel = test::temp_path(name + ".skel.gguf");
    w.write(skel, {});
  }
  const std::string path = test::temp_path(name + ".gguf");
  synth_from_skeleton(skel, 7, path, false);
  return path;
}

TEST(Gemma4, LoaderReadsPerLayerShapesAndSharing) {
  const auto m = Model::load(model_file("gemma4-shapes"));
  const HParams& h = m->hp();
  ASSERT_EQ(h.n_layer, 6);
  const std::vector<bool> swa = {true, true, false, true, true, false};
  for (int64_t l = 0; l < 6; ++l) {
    const LayerSizes& s = h.layer_sizes[size_t(l)];
    EXPECT_EQ(h.layer_is_swa[size_t(l)], swa[size_t(l)]) << l;
    EXPECT_EQ(s.head_dim, swa[size_t(l)] ? 64 : 128) << l;
    EXPECT_EQ(s.n_head_kv, swa[size_t(l)] ? 2 : 1) << l;
    EXPECT_EQ(s.n_ff, l < 3 ? 512 : 1024) << l;
    // The last three layers read the caches of layer 1 (windowed) and layer 2 (global).
    EXPECT_EQ(s.kv_source, l < 3 ? l : (swa[size_t(l)] ? 1 : 2)) << l;
  }
  EXPECT_TRUE(m->layers()[2].v_from_k);  // a global layer without attn_v
  EXPECT_FALSE(m->layers()[1].v_from_k);
  EXPECT_EQ(h.attn_scale, 1.0f);
  EXPECT_EQ(h.n_embd_per_layer, 32);
  EXPECT_EQ(h.final_softcap, 30.0f);
}

// Decoding one token at a time reads the shared layers' K/V from the earlier layers' caches
// filled step by step, and the windowed layers drop keys beyond the window of 8: the same
// bits as the whole prompt in one batch, fused or not, on 1 or 2 threads.
TEST(Gemma4, TokenByTokenEqualsBatchAndFusionIsBitIdentical) {
  const auto m = Model::load(model_file("gemma4-decode"));
  std::vector<int32_t> ids;
  for (int i = 0; i < 20; ++i) ids.push_back((i * 37 + 5) % 500);
  const std::vector<float> batch = test::eval_logits(*m, ids, FusionMode::On, 1, 64);
  EXPECT_EQ(test::eval_logits(*m, ids, FusionMode::On, 1, 64, 1), batch) << "token by token";
  EXPECT_EQ(test::eval_logits(*m, ids, FusionMode::Off, 1, 64), batch) << "unfused";
  EXPECT_EQ(test::eval_logits(*m, ids, FusionMode::On, 2, 64, 3), batch) << "2 threads, micro-batches of 3";
}

// llama.cpp reads gemma4's Q/K/V only as separate tensors: `fuse` keeps them so unless asked for
// a trident-only file, whose fused layers (per-layer widths) load and unfuse to the same logits.
TEST(Gemma4, FuseKeepsQkvForLlamaCppAndRoundTrips) {
  const std::string path = model_file("gemma4-fuse");
  const auto in = GgufFile::open(path);
  FuseOptions opt;
  opt.llama_cpp_loadable = true;
  const RewritePlan kept = plan_fuse(*in, opt);
  EXPECT_EQ(kept.groups_rewritten, 0);
  bool noted = false;
  for (const std::string& n : kept.notes) noted |= n.find("does not read attn_qkv for 'gemma4'") != std::string::npos;
  EXPECT_TRUE(noted);

  opt.llama_cpp_loadable = false;
  const std::string fused = test::temp_path("gemma4-fused.gguf"), unfused = test::temp_path("gemma4-unfused.gguf");
  const RewritePlan plan = plan_fuse(*in, opt);
  EXPECT_EQ(plan.groups_rewritten, 2);  // the two windowed layers with their own Q, K and V
  write_rewrite(*in, plan, fused, {});
  const auto fin = GgufFile::open(fused);
  write_rewrite(*fin, plan_unfuse(*fin), unfused, {});
  const std::vector<int32_t> ids = {1, 17, 42, 99, 5, 64, 23, 120, 7, 88, 31, 2};
  const std::vector<float> want = test::eval_logits(*Model::load(path), ids, FusionMode::On, 1, 64);
  EXPECT_EQ(test::eval_logits(*Model::load(fused), ids, FusionMode::On, 1, 64), want);
  EXPECT_EQ(test::eval_logits(*Model::load(unfused), ids, FusionMode::Off, 1, 64), want);
}

TEST(Gemma4, MixtureOfExpertsLayersAreRefused) {
  const std::string path = model_file("gemma4-moe", [](GgufWriter& w, std::vector<std::string>& t) {
    w.set_u32("gemma4.expert_count", 4);
    w.set_u32("gemma4.expert_used_count", 2);
    t.push_back("blk.0.ffn_gate_inp.weight f32 256,4");
  });
  EXPECT_NE(test::error_of([&] { Model::load(path); }).find(
                "layer 0 is a mixture-of-experts layer ('blk.0.ffn_gate_inp.weight'), which trident does not run for "
                "architecture gemma4 yet"),
            std::string::npos);
}

TEST(Gemma4, SharedLayersMustMatchTheirSourceShape) {
  // Two shared layers: layer 4 (windowed) would read layer 2, a global layer of another head size.
  const std::string path = model_file("gemma4-bad-share", [](GgufWriter& w, std::vector<std::string>&) {
    w.set_u32("gemma4.attention.shared_kv_layers", 2);
  });
  EXPECT_NE(test::error_of([&] { Model::load(path); }).find("layer 4 shares layer 2's K/V cache"), std::string::npos);
}

TEST(Gemma4, ItsOwnTokenizerIsRefused) {
  const std::string path = model_file("gemma4-tok", [](GgufWriter& w, std::vector<std::string>&) {
    w.set_string("tokenizer.ggml.model", "gemma4");
  });
  const auto f = GgufFile::open(path);
  EXPECT_NE(test::error_of([&] { vocab_from_gguf(*f); }).find("expected 'llama' or 'gpt2', found 'gemma4'"),
            std::string::npos);
}

}  // namespace
}  // namespace trident
