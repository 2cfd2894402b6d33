// jinja2's built-in filters and tests, with transformers' tojson. Filters call str() on their
// input where jinja2 does (soft_str), so `none|upper` is "NONE" and `undefined|trim` is "".
#include <charconv>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "chat/interpreter.h"
#include "chat/text_format.h"

namespace trident::chat {
namespace {

int64_t length_of(Interpreter& in, const Value& v, int line) {
  if (v.is_undefined()) return 0;
  if (v.is_string()) return int64_t(utf8_length(v.as_string()));
  if (v.is_list()) return int64_t(v.as_list()->items.size());
  if (v.is_dict()) return int64_t(v.as_dict()->items.size());
  in.error(line, fmt::format("object of type '{}' has no len()", type_name(v)));
}

// The value of attribute path "a.b" (or an integer index) of `item`, as jinja2's
// make_attrgetter reads it.
Value attribute_path(Interpreter& in, const Value& item, const Value& path, int line) {
  if (path.is_int()) return get_item(in, item, path, line);
  Value cur = item;
  const std::string p = to_str(path);
  size_t start = 0;
  for (;;) {
    const size_t dot = p.find('.', start);
    const std::string part = p.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    // A digit run beyond int64 stays a string key (it then finds nothing, as a too-large index would).
    int64_t index = 0;
    const bool in_range =
        numeric && std::from_chars(part.data(), part.data() + part.size(), index).ec == std::errc();
    cur = in_range ? get_item(in, cur, Value(index), line) : get_item(in, cur, Value(part), line);
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// Sort key for the case-insensitive comparisons of sort/dictsort/unique/min/max.
Value fold_case(const Value& v, bool case_sensitive) {
  return (!case_sensitive && v.is_string()) ? Value(py_lower(v.as_string())) : v;
}

CallArgs rest_args(const CallArgs& a, size_t skip) {
  CallArgs r;
  for (size_t i = skip; i < a.positional.size(); ++i) r.positional.push_back(a.positional[i]);
  r.keyword = a.keyword;
  return r;
}

std::vector<Value> select_items(Interpreter& in, const Value& seq, CallArgs& a, bool by_attribute, bool keep, int line) {
  std::vector<Value> out;
  const size_t skip = by_attribute ? 1 : 0;
  const Value attr = by_attribute ? argument(a, 0, "attribute") : Value();
  const bool has_test = a.positional.size() > skip;
  CallArgs test_args = has_test ? rest_args(a, skip + 1) : CallArgs{};
  for (const Value& item : iterate(in, seq, line)) {
    const Value subject = by_attribute ? attribute_path(in, item, attr, line) : item;
    const bool pass = has_test ? apply_test(in, to_str(a.positional[skip]), subject, test_args, line) : truthy(subject);
    if (pass == keep) out.push_back(item);
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A filter's integer argument (an int or a bool, as Python's int()); anything else is the
// template's error, not a crash.
int64_t int_arg(const Interpreter& in, const Value& v, const char* what, int line) {
  if (!v.is_int() && !v.is_bool()) in.error(line, fmt::format("{} must be an integer, found {}", what, type_name(v)));
  return v.int_value();
}

std::string indent_text(const std::string& text, const Value& width, bool first, bool blank) {
  const std::string pad = width.is_string() ? width.as_string() : std::string(size_t(std::max<int64_t>(0, width.int_value())), ' ');
  std::vector<std::string> lines;
  const std::string s = text + "\n";
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\n') {
      lines.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + pad : "") + lines[i];
  } else {
    rv = lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : pad + lines[i]);
  }
  return first ? pad + rv : rv;
}

double python_round(double x, int64_t digits) {
  // round-half-even on the scaled value, as Python's round() does for representable halves
  const double scale = std::pow(10.0, double(digits));
  const double y = x * scale;
  double r = std::nearbyint(y);
  if (std::fabs(y - std::trunc(y)) != 0.5) r = std::round(y);
  return r / scale;
}

Value sorted(Interpreter& in, std::vector<Value> items, bool reverse, bool case_sensitive, const Value& attr, int line) {
  auto key = [&](const Value& v) { return fold_case(attr.is_undefined() || attr.is_none() ? v : attribute_path(in, v, attr, line), case_sensitive); };
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& v : items) keyed.emplace_back(key(v), v);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? less_than(in, y.first, x.first, line) : less_than(in, x.first, y.first, line);
  });
  std::vector<Value> out;
  for (auto& [k, v] : keyed) out.push_back(v);
  return make_list(std::move(out));
}

}  // namespace

