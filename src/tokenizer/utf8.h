// UTF-8 helpers shared by the tokenizers and the decode stream.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace trident {

// Length a lead byte announces; 1 for continuation and invalid bytes so that splitting text into
// characters always advances (llama.cpp splits the same way, keeping invalid bytes as 1-byte
// symbols that later fall back to byte tokens).
inline size_t utf8_seq_len(uint8_t lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return lead < 0xF8 ? 4 : 1;
}

// Checks the sequence starting at s[i] against the Unicode well-formedness table.
// Returns n > 0: a valid character of n bytes; 0: a valid but truncated prefix that runs to the
// end of s; -k: invalid, its maximal ill-formed subpart is k bytes (k >= 1).
int utf8_check(std::string_view s, size_t i);

// Appends s to out with every ill-formed subpart replaced by U+FFFD. When keep_tail, a truncated
// sequence at the end of s is left unconsumed (it may complete later). Returns bytes consumed.
size_t utf8_sanitize(std::string_view s, std::string& out, bool keep_tail);

void utf8_append(uint32_t cp, std::string& out);

// Decodes the valid n-byte sequence at s[i] (n from utf8_check).
uint32_t utf8_decode(std::string_view s, size_t i, int n);

}  // namespace trident
