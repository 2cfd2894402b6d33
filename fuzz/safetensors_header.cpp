// Fuzz target: one safetensors file's header (length, JSON, dtypes, shapes, offsets, coverage).
#include <cstdint>

#include "format/error.h"
#include "format/safetensors.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trident;
  fuzz::MemFile file(data, size);
  try {
    auto f = SafetensorsFile::open(file.path());
    for (const StTensor& t : f->tensors()) (void)t.name.size();
  } catch (const Error&) {
  }
  return 0;
}
