// Fuzz target: the GGUF writer. Whatever the reader accepts is written again (metadata and
// tensors copied) and read back: the metadata, tensor table and tensor bytes must be identical.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "format/error.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "fuzz_util.h"

namespace {

using namespace trident;

bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.v.index() != b.v.index()) return false;
  if (const GgufArray* x = a.as_array()) {
    const GgufArray* y = b.as_array();
    if (x->elem_type != y->elem_type || x->size() != y->size()) return false;
    for (auto i = x->begin(), j = y->begin(); i != x->end(); ++i, ++j)
      if (!same_value(*i, *j)) return false;
    return true;
  }
  if (auto* d = std::get_if<double>(&a.v)) return std::memcmp(d, &std::get<double>(b.v), sizeof(double)) == 0;
  if (auto* u = std::get_if<uint64_t>(&a.v)) return *u == std::get<uint64_t>(b.v);
  if (auto* i = std::get_if<int64_t>(&a.v)) return *i == std::get<int64_t>(b.v);
  if (auto* s = a.as_string()) return *s == *b.as_string();
  return std::get<bool>(a.v) == std::get<bool>(b.v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path dir = fuzz::scratch_dir("roundtrip");
  fuzz::MemFile file(data, size);
  std::unique_ptr<GgufFile> in;
  try {
    in = GgufFile::open(file.path());
  } catch (const Error&) {
    return 0;
  }
  GgufWriter w;
  w.copy_metadata(*in);
  const GgufFile* fp = in.get();
  for (const GgufTensorInfo& t : in->tensors())
    w.add_tensor({t.name, t.type, std::vector<int64_t>(t.ne, t.ne + std::max<uint32_t>(t.n_dims, 1)),
                  [fp, &t](const auto& emit) { emit(fp->tensor_data(t), t.n_bytes); }});
  const std::string out = (dir / "out.gguf").string();
  GgufWriteOptions opt;
  opt.overwrite = true;
  opt.alignment = in->alignment();
  w.write(out, opt);
  auto back = GgufFile::open(out);
  if (back->metadata().size() != in->metadata().size() || back->tensors().size() != in->tensors().size()) std::abort();
  for (size_t i = 0; i < in->metadata().size(); ++i)
    if (back->metadata()[i].key != in->metadata()[i].key || !same_value(back->metadata()[i].value, in->metadata()[i].value))
      std::abort();
  for (size_t i = 0; i < in->tensors().size(); ++i) {
    const GgufTensorInfo &a = in->tensors()[i], &b = back->tensors()[i];
    if (a.name != b.name || a.type != b.type || a.n_bytes != b.n_bytes ||
        std::memcmp(a.ne, b.ne, sizeof a.ne) != 0 ||
        std::memcmp(in->tensor_data(a), back->tensor_data(b), a.n_bytes) != 0)
      std::abort();
  }
  return 0;
}
