// GGUF files shaped like the inputs of the public GGUF-loader CVEs (see
// ../shared/notes/reliability-anchors.md §1.1): overflow in tensor sizes, string lengths, array
// counts, alignment and offsets beyond the file. Each is refused at open with the exact line
// below, before anything is allocated from the claimed size.
#include <gtest/gtest.h>

#include <filesystem>

#include "format/error.h"
#include "format/gguf.h"
#include "gguf_craft.h"
#include "test_util.h"

namespace trident {
namespace {

using test::CraftLayout;
using test::GgufCraft;
using test::le;

constexpr uint32_t kI8 = 24, kF32Type = 0;

// The refusal without its "PATH: " prefix.
std::string refusal(const GgufCraft& c) {
  const std::string path = test::temp_path("cve.gguf");
  test::write_bytes(path, c.build());
  std::string msg;
  try {
    GgufFile::open(path);
  } catch (const Error& e) {
    msg = e.what();
  }
  std::filesystem::remove(path);
  EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
  return msg.size() > path.size() + 2 ? msg.substr(path.size() + 2) : msg;
}

GgufCraft one_tensor(std::vector<int64_t> ne, uint32_t type, uint64_t offset = 0) {
  GgufCraft c;
  c.tensor({"a", std::move(ne), type, offset, uint64_t(0)});
  c.data_bytes = 0;
  return c;
}

uint64_t data_at(const GgufCraft& c) {
  CraftLayout lay;
  c.build(&lay);
  return lay.data_at;
}

// CVE-2025-53630: a tensor size near 2^64 that wrapped when padded and summed into the
// context size, leaving an undersized buffer. Here each tensor's range is checked on its own.
TEST(GgufCve, Cve2025_53630_SizeNear2To64) {
  const uint64_t n = uint64_t(INT64_MAX) - 15;
  const GgufCraft c = one_tensor({int64_t(n)}, kI8);
  const uint64_t d = data_at(c);
  EXPECT_EQ(refusal(c), fmt::format("tensor 'a' data [{}, {}) runs past the end of the file (data section holds 0 bytes)",
                                    d, d + n));
}

// CVE-2026-27940: two tensors of ~2^62 bytes each, individually plausible, whose sum wrapped
// the allocation (the bypass of the previous fix).
TEST(GgufCve, Cve2026_27940_TwoHugeTensors) {
  const int64_t n = int64_t(1) << 62;
  GgufCraft c;
  c.tensor({"a", {n}, kI8, uint64_t(0), uint64_t(0)});
  c.tensor({"b", {n}, kI8, uint64_t(n), uint64_t(0)});
  c.data_bytes = 0;
  const uint64_t d = data_at(c);
  EXPECT_EQ(refusal(c), fmt::format("tensor 'a' data [{}, {}) runs past the end of the file (data section holds 0 bytes)",
                                    d, d + uint64_t(n)));
}

// CVE-2026-33298: ggml_nbytes overflowed on an exabyte-sized shape. Element counts and byte
// sizes are computed with checked arithmetic.
TEST(GgufCve, Cve2026_33298_ShapeProductOverflow) {
  EXPECT_EQ(refusal(one_tensor({INT64_MAX, 2, 1, 1}, kF32Type)), "tensor 'a': element count 18446744073709551614 too large");
  EXPECT_EQ(refusal(one_tensor({int64_t(1) << 62, 4}, kF32Type)),
            "tensor 'a' element count: size overflow (4611686018427387904 * 4)");
  EXPECT_EQ(refusal(one_tensor({int64_t(1) << 62}, kF32Type)), "tensor 'a' byte size: size overflow (4611686018427387904 * 4)");
  EXPECT_EQ(refusal(one_tensor({-1}, kF32Type)), "tensor 'a' (offset 24): dimension 0 is -1 (must be > 0)");
}

// CVE-2025-49847: a vocabulary token whose length does not fit an int32 (> 2 GiB), here
// claimed without the bytes: refused by length against the file, nothing allocated.
TEST(GgufCve, Cve2025_49847_HugeTokenString) {
  GgufCraft c;
  const uint64_t len = (uint64_t(1) << 31) + 5;
  c.kv("tokenizer.ggml.tokens", test::kArray, test::gguf_array(test::kString, 1, le<uint64_t>(len) + "abc"));
  CraftLayout lay;
  c.build(&lay);
  const uint64_t at = lay.kv_at[0] + 8 + 21 + 4 + 4 + 8;  // the string's length field
  EXPECT_EQ(refusal(c), fmt::format("offset {}: tokenizer.ggml.tokens has length 2147483653 but only {} bytes remain", at,
                                    lay.size - at - 8));
}

TEST(GgufCve, ArrayCountsBeyondTheFile) {
  GgufCraft c;
  c.kv("big", test::kArray, test::gguf_array(test::kU64, uint64_t(1) << 61, std::string(16, '\0')));
  CraftLayout lay;
  c.build(&lay);
  const uint64_t at = lay.kv_at[0] + 8 + 3 + 4 + 4;  // the count field
  EXPECT_EQ(refusal(c), fmt::format("offset {}: key 'big': array of 2305843009213693952 uint64 elements does not fit in the "
                                    "{} bytes left", at, lay.size - at - 8));
  GgufCraft n;
  n.n_kv = uint64_t(1) << 60;
  EXPECT_EQ(refusal(n), "offset 16: metadata count 1152921504606846976 cannot fit in a 32-byte file");
  GgufCraft t;
  t.n_tensors = uint64_t(1) << 60;
  EXPECT_EQ(refusal(t), "offset 8: tensor count 1152921504606846976 cannot fit in a 32-byte file");
}

TEST(GgufCve, AlignmentValues) {
  for (uint32_t bad : {0u, 3u, 48u, 1u << 21}) {
    GgufCraft c;
    c.kv_u32("general.alignment", bad);
    EXPECT_EQ(refusal(c), fmt::format("key 'general.alignment': expected a power of two up to 1048576, found {}", bad));
  }
  GgufCraft s;
  s.kv_string("general.alignment", "32");
  EXPECT_EQ(refusal(s), "key 'general.alignment': expected a power of two up to 1048576, found string");
}

TEST(GgufCve, OffsetsBeyondTheFileOrWrapping) {
  const GgufCraft far = one_tensor({8}, kF32Type, uint64_t(1) << 40);
  const uint64_t d = data_at(far);
  EXPECT_EQ(refusal(far), fmt::format("tensor 'a' data [{}, {}) runs past the end of the file (data section holds 0 bytes)",
                                      d + (uint64_t(1) << 40), d + (uint64_t(1) << 40) + 32));
  EXPECT_EQ(refusal(one_tensor({32}, kF32Type, ~uint64_t(31))),
            "tensor 'a' end: size overflow (18446744073709551584 + 128)");
  EXPECT_EQ(refusal(one_tensor({8}, kF32Type, 8)), "tensor 'a': data offset 8 is not a multiple of the alignment 32");
}

}  // namespace
}  // namespace trident
