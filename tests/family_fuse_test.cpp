// `trident fuse` on the families whose blocks carry more than Q/K/V and gate/up weights (expert
// biases, attention sinks, dense FFNs beside the experts): the fused file loads again and gives
// the unfused file's logits bit for bit, with and without the parts' own weight scales
// (`.scale`, which test-llama-archs writes at random: fused, one per part); and grok's load-time
// alternatives. Models are the tests/data/archs fixtures
// rebuilt by synth (a few MB each).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>

#include "convert/fuse_rewrite.h"
#include "convert/synth_skeleton.h"
#include "format/gguf_writer.h"
#include "model/model.h"
#include "runtime/session.h"
#include "test_util.h"

namespace trident {
namespace {

namespace fs = std::filesystem;

const std::string kDir = test::source_dir() + "/tests/data/archs";
const std::vector<int32_t> kPrompt = {1, 17, 42, 99, 5, 64, 23, 120};
const char* const kFamilies[] = {"gpt-oss-moe", "grok-moe", "arctic-moe"};

using Edit = std::function<void(GgufWriter&, std::vector<std::string>&)>;

// The fixture's model, its skeleton edited first (a skeleton is metadata plus one
// "name type dims" entry per tensor: editing entries renames or drops tensors).
std::string edited_model(const std::string& name, const Edit& edit) {
  const auto skel = GgufFile::open(kDir + "/" + name + ".skel.gguf");
  GgufWriter w;
  w.copy_metadata(*skel);
  std::vector<std::string> entries;
  for (const GgufValue& v : *skel->get_array(kSkeletonKey)) entries.push_back(*v.as_string());
  edit(w, entries);
  w.set_string_array(kSkeletonKey, entries);
  const std::string skel_path = test::temp_path(name + ".skel.gguf"), out = test::temp_path(name + ".gguf");
  w.write(skel_path);
  synth_from_skeleton(skel_path, 7, out, false);
  fs::remove(skel_path);
  return out;
}

// Without its `.scale` tensors when `drop_scales`.
std::string family_model(const std::string& name, bool drop_scales) {
  return edited_model(name, [&](GgufWriter&, std::vector<std::string>& entries) {
    if (drop_scales)
      std::erase_if(entries, [](const std::string& e) { return e.substr(0, e.find(' ')).ends_with(".scale"); });
  });
}

std::map<std::string, std::string> tensor_bytes(const GgufFile& f) {
  std::map<std::string, std::string> m;
  for (const GgufTensorInfo& t : f.tensors())
    m[t.name] = std::string(reinterpret_cast<const char*>(f.tensor_data(t)), t.n_bytes);
  return m;
}

TEST(FamilyFuse, FusedFileLoadsAndGivesTheSameBits) {
  for (const bool drop_scales : {true, false})
  for (const char* name : kFamilies) {
    const std::string in = family_model(name, drop_scales);
    auto f = GgufFile::open(in);
    const RewritePlan plan = plan_fuse(*f, {});  // Q/K/V and gate/up experts (trident-only form)
    EXPECT_GT(plan.groups_rewritten, 0) << name;
    const std::string fused = test::temp_path(std::string(name) + "-fused.gguf");
    write_rewrite(*f, plan, fused, {});
    const auto mi = Model::load(in), mf = Model::load(fused);
    for (FusionMode mode : {FusionMode::On, FusionMode::Off})
      EXPECT_EQ(test::eval_logits(*mi, kPrompt, mode, 1, 64), test::eval_logits(*mf, kPrompt, mode, 1, 64))
          << name << " " << fusion_mode_name(mode);
    auto ff = GgufFile::open(fused);
    const std::string back = test::temp_path(std::string(name) + "-back.gguf");
    write_rewrite(*ff, plan_unfuse(*ff), back, {});
    EXPECT_TRUE(tensor_bytes(*GgufFile::open(back)) == tensor_bytes(*f)) << name << ": unfuse(fuse(x)) differs";
    for (const auto& p : {in, fused, back}) fs::remove(p);
  }
}

// grok's FFN post-norm under its other name (post_ffw_norm, as llama.cpp falls back to) is the
// one the layer uses; YaRN extrapolation, which grok's loader reads, is refused by name.
TEST(FamilyLoad, GrokPostFfwNormAndYarnRefusal) {
  const std::string renamed = edited_model("grok-moe", [](GgufWriter&, std::vector<std::string>& entries) {
    for (std::string& e : entries)
      if (const size_t at = e.find("layer_output_norm"); at != std::string::npos) e.replace(at, 17, "post_ffw_norm");
  });
  const auto m = Model::load(renamed);
  const GgufTensorInfo* t = m->file().find_tensor("blk.1.post_ffw_norm.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(m->layers()[1].post_ffn_norm, reinterpret_cast<const float*>(m->file().tensor_data(*t)));
  const std::string yarn = edited_model("grok-moe", [](GgufWriter& w, std::vector<std::string>&) {
    w.set_f32("grok.rope.scaling.yarn_ext_factor", 1.0f);
  });
  EXPECT_NE(test::error_of([&] { Model::load(yarn); }).find("key 'grok.rope.scaling.yarn_ext_factor': YaRN rope scaling"),
            std::string::npos);
  for (const auto& p : {renamed, yarn}) fs::remove(p);
}

}  // namespace
}  // namespace trident
