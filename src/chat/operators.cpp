// Python's operators, item/attribute access and iteration as jinja2's sandbox performs them.
#include <fmt/format.h>

#include <cmath>

#include "chat/interpreter.h"
#include "chat/text_format.h"

namespace trident::chat {
namespace {

std::string quoted_type(const Value& v) { return "'" + type_name(v) + "'"; }

[[noreturn]] void unsupported(Interpreter& in, const std::string& op, const Value& a, const Value& b, int line) {
  in.error(line, fmt::format("unsupported operand type(s) for {}: {} and {}", op, quoted_type(a), quoted_type(b)));
}

// r = x op y for op in + - *, refusing what does not fit 64 bits (Python would grow the int).
int64_t checked_int(Interpreter& in, char op, int64_t x, int64_t y, int line) {
  int64_t r = 0;
  const bool overflow = op == '+' ? __builtin_add_overflow(x, y, &r)
                        : op == '-' ? __builtin_sub_overflow(x, y, &r)
                                    : __builtin_mul_overflow(x, y, &r);
  if (overflow) in.error(line, "integer overflow (Python integers are unbounded; trident's are 64-bit)");
  return r;
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Value repeat(Interpreter& in, const Value& seq, int64_t n, int line) {
  if (n <= 0) return seq.is_string() ? Value(std::string()) : make_list({}, seq.as_list()->is_tuple);
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty() && uint64_t(n) > in.limits().max_string_bytes / s.size())
      in.error(line, fmt::format("a repeated string exceeds the limit of {} bytes", in.limits().max_string_bytes));
    in.check_string_size(s.size() * size_t(n), line);
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += s;
    return Value(std::move(out));
  }
  const auto& items = seq.as_list()->items;
  if (!items.empty() && uint64_t(n) > in.limits().max_list_items / items.size())
    in.error(line, fmt::format("a repeated list exceeds the limit of {} items", in.limits().max_list_items));
  in.check_list_size(items.size() * size_t(n), line);
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return make_list(std::move(out), seq.as_list()->is_tuple);
}

Value arithmetic(Interpreter& in, const std::string& op, const Value& a, const Value& b, int line) {
  if (a.is_float() || b.is_float()) {
    const double x = a.number_value(), y = b.number_value();
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "**") return Value(std::pow(x, y));
    if (y == 0) in.error(line, "float division by zero");
    if (op == "/") return Value(x / y);
    if (op == "//") return Value(std::floor(x / y));
    double r = std::fmod(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return Value(r);
  }
  const int64_t x = a.int_value(), y = b.int_value();
  if (op == "+" || op == "-" || op == "*") return Value(checked_int(in, op[0], x, y, line));
  if (op == "**") {
    if (y < 0) return Value(std::pow(double(x), double(y)));
    if (x == 0 || x == 1) return Value(y == 0 ? int64_t(1) : x);
    if (x == -1) return Value(y % 2 ? int64_t(-1) : int64_t(1));
    int64_t acc = 1;  // |x| >= 2: overflows within 63 multiplications
    for (int64_t i = 0; i < y; ++i) acc = checked_int(in, '*', acc, x, line);
    return Value(acc);
  }
  if (op == "/") {
    if (y == 0) in.error(line, "division by zero");
    return Value(double(x) / double(y));
  }
  if (y == 0) in.error(line, "integer division or modulo by zero");
  if (x == INT64_MIN && y == -1) in.error(line, "integer overflow");
  if (op == "//") return Value(floor_div(x, y));
  return Value(x - floor_div(x, y) * y);
}

}  // namespace

