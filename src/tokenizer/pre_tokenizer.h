// Byte-level BPE pre-tokenizers: which regexes split text into words before merging, chosen by
// tokenizer.ggml.pre. One table row per family (data, not branches), with llama.cpp's flags.
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct pcre2_real_code_8;  // PCRE2's compiled pattern; pcre2.h stays out of this header

namespace trident {

struct PreTokenizerSpec {
  std::span<const std::string_view> names;     // tokenizer.ggml.pre values of this family
  std::span<const std::string_view> patterns;  // each splits the pieces of the previous one
  bool ignore_merges;  // a word that is itself a vocabulary entry is emitted whole (llama3)
  bool clean_spaces;   // decode() drops spaces before punctuation, as llama.cpp / HF do
  bool add_bos;        // default for tokenizer.ggml.add_bos_token when the key is absent
};

// nullptr when `pre` is not supported.
const PreTokenizerSpec* find_pre_tokenizer(std::string_view pre);
std::string supported_pre_tokenizers();  // for error messages: "'qwen2', 'llama3', ..."

// Splits text with a sequence of PCRE2 patterns (UTF + Unicode properties). Each pattern runs
// inside each piece left by the previous one; its matches and the gaps between them all become
// pieces, so the pieces always cover the text exactly (HF "isolated" splitting). Invalid UTF-8
// never matches and so ends up in gap pieces of its own, bytes intact.
class RegexSplitter {
 public:
  explicit RegexSplitter(std::span<const std::string_view> patterns);  // throws Error
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  std::vector<std::string_view> split(std::string_view text) const;  // views into text

 private:
  std::vector<pcre2_real_code_8*> codes_;
};

}  // namespace trident
