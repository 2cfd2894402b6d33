// The codebook, ternary and low-bit weight types (IQ4_NL, IQ4_XS, MXFP4, NVFP4, TQ1_0, TQ2_0,
// Q1_0, Q2_0) against llama.cpp 3f545bec (the grid i-quants: grid_types_test.cpp, and the
// logits test here):
//  - each is computable, packable, takes llama.cpp's activation format and has its name;
//  - the small-float scale decoders equal their definitions on every code, and the UE4M3
//    encoder inverts the decoder on every canonical code;
//  - dequantizing the fixtures of tests/data/types (tensors quantized by llama-quantize, or for
//    NVFP4 by this quantizer, see the README there) gives the sha256 of llama.cpp's
//    dequantization of the same bytes, recorded in kFixtures;
//  - trident's quantizer writes llama-quantize's bytes for the same f32 tensors;
//  - `trident logits` on a golden model quantized to the type (rebuilt here with those
//    quantizers, tensor types as llama-quantize chose them) matches llama.cpp's logits on the
//    llama-quantize file within the golden README's quantized tolerance, and gives the same
//    bits fused and unfused, packed at load and on the fly, on 1 and 2 threads.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "sha256.h"
#include "tensor/codebooks.h"
#include "tensor/repack.h"
#include "tensor/types.h"
#include "test_util.h"