Value binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b, int line) {
  if (op == "~") {
    std::string s = to_str(a);
    const std::string t = to_str(b);
    in.check_string_size(s.size() + t.size(), line);
    return Value(s + t);
  }
  if (a.is_undefined() || b.is_undefined())
    in.error(line, (a.is_undefined() ? a : b).as_undefined().hint);
  if (a.is_number() && b.is_number()) return arithmetic(in, op, a, b, line);
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      in.check_string_size(a.as_string().size() + b.as_string().size(), line);
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list() && a.as_list()->is_tuple == b.as_list()->is_tuple) {
      in.check_list_size(a.as_list()->items.size() + b.as_list()->items.size(), line);
      std::vector<Value> items = a.as_list()->items;
      items.insert(items.end(), b.as_list()->items.begin(), b.as_list()->items.end());
      return make_list(std::move(items), a.as_list()->is_tuple);
    }
    if (a.is_string())
      in.error(line, fmt::format("can only concatenate str (not \"{}\") to str", type_name(b)));
    if (a.is_list())
      in.error(line, fmt::format("can only concatenate {} (not \"{}\") to {}", type_name(a), type_name(b), type_name(a)));
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return repeat(in, a, b.int_value(), line);
    if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return repeat(in, b, a.int_value(), line);
  }
  if (op == "%" && a.is_string()) return Value(percent_format(in, a.as_string(), b, line));
  unsupported(in, op, a, b, line);
}

bool less_than(Interpreter& in, const Value& a, const Value& b, int line) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.number_value() < b.number_value();
    return a.int_value() < b.int_value();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  if (a.is_list() && b.is_list()) {
    const auto &x = a.as_list()->items, &y = b.as_list()->items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      in.charge();
      if (!equals(x[i], y[i])) return less_than(in, x[i], y[i], line);
    }
    return x.size() < y.size();
  }
  in.error(line, fmt::format("'<' not supported between instances of {} and {}", quoted_type(a), quoted_type(b)));
}

bool contains(Interpreter& in, const Value& container, const Value& item, int line) {
  if (container.is_string()) {
    if (!item.is_string())
      in.error(line, fmt::format("'in <string>' requires string as left operand, not {}", type_name(item)));
    in.charge(container.as_string().size());
    return container.as_string().find(item.as_string()) != std::string::npos;
  }
  if (container.is_list()) {
    for (const Value& v : container.as_list()->items) {
      in.charge();
      if (equals(v, item)) return true;
    }
    return false;
  }
  if (container.is_dict()) return item.is_string() && container.as_dict()->find(item.as_string()) != nullptr;
  if (container.is_undefined()) return false;
  in.error(line, fmt::format("argument of type {} is not iterable", quoted_type(container)));
}

bool compare_op(Interpreter& in, const std::string& op, const Value& a, const Value& b, int line) {
  if (op == "==") return equals(a, b);
  if (op == "!=") return !equals(a, b);
  if (op == "in") return contains(in, b, a, line);
  if (op == "notin") return !contains(in, b, a, line);
  if (op == "<") return less_than(in, a, b, line);
  if (op == ">") return less_than(in, b, a, line);
  if (op == "<=") return !less_than(in, b, a, line);
  return !less_than(in, a, b, line);  // >=
}

std::vector<Value> iterate(Interpreter& in, const Value& v, int line) {
  if (v.is_list()) return v.as_list()->items;
  if (v.is_dict()) {
    std::vector<Value> keys;
    for (const auto& [k, e] : v.as_dict()->items) keys.emplace_back(k);
    return keys;
  }
  if (v.is_string()) {
    const std::string& s = v.as_string();
    const std::vector<size_t> offs = utf8_offsets(s);
    std::vector<Value> chars;
    for (size_t i = 0; i + 1 < offs.size(); ++i) chars.emplace_back(s.substr(offs[i], offs[i + 1] - offs[i]));
    in.charge(chars.size());
    return chars;
  }
  if (v.is_undefined()) return {};
  in.error(line, fmt::format("{} object is not iterable", quoted_type(v)));
}

