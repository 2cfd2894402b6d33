// Multi-head latent attention (runtime/mla.cpp) on the deepseek2 family reference
// (tests/data/archs/deepseek2-moe: llama.cpp's random model, attn_k_b / attn_v_b):
//  - the cache holds only the latent and the roped key part per token, one row, no V rows;
//  - absorbed attention equals the expanded form (attn_kv_b rebuilt from attn_k_b and
//    attn_v_b, the same weights in F32) up to float rounding: the two paths of llama.cpp;
//  - decoding token by token gives the bits of the one-batch prompt, and a saved and restored
//    sequence continues with them;
//  - the fused q_a + kv_a_mqa projection equals the separate ones bit for bit with mixed
//    weight types (Q8_0 + F16);
//  - deepseek32, glm-dsa and kimi-k3 are refused with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <fstream>

#include "convert/synth_skeleton.h"
#include "format/gguf_writer.h"
#include "model/model.h"
#include "runtime/session.h"
#include "tensor/types.h"
#include "test_util.h"

namespace trident {
namespace {

const std::string kFixture = test::source_dir() + "/tests/data/archs/deepseek2-moe";

std::vector<int32_t> prompt_ids() {
  std::ifstream in(kFixture + ".json");
  return nlohmann::json::parse(in).at("prompt_ids").get<std::vector<int32_t>>();
}

const std::string& base_model() {
  static const std::string path = [] {
    const std::string p = test::temp_path("mla-base.gguf");
    synth_from_skeleton(kFixture + ".skel.gguf", 7, p, false);
    return p;
  }();
  return path;
}

std::vector<float> as_floats(const GgufFile& f, const GgufTensorInfo& t) {
  std::vector<float> v(size_t(t.n_elements));
  type_traits(t.type)->dequantize_row(f.tensor_data(t), v.data(), int64_t(v.size()));
  return v;
}

std::vector<uint8_t> encode(const std::vector<float>& v, GgmlType type) {
  std::vector<uint8_t> out(row_bytes(type, int64_t(v.size())));
  if (type == GgmlType::F32) {
    std::memcpy(out.data(), v.data(), out.size());
    return out;
  }
  type_traits(type)->quantize_row(v.data(), out.data(), int64_t(v.size()));
  return out;
}

// Rewrites the base model: `retype` gives a tensor's new type (or its own), `expand` replaces
// attn_k_b / attn_v_b by the attn_kv_b they factor (and drops the MLA key lengths).
void rewrite(const std::string& out, const std::function<GgmlType(const GgufTensorInfo&)>& retype, bool expand) {
  const auto in = GgufFile::open(base_model());
  GgufWriter w;
  w.copy_metadata(*in);
  const int64_t n_head = in->get_int("deepseek2.attention.head_count").value();
  const int64_t rank = in->get_int("deepseek2.attention.kv_lora_rank").value();
  const int64_t dk = in->get_int("deepseek2.attention.key_length_mla").value();
  const int64_t dv = in->get_int("deepseek2.attention.value_length_mla").value();
  const int64_t n_rot = in->get_int("deepseek2.rope.dimension_count").value();
  const int64_t nope = dk - n_rot;
  if (expand) {
    w.set_u32("deepseek2.attention.key_length_mla", 0);
    w.set_u32("deepseek2.attention.value_length_mla", 0);
    w.set_u32("deepseek2.attention.key_length", uint32_t(dk));
    w.set_u32("deepseek2.attention.value_length", uint32_t(dv));
    w.set_u32("deepseek2.attention.head_count_kv", uint32_t(n_head));
  }
  auto add = [&](const std::string& name, GgmlType type, std::vector<int64_t> ne, std::vector<float> v) {
    auto bytes = std::make_shared<std::vector<uint8_t>>(encode(v, type));
    w.add_tensor({name, type, std::move(ne), [bytes](const auto& emit) { emit(bytes->data(), bytes->size()); }});
  };
  for (const GgufTensorInfo& t : in->tensors()) {
    const bool kb = t.name.ends_with("attn_k_b.weight"), vb = t.name.ends_with("attn_v_b.weight");
    if (expand && vb) continue;
    if (expand && kb) {
      // Head i: rows [nope of k_b_h transposed | v_b_h], each of `rank` elements.
      const std::string blk = t.name.substr(0, t.name.find("attn_k_b"));
      const auto k = as_floats(*in, t), v = as_floats(*in, *in->find_tensor(blk + "attn_v_b.weight"));
      std::vector<float> kv(size_t(n_head * (nope + dv) * rank));
      for (int64_t i = 0; i < n_head; ++i) {
        float* head = kv.data() + i * (nope + dv) * rank;
        for (int64_t r = 0; r < nope; ++r)
          for (int64_t j = 0; j < rank; ++j) head[r * rank + j] = k[size_t((i * rank + j) * nope + r)];
        std::copy_n(v.data() + i * dv * rank, dv * rank, head + nope * rank);
      }
      add(blk + "attn_kv_b.weight", GgmlType::F32, {rank, n_head * (nope + dv)}, std::move(kv));
      continue;
    }
    std::vector<int64_t> ne(t.ne, t.ne + std::max<uint32_t>(t.n_dims, 1));
    add(t.name, retype(t), std::move(ne), as_floats(*in, t));
  }
  GgufWriteOptions o;
  o.overwrite = true;
  w.write(out, o);
}

GgmlType f32_latent(const GgufTensorInfo& t) {
  return t.name.ends_with("attn_k_b.weight") || t.name.ends_with("attn_v_b.weight") ? GgmlType::F32 : t.type;
}

double nmse(const std::vector<float>& want, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (double(want[i]) - got[i]) * (double(want[i]) - got[i]);
    den += double(want[i]) * want[i];
  }
  return num / den;
}

SessionOptions opts(int threads) {
  SessionOptions o;
  o.n_ctx = 64;
  o.n_threads = threads;
  o.k_type = o.v_type = KvType::F32;
  return o;
}

TEST(Mla, CacheHoldsTheLatentAndTheRopedKeyOnly) {
  const auto m = Model::load(base_model());
  const HParams& h = m->hp();
  ASSERT_TRUE(h.mla_absorbed);
  EXPECT_EQ(h.n_kv(), h.n_lora_kv + h.n_rot);
  EXPECT_EQ(h.kv_v_elems(), 0);
  Session s(*m, opts(1));
  std::vector<float> logits;
  s.eval(prompt_ids(), false, logits);
  const KvCache& kv = s.seqs().cache(0);
  EXPECT_EQ(kv.row_bytes(false), size_t(h.n_lora_kv + h.n_rot) * 4);
  EXPECT_EQ(kv.row_bytes(true), 0u);
}

TEST(Mla, AbsorbedEqualsExpanded) {
  const std::string absorbed = test::temp_path("mla-absorbed.gguf"), expanded = test::temp_path("mla-expanded.gguf");
  rewrite(absorbed, f32_latent, false);
  rewrite(expanded, f32_latent, true);
  const auto a = Model::load(absorbed), e = Model::load(expanded);
  ASSERT_TRUE(a->hp().mla_absorbed);
  ASSERT_FALSE(e->hp().mla_absorbed);
  EXPECT_NE(e->hp().head_dim_k_mla, e->hp().head_dim_v_mla);  // the padded case
  const auto ids = prompt_ids();
  const auto la = test::eval_logits(*a, ids, FusionMode::On, 1, 64), le = test::eval_logits(*e, ids, FusionMode::On, 1, 64);
  ASSERT_EQ(la.size(), le.size());
  EXPECT_LE(nmse(la, le), 1e-11);  // float association only
  std::filesystem::remove(absorbed);
  std::filesystem::remove(expanded);
}

TEST(Mla, DecodeTokenByTokenEqualsThePromptBatch) {
  const auto m = Model::load(base_model());
  const auto ids = prompt_ids();
  const int64_t nv = m->hp().n_vocab;
  for (int threads : {1, 2}) {
    Session batch(*m, opts(threads));
    std::vector<float> all;
    batch.eval(ids, true, all);
    Session step(*m, opts(threads));
    const std::string saved = test::temp_path("mla.tseq");
    for (size_t i = 0; i < ids.size(); ++i) {
      std::vector<float> one;
      step.eval(std::span(ids).subspan(i, 1), false, one);
      ASSERT_EQ(one, std::vector<float>(all.begin() + int64_t(i) * nv, all.begin() + int64_t(i + 1) * nv)) << i;
      if (i == 7) step.save_sequence(0, saved);
    }
    // A restored latent cache continues with the same bits.
    Session resumed(*m, opts(threads));
    const int32_t id = resumed.restore_sequence(saved);
    std::vector<float> got;
    resumed.decode({std::span(ids).subspan(8), std::vector<int64_t>{8, 9, 10, 11, 12, 13, 14, 15},
                    std::vector<int32_t>(8, id), std::vector<uint8_t>(8, 1)},
                   got);
    EXPECT_EQ(got, std::vector<float>(all.begin() + 8 * nv, all.end()));
    std::filesystem::remove(saved);
  }
}

TEST(Mla, FusedInputProjectionsWithMixedTypesEqualSeparate) {
  const std::string mixed = test::temp_path("mla-mixed.gguf");
  rewrite(mixed, [](const GgufTensorInfo& t) {
    if (t.name.ends_with("attn_q_a.weight")) return GgmlType::Q8_0;
    if (t.name.ends_with("attn_kv_a_mqa.weight")) return GgmlType::F16;
    return t.type;
  }, false);
  const auto m = Model::load(mixed);
  const ProjectionGroup& g = m->layers()[0].qkv;
  ASSERT_EQ(g.parts.size(), 2u);
  EXPECT_TRUE(g.mixed_types());
  const auto ids = prompt_ids();
  for (int threads : {1, 2})
    EXPECT_EQ(test::eval_logits(*m, ids, FusionMode::On, threads, 64),
              test::eval_logits(*m, ids, FusionMode::Off, threads, 64));
  std::filesystem::remove(mixed);
}

// Relatives that need more than latent attention are refused by name, with the reason.
TEST(Mla, SparseAndHybridRelativesAreRefusedWithTheirReason) {
  for (const char* arch : {"deepseek32", "glm-dsa", "kimi-k3"}) {
    const std::string path = test::temp_path(std::string(arch) + ".gguf");
    GgufWriter w;
    w.set_string("general.architecture", arch);
    GgufWriteOptions o;
    o.overwrite = true;
    w.write(path, o);
    const std::string err = test::error_of([&] { Model::load(path); });
    EXPECT_NE(err.find(std::string("architecture '") + arch + "' needs "), std::string::npos) << err;
    EXPECT_NE(err.find("which trident does not run yet"), std::string::npos) << err;
    std::filesystem::remove(path);
  }
}

}  // namespace
}  // namespace trident
