#include "tokenizer/utf8.h"

namespace trident {

int utf8_check(std::string_view s, size_t i) {
  const auto b = static_cast<uint8_t>(s[i]);
  if (b < 0x80) return 1;
  int need = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte (Unicode table 3-7)
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b == 0xE0) {
    need = 2, lo = 0xA0;  // no overlong 3-byte forms
  } else if (b == 0xED) {
    need = 2, hi = 0x9F;  // no surrogates
  } else if (b >= 0xE1 && b <= 0xEF) {
    need = 2;
  } else if (b == 0xF0) {
    need = 3, lo = 0x90;  // no overlong 4-byte forms
  } else if (b >= 0xF1 && b <= 0xF3) {
    need = 3;
  } else if (b == 0xF4) {
    need = 3, hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;
  }
  for (int k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return 0;
    const auto c = static_cast<uint8_t>(s[i + k]);
    if (c < lo || c > hi) return -k;
    lo = 0x80, hi = 0xBF;
  }
  return need + 1;
}

size_t utf8_sanitize(std::string_view s, std::string& out, bool keep_tail) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  size_t i = 0;
  while (i < s.size()) {
    const int n = utf8_check(s, i);
    if (n > 0) {
      out.append(s.substr(i, size_t(n)));
      i += size_t(n);
    } else if (n < 0) {
      out.append(kReplacement);
      i += size_t(-n);
    } else {
      if (keep_tail) return i;
      out.append(kReplacement);
      i = s.size();
    }
  }
  return i;
}

void utf8_append(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

uint32_t utf8_decode(std::string_view s, size_t i, int n) {
  const auto b = static_cast<uint8_t>(s[i]);
  if (n == 1) return b;
  uint32_t cp = b & (0x7F >> n);
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  return cp;
}

}  // namespace trident