Value get_attribute(Interpreter& in, const Value& obj, const std::string& name, int line) {
  if (obj.is_undefined()) in.error(line, obj.as_undefined().hint);
  // The sandbox hides every name starting with an underscore (Python internals).
  if (!name.empty() && name[0] == '_')
    return Value(Undefined{fmt::format("access to attribute '{}' of '{}' object is unsafe", name, type_name(obj))});
  Value method = find_method(in, obj, name);
  // A method, or the Undefined that stands for a mutating one (calling it is refused).
  if (!method.is_undefined() || !method.as_undefined().hint.empty()) return method;
  if (obj.is_dict()) {
    if (const Value* v = obj.as_dict()->find(name)) return *v;
    if (obj.as_dict()->is_namespace)
      return Value(Undefined{fmt::format("'Namespace' object has no attribute '{}'", name)});
  }
  return Value(Undefined{fmt::format("'{} object' has no attribute '{}'", type_name(obj), name)});
}

Value get_item(Interpreter& in, const Value& obj, const Value& key, int line) {
  if (obj.is_undefined()) in.error(line, obj.as_undefined().hint);
  if (obj.is_dict() && key.is_string()) {
    if (const Value* v = obj.as_dict()->find(key.as_string())) return *v;
  } else if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t i = key.int_value();
    if (obj.is_list()) {
      const auto& items = obj.as_list()->items;
      if (i < 0) i += int64_t(items.size());
      if (i >= 0 && i < int64_t(items.size())) return items[size_t(i)];
    } else {
      const std::vector<size_t> offs = utf8_offsets(obj.as_string());
      const int64_t n = int64_t(offs.size()) - 1;
      if (i < 0) i += n;
      if (i >= 0 && i < n) return Value(obj.as_string().substr(offs[size_t(i)], offs[size_t(i) + 1] - offs[size_t(i)]));
    }
    return Value(Undefined{fmt::format("{} object has no element {}", type_name(obj), key.int_value())});
  }
  // jinja2 falls back to the attribute of that name (d['items'] is the method when no key).
  if (key.is_string()) return get_attribute(in, obj, key.as_string(), line);
  return Value(Undefined{fmt::format("{} object has no element {}", type_name(obj), to_repr(key))});
}

Value slice(Interpreter& in, const Value& obj, const Value& start, const Value& stop, const Value& step, int line) {
  auto as_index = [&](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_none()) return std::nullopt;
    if (!(v.is_int() || v.is_bool())) in.error(line, std::string("slice ") + what + " must be an integer or None");
    return v.int_value();
  };
  const auto a = as_index(start, "start"), b = as_index(stop, "stop"), c = as_index(step, "step");
  const int64_t st = c.value_or(1);
  if (st == 0) in.error(line, "slice step cannot be zero");
  if (obj.is_undefined()) in.error(line, obj.as_undefined().hint);
  std::vector<size_t> offs;
  int64_t n = 0;
  if (obj.is_string()) {
    offs = utf8_offsets(obj.as_string());
    n = int64_t(offs.size()) - 1;
  } else if (obj.is_list()) {
    n = int64_t(obj.as_list()->items.size());
  } else {
    in.error(line, fmt::format("{} object is not subscriptable", quoted_type(obj)));
  }
  // Python's slice.indices().
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) x = std::max<int64_t>(x + n, st < 0 ? -1 : 0);
    else x = std::min<int64_t>(x, st < 0 ? n - 1 : n);
    return x;
  };
  const int64_t lo = clamp(a, st < 0 ? n - 1 : 0), hi = clamp(b, st < 0 ? -1 : n);
  std::vector<int64_t> picks;
  for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) picks.push_back(i);
  in.charge(picks.size());
  if (obj.is_string()) {
    std::string out;
    for (int64_t i : picks) out += obj.as_string().substr(offs[size_t(i)], offs[size_t(i) + 1] - offs[size_t(i)]);
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (int64_t i : picks) out.push_back(obj.as_list()->items[size_t(i)]);
  return make_list(std::move(out), obj.as_list()->is_tuple);
}

}  // namespace trident::chat
