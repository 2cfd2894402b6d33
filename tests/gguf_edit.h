// GGUF rewriting shared by the tests that vary a fixture's metadata.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "test_util.h"

namespace trident::test {

// `in` with some keys replaced, tensors as they are.
inline std::string with_keys(const std::string& in, const std::map<std::string, GgufValue>& keys, const std::string& name) {
  auto f = GgufFile::open(in);
  GgufWriter w;
  w.copy_metadata(*f);
  for (const auto& [k, v] : keys) w.set(k, v);
  const GgufFile* fp = f.get();
  for (const GgufTensorInfo& t : f->tensors()) {
    const GgufTensorInfo* tp = &t;
    w.add_tensor({t.name, t.type, std::vector<int64_t>(t.ne, t.ne + t.n_dims),
                  [fp, tp](const auto& emit) { emit(fp->tensor_data(*tp), tp->n_bytes); }});
  }
  const std::string out = test::temp_path(name);
  w.write(out);
  return out;
}

}  // namespace trident::test
