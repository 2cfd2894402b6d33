#include "chat/text_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "chat/interpreter.h"

namespace trident::chat {

bool is_python_space(const std::string& s, size_t pos, size_t* len) {
  const auto c = static_cast<unsigned char>(s[pos]);
  *len = 1;
  if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return true;
  if (c == 0xc2 && pos + 1 < s.size()) {
    const auto d = static_cast<unsigned char>(s[pos + 1]);
    if (d == 0x85 || d == 0xa0) {
      *len = 2;
      return true;
    }
  }
  return false;
}

std::string py_strip(const std::string& s, const Value& chars, bool left, bool right) {
  const std::vector<size_t> offs = utf8_offsets(s);
  const size_t n = offs.size() - 1;
  auto strip_char = [&](size_t i) {
    const std::string ch = s.substr(offs[i], offs[i + 1] - offs[i]);
    if (chars.is_string()) {
      const std::string& set = chars.as_string();
      const std::vector<size_t> so = utf8_offsets(set);
      for (size_t k = 0; k + 1 < so.size(); ++k)
        if (set.compare(so[k], so[k + 1] - so[k], ch) == 0) return true;
      return false;
    }
    size_t len = 0;
    return is_python_space(s, offs[i], &len) && len == ch.size();
  };
  size_t lo = 0, hi = n;
  if (left)
    while (lo < hi && strip_char(lo)) ++lo;
  if (right)
    while (hi > lo && strip_char(hi - 1)) --hi;
  return s.substr(offs[lo], offs[hi] - offs[lo]);
}

std::vector<std::string> py_split(const std::string& s, const Value& sep, int64_t maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (sep.is_string()) {
    const std::string& d = sep.as_string();
    if (!from_right) {
      size_t start = 0;
      for (;;) {
        const size_t p = (maxsplit < 0 || int64_t(parts.size()) < maxsplit) ? s.find(d, start) : std::string::npos;
        if (p == std::string::npos) break;
        parts.push_back(s.substr(start, p - start));
        start = p + d.size();
      }
      parts.push_back(s.substr(start));
      return parts;
    }
    size_t end = s.size();
    for (;;) {
      if (!(maxsplit < 0 || int64_t(parts.size()) < maxsplit) || end < d.size()) break;
      const size_t p = s.rfind(d, end - d.size());
      if (p == std::string::npos) break;
      parts.push_back(s.substr(p + d.size(), end - p - d.size()));
      end = p;
    }
    parts.push_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  // Runs of whitespace separate; leading/trailing whitespace yields no empty parts.
  std::vector<std::pair<size_t, size_t>> words;
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 0;
    if (is_python_space(s, i, &len)) {
      i += len;
      continue;
    }
    size_t j = i;
    while (j < s.size() && !is_python_space(s, j, &len)) ++j;
    words.emplace_back(i, j);
    i = j;
  }
  if (words.empty()) return parts;
  if (maxsplit < 0 || int64_t(words.size()) <= maxsplit) {
    for (auto [a, b] : words) parts.push_back(s.substr(a, b - a));
    return parts;
  }
  if (!from_right) {
    for (int64_t k = 0; k < maxsplit; ++k) parts.push_back(s.substr(words[size_t(k)].first, words[size_t(k)].second - words[size_t(k)].first));
    std::string rest = s.substr(words[size_t(maxsplit)].first);
    parts.push_back(py_strip(rest, Value(None{}), false, true));
    return parts;
  }
  const size_t first_kept = words.size() - size_t(maxsplit);
  parts.push_back(py_strip(s.substr(0, words[first_kept - 1].second), Value(None{}), true, false));
  for (size_t k = first_kept; k < words.size(); ++k) parts.push_back(s.substr(words[k].first, words[k].second - words[k].first));
  return parts;
}

namespace {

// Simple case mappings of the scripts chat text mostly uses: ASCII, Latin-1, Latin Extended-A,
// Greek and Cyrillic. Characters outside them are left as they are (Python maps every cased
// script; `ß`.upper() is "SS" there and "ß" here).
uint32_t to_upper_cp(uint32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if ((c >= 0xe0 && c <= 0xfe && c != 0xf7)) return c - 32;
  if (c == 0xff) return 0x178;
  if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17f) {
    const bool odd_lower = (c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177);
    if (odd_lower) return (c & 1) ? c - 1 : c;
    return (c & 1) ? c : c - 1;  // 0x139..0x148, 0x179..0x17e: lower case is even
  }
  if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) return c - 32;
  if (c == 0x3c2) return 0x3a3;
  if (c >= 0x430 && c <= 0x44f) return c - 32;
  if (c >= 0x450 && c <= 0x45f) return c - 80;
  return c;
}

uint32_t to_lower_cp(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 32;
  if (c == 0x178) return 0xff;
  if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17f) {
    const bool even_upper = (c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177);
    if (even_upper) return (c & 1) ? c : c + 1;
    return (c & 1) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 32;
  if (c >= 0x410 && c <= 0x42f) return c + 32;
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  return c;
}

bool is_cased(uint32_t c) { return to_upper_cp(c) != c || to_lower_cp(c) != c; }

// Decodes UTF-8 into code points; a byte that starts no valid sequence stands for itself
// (as 0x110000 + byte, so it maps to nothing and is written back unchanged).
std::vector<uint32_t> decode(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + size_t(n) <= s.size();
    uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (int k = 1; ok && k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + size_t(k)]);
      ok = (d & 0xc0) == 0x80;
      cp = (cp << 6) | (d & 0x3f);
    }
    out.push_back(ok ? cp : 0x110000 + c);
    i += ok ? size_t(n) : 1;
  }
  return out;
}

