// Errors inside the library are exceptions carrying one complete line of text: which file,
// which field / tensor / offset, what was expected and what was found. The CLI prints
// e.what() on one line and exits non-zero.
#pragma once
#include <fmt/format.h>
#include <trident/error.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace trident {

// trident::Error is defined by the public header <trident/error.h>, so the library's errors and
// the API's are one type.

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

// Text from a file (names, strings) as it may appear inside a one-line message: control bytes
// and backslashes escaped (\n, \x01, \\), and at most `max` bytes shown.
inline std::string printable(std::string_view s, size_t max = 200) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += char(c);
  }
  if (s.size() > max) out += "...";
  return out;
}

}  // namespace trident
