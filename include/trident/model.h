// A loaded model: weights, tokenizer and metadata of one GGUF file.
//
// Thread-safety: a Model is immutable after construction; every const method may be called
// from several threads at once, and several Contexts may share one Model. A Model must outlive
// the Contexts and Detokenizers made from it.
#pragma once
#include <trident/error.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace trident::api {

struct ModelOptions {
  // Copy matrices into the packed layout their kernels read fastest (same bits either way).
  bool repack = true;
  bool verbose = false;  // loading details on stderr
  // Memory budget in bytes that every large allocation (weights copies, KV pools, buffers) is
  // checked against; 0 leaves the budget as it is (physical memory unless set before). The
  // budget is process-wide: it applies to every Model and Context made afterwards.
  uint64_t mem_limit = 0;
};

class Model {
 public:
  // Opens and validates the GGUF at `path`. Throws Error naming the file and the malformed or
  // missing key / tensor, an unsupported architecture, or a memory budget exceeded.
  explicit Model(const std::string& path, const ModelOptions& opt = {});
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  // --- metadata ---
  std::string path() const;
  std::string architecture() const;  // general.architecture
  std::string name() const;          // general.name, or "" when absent
  int64_t n_vocab() const;
  int64_t n_ctx_train() const;       // training context (0 when the file does not say)
  int64_t n_embd() const;
  int64_t n_layer() const;
  int64_t n_head() const;
  int64_t n_head_kv() const;
  uint64_t n_params() const;
  // Every metadata key of the file, in file order.
  std::vector<std::string> meta_keys() const;
  // A metadata value as text: strings as they are, numbers and booleans formatted, arrays as
  // "[N x type]". nullopt when the key is absent.
  std::optional<std::string> meta(std::string_view key) const;
  // tokenizer.chat_template (the Jinja source), or nullopt when the file has none.
  std::optional<std::string> chat_template() const;

  // --- vocabulary ---
  int32_t bos() const;  // -1 when the vocabulary has none
  int32_t eos() const;  // -1 when none
  int32_t eot() const;  // end of turn, from the file or detected by text as llama.cpp does; -1
  bool add_bos() const; // whether tokenize(text, true) prepends BOS
  // End of generation: eos, eot and the control tokens llama.cpp stops at (<|im_end|>, ...).
  // False for ids outside the vocabulary.
  bool is_eog(int32_t id) const;
  bool is_control(int32_t id) const;  // control or unknown token (hidden unless special)
  std::optional<int32_t> find_token(std::string_view text) const;  // exact vocabulary entry

  // --- text ---
  // add_special: BOS/EOS as the vocabulary asks. parse_special: recognise control-token texts
  // such as "<|im_start|>" in `text` (chat templates need it; user text should not get it).
  std::vector<int32_t> tokenize(std::string_view text, bool add_special = true, bool parse_special = false) const;
  // The bytes of one token (possibly part of a UTF-8 character); control tokens are "" unless
  // special. Throws Error for an id outside the vocabulary.
  std::string token_piece(int32_t id, bool special = false) const;
  // Whole-sequence decode (SentencePiece's leading space handled as llama.cpp does). Throws
  // Error for an id outside the vocabulary.
  std::string detokenize(std::span<const int32_t> ids, bool special = false) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }  // for the library's own use

 private:
  std::unique_ptr<Impl> impl_;
};

// Streaming detokenizer for generated tokens: push ids, get back only complete UTF-8 text (a
// partial character waits for its next bytes; invalid bytes become U+FFFD); flush() returns the
// rest. Not thread-safe (one per sequence).
class Detokenizer {
 public:
  explicit Detokenizer(const Model& model, bool special = false);
  ~Detokenizer();
  Detokenizer(Detokenizer&&) noexcept;
  Detokenizer& operator=(Detokenizer&&) noexcept;
  std::string push(int32_t id);  // throws Error for an id outside the vocabulary
  std::string flush();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trident::api