std::string encode(const std::vector<uint32_t>& cps) {
  std::string out;
  for (uint32_t cp : cps) {
    if (cp >= 0x110000) out += char(cp - 0x110000);
    else if (cp < 0x80) out += char(cp);
    else if (cp < 0x800) { out += char(0xc0 | (cp >> 6)); out += char(0x80 | (cp & 0x3f)); }
    else if (cp < 0x10000) { out += char(0xe0 | (cp >> 12)); out += char(0x80 | ((cp >> 6) & 0x3f)); out += char(0x80 | (cp & 0x3f)); }
    else { out += char(0xf0 | (cp >> 18)); out += char(0x80 | ((cp >> 12) & 0x3f)); out += char(0x80 | ((cp >> 6) & 0x3f)); out += char(0x80 | (cp & 0x3f)); }
  }
  return out;
}

}  // namespace

std::string py_upper(const std::string& s) {
  std::vector<uint32_t> cps = decode(s);
  for (uint32_t& c : cps) c = to_upper_cp(c);
  return encode(cps);
}

std::string py_lower(const std::string& s) {
  std::vector<uint32_t> cps = decode(s);
  for (uint32_t& c : cps) c = to_lower_cp(c);
  return encode(cps);
}

std::string py_title(const std::string& s) {
  std::vector<uint32_t> cps = decode(s);
  bool prev_cased = false;
  for (uint32_t& c : cps) {
    const bool cased = is_cased(c);
    if (cased) c = prev_cased ? to_lower_cp(c) : to_upper_cp(c);
    prev_cased = cased;
  }
  return encode(cps);
}

std::string py_capitalize(const std::string& s) {
  std::vector<uint32_t> cps = decode(s);
  for (size_t i = 0; i < cps.size(); ++i) cps[i] = i == 0 ? to_upper_cp(cps[i]) : to_lower_cp(cps[i]);
  return encode(cps);
}

std::string py_replace(Interpreter& in, const std::string& s, const std::string& old, const std::string& rep,
                       int64_t count, int line) {
  std::string out;
  int64_t done = 0;
  if (old.empty()) {
    // Python inserts `rep` before every character and at the end.
    const std::vector<size_t> offs = utf8_offsets(s);
    for (size_t i = 0; i + 1 < offs.size(); ++i) {
      if (count < 0 || done < count) {
        out += rep;
        ++done;
      }
      out += s.substr(offs[i], offs[i + 1] - offs[i]);
      in.check_string_size(out.size(), line);
    }
    if (count < 0 || done < count) out += rep;
    in.check_string_size(out.size(), line);
    return out;
  }
  size_t start = 0;
  for (;;) {
    const size_t p = (count < 0 || done < count) ? s.find(old, start) : std::string::npos;
    if (p == std::string::npos) break;
    out.append(s, start, p - start);
    out += rep;
    in.check_string_size(out.size(), line);
    start = p + old.size();
    ++done;
  }
  out.append(s, start, std::string::npos);
  in.check_string_size(out.size(), line);
  return out;
}

std::string percent_format(Interpreter& in, const std::string& f, const Value& args, int line) {
  std::vector<Value> list;
  if (args.is_list() && args.as_list()->is_tuple) list = args.as_list()->items;
  else list.push_back(args);
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (++i >= f.size()) in.error(line, "incomplete format");
    bool left = false, zero = false;
    while (i < f.size() && (f[i] == '-' || f[i] == '0')) (f[i++] == '-' ? left : zero) = true;
    size_t width = 0;
    while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) width = width * 10 + size_t(f[i++] - '0');
    int precision = -1;
    if (i < f.size() && f[i] == '.') {
      precision = 0;
      ++i;
      while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) precision = precision * 10 + (f[i++] - '0');
    }
    if (i >= f.size()) in.error(line, "incomplete format");
    const char conv = f[i];
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (next >= list.size()) in.error(line, "not enough arguments for format string");
    const Value& v = list[next++];
    std::string piece;
    switch (conv) {
      case 's': piece = to_str(v); if (precision >= 0) piece = piece.substr(0, size_t(precision)); break;
      case 'r': piece = to_repr(v); break;
      case 'd': case 'i':
        if (!v.is_number()) in.error(line, fmt::format("%{} format: a real number is required, not {}", conv, type_name(v)));
        piece = std::to_string(v.is_float() ? int64_t(std::trunc(v.as_float())) : v.int_value());
        break;
      case 'f':
        if (!v.is_number()) in.error(line, fmt::format("%f format: a real number is required, not {}", type_name(v)));
        piece = fmt::format("{:.{}f}", v.number_value(), precision < 0 ? 6 : precision);
        break;
      case 'x':
        if (!(v.is_int() || v.is_bool())) in.error(line, "%x format: an integer is required");
        piece = v.int_value() < 0 ? fmt::format("-{:x}", -v.int_value()) : fmt::format("{:x}", v.int_value());
        break;
      default: in.error(line, fmt::format("unsupported format character '{}'", conv));
    }
    if (piece.size() < width) {
      const std::string pad(width - piece.size(), zero && !left && conv != 's' ? '0' : ' ');
      piece = left ? piece + pad : pad + piece;
    }
    out += piece;
    in.check_string_size(out.size(), line);
  }
  if (next < list.size()) in.error(line, "not all arguments converted during string formatting");
  return out;
}

}  // namespace trident::chat
