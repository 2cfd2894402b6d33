// Copies named tensors, bytes as they are, from one GGUF file into a new one with no other
// metadata than a note of where they came from: the weight-type fixtures of tests/data/types
// are a few tensors of a model quantized by llama-quantize (see the README there).
// Usage: extract_tensors IN.gguf OUT.gguf NAME...
#include <cstdio>
#include <string>

#include "format/error.h"
#include "format/gguf_writer.h"

using namespace trident;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: extract_tensors IN.gguf OUT.gguf NAME...\n");
    return 1;
  }
  try {
    const auto in = GgufFile::open(argv[1]);
    GgufWriter w;
    w.set_string("general.source", std::string("tensors of ") + argv[1]);
    for (int i = 3; i < argc; ++i) {
      const GgufTensorInfo* t = in->find_tensor(argv[i]);
      if (!t) fail("{}: no tensor '{}'", argv[1], argv[i]);
      const uint8_t* data = in->tensor_data(*t);
      const size_t bytes = t->n_bytes;
      w.add_tensor({t->name, t->type, std::vector<int64_t>(t->ne, t->ne + t->n_dims),
                    [data, bytes](const auto& emit) { emit(data, bytes); }});
    }
    GgufWriteOptions opt;
    opt.overwrite = true;
    w.write(argv[2], opt);
  } catch (const Error& e) {
    std::fprintf(stderr, "extract_tensors: %s\n", e.what());
    return 1;
  }
  return 0;
}
