#include "tokenizer/byte_unicode.h"

#include <array>

#include "tokenizer/utf8.h"

namespace trident {
namespace {

bool is_self_standing(uint32_t b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteLevelTables {
  std::array<std::string, 256> encode;  // byte -> UTF-8 of its stand-in
  std::array<int16_t, 0x144> decode;    // stand-in code point -> byte, -1 if none (max is 0x143)

  ByteLevelTables() {
    decode.fill(-1);
    uint32_t next = 0x100;
    for (uint32_t b = 0; b < 256; ++b) {
      const uint32_t cp = is_self_standing(b) ? b : next++;
      utf8_append(cp, encode[b]);
      decode[cp] = int16_t(b);
    }
  }
};

const ByteLevelTables& tables() {
  static const ByteLevelTables t;
  return t;
}

}  // namespace

void append_byte_level(std::string_view raw, std::string& out) {
  const auto& enc = tables().encode;
  for (char c : raw) out += enc[static_cast<uint8_t>(c)];
}

std::string byte_level_to_bytes(std::string_view text) {
  const auto& dec = tables().decode;
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const int n = utf8_check(text, i);
    if (n <= 0) {  // not even UTF-8: pass the byte through
      out += text[i++];
      continue;
    }
    const uint32_t cp = utf8_decode(text, i, n);
    if (cp < dec.size() && dec[cp] >= 0) {
      out += char(dec[cp]);
    } else {
      out.append(text.substr(i, size_t(n)));
    }
    i += size_t(n);
  }
  return out;
}

}  // namespace trident
