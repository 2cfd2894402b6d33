#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <memory>

#include "format/error.h"
#include "tokenizer/utf8.h"

namespace trident {
namespace {

// The contractions are spelled '[sS] rather than (?i:'s) as llama.cpp does: case-insensitive
// matching under Unicode rules would also fold characters such as U+017F into 's'.
constexpr std::string_view kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N})"
    R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3})"
    R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";

constexpr std::array<std::string_view, 2> kQwen2Names = {"qwen2", "deepseek-r1-qwen"};
constexpr std::array<std::string_view, 3> kLlama3Names = {"llama3", "llama-bpe", "llama-v3"};
constexpr std::array<std::string_view, 2> kGpt2Names = {"gpt-2", "gpt2"};
constexpr std::array<std::string_view, 1> kDefaultNames = {"default"};

constexpr std::array<std::string_view, 1> kQwen2Patterns = {kQwen2};
constexpr std::array<std::string_view, 1> kLlama3Patterns = {kLlama3};
constexpr std::array<std::string_view, 1> kGpt2Patterns = {kGpt2};
// llama.cpp's "default" (used when a converter knew no better): punctuation runs first, then
// GPT-2 words, then digit runs cut into groups of three.
constexpr std::array<std::string_view, 4> kDefaultPatterns = {
    R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", R"([0-9][0-9][0-9])"};

const std::array<PreTokenizerSpec, 4> kSpecs = {{
    {kQwen2Names, kQwen2Patterns, false, false, false},
    {kLlama3Names, kLlama3Patterns, true, true, true},
    {kGpt2Names, kGpt2Patterns, false, true, false},
    {kDefaultNames, kDefaultPatterns, false, true, false},
}};

}  // namespace

const PreTokenizerSpec* find_pre_tokenizer(std::string_view pre) {
  for (const auto& spec : kSpecs)
    for (std::string_view name : spec.names)
      if (name == pre) return &spec;
  return nullptr;
}

std::string supported_pre_tokenizers() {
  std::string s;
  for (const auto& spec : kSpecs)
    for (std::string_view name : spec.names) {
      if (!s.empty()) s += ", ";
      s += fmt::format("'{}'", name);
    }
  return s;
}

RegexSplitter::RegexSplitter(std::span<const std::string_view> patterns) {
  for (std::string_view p : patterns) {
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err,
                                     &err_offset, nullptr);
    if (!code) {
      std::array<PCRE2_UCHAR, 256> msg{};
      pcre2_get_error_message(err, msg.data(), msg.size());
      for (pcre2_code* c : codes_) pcre2_code_free(c);
      fail("pre-tokenizer regex /{}/: {} at offset {}", p,
           reinterpret_cast<const char*>(msg.data()), err_offset);
    }
    // JIT is only a speed-up; when the library lacks it pcre2_match interprets the pattern.
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    codes_.push_back(code);
  }
}

RegexSplitter::~RegexSplitter() {
  for (pcre2_code* c : codes_) pcre2_code_free(c);
}

std::vector<std::string_view> RegexSplitter::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  if (text.empty()) return pieces;
  pieces.push_back(text);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
      pcre2_match_data_create(1, nullptr), &pcre2_match_data_free);
  if (!md) fail("pre-tokenizer: out of memory for regex match data");

  std::vector<std::string_view> next;
  for (pcre2_code* code : codes_) {
    next.clear();
    next.reserve(pieces.size() * 2);
    for (std::string_view piece : pieces) {
      // Matching runs on the piece alone, so lookaheads such as (?!\S) see its end as the end.
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t pos = 0, gap_start = 0;
      while (pos < piece.size()) {
        const int rc = pcre2_match(code, subject, piece.size(), pos, 0, md.get(), nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          std::array<PCRE2_UCHAR, 256> msg{};
          pcre2_get_error_message(rc, msg.data(), msg.size());
          fail("pre-tokenizer: regex match failed on a {}-byte piece: {}", piece.size(),
               reinterpret_cast<const char*>(msg.data()));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
        const size_t begin = ov[0], end = ov[1];
        if (end == begin) {  // none of our patterns can match empty; step over it regardless
          pos = begin + utf8_seq_len(static_cast<uint8_t>(piece[begin]));
          continue;
        }
        if (begin > gap_start) next.push_back(piece.substr(gap_start, begin - gap_start));
        next.push_back(piece.substr(begin, end - begin));
        gap_start = pos = end;
      }
      if (gap_start < piece.size()) next.push_back(piece.substr(gap_start));
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace trident
