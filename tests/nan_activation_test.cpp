// Non-finite activations (issue 19, defect 12). A valid file can produce NaN or infinite
// activations (an F32 norm retyped to F16 did); the kernels must then compute garbage, never
// undefined behaviour. The AVX-512 Q8 activation quantizer summed its int32 lanes with
// _mm512_reduce_add_epi32, whose scalar reduction overflowed a signed int once NaN had become
// INT32_MIN — a UBSan report that `make test-sanitize` (halt on error) turns into a failure here.
//  - every activation converter of every kernel table on rows of NaN, ±inf and ±FLT_MAX, then
//    every dot that reads that format;
//  - finite blocks beside non-finite ones are quantized exactly as they are alone;
//  - a whole model (Q8_0 and Q4_K_M weights, so packed and Q8_K paths run) whose first norm
//    holds NaN and infinities evaluates without failing, with every kernel table.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <vector>

#include "format/gguf.h"
#include "kernels/dispatch.h"
#include "tensor/types.h"
#include "gguf_craft.h"
#include "test_util.h"

namespace trident {
namespace {

using T = GgmlType;
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// 256 values (one Q8_K block, eight Q8_0 blocks): block 0 all NaN, block 1 mixed NaN / inf /
// FLT_MAX, block 2 infinities only, blocks 3-5 zeros with a few NaN lanes (a NaN lane becomes
// INT32_MIN, and two of them in the lanes a reduction adds last overflow a signed sum), the
// rest finite random values.
std::vector<float> hostile_row(std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(256);
  for (auto& v : x) v = nd(rng);
  for (int i = 0; i < 32; ++i) x[size_t(i)] = kNan;
  const float mixed[] = {kNan, kInf, -kInf, FLT_MAX, -FLT_MAX, 1.0f, -0.0f, kNan};
  for (int i = 0; i < 32; ++i) x[size_t(32 + i)] = mixed[i % 8];
  for (int i = 0; i < 32; ++i) x[size_t(64 + i)] = i % 2 ? kInf : -kInf;
  for (int i = 96; i < 192; ++i) x[size_t(i)] = 0.0f;
  for (int lane : {0, 1, 32 + 2, 32 + 19, 64 + 0, 64 + 1, 64 + 2, 64 + 17}) x[size_t(96 + lane)] = kNan;
  return x;
}

TEST(NanActivation, ConvertersAndDotsOfEveryTableStayDefined) {
  std::mt19937 rng(12);
  const auto x = hostile_row(rng);
  const KernelTable& ref = scalar_kernel_table();
  for (const KernelTable* k : supported_kernel_tables())
    for (uint32_t w = 0; w < kGgmlTypeCount; ++w) {
      if (!k->vec_dot[w] || !type_traits(T(w))) continue;
      const T at = type_traits(T(w))->vec_dot_type;
      ASSERT_TRUE(k->quantize_act[uint32_t(at)]) << k->isa << " " << uint32_t(at);
      std::vector<uint8_t> act(row_bytes(at, 256)), act_ref(act.size());
      k->quantize_act[uint32_t(at)](x.data(), act.data(), 256);
      ref.quantize_act[uint32_t(at)](x.data(), act_ref.data(), 256);
      // The finite blocks (from 192 on) agree with the scalar converter bit for bit.
      const size_t block = layout_of(at).type_size, per = size_t(layout_of(at).block_size);
      if (per <= 32) {
        for (size_t b = 192 / per; b < 256 / per; ++b)
          EXPECT_EQ(std::memcmp(&act[b * block], &act_ref[b * block], block), 0) << k->isa << " block " << b;
      }
      // Any weight row: zeros are a valid block of every type.
      std::vector<uint8_t> wrow(row_bytes(T(w), 256), 0);
      float s = 0;
      k->vec_dot[w](256, &s, wrow.data(), act.data());
      (void)s;  // NaN, infinite or finite: any value is acceptable, undefined behaviour is not
    }
}

// Overwrites the F32 tensor `name` of a copy of `model` with NaN and infinities.
std::string poisoned_copy(const std::string& model, const std::string& name) {
  const std::string out = test::temp_path("nan.gguf");
  std::filesystem::copy_file(test::golden_model(model), out);
  uint64_t at = 0, n = 0;
  {
    const auto f = GgufFile::open(out);
    const GgufTensorInfo* t = f->find_tensor(name);
    EXPECT_TRUE(t && t->type == T::F32) << name;
    if (!t) return out;
    at = f->data_offset() + t->offset;
    n = t->n_elements;
  }
  std::vector<float> bad(n);
  for (uint64_t i = 0; i < n; ++i) bad[i] = i % 3 == 0 ? kNan : (i % 3 == 1 ? kInf : -kInf);
  std::string bytes = test::read_bytes(out);
  std::memcpy(bytes.data() + at, bad.data(), n * sizeof(float));
  test::write_bytes(out, bytes);
  return out;
}

TEST(NanActivation, ModelWithANanNormEvaluatesOnEveryTable) {
  for (const char* model : {"tiny-llama-q8_0.gguf", "tiny-llama-q4_k_m.gguf"}) {
    const std::string path = poisoned_copy(model, "blk.0.attn_norm.weight");
    const auto m = Model::load(path);
    for (const KernelTable* k : supported_kernel_tables()) {
      ASSERT_TRUE(select_kernel_table(k->isa));
      for (FusionMode fuse : {FusionMode::On, FusionMode::Off}) {
        const auto logits = test::eval_logits(*m, {1, 17, 42, 99, 5}, fuse, 2, 64);
        EXPECT_EQ(logits.size(), 5 * size_t(m->hp().n_vocab)) << model << " " << k->isa;
      }
    }
    select_kernel_table(kernel_table().isa);
  }
}

}  // namespace
}  // namespace trident
