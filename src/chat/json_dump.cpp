// Python's json.dumps, which transformers' tojson filter calls: insertion-ordered keys (unless
// sort_keys), Python float repr, "NaN"/"Infinity", and non-ASCII kept as is (ensure_ascii=False).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "chat/interpreter.h"

namespace trident::chat {
namespace {

void dump_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else if (c >= 0x80 && ensure_ascii) {
          // Decode one UTF-8 sequence; astral code points become a surrogate pair.
          const int n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
          uint32_t cp = n == 1 ? c : c & (0xff >> (n + 1));
          for (int k = 1; k < n && i + 1 < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[++i]) & 0x3f);
          if (cp >= 0x10000) {
            cp -= 0x10000;
            out += fmt::format("\\u{:04x}\\u{:04x}", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
          } else {
            out += fmt::format("\\u{:04x}", cp);
          }
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

class JsonWriter {
 public:
  JsonWriter(Interpreter& in, const JsonStyle& style, int line) : in_(in), style_(style), line_(line) {}

  void write(std::string& out, const Value& v, int level) {
    in_.charge();
    if (level > in_.limits().max_nesting) in_.error(line_, "tojson: the value is nested too deeply");
    if (out.size() > in_.limits().max_string_bytes)
      in_.error(line_, fmt::format("tojson: the text exceeds the limit of {} bytes", in_.limits().max_string_bytes));
    if (v.is_none()) out += "null";
    else if (v.is_bool()) out += v.as_bool() ? "true" : "false";
    else if (v.is_int()) out += std::to_string(v.as_int());
    else if (v.is_float()) {
      const double d = v.as_float();
      out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity") : float_repr(d);
    } else if (v.is_string()) dump_string(out, v.as_string(), style_.ensure_ascii);
    else if (v.is_list()) {
      const auto& items = v.as_list()->items;
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += style_.item_separator;
        newline(out, level + 1);
        write(out, items[i], level + 1);
      }
      newline(out, level);
      out += ']';
    } else if (v.is_dict() && !v.as_dict()->is_namespace) {
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.as_dict()->items) items.push_back(&kv);
      if (style_.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      if (items.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += style_.item_separator;
        newline(out, level + 1);
        dump_string(out, items[i]->first, style_.ensure_ascii);
        out += style_.key_separator;
        write(out, items[i]->second, level + 1);
      }
      newline(out, level);
      out += '}';
    } else {
      in_.error(line_, fmt::format("Object of type {} is not JSON serializable", type_name(v)));
    }
  }

 private:
  Interpreter& in_;
  const JsonStyle& style_;
  int line_;

  void newline(std::string& out, int level) const {
    if (style_.indent < 0) return;
    out += '\n';
    out.append(size_t(style_.indent) * size_t(level), ' ');
  }
};

}  // namespace

std::string json_dump(Interpreter& in, const Value& v, const JsonStyle& style, int line) {
  std::string out;
  JsonWriter(in, style, line).write(out, v, 0);
  in.check_string_size(out.size(), line);
  return out;
}

}  // namespace trident::chat
