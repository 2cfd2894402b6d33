// GGUF comparisons shared by the convert / export round-trip tests.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "format/gguf.h"

namespace trident::test {

inline std::string tensor_bytes(const GgufFile& f, const GgufTensorInfo& t) {
  return std::string(reinterpret_cast<const char*>(f.tensor_data(t)), t.n_bytes);
}

// Every tensor of `want` is in `got` with the same type, shape and bytes, and nothing else is.
inline void expect_same_tensors(const std::string& want_path, const std::string& got_path) {
  auto want = GgufFile::open(want_path), got = GgufFile::open(got_path);
  EXPECT_EQ(want->tensors().size(), got->tensors().size()) << got_path;
  for (const GgufTensorInfo& w : want->tensors()) {
    const GgufTensorInfo* g = got->find_tensor(w.name);
    ASSERT_NE(g, nullptr) << w.name << " missing in " << got_path;
    EXPECT_EQ(g->type, w.type) << w.name;
    EXPECT_EQ(std::vector<int64_t>(g->ne, g->ne + 4), std::vector<int64_t>(w.ne, w.ne + 4)) << w.name;
    EXPECT_TRUE(tensor_bytes(*want, w) == tensor_bytes(*got, *g)) << w.name << " bytes differ";
  }
}

}  // namespace trident::test