namespace trident {
namespace {

using T = GgmlType;

struct TypeFacts {
  T type;
  const char* name;
  T act;
};
constexpr TypeFacts kFacts[] = {{T::IQ4_NL, "iq4_nl", T::Q8_0}, {T::IQ4_XS, "iq4_xs", T::Q8_K},
                                {T::MXFP4, "mxfp4", T::Q8_0},   {T::NVFP4, "nvfp4", T::Q8_0},
                                {T::TQ1_0, "tq1_0", T::Q8_K},   {T::TQ2_0, "tq2_0", T::Q8_K},
                                {T::Q1_0, "q1_0", T::Q8_0},     {T::Q2_0, "q2_0", T::Q8_0}};

TEST(WeightTypes, ComputablePackableNamedWithLlamaCppActivationFormat) {
  for (const TypeFacts& f : kFacts) {
    ASSERT_TRUE(type_is_computable(f.type)) << f.name;
    EXPECT_TRUE(packable(f.type)) << f.name;
    EXPECT_EQ(type_traits(f.type)->vec_dot_type, f.act) << f.name;
    EXPECT_NE(type_traits(f.type)->quantize_row, nullptr) << f.name;
    EXPECT_EQ(layout_of(f.type).name, f.name);
    EXPECT_EQ(ggml_type_from_name(f.name), f.type);
  }
}

TEST(WeightTypes, ScaleDecodersMatchTheirDefinitions) {
  for (int c = 0; c < 256; ++c) {
    const auto x = uint8_t(c);
    // UE4M3 as llama.cpp reads it, halved: 0x7F is 0, bit 7 is ignored.
    const int e = (c >> 3) & 0xF, m = c & 7;
    const float ue = c == 0x7F ? 0.0f : (e == 0 ? std::ldexp(float(m), -9) : std::ldexp(1.0f + float(m) / 8, e - 7)) * 0.5f;
    EXPECT_EQ(ue4m3_half_to_fp32(x), ue) << c;
    // E8M0 halved: 2^(c - 128), including the float subnormals at c = 0 and 1.
    EXPECT_EQ(e8m0_half_to_fp32(x), std::ldexp(1.0f, c - 128)) << c;
    // llama.cpp's encoder saturates every value of exponent 15 to 0x7E (448).
    if (c > 0 && c < 0x78) {
      EXPECT_EQ(fp32_to_ue4m3(2 * ue4m3_half_to_fp32(x)), x) << c;
    }
  }
  EXPECT_EQ(fp32_to_ue4m3(300.0f), 0x7E);
  EXPECT_EQ(fp32_to_ue4m3(1e9f), 0x7E);  // saturates at 448
  EXPECT_EQ(fp32_to_ue4m3(-1.0f), 0);
}

// Quantizing and dequantizing: zeros stay zeros, and a normal row comes back with a relative
// RMS error typical of the bit width (4-bit codebooks < 0.15, the 1-2 bit types < 0.75).
TEST(WeightTypes, QuantizeDequantizeRoundTrip) {
  constexpr int64_t kN = 1024;
  std::vector<float> x(kN), zero(kN, 0.0f), y(kN);
  uint32_t state = 1;
  for (auto& v : x) {  // a fixed spread of magnitudes and signs
    state = state * 1664525u + 1013904223u;
    v = float(int32_t(state >> 8) - (1 << 23)) / float(1 << 23) * (1.0f + float(state % 7));
  }
  for (const TypeFacts& f : kFacts) {
    const TypeTraits* tr = type_traits(f.type);
    std::vector<uint8_t> q(row_bytes(f.type, kN));
    tr->quantize_row(zero.data(), q.data(), kN);
    tr->dequantize_row(q.data(), y.data(), kN);
    for (float v : y) ASSERT_EQ(v, 0.0f) << f.name;
    tr->quantize_row(x.data(), q.data(), kN);
    tr->dequantize_row(q.data(), y.data(), kN);
    double err = 0, ref = 0;
    for (int64_t i = 0; i < kN; ++i) {
      err += double(y[size_t(i)] - x[size_t(i)]) * double(y[size_t(i)] - x[size_t(i)]);
      ref += double(x[size_t(i)]) * double(x[size_t(i)]);
    }
    const bool four_bit = f.type == T::IQ4_NL || f.type == T::IQ4_XS || f.type == T::MXFP4 || f.type == T::NVFP4;
    EXPECT_LT(std::sqrt(err / ref), four_bit ? 0.15 : 0.75) << f.name;
  }
}

// A tensor of a fixture, and the sha256 of llama.cpp's dequantization of it (f32 bytes).
struct Fixture {
  const char* file;    // in tests/data/types
  const char* tensor;
  T type;
  const char* sha256;
};
constexpr Fixture kFixtures[] = {
    {"tiny-llama-iq4_nl.gguf", "blk.0.attn_k.weight", T::IQ4_NL, "8239dc4fbea2ee45cead30999f9d027f94c786115a6161e37de6f8beb9bca9bb"},
    {"tiny-llama-iq4_nl.gguf", "blk.0.ffn_down.weight", T::IQ4_NL, "77e347ad030093c1cdde95b5f62a639fa60e7b57d73c4ed7c553904648a6e0c7"},
    {"tiny-llama-iq4_xs.gguf", "blk.0.attn_k.weight", T::IQ4_XS, "b02881fc93efb08ddb0088d2b03373bbcd1d0af96f252f47e04c2604ec888b61"},
    {"tiny-llama-iq4_xs.gguf", "blk.0.ffn_down.weight", T::IQ4_XS, "e4e8d32ddee92725eb686f365f769343d83624931f0e3e054752074d355bda2f"},
    {"tiny-llama-mxfp4.gguf", "blk.0.attn_k.weight", T::MXFP4, "befa6beff9a3c5eb03b5cdf4084ed305a4609cae740953d1d5033d58c75c2425"},
    {"tiny-llama-mxfp4.gguf", "blk.0.ffn_down.weight", T::MXFP4, "f97e2db0123cc93a44894d77a1a6b1d1a97d4f59452582742538a407a4c43435"},
    {"tiny-llama-nvfp4.gguf", "blk.0.attn_k.weight", T::NVFP4, "97610d5dcd87da8d0ed0ba34727a2c3f6ff85274708ffc260f92b534d131f6a7"},
    {"tiny-llama-nvfp4.gguf", "blk.0.ffn_down.weight", T::NVFP4, "d8c59cf76bcc23ba4f7fdc976df3f2c03f891304c6418517bd1bfede74e86d38"},
    {"tiny-llama-tq1_0.gguf", "blk.0.attn_k.weight", T::TQ1_0, "b5ef348e0b153d45c14725c5d110bc221d52b92a9892c3ae1a509b2be7c3f143"},
    {"tiny-llama-tq1_0.gguf", "blk.0.ffn_down.weight", T::TQ1_0, "557bc03d03289de915d047424be07b503a341c03b3d90aeb1d4a1ae57e25d76e"},
    {"tiny-llama-tq2_0.gguf", "blk.0.attn_k.weight", T::TQ2_0, "b5ef348e0b153d45c14725c5d110bc221d52b92a9892c3ae1a509b2be7c3f143"},
    {"tiny-llama-tq2_0.gguf", "blk.0.ffn_down.weight", T::TQ2_0, "557bc03d03289de915d047424be07b503a341c03b3d90aeb1d4a1ae57e25d76e"},
    {"tiny-qwen3-iq4_nl.gguf", "blk.1.attn_q.weight", T::IQ4_NL, "f87f6ed7f748da67f928b9ea028169c99c860b75322a7890d8bbbb399ae67a75"},
    {"tiny-qwen3-iq4_xs.gguf", "blk.1.attn_q.weight", T::IQ4_XS, "e0d119a5d7f9c65cd606ded63ec8977afe534ff08715124dc1be59b2a7b843a4"},
    {"tiny-qwen3-mxfp4.gguf", "blk.1.attn_q.weight", T::MXFP4, "f80d31a6a1c43ddacad67efbf0e55739ac369aa54f39fe3757e3cdc8e7c2f909"},
    {"tiny-qwen3-nvfp4.gguf", "blk.1.attn_q.weight", T::NVFP4, "f85d3410d69ac0ad96a1942db9a2d6d03808a8edeec0dbbc2e2a8e18172c876d"},
    {"tiny-qwen3-tq1_0.gguf", "blk.1.attn_q.weight", T::TQ1_0, "7a75dc9026ed1a1c35c662e59d24b8d9d0498c92c6ddff039084317d6eb86e56"},
    {"tiny-qwen3-tq2_0.gguf", "blk.1.attn_q.weight", T::TQ2_0, "7a75dc9026ed1a1c35c662e59d24b8d9d0498c92c6ddff039084317d6eb86e56"},
    {"tiny-llama-q1_0.gguf", "blk.0.attn_k.weight", T::Q1_0, "d4815ce8116b975f7a1bd7edd5efed5e79466f58c1f2c8f9b4ae1625a5f5232e"},
    {"tiny-llama-q1_0.gguf", "blk.0.ffn_down.weight", T::Q1_0, "9fa98279bafb1035e89a887b661af312a9e985a55d7cf2186d04cb2e5b582a9b"},
    {"tiny-qwen3-q1_0.gguf", "blk.1.attn_q.weight", T::Q1_0, "afb32aa69a955f08faf8fb10c17b1d0d1cc92211d306fb5e48c23dbf43e43910"},
    {"tiny-llama-q2_0.gguf", "blk.0.attn_k.weight", T::Q2_0, "fb2b69252036d30109aae670978ef291ed101ad6b72851dac3b2cfdad2f554d0"},
    {"tiny-llama-q2_0.gguf", "blk.0.ffn_down.weight", T::Q2_0, "ecbb1c134c5181999ac84ca8d8b73b08a56c5116f890d6629027f4977802a402"},
    {"tiny-qwen3-q2_0.gguf", "blk.1.attn_q.weight", T::Q2_0, "f4008a93c5e17223c2e7d8ec95dc800a6b2137c150a6ceaf630dca57f7f6784e"},
};

std::vector<float> dequantize(const GgufFile& f, const GgufTensorInfo& t) {
  std::vector<float> out(t.n_elements);
  type_traits(t.type)->dequantize_row(f.tensor_data(t), out.data(), int64_t(t.n_elements));
  return out;
}

TEST(WeightTypes, DequantizationEqualsLlamaCpp) {
  for (const Fixture& fx : kFixtures) {
    const auto f = GgufFile::open(test::source_dir() + "/tests/data/types/" + fx.file);
    const GgufTensorInfo* t = f->find_tensor(fx.tensor);
    ASSERT_NE(t, nullptr) << fx.file << " " << fx.tensor;
    ASSERT_EQ(t->type, fx.type) << fx.file << " " << fx.tensor;
    const auto y = dequantize(*f, *t);
    EXPECT_EQ(test::sha256_hex(y.data(), y.size() * sizeof(float)), fx.sha256) << fx.file << " " << fx.tensor;
  }
}

// The fixtures' tensors come from tiny-llama-f32 / tiny-qwen3-f32: quantizing the same rows
// gives the same bytes.
TEST(WeightTypes, QuantizerWritesLlamaQuantizeBytes) {
  for (const Fixture& fx : kFixtures) {
    const std::string name = fx.file;
    const std::string model = name.rfind("tiny-llama", 0) == 0 ? "tiny-llama-f32.gguf" : "tiny-qwen3-f32.gguf";
    const auto src = GgufFile::open(test::golden_model(model));
    const auto f = GgufFile::open(test::source_dir() + "/tests/data/types/" + fx.file);
    const GgufTensorInfo* t = f->find_tensor(fx.tensor);
    const GgufTensorInfo* s = src->find_tensor(fx.tensor);
    ASSERT_TRUE(t && s && s->type == T::F32) << fx.tensor;
    std::vector<uint8_t> q(t->n_bytes);
    const size_t rb = row_bytes(t->type, t->ne[0]);
    const auto* x = reinterpret_cast<const float*>(src->tensor_data(*s));
    for (int64_t r = 0; r < t->rows(); ++r)
      type_traits(t->type)->quantize_row(x + r * t->ne[0], q.data() + size_t(r) * rb, t->ne[0]);
    EXPECT_EQ(std::memcmp(q.data(), f->tensor_data(*t), q.size()), 0) << fx.file << " " << fx.tensor;
  }
}

// The golden model `model` (f32) with every matrix quantized to `type`, or with `type` only for
// attn_q / attn_k / ffn_down and Q8_0 for the other matrices (`mixed`: how the MXFP4 / NVFP4
// files were made, tests/data/types/README.md); vectors stay f32. Written to `out`. Tensors of
// `fixed` (a fixture file) are copied from it as they are: the grid i-quants have no quantizer.
void quantize_model(const std::string& model, T type, bool mixed, const std::string& out, T q_type = T::F32,
                    const GgufFile* fixed = nullptr) {
  const auto src = GgufFile::open(test::golden_model(model));
  GgufWriter w;
  w.copy_metadata(*src);
  std::vector<std::vector<uint8_t>> keep;
  for (const GgufTensorInfo& t : src->tensors()) {
    std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
    const auto* x = reinterpret_cast<const float*>(src->tensor_data(t));
    if (const GgufTensorInfo* ft = fixed ? fixed->find_tensor(t.name) : nullptr) {
      const uint8_t* data = fixed->tensor_data(*ft);
      const size_t bytes = ft->n_bytes;
      w.add_tensor({t.name, ft->type, ne, [data, bytes](const auto& emit) { emit(data, bytes); }});
      continue;
    }
    T tt = T::F32;
    if (t.n_dims >= 2) {
      const bool chosen = t.name.find("attn_q.") != std::string::npos || t.name.find("attn_k.") != std::string::npos ||
                          t.name.find("ffn_down.") != std::string::npos;
      tt = !mixed || chosen ? type : T::Q8_0;
    }
    if (q_type != T::F32 && t.name == "blk.0.attn_q.weight") {  // a type without arithmetic: zero bytes
      keep.emplace_back(tensor_nbytes(q_type, ne, t.name), 0);
      const uint8_t* data = keep.back().data();
      const size_t bytes = keep.back().size();
      w.add_tensor({t.name, q_type, ne, [data, bytes](const auto& emit) { emit(data, bytes); }});
      continue;
    }
    const size_t rb = row_bytes(tt, t.ne[0]);
    keep.emplace_back(rb * size_t(t.rows()));
    for (int64_t r = 0; r < t.rows(); ++r)
      type_traits(tt)->quantize_row(x + r * t.ne[0], keep.back().data() + size_t(r) * rb, t.ne[0]);
    const uint8_t* data = keep.back().data();
    const size_t bytes = keep.back().size();
    w.add_tensor({t.name, tt, ne, [data, bytes](const auto& emit) { emit(data, bytes); }});
  }
  GgufWriteOptions opt;
  opt.overwrite = true;
  w.write(out, opt);
}

TEST(WeightTypes, LogitsMatchLlamaCppWithinQuantizedTolerance) {
  struct Case {
    const char* model;
    T type;
    bool mixed;
    const char* reference;  // llama.cpp's logits on the llama-quantize file
    const char* fixture = nullptr;  // grid i-quants: their tensors, the rest Q8_0 (mixed)
  };
  const Case cases[] = {
      {"tiny-llama-f32.gguf", T::IQ4_NL, false, "logits-tiny-llama-iq4_nl.json"},
      {"tiny-llama-f32.gguf", T::IQ4_XS, false, "logits-tiny-llama-iq4_xs.json"},
      {"tiny-llama-f32.gguf", T::MXFP4, true, "logits-tiny-llama-mxfp4.json"},
      {"tiny-llama-f32.gguf", T::NVFP4, true, "logits-tiny-llama-nvfp4.json"},
      {"tiny-llama-f32.gguf", T::TQ1_0, false, "logits-tiny-llama-tq1_0.json"},
      {"tiny-llama-f32.gguf", T::TQ2_0, false, "logits-tiny-llama-tq2_0.json"},
      {"tiny-qwen3-f32.gguf", T::IQ4_XS, false, "logits-tiny-qwen3-iq4_xs.json"},
      {"tiny-qwen3-f32.gguf", T::TQ2_0, false, "logits-tiny-qwen3-tq2_0.json"},
      {"tiny-llama-f32.gguf", T::Q1_0, false, "logits-tiny-llama-q1_0.json"},
      {"tiny-llama-f32.gguf", T::Q2_0, false, "logits-tiny-llama-q2_0.json"},
      {"tiny-llama-f32.gguf", T::Q8_0, true, "logits-tiny-llama-iq2_xxs.json", "tiny-llama-iq2_xxs.gguf"},
      {"tiny-llama-f32.gguf", T::Q8_0, true, "logits-tiny-llama-iq2_xs.json", "tiny-llama-iq2_xs.gguf"},
      {"tiny-llama-f32.gguf", T::Q8_0, true, "logits-tiny-llama-iq2_s.json", "tiny-llama-iq2_s.gguf"},
      {"tiny-llama-f32.gguf", T::Q8_0, true, "logits-tiny-llama-iq3_xxs.json", "tiny-llama-iq3_xxs.gguf"},
      {"tiny-llama-f32.gguf", T::Q8_0, true, "logits-tiny-llama-iq3_s.json", "tiny-llama-iq3_s.gguf"},
      {"tiny-llama-f32.gguf", T::Q8_0, true, "logits-tiny-llama-iq1_s.json", "tiny-llama-iq1_s.gguf"},
      {"tiny-llama-f32.gguf", T::Q8_0, true, "logits-tiny-llama-iq1_m.json", "tiny-llama-iq1_m.gguf"},
  };
  for (const Case& c : cases) {
    std::ifstream in(test::source_dir() + "/tests/data/types/" + c.reference);
    const auto ref = nlohmann::json::parse(in);
    const std::string file = test::temp_path(std::string(c.reference) + ".gguf");
    std::unique_ptr<GgufFile> fixed;
    if (c.fixture) fixed = GgufFile::open(test::source_dir() + "/tests/data/types/" + c.fixture);
    quantize_model(c.model, c.type, c.mixed, file, T::F32, fixed.get());
    std::string ids;
    for (const auto& id : ref["prompt_ids"]) ids += (ids.empty() ? "" : ",") + std::to_string(id.get<int>());
    const std::string args = "logits -m " + file + " --tokens " + ids + " --cache-type-k f32 --cache-type-v f32";
    const auto r = test::run_trident(args + " -t 1 --fuse-qkv on --fuse-gate-up on");
    ASSERT_EQ(r.exit_code, 0) << c.reference << ": " << r.err;
    // Fused and unfused, packed at load or on the fly, 1 or 2 threads: the same bits.
    EXPECT_EQ(test::run_trident(args + " -t 2 --fuse-qkv off --fuse-gate-up off --repack off").out, r.out) << c.reference;
    const auto got = nlohmann::json::parse(r.out)["logits"];
    const auto& want = ref["prompt_logits"];
    ASSERT_EQ(got.size(), want.size()) << c.reference;
    double max_diff = 0, sum_sq = 0;
    size_t n = 0, argmax_mismatch = 0;
    for (size_t p = 0; p < want.size(); ++p) {
      size_t a = 0, b = 0;
      for (size_t v = 0; v < want[p].size(); ++v) {
        const double d = std::fabs(got[p][v].get<double>() - want[p][v].get<double>());
        max_diff = std::max(max_diff, d);
        sum_sq += d * d;
        ++n;
        if (want[p][v].get<double>() > want[p][a].get<double>()) a = v;
        if (got[p][v].get<double>() > got[p][b].get<double>()) b = v;
      }
      argmax_mismatch += a != b;
    }
    EXPECT_LE(max_diff, 0.5) << c.reference;
    EXPECT_LE(std::sqrt(sum_sq / double(n)), 0.05) << c.reference;
    EXPECT_LE(argmax_mismatch, 1u) << c.reference;
  }
}

// A type without arithmetic (here F64) in a weight: the file is refused in one line.
TEST(WeightTypes, TypeWithoutArithmeticRefusedInOneLine) {
  const std::string file = test::temp_path("f64.gguf");
  quantize_model("tiny-llama-f32.gguf", T::Q8_0, false, file, T::F64);
  const auto r = test::run_trident("logits -m " + file + " --tokens 1,2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "trident: error: " + file +
                       ": tensor 'blk.0.attn_q.weight' has type f64, which trident cannot compute with yet\n");
}

}  // namespace
}  // namespace trident
