// Fuzz target: restore a sequence state file (runtime/seq_file.cpp) into a stories260K session.
// Anything but a valid file must be refused with Error; a valid one must restore and evaluate.
// Corpus: valid-5-tokens is Context::seq_save of stories260K after "Once upon a time" (F16 K/V,
// BOS + 4 tokens); the others are it cut short or with one header field or token changed.
#include <cstdint>
#include <memory>
#include <vector>

#include "format/error.h"
#include "fuzz_util.h"
#include "model/model.h"
#include "runtime/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trident;
  static const std::unique_ptr<Model> model = Model::load(std::string(TRIDENT_SHARED_DIR) + "/models/stories260K.gguf");
  static Session session = [] {
    SessionOptions o;
    o.n_ctx = 64;
    o.n_threads = 1;
    return Session(*model, o);
  }();
  fuzz::MemFile file(data, size);
  try {
    const int32_t id = session.restore_sequence(file.path());
    // Continue it by one token: the restored rows are read by attention.
    if (session.seqs().length(id) < 64) {
      const int32_t tok = 5;
      const int64_t pos = session.seqs().length(id);
      const uint8_t want = 1;
      std::vector<float> logits;
      session.decode({{&tok, 1}, {&pos, 1}, {&id, 1}, {&want, 1}}, logits);
    }
    session.seqs().remove(id);
  } catch (const Error&) {
  }
  return 0;
}
