// The grid i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M) against llama.cpp
// 3f545bec:
//  - each is computable with Q8_K activations and has its name; the expanded codebooks and sign
//    table hash to llama.cpp's tables (the sha256 scripts/gen-grid-tables.py printed from
//    ggml-common.h);
//  - dequantizing the fixtures of tests/data/types (tensors quantized by llama-quantize with an
//    importance matrix, see the README there) gives the sha256 of ggml's to_float of the same
//    bytes, all tensors of a file concatenated in file order;
//  - the reference dot equals the dequantized weights dotted with the dequantized activations
//    within the float rounding of its schedule, and every kernel table gives the reference's bits.
// The model-level check (logits vs llama.cpp's) is in weight_types_test.cpp with the other types.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "format/gguf.h"
#include "kernels/dispatch.h"
#include "kquant_inputs.h"
#include "sha256.h"
#include "tensor/grids.h"
#include "tensor/quant_fns.h"
#include "tensor/types.h"
#include "test_util.h"

namespace trident {
namespace {

using T = GgmlType;

struct GridType {
  T type;
  const char* name;
};
constexpr GridType kGridTypes[] = {{T::IQ2_XXS, "iq2_xxs"}, {T::IQ2_XS, "iq2_xs"}, {T::IQ2_S, "iq2_s"},
                                   {T::IQ3_XXS, "iq3_xxs"}, {T::IQ3_S, "iq3_s"},   {T::IQ1_S, "iq1_s"},
                                   {T::IQ1_M, "iq1_m"}};

TEST(GridTypes, ComputableWithQ8KActivationsAndNamed) {
  for (const GridType& g : kGridTypes) {
    ASSERT_TRUE(type_is_computable(g.type)) << g.name;
    EXPECT_EQ(type_traits(g.type)->vec_dot_type, T::Q8_K) << g.name;
    EXPECT_EQ(type_traits(g.type)->quantize_row, nullptr) << g.name;  // no quantizer yet
    EXPECT_EQ(layout_of(g.type).name, g.name);
    EXPECT_EQ(ggml_type_from_name(g.name), g.type);
    EXPECT_EQ(layout_of(g.type).block_size, QK_K);
  }
}

// sha256 of llama.cpp's tables as ggml-common.h lays them out (printed by the generator into
// tensor/grid_tables.inc).
TEST(GridTypes, CodebooksEqualLlamaCppTables) {
  auto hex = [](const auto& a) { return test::sha256_hex(a.data(), a.size()); };
  EXPECT_EQ(hex(kIQ2XXSGrid), "05826b5d3e472a3a78f196be62ac78acf81df0f909626e12ab9fa2a5d490dd54");
  EXPECT_EQ(hex(kIQ2XSGrid), "06e47aaca60b4dc1d9b5a3f34540437058a6b142b4d7a59d5ded769b4d1bf1de");
  EXPECT_EQ(hex(kIQ2SGrid), "e1aa1473412b0552c2174c30ef22ab4073f6a181b85a17056e8249bd2932fd88");
  EXPECT_EQ(hex(kIQ3XXSGrid), "46e35f5a997efdee6c99ce57854c8a0d4f0ff8ca57e5e8a60c0793ea580acf5d");
  EXPECT_EQ(hex(kIQ3SGrid), "bd1af4945a1717c65610b0284e4628b9a1ba3b306fae3a06f6e5f597356e349f");
  EXPECT_EQ(hex(kIQ1SGrid), "07540ffc1aeaf6ad4d97e96b0fcc765aae39671d4ae4a27bbd0e796fde167c6a");
  EXPECT_EQ(hex(kIQ2Signs), "a76742a603f8beca5212ecce0f1f02f11a4887fd2f7c8b15aca0ea3eb3380c31");
}

struct Fixture {
  const char* file;  // in tests/data/types
  T type;
  const char* sha256;  // ggml's to_float of every tensor of the file, concatenated
};
constexpr Fixture kFixtures[] = {
    {"tiny-llama-iq1_m.gguf", T::IQ1_M, "0df3fd146bf71ea57b05fcf5ced1738722949fad8196eb906577eac69e781fa5"},
    {"tiny-llama-iq1_s.gguf", T::IQ1_S, "ad7fcea66244eddda709d619fb54f8754eda851678937b0e296bab54897311ca"},
    {"tiny-llama-iq2_s.gguf", T::IQ2_S, "de9ef36eb1ff905c536796e5bb6cf31a97b3f4ee15f31d5612a5d7a2114fa5e0"},
    {"tiny-llama-iq2_xs.gguf", T::IQ2_XS, "c50e3aa27998fd03626bb516b73eff1b9c441d60d02f791fc1ffa872f2fec0b1"},
    {"tiny-llama-iq2_xxs.gguf", T::IQ2_XXS, "79cb1e2c0110ba8e70b9af8f0f4720d1eb34f2d135fccdf1a5b99fdf3e145a87"},
    {"tiny-llama-iq3_s.gguf", T::IQ3_S, "34dcb18bd73b83d2ba21502689124ec6cdfe1662b17cade3a321f7efcd7e3131"},
    {"tiny-llama-iq3_xxs.gguf", T::IQ3_XXS, "67eb47345e74368f38d86f7dcbd932b52e3d0bdf6dd492de791d421a26fa87c8"},
    {"tiny-qwen3-iq1_m.gguf", T::IQ1_M, "0423aa586dfd0aab3490fc2a2a178abc9685d72f2b87ae3dd505bd01735b04cd"},
    {"tiny-qwen3-iq1_s.gguf", T::IQ1_S, "e12f88817d70f62ebbe0e5309223a0bd2e4184dba6984a841355e25b7cbef275"},
    {"tiny-qwen3-iq2_s.gguf", T::IQ2_S, "a9264ea285d4ba3531edd408188657b3ac12d419993f97add60154a00c1b724c"},
    {"tiny-qwen3-iq2_xs.gguf", T::IQ2_XS, "727ce76d336b8a44088492abb39410280226a5998eafc706a9af098cbbf025ea"},
    {"tiny-qwen3-iq2_xxs.gguf", T::IQ2_XXS, "431c20a97b921177df062c61befee914243cccb28e1df80f88549bad5d8b90fc"},
    {"tiny-qwen3-iq3_s.gguf", T::IQ3_S, "b5284fed9e25519efed05b1cacb590be7f92f98b4c3222278b183b2198f87ce3"},
    {"tiny-qwen3-iq3_xxs.gguf", T::IQ3_XXS, "b2a87502fddb8a8cc4219b9af08d2ee53e07abf3e64ba42bff953de5a68f0bc7"},
};

TEST(GridTypes, DequantizationEqualsLlamaCpp) {
  for (const Fixture& fx : kFixtures) {
    const auto f = GgufFile::open(test::source_dir() + "/tests/data/types/" + fx.file);
    std::vector<float> y;
    for (const GgufTensorInfo& t : f->tensors()) {
      ASSERT_EQ(t.type, fx.type) << fx.file << " " << t.name;
      const size_t at = y.size();
      y.resize(at + t.n_elements);
      type_traits(t.type)->dequantize_row(f->tensor_data(t), y.data() + at, int64_t(t.n_elements));
    }
    EXPECT_EQ(y.size(), fx.file[5] == 'l' ? 458752u : 65536u) << fx.file;  // all tensors read
    EXPECT_EQ(test::sha256_hex(y.data(), y.size() * sizeof(float)), fx.sha256) << fx.file;
  }
}

// Random block bytes (every bit pattern is a valid grid block) with a normal fp16 scale; IQ1_M
// keeps its scale in the top nibbles of its four u16 scale words.
std::vector<uint8_t> random_row(T type, int64_t n, uint64_t seed) {
  kquant_test::Rng rng{seed};
  std::vector<uint8_t> row(row_bytes(type, n));
  for (auto& b : row) b = uint8_t(rng.next());
  const size_t bs = layout_of(type).type_size;
  for (size_t at = 0; at < row.size(); at += bs) {
    const uint16_t d = uint16_t(0x2000 + rng.next() % 0x1800);  // 2^-7 .. 2^-1, either sign below
    if (type == T::IQ1_M) {
      for (int k = 0; k < 4; ++k) {
        uint16_t w;
        std::memcpy(&w, &row[at + 48 + 2 * size_t(k)], 2);
        w = uint16_t((w & 0x0FFF) | ((d >> 4 * k) & 0xF) << 12);
        std::memcpy(&row[at + 48 + 2 * size_t(k)], &w, 2);
      }
    } else {
      const uint16_t sd = uint16_t(d | (rng.next() & 1) << 15);
      std::memcpy(&row[at], &sd, 2);
    }
  }
  return row;
}

// dot(w, x) against the double dot of the dequantized rows: the reference rounds one product and
// one add per super-block (float(isum) exact below 2^24, larger IQ2 sums rounded once), so the
// error is below (blocks + 3) ulps of the sum of |terms|.
TEST(GridTypes, ReferenceDotEqualsDequantizedDot) {
  constexpr int64_t kN = 8 * QK_K;
  const std::vector<float> xf = kquant_test::test_row(7, kN);
  std::vector<BlockQ8_K> x(kN / QK_K);
  quantize_row_q8_K(xf.data(), x.data(), kN);
  std::vector<float> xd(kN), wd(kN);
  dequantize_row_q8_K(x.data(), xd.data(), kN);
  for (const GridType& g : kGridTypes) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      const auto w = random_row(g.type, kN, seed);
      type_traits(g.type)->dequantize_row(w.data(), wd.data(), kN);
      double ref = 0, mag = 0;
      for (int64_t i = 0; i < kN; ++i) {
        ref += double(wd[size_t(i)]) * double(xd[size_t(i)]);
        mag += std::fabs(double(wd[size_t(i)]) * double(xd[size_t(i)]));
      }
      float s = std::numeric_limits<float>::quiet_NaN();
      scalar_kernel_table().vec_dot[uint32_t(g.type)](kN, &s, w.data(), x.data());
      EXPECT_LE(std::fabs(double(s) - ref), (kN / QK_K + 3) * 0x1p-23 * mag) << g.name << " seed " << seed;
    }
  }
}