Value apply_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& a, int line) {
  in.charge();
  if (name == "tojson") {
    JsonStyle style;
    const Value ascii = argument(a, 0, "ensure_ascii", Value(false));
    const Value indent = argument(a, 1, "indent", Value(None{}));
    const Value seps = argument(a, 2, "separators", Value(None{}));
    style.ensure_ascii = truthy(ascii);
    if (indent.is_int()) {
      style.indent = int(std::clamp<int64_t>(indent.as_int(), 0, 64));
      style.item_separator = ",";
    } else if (!indent.is_none()) {
      in.error(line, "tojson: indent must be an integer");
    }
    if (seps.is_list() && seps.as_list()->items.size() == 2) {
      style.item_separator = to_str(seps.as_list()->items[0]);
      style.key_separator = to_str(seps.as_list()->items[1]);
    }
    style.sort_keys = truthy(argument(a, 3, "sort_keys", Value(false)));
    return Value(json_dump(in, v, style, line));
  }
  if (name == "length" || name == "count") return Value(length_of(in, v, line));
  if (name == "string") return Value(to_str(v));
  if (name == "safe") return Value(to_str(v));
  if (name == "escape" || name == "e" || name == "forceescape") return Value(html_escape(to_str(v)));
  if (name == "trim") return Value(py_strip(to_str(v), argument(a, 0, "chars", Value(None{})), true, true));
  if (name == "upper") return Value(py_upper(to_str(v)));
  if (name == "lower") return Value(py_lower(to_str(v)));
  if (name == "title") return Value(py_title(to_str(v)));
  if (name == "capitalize") return Value(py_capitalize(to_str(v)));
  if (name == "replace") {
    const Value count = argument(a, 2, "count", Value(None{}));
    return Value(py_replace(in, to_str(v), to_str(argument(a, 0, "old")), to_str(argument(a, 1, "new")),
                            count.is_none() ? -1 : int_arg(in, count, "replace: count", line), line));
  }
  if (name == "default" || name == "d") {
    const bool boolean = truthy(argument(a, 1, "boolean", Value(false)));
    if (v.is_undefined() || (boolean && !truthy(v))) return argument(a, 0, "default_value", Value(std::string()));
    return v;
  }
  if (name == "join") {
    const std::string sep = to_str(argument(a, 0, "d", Value(std::string())));
    const Value attr = argument(a, 1, "attribute", Value(None{}));
    std::string out;
    bool first = true;
    for (const Value& item : iterate(in, v, line)) {
      if (!first) out += sep;
      out += to_str(attr.is_none() ? item : attribute_path(in, item, attr, line));
      first = false;
      in.check_string_size(out.size(), line);
    }
    return Value(std::move(out));
  }
  if (name == "first" || name == "last") {
    const std::vector<Value> items = iterate(in, v, line);
    if (items.empty()) return Value(Undefined{fmt::format("No {} item, sequence was empty.", name)});
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") return make_list(iterate(in, v, line));
  if (name == "items") {
    if (v.is_undefined()) return make_list({});
    if (!v.is_dict()) in.error(line, "Can only get item pairs from a mapping.");
    std::vector<Value> out;
    for (const auto& [k, e] : v.as_dict()->items) out.push_back(make_list({Value(k), e}, true));
    return make_list(std::move(out));
  }
  if (name == "dictsort") {
    if (!v.is_dict()) in.error(line, "You can only sort by either \"key\" or \"value\"");
    const bool cs = truthy(argument(a, 0, "case_sensitive", Value(false)));
    const std::string by = to_str(argument(a, 1, "by", Value("key")));
    const bool reverse = truthy(argument(a, 2, "reverse", Value(false)));
    std::vector<Value> pairs;
    for (const auto& [k, e] : v.as_dict()->items) pairs.push_back(make_list({Value(k), e}, true));
    return sorted(in, std::move(pairs), reverse, cs, Value(int64_t(by == "value" ? 1 : 0)), line);
  }
  if (name == "sort")
    return sorted(in, iterate(in, v, line), truthy(argument(a, 0, "reverse", Value(false))),
                  truthy(argument(a, 1, "case_sensitive", Value(false))), argument(a, 2, "attribute", Value(None{})), line);
  if (name == "reverse") {
    if (v.is_string()) {
      std::vector<Value> chars = iterate(in, v, line);
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += it->as_string();
      return Value(std::move(out));
    }
    std::vector<Value> items = iterate(in, v, line);
    std::reverse(items.begin(), items.end());
    return make_list(std::move(items));
  }
  if (name == "unique") {
    const bool cs = truthy(argument(a, 0, "case_sensitive", Value(false)));
    const Value attr = argument(a, 1, "attribute", Value(None{}));
    std::vector<Value> out, seen;
    for (const Value& item : iterate(in, v, line)) {
      const Value key = fold_case(attr.is_none() ? item : attribute_path(in, item, attr, line), cs);
      bool dup = false;
      for (const Value& s : seen) dup = dup || equals(s, key);
      if (!dup) {
        seen.push_back(key);
        out.push_back(item);
      }
    }
    return make_list(std::move(out));
  }
  if (name == "min" || name == "max") {
    const Value s = sorted(in, iterate(in, v, line), false, truthy(argument(a, 0, "case_sensitive", Value(false))),
                           argument(a, 1, "attribute", Value(None{})), line);
    const auto& items = s.as_list()->items;
    if (items.empty()) return Value(Undefined{fmt::format("No aggregated item, sequence was empty.")});
    return name == "min" ? items.front() : items.back();
  }
  if (name == "sum") {
    const Value attr = argument(a, 0, "attribute", Value(None{}));
    Value total = argument(a, 1, "start", Value(int64_t(0)));
    for (const Value& item : iterate(in, v, line))
      total = binary_op(in, "+", total, attr.is_none() ? item : attribute_path(in, item, attr, line), line);
    return total;
  }
  if (name == "map") {
    std::vector<Value> out;
    const Value attr = argument(a, 99, "attribute");
    if (!attr.is_undefined()) {
      const Value dflt = argument(a, 99, "default");
      for (const Value& item : iterate(in, v, line)) {
        Value x = attribute_path(in, item, attr, line);
        out.push_back(x.is_undefined() && !dflt.is_undefined() ? dflt : x);
      }
    } else {
      if (a.positional.empty()) in.error(line, "map: give a filter name or attribute=");
      const std::string filter = to_str(a.positional[0]);
      CallArgs fa = rest_args(a, 1);
      for (const Value& item : iterate(in, v, line)) out.push_back(apply_filter(in, filter, item, fa, line));
    }
    return make_list(std::move(out));
  }
  if (name == "select" || name == "reject") return make_list(select_items(in, v, a, false, name == "select", line));
  if (name == "selectattr" || name == "rejectattr")
    return make_list(select_items(in, v, a, true, name == "selectattr", line));
  if (name == "int") {
    const Value dflt = argument(a, 0, "default", Value(int64_t(0)));
    if (v.is_int() || v.is_bool()) return Value(v.int_value());
    if (v.is_float()) return std::isfinite(v.as_float()) && std::fabs(v.as_float()) < 9.2e18 ? Value(int64_t(v.as_float())) : dflt;
    if (v.is_string()) {
      const std::string t = py_strip(v.as_string(), Value(None{}), true, true);
      char* end = nullptr;
      errno = 0;
      const long long i = std::strtoll(t.c_str(), &end, 10);
      if (!t.empty() && end == t.c_str() + t.size() && errno == 0) return Value(int64_t(i));
      const double d = std::strtod(t.c_str(), &end);
      if (!t.empty() && end == t.c_str() + t.size() && std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(int64_t(d));
    }
    return dflt;
  }
  if (name == "float") {
    const Value dflt = argument(a, 0, "default", Value(0.0));
    if (v.is_number()) return Value(v.number_value());
    if (v.is_string()) {
      const std::string t = py_strip(v.as_string(), Value(None{}), true, true);
      char* end = nullptr;
      const double d = std::strtod(t.c_str(), &end);
      if (!t.empty() && end == t.c_str() + t.size()) return Value(d);
    }
    return dflt;
  }
  if (name == "abs") {
    if (!v.is_number()) in.error(line, fmt::format("bad operand type for abs(): '{}'", type_name(v)));
    if (v.is_float()) return Value(std::fabs(v.as_float()));
    if (v.int_value() == INT64_MIN) in.error(line, "integer overflow");
    return Value(v.int_value() < 0 ? -v.int_value() : v.int_value());
  }
  if (name == "round") {
    if (!v.is_number()) in.error(line, fmt::format("round: expected a number, found {}", type_name(v)));
    const int64_t digits = int_arg(in, argument(a, 0, "precision", Value(int64_t(0))), "round: precision", line);
    const std::string method = to_str(argument(a, 1, "method", Value("common")));
    const double scale = std::pow(10.0, double(digits)), x = v.number_value();
    if (method == "floor") return Value(std::floor(x * scale) / scale);
    if (method == "ceil") return Value(std::ceil(x * scale) / scale);
    if (method != "common") in.error(line, "method must be common, ceil or floor");
    return Value(python_round(x, digits));
  }
  if (name == "indent") {
    const Value width = argument(a, 0, "width", Value(int64_t(4)));
    return Value(indent_text(to_str(v), width.is_string() ? width : Value(int_arg(in, width, "indent: width", line)),
                             truthy(argument(a, 1, "first", Value(false))), truthy(argument(a, 2, "blank", Value(false)))));
  }
  if (name == "wordcount") {
    int64_t n = 0;
    bool in_word = false;
    for (unsigned char c : to_str(v)) {
      const bool w = std::isalnum(c) || c == '_' || c >= 0x80;
      if (w && !in_word) ++n;
      in_word = w;
    }
    return Value(n);
  }
  if (name == "center") {
    const std::string s = to_str(v);
    const int64_t width = int_arg(in, argument(a, 0, "width", Value(int64_t(80))), "center: width", line);
    const int64_t len = int64_t(utf8_length(s));
    if (width <= len) return Value(s);
    in.check_string_size(size_t(width), line);
    const int64_t total = width - len, left = total / 2 + (total & width & 1);
    return Value(std::string(size_t(left), ' ') + s + std::string(size_t(total - left), ' '));
  }
  if (name == "batch") {
    const int64_t n = int_arg(in, argument(a, 0, "linecount", Value(int64_t(1))), "batch: linecount", line);
    if (n <= 0) in.error(line, "batch: linecount must be positive");
    const Value fill = argument(a, 1, "fill_with", Value(None{}));
    std::vector<Value> out, cur;
    for (const Value& item : iterate(in, v, line)) {
      cur.push_back(item);
      if (int64_t(cur.size()) == n) out.push_back(make_list(std::exchange(cur, {})));
    }
    if (!cur.empty()) {
      if (!fill.is_none())
        while (int64_t(cur.size()) < n) cur.push_back(fill);
      out.push_back(make_list(std::move(cur)));
    }
    return make_list(std::move(out));
  }
  // attr() reads Python attributes only (methods here), never dict keys.
  if (name == "attr") {
    const Value m = v.is_undefined() ? Value() : find_method(in, v, to_str(argument(a, 0, "name")));
    return m.is_undefined() ? Value(Undefined{"no attribute " + to_str(argument(a, 0, "name"))}) : m;
  }
  if (name == "format") {
    if (!a.positional.empty()) return Value(percent_format(in, to_str(v), make_list(a.positional, true), line));
    return Value(to_str(v));
  }
  in.error(line, "unknown filter '" + name + "'");
}

bool apply_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& a, int line) {
  in.charge();
  const Value arg = argument(a, 0, "other");
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict() && !v.as_dict()->is_namespace;
  // Undefined is iterable and a sequence in jinja2 (it has __iter__, __len__, __getitem__).
  if (name == "iterable") return v.is_string() || v.is_list() || (v.is_dict() && !v.as_dict()->is_namespace) || v.is_undefined();
  if (name == "sequence") return v.is_string() || v.is_list() || (v.is_dict() && !v.as_dict()->is_namespace) || v.is_undefined();
  if (name == "callable") return v.is_callable();
  if (name == "lower") return v.is_string() && py_lower(v.as_string()) == v.as_string();
  if (name == "upper") return v.is_string() && py_upper(v.as_string()) == v.as_string();
  if (name == "escaped") return false;
  if (name == "odd" || name == "even") {
    if (!(v.is_int() || v.is_bool())) in.error(line, fmt::format("test '{}' needs an integer, found {}", name, type_name(v)));
    const int64_t r = v.int_value() % 2;
    return name == "odd" ? r != 0 : r == 0;
  }
  if (name == "divisibleby") {
    if (!(v.is_int() || v.is_bool()) || !(arg.is_int() || arg.is_bool()))
      in.error(line, "test 'divisibleby' needs integers");
    if (arg.int_value() == 0) in.error(line, "integer division or modulo by zero");
    return arg.int_value() == -1 || v.int_value() % arg.int_value() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return equals(v, arg);
  if (name == "ne" || name == "!=") return !equals(v, arg);
  if (name == "lt" || name == "lessthan" || name == "<") return less_than(in, v, arg, line);
  if (name == "gt" || name == "greaterthan" || name == ">") return less_than(in, arg, v, line);
  if (name == "le" || name == "<=") return !less_than(in, arg, v, line);
  if (name == "ge" || name == ">=") return !less_than(in, v, arg, line);
  if (name == "in") return contains(in, arg, v, line);
  if (name == "sameas") {
    if (v.is_list() && arg.is_list()) return v.as_list() == arg.as_list();
    if (v.is_dict() && arg.is_dict()) return v.as_dict() == arg.as_dict();
    if (v.is_bool() && arg.is_bool()) return v.as_bool() == arg.as_bool();
    return (v.is_none() && arg.is_none()) || (v.is_undefined() && arg.is_undefined());
  }
  if (name == "filter" || name == "test") return v.is_string();
  in.error(line, "unknown test '" + name + "'");
}

}  // namespace trident::chat
