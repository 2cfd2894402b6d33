// Shared by the tokenizer.json reader and writer: the byte-level pre-tokenizer patterns HF
// writes, keyed by the tokenizer.ggml.pre name llama.cpp gives them.
#pragma once
#include <array>
#include <string_view>

namespace trident::hf_tok {

struct PrePattern {
  std::string_view pre;    // tokenizer.ggml.pre
  std::string_view regex;  // HF "Split" pattern; empty: ByteLevel's own (GPT-2) regex
  bool ignore_merges;      // HF model.ignore_merges (llama3 family)
};

inline constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

inline constexpr std::array<PrePattern, 3> kPrePatterns = {{
    {"qwen2",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     false},
    {"llama-bpe",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     true},
    {"gpt-2", "", false},
}};

inline constexpr std::string_view kSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's space

}  // namespace trident::hf_tok
