// The values a chat template computes with, modelled on the Python objects jinja2 sees when
// transformers renders a template: None, bool, int, float, str, list/tuple, dict (insertion
// ordered), jinja2's Undefined, callables (macros, globals, bound methods) and namespace().
// Our own type rather than nlohmann::json because templates need what JSON lacks: Undefined
// distinct from None, tuples, callables, and lists/dicts shared by reference (namespace
// attributes, `loop` objects), while printing and comparing the way Python does.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace trident::chat {

class Value;
struct ListObject;
struct DictObject;
struct CallableObject;
using ListPtr = std::shared_ptr<ListObject>;
using DictPtr = std::shared_ptr<DictObject>;
using CallablePtr = std::shared_ptr<CallableObject>;

// jinja2.Undefined: falsy, prints as '', iterates as empty; most other uses raise. `hint` is the
// message such a use raises ("'foo' is undefined").
struct Undefined {
  std::string hint;
};
struct None {};

class Value {
 public:
  using Storage = std::variant<Undefined, None, bool, int64_t, double, std::string, ListPtr, DictPtr, CallablePtr>;
  Value() : v_(Undefined{}) {}
  Value(None n) : v_(n) {}
  Value(Undefined u) : v_(std::move(u)) {}
  Value(bool b) : v_(b) {}
  Value(int64_t i) : v_(i) {}
  Value(int i) : v_(int64_t(i)) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(ListPtr l) : v_(std::move(l)) {}
  Value(DictPtr d) : v_(std::move(d)) {}
  Value(CallablePtr c) : v_(std::move(c)) {}

  bool is_undefined() const { return std::holds_alternative<Undefined>(v_); }
  bool is_none() const { return std::holds_alternative<None>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  bool is_float() const { return std::holds_alternative<double>(v_); }
  // Python's numbers include bool (True + 1 == 2).
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_list() const { return std::holds_alternative<ListPtr>(v_); }
  bool is_dict() const { return std::holds_alternative<DictPtr>(v_); }
  bool is_callable() const { return std::holds_alternative<CallablePtr>(v_); }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const ListPtr& as_list() const { return std::get<ListPtr>(v_); }
  const DictPtr& as_dict() const { return std::get<DictPtr>(v_); }
  const CallablePtr& as_callable() const { return std::get<CallablePtr>(v_); }
  const Undefined& as_undefined() const { return std::get<Undefined>(v_); }
  // An int or bool as int64 (Python's int(True) == 1); precondition: is_int() || is_bool().
  int64_t int_value() const { return is_bool() ? int64_t(as_bool()) : as_int(); }
  // Any number as double; precondition: is_number().
  double number_value() const { return is_float() ? as_float() : double(int_value()); }

  const Storage& storage() const { return v_; }

 private:
  Storage v_;
};

struct ListObject {
  std::vector<Value> items;
  bool is_tuple = false;  // prints as (a, b) and is immutable; `items()` yields these
};

struct DictObject {
  std::vector<std::pair<std::string, Value>> items;  // insertion order, as Python's dict
  bool is_namespace = false;                          // namespace(): attributes may be assigned
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value v);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// A macro, a global function (range, namespace, raise_exception, ...) or a bound method
// ('a b'.split). Bodies run inside the interpreter, which they receive as an opaque pointer.
class Interpreter;
struct CallableObject {
  std::string name;
  std::function<Value(Interpreter&, CallArgs&)> call;
};

Value make_list(std::vector<Value> items, bool is_tuple = false);
Value make_dict();
Value from_json(const nlohmann::ordered_json& j);

// Python truthiness; Undefined is falsy.
bool truthy(const Value& v);
// Python ==, with 1 == 1.0 == True; lists and dicts compare by content.
bool equals(const Value& a, const Value& b);
// Python's type name for messages ("str", "int", "dict", "list", "NoneType", "Undefined").
std::string type_name(const Value& v);
// str(v) as Python prints it: 1.0, True, None, ['a', 1], {'k': 'v'}; Undefined prints ''.
std::string to_str(const Value& v);
// repr(v): strings quoted the way Python chooses.
std::string to_repr(const Value& v);
// float.__repr__: the shortest text that round-trips ("0.1", "1e-05", "1e+16", "inf").
std::string float_repr(double d);

// Number of Unicode code points in UTF-8 text (Python's len(str)): bytes that do not continue a
// sequence (everything but 10xxxxxx) are counted.
size_t utf8_length(const std::string& s);
// Byte offsets of every code point start, plus s.size() at the end.
std::vector<size_t> utf8_offsets(const std::string& s);

}  // namespace trident::chat
