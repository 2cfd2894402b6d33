// Methods of str, dict and list values, and the global functions a template may call. Only the
// read-only methods exist: transformers renders with jinja2's ImmutableSandboxedEnvironment,
// where list.append, dict.update and the like raise a SecurityError.
#include <fmt/format.h>

#include <ctime>

#include "chat/interpreter.h"
#include "chat/text_format.h"

namespace trident::chat {
namespace {

Value bound(const std::string& name, std::function<Value(Interpreter&, CallArgs&)> fn) {
  auto c = std::make_shared<CallableObject>();
  c->name = name;
  c->call = std::move(fn);
  return Value(c);
}

std::string string_arg(Interpreter& in, const Value& v, const char* method) {
  if (!v.is_string()) in.error(0, fmt::format("{}() expects a string argument, found {}", method, type_name(v)));
  return v.as_string();
}

int64_t method_int_arg(Interpreter& in, const Value& v, const char* method, int64_t fallback) {
  if (v.is_undefined() || v.is_none()) return fallback;
  if (!(v.is_int() || v.is_bool())) in.error(0, fmt::format("{}() expects an integer argument, found {}", method, type_name(v)));
  return v.int_value();
}

// startswith/endswith accept one string or a tuple of them.
bool affix_match(Interpreter& in, const std::string& s, const Value& arg, bool suffix, const char* method) {
  std::vector<Value> options = arg.is_list() ? arg.as_list()->items : std::vector<Value>{arg};
  for (const Value& o : options) {
    const std::string a = string_arg(in, o, method);
    if (a.size() > s.size()) continue;
    if (suffix ? s.compare(s.size() - a.size(), a.size(), a) == 0 : s.compare(0, a.size(), a) == 0) return true;
  }
  return false;
}

Value list_of_strings(const std::vector<std::string>& parts) {
  std::vector<Value> items(parts.begin(), parts.end());
  return make_list(std::move(items));
}

int64_t find_codepoint_index(const std::string& s, size_t byte_pos) {
  return byte_pos == std::string::npos ? -1 : int64_t(utf8_length(s.substr(0, byte_pos)));
}

Value string_method(const std::string& s, const std::string& name) {
  using F = std::function<Value(Interpreter&, CallArgs&)>;
  F f;
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool l = name != "rstrip", r = name != "lstrip";
    f = [s, l, r](Interpreter&, CallArgs& a) { return Value(py_strip(s, argument(a, 0, "chars"), l, r)); };
  } else if (name == "split" || name == "rsplit") {
    const bool right = name == "rsplit";
    f = [s, right, name](Interpreter& in, CallArgs& a) {
      const Value sep = argument(a, 0, "sep");
      if (sep.is_string() && sep.as_string().empty()) in.error(0, "empty separator");
      in.charge(s.size());
      return list_of_strings(py_split(s, sep, method_int_arg(in, argument(a, 1, "maxsplit"), name.c_str(), -1), right));
    };
  } else if (name == "splitlines") {
    f = [s](Interpreter& in, CallArgs&) {
      std::vector<std::string> lines;
      size_t start = 0;
      for (size_t i = 0; i < s.size(); ++i)
        if (s[i] == '\n' || s[i] == '\r') {
          lines.push_back(s.substr(start, i - start));
          if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
          start = i + 1;
        }
      if (start < s.size()) lines.push_back(s.substr(start));
      in.charge(s.size());
      return list_of_strings(lines);
    };
  } else if (name == "startswith" || name == "endswith") {
    const bool suffix = name == "endswith";
    f = [s, suffix, name](Interpreter& in, CallArgs& a) {
      return Value(affix_match(in, s, argument(a, 0, "prefix"), suffix, name.c_str()));
    };
  } else if (name == "replace") {
    f = [s](Interpreter& in, CallArgs& a) {
      return Value(py_replace(in, s, string_arg(in, argument(a, 0, "old"), "replace"),
                              string_arg(in, argument(a, 1, "new"), "replace"),
                              method_int_arg(in, argument(a, 2, "count"), "replace", -1), 0));
    };
  } else if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    f = [s, name](Interpreter&, CallArgs&) {
      if (name == "upper") return Value(py_upper(s));
      if (name == "lower") return Value(py_lower(s));
      if (name == "title") return Value(py_title(s));
      return Value(py_capitalize(s));
    };
  } else if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    f = [s, name](Interpreter& in, CallArgs& a) {
      const std::string sub = string_arg(in, argument(a, 0, "sub"), name.c_str());
      const size_t p = name[0] == 'r' ? s.rfind(sub) : s.find(sub);
      if (p == std::string::npos && name.find("index") != std::string::npos) in.error(0, "substring not found");
      return Value(find_codepoint_index(s, p));
    };
  } else if (name == "count") {
    f = [s](Interpreter& in, CallArgs& a) {
      const std::string sub = string_arg(in, argument(a, 0, "sub"), "count");
      if (sub.empty()) return Value(int64_t(utf8_length(s) + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value(n);
    };
  } else if (name == "join") {
    f = [s](Interpreter& in, CallArgs& a) {
      std::string out;
      bool first = true;
      for (const Value& v : iterate(in, argument(a, 0, "iterable"), 0)) {
        if (!v.is_string()) in.error(0, fmt::format("join() expects strings, found {}", type_name(v)));
        if (!first) out += s;
        out += v.as_string();
        first = false;
        in.check_string_size(out.size(), 0);
      }
      return Value(std::move(out));
    };
  } else if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "isupper" ||
             name == "islower") {
    f = [s, name](Interpreter&, CallArgs&) {
      if (s.empty()) return Value(false);
      bool any_cased = false;
      for (unsigned char c : s) {
        const bool digit = c >= '0' && c <= '9', up = c >= 'A' && c <= 'Z', low = c >= 'a' && c <= 'z';
        any_cased |= up || low;
        if (name == "isdigit" && !digit) return Value(false);
        if (name == "isalpha" && !(up || low)) return Value(false);
        if (name == "isalnum" && !(up || low || digit)) return Value(false);
        if (name == "isspace" && !(c == ' ' || (c >= 9 && c <= 13))) return Value(false);
        if (name == "isupper" && low) return Value(false);
        if (name == "islower" && up) return Value(false);
      }
      return Value((name != "isupper" && name != "islower") || any_cased);
    };
  } else if (name == "removeprefix" || name == "removesuffix") {
    const bool suffix = name == "removesuffix";
    f = [s, suffix, name](Interpreter& in, CallArgs& a) {
      const std::string x = string_arg(in, argument(a, 0, "affix"), name.c_str());
      if (x.size() <= s.size() && (suffix ? s.compare(s.size() - x.size(), x.size(), x) == 0 : s.compare(0, x.size(), x) == 0))
        return Value(suffix ? s.substr(0, s.size() - x.size()) : s.substr(x.size()));
      return Value(s);
    };
  } else {
    return Value();
  }
  return bound(name, std::move(f));
}

