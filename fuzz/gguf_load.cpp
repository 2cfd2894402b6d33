// Fuzz target: the GGUF reader, then the model loader and the GGUF vocabulary on whatever the
// reader accepts. Every input must either load or throw trident::Error.
#include <cstdint>

#include "format/error.h"
#include "format/gguf.h"
#include "fuzz_util.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trident;
  fuzz::MemFile file(data, size);
  try {
    auto f = GgufFile::open(file.path());
    for (const GgufKv& kv : f->metadata())
      if (const GgufArray* a = kv.value.as_array())
        for (const GgufValue& v : *a) (void)v.as_float();
    try {
      Tokenizer tok(vocab_from_gguf(*f));
      (void)tok.decode(tok.encode("Hello, world! 123", true));
    } catch (const Error&) {
    }
    auto m = Model::load(file.path(), LoadOptions{.repack = false});
  } catch (const Error&) {
  }
  return 0;
}
