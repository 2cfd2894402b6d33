// The grid i-quant quantizers (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M) against
// llama.cpp 3f545bec's ggml_quantize_chunk on three deterministic matrices, with and without an
// importance matrix where llama.cpp accepts none: the sha256 of the bytes must be llama.cpp's
// (recorded by a program outside this repository, see tests/data/types/README.md). Then the
// bytes go back through trident's dequantizer within an error bound, and the types llama.cpp
// refuses without an importance matrix are refused with a clear error.
//
// Set TRIDENT_GRID_REF_DIR to the reference program's output folder to have a mismatch report
// its first differing block.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "kquant_inputs.h"
#include "sha256.h"
#include "tensor/blocks.h"
#include "tensor/quant_fns.h"
#include "tensor/types.h"

namespace trident {
namespace {

using kquant_test::Rng;
using QuantizeFn = size_t (*)(const float*, void*, int64_t, int64_t, const float*);

struct GridQuantizer {
  const char* name;
  GgmlType type;
  QuantizeFn fn;
  bool needs_imatrix;
};
const GridQuantizer kQuantizers[] = {
    {"iq2_xxs", GgmlType::IQ2_XXS, quantize_iq2_xxs, true}, {"iq2_xs", GgmlType::IQ2_XS, quantize_iq2_xs, true},
    {"iq2_s", GgmlType::IQ2_S, quantize_iq2_s, false},       {"iq3_xxs", GgmlType::IQ3_XXS, quantize_iq3_xxs, false},
    {"iq3_s", GgmlType::IQ3_S, quantize_iq3_s, false},       {"iq1_s", GgmlType::IQ1_S, quantize_iq1_s, true},
    {"iq1_m", GgmlType::IQ1_M, quantize_iq1_m, false}};

struct Matrix {
  int64_t nrow, ncol;
  std::vector<float> x, imatrix;
};

float normalish(Rng& r) {  // the four draws summed in call order, as the reference program does
  float a = r.uniform();
  a = a + r.uniform();
  a = a + r.uniform();
  a = a + r.uniform();
  return a - 2.f;
}

// 0: 4 x 512 bell-shaped values; 1: 2 rows of kquant_inputs.h's test_row (blocks of outliers,
// ties, sparse, tiny and zero values); 2: 5 x 256 rows all zero, all 0.5, all -0.25, small with
// one outlier of 40, bell-shaped with one of -1000. The importance: 0.1 + 2 u, every 61st zero.
Matrix make_matrix(int m) {
  const int64_t shapes[3][2] = {{4, 512}, {2, 2048}, {5, 256}};
  Matrix mat{shapes[m][0], shapes[m][1], {}, {}};
  const int64_t c = mat.ncol;
  mat.x.resize(size_t(mat.nrow * c));
  if (m == 0) {
    Rng rng{11};
    for (float& v : mat.x) v = normalish(rng);
  } else if (m == 1) {
    for (int64_t r = 0; r < mat.nrow; ++r) {
      const std::vector<float> row = kquant_test::test_row(uint64_t(21 + r), c);
      std::copy(row.begin(), row.end(), mat.x.begin() + r * c);
    }
  } else {
    Rng rng{31};
    for (int64_t j = 0; j < c; ++j) {
      mat.x[size_t(j)] = 0.f;
      mat.x[size_t(c + j)] = 0.5f;
      mat.x[size_t(2 * c + j)] = -0.25f;
      mat.x[size_t(3 * c + j)] = 0.01f * normalish(rng);
      mat.x[size_t(4 * c + j)] = normalish(rng);
    }
    mat.x[size_t(3 * c + 77)] = 40.f;
    mat.x[size_t(4 * c + 200)] = -1000.f;
  }
  Rng ri{uint64_t(41 + m)};
  mat.imatrix.resize(size_t(c));
  for (int64_t j = 0; j < c; ++j) mat.imatrix[size_t(j)] = (j % 61 == 7) ? 0.f : 0.1f + 2.f * ri.uniform();
  return mat;
}

std::vector<uint8_t> run(const GridQuantizer& q, const Matrix& m, bool use_imatrix) {
  std::vector<uint8_t> out(row_bytes(q.type, m.ncol) * size_t(m.nrow));
  const size_t n = q.fn(m.x.data(), out.data(), m.nrow, m.ncol, use_imatrix ? m.imatrix.data() : nullptr);
  EXPECT_EQ(n, out.size()) << q.name;
  return out;
}

// The inputs must be the reference program's, or the hashes below mean nothing.
TEST(GridQuantize, InputsAreTheReferenceInputs) {
  const char* want[3][2] = {
      {"cc069bf6a4f52614bfb2166e729fa749f8354b8f837c35b6315641a3da8ccb0d", "7f19d0e779a50d15d6cb68b77f46b9b0a56330c702ca8d98f322feafde8190f5"},
      {"76c1c6ddb486c77f9913bc760d2e56bb5e26728e883d9ff3b40e030e7c557ad3", "21ab1f4943f203edcaf857038ad40f719edac2c4436beb54c0bb1f8be07608fb"},
      {"bc73e43f7e5554a40d98fa34c1c4320901d4da9649882ae44dba41fc1148eca5", "9cc228a9a4a40e21f6708afc9e9123d876da1eb5e7f920ea1732d51cbd5a985c"}};
  for (int m = 0; m < 3; ++m) {
    const Matrix mat = make_matrix(m);
    EXPECT_EQ(test::sha256_hex(mat.x.data(), mat.x.size() * 4), want[m][0]) << "matrix " << m;
    EXPECT_EQ(test::sha256_hex(mat.imatrix.data(), mat.imatrix.size() * 4), want[m][1]) << "matrix " << m;
  }
}

struct Reference {
  int matrix;
  const char* type;
  bool imatrix;
  const char* sha256;
};
// sha256 of ggml_quantize_chunk(type, x, dst, 0, nrow, ncol, imatrix or NULL), llama.cpp 3f545bec.
const Reference kReferences[] = {
    {0, "iq1_m", true, "b1060b9b7900c5a379385af77c8ec5c83ed4126c9e7a202da863e280300d0d6f"},
    {0, "iq1_m", false, "56a035da5af48b6354d83847481f9824e61d45eda5434887771bb7f92ae8df6d"},
    {0, "iq1_s", true, "7eeeb19c70c6c4e395f7a8f99c114c6e65e108470ad880da4ad6bfbd4a4ace33"},
    {0, "iq2_s", true, "ceb077087c9ea32b7e2c8dca8c32adb5e61e3615ff544d5d7cf1972ff87ad315"},
    {0, "iq2_s", false, "6dad8f5f8a6ff9bf7352bf5dac97d7e1deeeb98906fbdd548379c7f68d7f9a64"},
    {0, "iq2_xs", true, "6be6b7e0528e32ef739a78dda684c72698e4e21b5ded2eb54e694c14f4517731"},
    {0, "iq2_xxs", true, "70d5acf4f2c254fd1354af5d02b92febca73bb9c2a962c73cc7f9c01de648634"},
    {0, "iq3_s", true, "8c0a534e0c6dea998c3d76e2e8d830d2bd0c82ac47e270f12141b80ba8aebbeb"},
    {0, "iq3_s", false, "93caa0b39f24bc83bb6741b28081daedd446f59ae372d97b1ef11d425699b08a"},
    {0, "iq3_xxs", true, "fd8295bd86ebb76d965ee2cca06687a493026ff0f3e550e2fb09fcef55bba727"},
    {0, "iq3_xxs", false, "284ed33d8d4d5244022dea84ea27a276c75137fd68dde8c97ff9c45aa046ed47"},
    {1, "iq1_m", true, "72298f3c811b4f62d51b0b1394707bddf37060b0bc9964966e890c5a72641fdb"},
    {1, "iq1_m", false, "385385e28e08481f315091fee18838546e88f3df73ccbf699b351bc6a19a22bf"},
    {1, "iq1_s", true, "d9dc497a8378f4a4f0bb7ef7f0f9d2d38d286e6d2205bbde17d032ab96ca0fe1"},
    {1, "iq2_s", true, "b3849f7d1622f58eb8e973f83c8483484e005ceec8b01e96c483fbe17b44d706"},
    {1, "iq2_s", false, "ee80fe46a9c22c10e36a6585d05ec5440c91ae62736401f9cfbce360ad9844ae"},
    {1, "iq2_xs", true, "7da7c3fb0930fce570f37008f0a65b1033df32ccf7e8634fe649700dbdaf0942"},
    {1, "iq2_xxs", true, "6ad6db72e0329828f3f3e2312e3f6dbfdf597713457e17f7bc0e952d462f30f0"},
    {1, "iq3_s", true, "b86134d7af7f8f621319683280a354ad0fca6d7e5fbda0fcd0ba1c56d971b33f"},
    {1, "iq3_s", false, "26f0140a21c20e6739412d446aa92206c82be327426dccee7504da3a561f5934"},
    {1, "iq3_xxs", true, "8453ff94321e0d8960039b658f8aa255d3007dd675ceadb36b80f85f39f1fed7"},
    {1, "iq3_xxs", false, "7df553b044a74d21601410f3f8e873bc23e8897769fb07cbcb0fff00856aa693"},
    {2, "iq1_m", true, "f5e9ebedb796de9d0b9775d5566566b8e7d30c32b7bb4cba5574624955532947"},
    {2, "iq1_m", false, "7a381236e65ce20b26bdc2e7e5b6c7b32c151c84d662708f8dddf3f392cb834a"},
    {2, "iq1_s", true, "60b70d77c1d2b2b7fdcd77a213dc21f5f4884cfadfec2ce6c90650ed59e6709f"},
    {2, "iq2_s", true, "71ae250afceaf7794ebb6c70e872f3d38b3dbcd111c1a6cfae24c5cf1edc8b6d"},
    {2, "iq2_s", false, "66dee4fbcee69c5b64158e18d756eff5871179328485f7561f6bd2ab9999b6c5"},
    {2, "iq2_xs", true, "bf582d902eeb751ff5f4b4de7479efb071b5ca423da8ee3ea41ce085abf927f8"},
    {2, "iq2_xxs", true, "b9be485fd9fea59e750b8987b286cc054adc7cba39c289b69e037afaf7d5a0e6"},
    {2, "iq3_s", true, "4c33f3d7fa957c4e4599bfbdfd0e34837f557ca46125c58f312f72604de7f282"},
    {2, "iq3_s", false, "9aaef6699391d1cd050ce0e42e8c0fa011a9cd3d6cda770f5a2f96069620a307"},
    {2, "iq3_xxs", true, "baf74e9a19bf58b73aa73d1e7dad84daaa7eaa20b27aba52c89e9d13435dff81"},
    {2, "iq3_xxs", false, "54f18933e65c96c16c2927bcd2670386ce6407eaa5576afd849c9196ec21fccc"},
};

const GridQuantizer& quantizer(const std::string& name) {
  for (const GridQuantizer& q : kQuantizers)
    if (name == q.name) return q;
  throw std::logic_error("no quantizer " + name);
}

// With TRIDENT_GRID_REF_DIR set: where the bytes first differ from the reference file.
std::string first_difference(const Reference& r, const std::vector<uint8_t>& got, size_t block_bytes) {
  const char* dir = std::getenv("TRIDENT_GRID_REF_DIR");
  if (!dir) return "";
  std::ifstream f(std::string(dir) + "/m" + std::to_string(r.matrix) + "-" + r.type + (r.imatrix ? "-imat" : "-noimat") + ".bin",
                  std::ios::binary);
  const std::vector<uint8_t> want((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  for (size_t i = 0; i < got.size() && i < want.size(); ++i)
    if (got[i] != want[i])
      return "first difference at byte " + std::to_string(i) + " (block " + std::to_string(i / block_bytes) + ", offset " +
             std::to_string(i % block_bytes) + "): got " + std::to_string(got[i]) + ", llama.cpp " + std::to_string(want[i]);
  return "sizes " + std::to_string(got.size()) + " / " + std::to_string(want.size());
}

TEST(GridQuantize, BytesEqualLlamaCpp) {
  Matrix mats[3] = {make_matrix(0), make_matrix(1), make_matrix(2)};
  for (const Reference& r : kReferences) {
    const GridQuantizer& q = quantizer(r.type);
    const std::vector<uint8_t> got = run(q, mats[r.matrix], r.imatrix);
    const std::string hex = test::sha256_hex(got.data(), got.size());
    EXPECT_EQ(hex, r.sha256) << r.type << " matrix " << r.matrix << (r.imatrix ? " with" : " without") << " imatrix "
                             << (hex == r.sha256 ? "" : first_difference(r, got, layout_of(q.type).type_size));
  }
}

TEST(GridQuantize, RefusesMissingImportanceWhereLlamaCppDoes) {
  const Matrix m = make_matrix(0);
  for (const GridQuantizer& q : kQuantizers) {
    std::vector<uint8_t> out(row_bytes(q.type, m.ncol) * size_t(m.nrow));
    if (!q.needs_imatrix) continue;
    try {
      q.fn(m.x.data(), out.data(), m.nrow, m.ncol, nullptr);
      ADD_FAILURE() << q.name << " quantized without an importance matrix";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("needs an importance matrix"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(quantize_iq3_s(m.x.data(), nullptr, 1, 100, nullptr), std::invalid_argument);  // not whole blocks
}

// NaN and infinity in a row (llama-quantize refuses such tensors before quantizing): each
// quantizer either writes its bytes or throws std::invalid_argument; it never crashes.
TEST(GridQuantize, NonFiniteValuesNeverCrash) {
  Matrix m = make_matrix(0);
  m.x[3] = std::nanf("");
  m.x[600] = INFINITY;
  m.x[1100] = -INFINITY;
  for (const GridQuantizer& q : kQuantizers) {
    for (bool use_imatrix : {true, false}) {
      if (q.needs_imatrix && !use_imatrix) continue;
      std::vector<uint8_t> out(row_bytes(q.type, m.ncol) * size_t(m.nrow));
      try {
        q.fn(m.x.data(), out.data(), m.nrow, m.ncol, use_imatrix ? m.imatrix.data() : nullptr);
      } catch (const std::invalid_argument&) {
      }
    }
  }
}

// Round trip on matrix 0 (bell-shaped values in [-2, 2]) through trident's dequantizer: relative
// RMS error, with the importance matrix. The limits are 1.25x what these quantizers give here
// (measured: IQ1_S 0.506, IQ1_M 0.476, IQ2_XXS 0.382, IQ2_XS 0.340, IQ2_S 0.262, IQ3_XXS 0.216,
// IQ3_S 0.140), ordered as the types' bits per weight. Matrix 2's zero row must come back zero.
TEST(GridQuantize, RoundTripError) {
  struct Limit {
    const char* type;
    double rel_rms;
  };
  const Limit kLimits[] = {{"iq1_s", 0.63}, {"iq1_m", 0.60},  {"iq2_xxs", 0.48}, {"iq2_xs", 0.43},
                           {"iq2_s", 0.33}, {"iq3_xxs", 0.27}, {"iq3_s", 0.18}};
  const Matrix m = make_matrix(0), edge = make_matrix(2);
  for (const Limit& lim : kLimits) {
    const GridQuantizer& q = quantizer(lim.type);
    const std::vector<uint8_t> bytes = run(q, m, true);
    std::vector<float> y(m.x.size());
    type_traits(q.type)->dequantize_row(bytes.data(), y.data(), int64_t(y.size()));
    double err2 = 0, x2 = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      err2 += (double(m.x[i]) - y[i]) * (double(m.x[i]) - y[i]);
      x2 += double(m.x[i]) * m.x[i];
    }
    EXPECT_LT(std::sqrt(err2 / x2), lim.rel_rms) << lim.type;

    const std::vector<uint8_t> edge_bytes = run(q, edge, true);
    std::vector<float> zero_row(size_t(edge.ncol), 1.f);
    type_traits(q.type)->dequantize_row(edge_bytes.data(), zero_row.data(), edge.ncol);
    for (float v : zero_row) ASSERT_EQ(v, 0.f) << lim.type;
  }
}

}  // namespace
}  // namespace trident