Value dict_method(const DictPtr& d, const std::string& name) {
  if (name == "get")
    return bound(name, [d](Interpreter& in, CallArgs& a) {
      const Value key = argument(a, 0, "key");
      if (key.is_string())
        if (const Value* v = d->find(key.as_string())) return *v;
      return argument(a, 1, "default", Value(None{}));
    });
  if (name == "items" || name == "keys" || name == "values")
    return bound(name, [d, name](Interpreter& in, CallArgs&) {
      std::vector<Value> out;
      for (const auto& [k, v] : d->items) {
        if (name == "items") out.push_back(make_list({Value(k), v}, true));
        else out.push_back(name == "keys" ? Value(k) : v);
      }
      in.charge(out.size());
      return make_list(std::move(out));
    });
  if (name == "copy")
    return bound(name, [d](Interpreter&, CallArgs&) {
      auto c = std::make_shared<DictObject>(*d);
      c->is_namespace = false;
      return Value(c);
    });
  return Value();
}

Value list_method(const ListPtr& l, const std::string& name) {
  if (name == "index" || name == "count")
    return bound(name, [l, name](Interpreter& in, CallArgs& a) {
      const Value x = argument(a, 0, "value");
      int64_t n = 0;
      for (size_t i = 0; i < l->items.size(); ++i)
        if (equals(l->items[i], x)) {
          if (name == "index") return Value(int64_t(i));
          ++n;
        }
      if (name == "index") in.error(0, "list.index(x): x not in list");
      return Value(n);
    });
  return Value();
}

bool is_mutating(const Value& obj, const std::string& name) {
  static const char* const list_ops[] = {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"};
  static const char* const dict_ops[] = {"clear", "pop", "popitem", "setdefault", "update"};
  if (obj.is_list())
    for (const char* op : list_ops)
      if (name == op) return true;
  if (obj.is_dict() && !obj.as_dict()->is_namespace)
    for (const char* op : dict_ops)
      if (name == op) return true;
  return false;
}

}  // namespace

