// GPT-2's byte-level alphabet. Byte-level BPE vocabularies never contain raw bytes: every byte is
// written as a printable stand-in code point, so merges never see spaces or control bytes.
// Printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) stand for themselves; the
// other 68 bytes take U+0100, U+0101, ... in byte order (space -> U+0120 "Ġ", '\n' -> U+010A "Ċ").
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace trident {

// Appends the stand-in characters (UTF-8) of every byte of raw to out.
void append_byte_level(std::string_view raw, std::string& out);

// The inverse: stand-in characters back to bytes. Characters outside the alphabet (not produced
// by any GPT-2 style converter) are kept as their own UTF-8 rather than dropped.
std::string byte_level_to_bytes(std::string_view text);

}  // namespace trident
