// Fuzz target: encode and decode arbitrary bytes with a SentencePiece-style vocabulary
// (stories260K) and a byte-level BPE one (qwen2); decode arbitrary ids. The first byte picks the
// tokenizer and the flags.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "format/error.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer.h"

namespace {

std::unique_ptr<trident::Tokenizer> load(const char* file) {
  auto f = trident::GgufFile::open(std::string(TRIDENT_SHARED_DIR) + file);
  return std::make_unique<trident::Tokenizer>(trident::vocab_from_gguf(*f));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trident;
  static const std::unique_ptr<Tokenizer> spm = load("/models/stories260K.gguf");
  static const std::unique_ptr<Tokenizer> bpe = load("/golden/models/tiny-qwen2-f32.gguf");
  if (size == 0) return 0;
  const Tokenizer& tok = (data[0] & 1) ? *bpe : *spm;
  const bool add_special = data[0] & 2, parse_special = data[0] & 4;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<int32_t> ids = tok.encode(text, add_special, parse_special);
  (void)tok.decode(ids, data[0] & 8);
  // The same bytes as token ids: those outside the vocabulary must be refused with Error.
  std::vector<int32_t> raw((size - 1) / 4);
  if (!raw.empty()) std::memcpy(raw.data(), data + 1, raw.size() * 4);
  try {
    (void)tok.decode(raw);
  } catch (const Error&) {
  }
  return 0;
}