Value argument(const CallArgs& a, size_t index, const char* name, Value fallback) {
  if (index < a.positional.size()) return a.positional[index];
  for (const auto& [k, v] : a.keyword)
    if (k == name) return v;
  return fallback;
}

Value find_method(Interpreter& in, const Value& obj, const std::string& name) {
  if (is_mutating(obj, name))
    return Value(Undefined{fmt::format("access to attribute '{}' of '{}' object is unsafe", name, type_name(obj))});
  if (obj.is_string()) return string_method(obj.as_string(), name);
  if (obj.is_dict() && !obj.as_dict()->is_namespace) return dict_method(obj.as_dict(), name);
  if (obj.is_list()) return list_method(obj.as_list(), name);
  return Value();
}

void add_builtins(Scope& globals) {
  globals.vars["range"] = bound("range", [](Interpreter& in, CallArgs& a) {
    int64_t start = 0, stop = 0, step = 1;
    if (a.positional.size() == 1) {
      stop = method_int_arg(in, a.positional[0], "range", 0);
    } else if (a.positional.size() == 2 || a.positional.size() == 3) {
      start = method_int_arg(in, a.positional[0], "range", 0);
      stop = method_int_arg(in, a.positional[1], "range", 0);
      if (a.positional.size() == 3) step = method_int_arg(in, a.positional[2], "range", 1);
    } else {
      in.error(0, "range() expects 1 to 3 integer arguments");
    }
    if (step == 0) in.error(0, "range() arg 3 must not be zero");
    const __int128 span = step > 0 ? (__int128(stop) - start + step - 1) / step : (__int128(start) - stop - step - 1) / -step;
    const int64_t n = span > 0 ? int64_t(std::min<__int128>(span, INT64_MAX)) : 0;
    // jinja2's sandbox refuses ranges over 100000 items (MAX_RANGE).
    if (n > 100000) in.error(0, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    in.check_list_size(size_t(n), 0);
    std::vector<Value> items;
    for (int64_t i = 0; i < n; ++i) items.emplace_back(start + i * step);
    return make_list(std::move(items));
  });
  auto kwargs_dict = [](Interpreter& in, CallArgs& a, bool is_namespace) {
    auto d = std::make_shared<DictObject>();
    d->is_namespace = is_namespace;
    for (const Value& p : a.positional) {
      if (!p.is_dict()) in.error(0, fmt::format("{}() expects a mapping, found {}", is_namespace ? "namespace" : "dict", type_name(p)));
      for (const auto& [k, v] : p.as_dict()->items) d->set(k, v);
    }
    for (const auto& [k, v] : a.keyword) d->set(k, v);
    return Value(d);
  };
  globals.vars["namespace"] = bound("namespace", [kwargs_dict](Interpreter& in, CallArgs& a) { return kwargs_dict(in, a, true); });
  globals.vars["dict"] = bound("dict", [kwargs_dict](Interpreter& in, CallArgs& a) { return kwargs_dict(in, a, false); });
  globals.vars["raise_exception"] = bound("raise_exception", [](Interpreter& in, CallArgs& a) -> Value {
    in.error(0, "the template raised an exception: " + to_str(argument(a, 0, "message")));
  });
  globals.vars["strftime_now"] = bound("strftime_now", [](Interpreter& in, CallArgs& a) {
    const Value f = argument(a, 0, "format");
    if (!f.is_string()) in.error(0, "strftime_now() expects a format string");
    const std::tm t = in.now();
    char buf[512];
    const size_t n = f.as_string().size() < 200 ? std::strftime(buf, sizeof buf, f.as_string().c_str(), &t) : 0;
    if (n == 0 && !f.as_string().empty()) in.error(0, "strftime_now(): the format is too long or expands to nothing");
    return Value(std::string(buf, n));
  });
  globals.vars["joiner"] = bound("joiner", [](Interpreter&, CallArgs& a) {
    const std::string sep = to_str(argument(a, 0, "sep", Value(", ")));
    auto used = std::make_shared<bool>(false);
    return bound("joiner", [sep, used](Interpreter&, CallArgs&) {
      if (!*used) {
        *used = true;
        return Value(std::string());
      }
      return Value(sep);
    });
  });
}

}  // namespace trident::chat
