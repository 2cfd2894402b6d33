// Text <-> token ids for the two vocabulary styles GGUF files carry:
//   Spm  (tokenizer.ggml.model "llama"): SentencePiece BPE over U+2581-escaped text, highest
//        score merged first, <0xNN> byte fallback.
//   Bpe  (tokenizer.ggml.model "gpt2"): GPT-2 byte-level BPE, a regex pre-tokenizer chosen by
//        tokenizer.ggml.pre, merges applied lowest rank first.
// Both follow llama.cpp's llama-vocab behaviour, which is what the GGUF producers test against.
//
// Decoding choices (llama.cpp's, kept so outputs compare 1:1):
//   * token_to_piece never strips anything; control and unknown tokens are "" unless
//     show_special.
//   * decode() removes ONE leading space from the first token's piece when the vocabulary adds
//     a space prefix (Spm only) -- i.e. decode(encode(s, false)) == s. When the first id is BOS
//     (or any hidden token) its empty piece absorbs the removal, so decode({bos, ...}) keeps the
//     space: stories260K's generation after BOS decodes to " Once upon a time, ...".
//   * DecodeStream is for continuations and never strips or cleans; for valid UTF-8 output it
//     equals decode() of a sequence that starts with BOS (bar the Bpe clean-up below).
//   * Bpe vocabularies whose pre-tokenizer llama.cpp marks "clean_spaces" (gpt-2, default,
//     llama3) get its space clean-up in decode() (" ," -> ","); qwen2 does not.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace trident {

class GgufFile;

enum class TokenizerKind { Spm, Bpe };

// Token types as stored in tokenizer.ggml.token_type.
enum class TokenType : int32_t {
  Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

struct VocabData {
  TokenizerKind kind = TokenizerKind::Spm;
  std::string pre = "default";            // tokenizer.ggml.pre
  std::vector<std::string> tokens;
  std::vector<float> scores;              // may be empty for BPE
  std::vector<int32_t> token_types;       // TokenType values; may be empty (all Normal)
  std::vector<std::string> merges;        // "left right", BPE only
  int32_t bos = -1, eos = -1, eot = -1, unk = -1, pad = -1;
  bool add_bos = false, add_eos = false;
  bool add_space_prefix = true;           // Spm only; ignored for Bpe
  // Phi-3 quirk (llama.cpp keys it on general.name): whitespace right after a special token
  // found in the text is dropped, except after <unk>, <s> and <|endoftext|>.
  bool rstrip_special = false;
};

// "llama" -> Spm, "gpt2" -> Bpe; anything else throws Error naming `source` and the value.
TokenizerKind tokenizer_kind_from_name(std::string_view model, std::string_view source);

// Throws Error("<source>: <field>: <expected>, found <found>") on the first problem: no tokens,
// duplicate tokens, scores/token_type not one per token, unknown token type, special id outside
// the vocabulary (-1 = unset is fine), add_bos/add_eos without the id, malformed merge, or an
// unsupported pre-tokenizer for Bpe.
void validate_vocab(const VocabData& v, std::string_view source);

// Reads tokenizer.ggml.* (and general.name for the Phi-3 quirk) and validates.
// Defaults for missing keys, as llama.cpp: Spm bos 1, eos 2, unk 0 (when inside the vocabulary),
// add_bos true, add_space_prefix true. Bpe: no default ids (llama.cpp's 11 is a GPT-2 relic that
// would make "," an end token), add_bos true only for the llama3 pre-tokenizer family.
VocabData vocab_from_gguf(const GgufFile& f);

// Immutable after construction: every const method may be called from several threads.
class Tokenizer {
 public:
  explicit Tokenizer(VocabData data);  // validates; throws Error
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  int32_t n_vocab() const;
  // add_special: prepend BOS / append EOS as the vocab's add_bos/add_eos say.
  // parse_special: also recognise control/unknown token texts (e.g. "<|im_start|>") in the text;
  // user-defined tokens are always recognised (as llama.cpp and HF tokenizers do).
  std::vector<int32_t> encode(std::string_view text, bool add_special,
                              bool parse_special = false) const;
  // Raw bytes of one token (may be a partial UTF-8 sequence). Throws on an id outside the vocab.
  std::string token_to_piece(int32_t id, bool show_special = false) const;
  std::string decode(std::span<const int32_t> ids, bool show_special = false) const;
  // eos, eot, and control tokens llama.cpp treats as end of generation (<|im_end|>, <|end|>,
  // <|endoftext|>, <|eot_id|>, <end_of_turn>, ...).
  bool is_eog(int32_t id) const;
  int32_t bos() const;
  int32_t eos() const;
  int32_t eot() const;  // from the vocab, else auto-detected by text as llama.cpp does; -1 if none
  TokenType token_type(int32_t id) const;  // effective type (end tokens are forced to Control)
  std::optional<int32_t> find_token(std::string_view text) const;  // exact vocabulary entry
  // The VocabData as given, except eot filled in by auto-detection.
  const VocabData& data() const;

  struct Impl;

 private:
  friend class DecodeStream;
  std::unique_ptr<Impl> impl_;
};

// For streaming output: push token ids, get back only complete UTF-8 text (a partial multi-byte
// sequence is held back until it completes; invalid bytes become U+FFFD). flush() returns what
// is left, an incomplete tail as U+FFFD. The Tokenizer must outlive the stream (moving it is
// fine).
class DecodeStream {
 public:
  explicit DecodeStream(const Tokenizer& tok, bool show_special = false);
  std::string push(int32_t id);  // throws Error on an id outside the vocabulary
  std::string flush();

 private:
  const Tokenizer::Impl* impl_;
  bool show_special_;
  std::string pending_;
};

}  // namespace trident
