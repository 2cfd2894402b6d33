// Internals shared by the tokenizer's source files. Not part of the public interface.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace trident {

// Vocabulary text -> id. Keys are views into strings owned by Tokenizer::Impl, which never
// changes them after construction.
using TokenIndex = std::unordered_map<std::string_view, int32_t>;

inline constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// SentencePiece-style merging of one fragment of U+2581-escaped text.
struct SpmEncoder {
  const TokenIndex* index = nullptr;
  std::span<const float> scores;        // empty: every score is 0
  std::array<int32_t, 256> byte_tokens;  // <0xNN> ids, -1 when absent
  int32_t unk = -1;

  void encode(std::string_view escaped, std::vector<int32_t>& out) const;
};

// GPT-2 byte-level BPE of one fragment of raw text.
class BpeEncoder {
 public:
  BpeEncoder(const TokenIndex& index, std::span<const std::string> merges,
           const PreTokenizerSpec& spec, int32_t unk);
  void encode(std::string_view text, std::vector<int32_t>& out) const;

 private:
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  const TokenIndex& index_;
  std::unordered_map<std::string_view, int32_t> ranks_;  // "left right" -> merge priority
  RegexSplitter splitter_;
  bool ignore_merges_;
  int32_t unk_;
};

// validate_vocab in two parts, so the Tokenizer can find duplicates while building its index
// instead of hashing every token twice.
void validate_vocab_except_duplicates(const VocabData& v, std::string_view source);
[[noreturn]] void fail_duplicate_token(std::string_view source, size_t i, std::string_view text,
                                       size_t first);

struct Tokenizer::Impl {
  VocabData data;
  std::vector<TokenType> types;      // effective: end-of-generation names forced to Control
  std::vector<std::string> pieces;   // decoded bytes of each token as shown with show_special
  std::vector<uint8_t> eog;          // 1 for end-of-generation ids
  std::vector<uint8_t> rstrip;       // 1: whitespace after this special is dropped (Phi-3)
  std::vector<int32_t> specials;     // ids matched as text before tokenizing, longest first
  TokenIndex index;
  bool strip_first_space = false;    // decode(): Spm vocabularies that add a space prefix
  bool clean_spaces = false;         // decode(): the pre-tokenizer asks for llama.cpp clean-up
  std::unique_ptr<SpmEncoder> spm;
  std::unique_ptr<BpeEncoder> bpe;

  // Piece as returned by token_to_piece, without copying; throws on ids outside the vocab.
  std::string_view piece(int32_t id, bool show_special) const;
};

}  // namespace trident