// Row-wise dots of every table on 1 to 8 super-blocks of random blocks, against activations of
// every shape of test_row and against +-127 everywhere (the largest products: vpmaddubsw must not
// saturate).
TEST(GridTypes, EveryKernelTableGivesTheReferenceBits) {
  for (int64_t blocks : {1, 3, 8}) {
    const int64_t n = blocks * QK_K;
    std::vector<BlockQ8_K> xs[2] = {std::vector<BlockQ8_K>(size_t(blocks)), std::vector<BlockQ8_K>(size_t(blocks))};
    quantize_row_q8_K(kquant_test::test_row(11 + uint64_t(blocks), n).data(), xs[0].data(), n);
    std::vector<float> extreme(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) extreme[size_t(i)] = i % 3 ? 1.0f : -1.0f;
    quantize_row_q8_K(extreme.data(), xs[1].data(), n);
    for (const GridType& g : kGridTypes)
      for (uint64_t seed = 1; seed <= 3; ++seed)
        for (const auto& x : xs) {
          const auto w = random_row(g.type, n, seed * 100 + uint64_t(blocks));
          float want = 0;
          scalar_kernel_table().vec_dot[uint32_t(g.type)](n, &want, w.data(), x.data());
          for (const KernelTable* t : supported_kernel_tables()) {
            float got = std::numeric_limits<float>::quiet_NaN();
            t->vec_dot[uint32_t(g.type)](n, &got, w.data(), x.data());
            EXPECT_EQ(std::memcmp(&got, &want, 4), 0) << g.name << " " << t->isa << " blocks " << blocks << " seed " << seed;
          }
        }
  }
}

}  // namespace
}  // namespace trident
