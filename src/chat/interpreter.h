// Runs a parsed template: scopes, statements, expressions, and the bounds that keep a hostile
// template from taking the process down (work, nesting, call depth, output and value sizes).
#pragma once
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "chat/ast.h"
#include "chat/value.h"

namespace trident::chat {

struct ChatTemplateLimits {
  size_t max_template_bytes = 1 << 20;
  int max_nesting = 100;            // parse depth of blocks and expressions
  int max_call_depth = 50;          // macro calls inside macro calls
  uint64_t max_work = 5'000'000;    // evaluation steps, plus one per 64 bytes of text built (~1 s)
  size_t max_output_bytes = 8 << 20;
  size_t max_string_bytes = 8 << 20;  // any intermediate string
  size_t max_list_items = 1 << 20;    // any intermediate list, range(), string repetition
};

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
  const Value* find(const std::string& name) const;
};
using ScopePtr = std::shared_ptr<Scope>;

enum class Flow { Normal, Break, Continue };

class Interpreter {
 public:
  Interpreter(const ChatTemplateLimits& limits, std::function<std::tm()> clock)
      : limits_(limits), clock_(std::move(clock)) {}

  // Renders `body` with `globals` (the render inputs and builtins) as the outermost scope.
  std::string render(const Body& body, ScopePtr globals);

  Value eval(const Expr& e, const ScopePtr& scope);
  Value call(const Value& callee, CallArgs& args, int line);

  // One unit of work; `bytes` of text built cost one unit per 64.
  void charge(size_t bytes = 0);
  // A string about to be built: refused over the size limit, charged as work.
  void check_string_size(size_t bytes, int line);
  void check_list_size(size_t items, int line);
  // `line` 0: the line of the call, filter or test being evaluated (for builtins' errors).
  [[noreturn]] void error(int line, const std::string& what) const;

  const ChatTemplateLimits& limits() const { return limits_; }
  std::tm now() const { return clock_(); }

 private:
  const ChatTemplateLimits limits_;
  std::function<std::tm()> clock_;
  uint64_t work_ = 0;
  int call_depth_ = 0;
  int current_line_ = 0;
  std::string* out_ = nullptr;  // where Text and Print statements write (a macro's own buffer)

  Flow exec_body(const Body& body, const ScopePtr& scope);
  Flow exec(const Stmt& s, const ScopePtr& scope);
  Flow exec_for(const Stmt& s, const ScopePtr& scope);
  void exec_set(const Stmt& s, const ScopePtr& scope, Value v);
  Value make_macro(const Stmt& s, const ScopePtr& scope);
  Value call_macro(const Stmt& s, const ScopePtr& def_scope, CallArgs& args, int line);
  std::string render_to_string(const Body& body, const ScopePtr& scope);
  void write(const std::string& text, int line);
  Value eval_binary(const Expr& e, const ScopePtr& scope);
  // A filter chain parsed over a placeholder, applied to a block's text.
  Value apply_filter_chain(const Expr& chain, const Value& subject, const ScopePtr& scope);
  Value eval_compare(const Expr& e, const ScopePtr& scope);
};

// Operators, attribute and item access, with Python's semantics (operators.cpp).
Value binary_op(Interpreter& in, const std::string& op, const Value& a, const Value& b, int line);
bool compare_op(Interpreter& in, const std::string& op, const Value& a, const Value& b, int line);
bool contains(Interpreter& in, const Value& container, const Value& item, int line);
Value get_attribute(Interpreter& in, const Value& obj, const std::string& name, int line);
Value get_item(Interpreter& in, const Value& obj, const Value& key, int line);
Value slice(Interpreter& in, const Value& obj, const Value& start, const Value& stop, const Value& step, int line);
// The items a for loop or a filter iterates over (dict: keys; string: characters).
std::vector<Value> iterate(Interpreter& in, const Value& v, int line);
// Python's sort order for sort/min/max/dictsort (numbers, strings, lists); errors on a mix.
bool less_than(Interpreter& in, const Value& a, const Value& b, int line);

// Filters and tests by name (filters.cpp); an unknown name is an error naming it.
Value apply_filter(Interpreter& in, const std::string& name, const Value& subject, CallArgs& args, int line);
bool apply_test(Interpreter& in, const std::string& name, const Value& subject, CallArgs& args, int line);

// Methods of str, dict and list values ('a'.upper, d.items, ...) as bound callables
// (methods.cpp); Undefined when the type has no such method.
Value find_method(Interpreter& in, const Value& obj, const std::string& name);
// Argument `name` given by position `index` or by keyword; `fallback` when absent.
Value argument(const CallArgs& a, size_t index, const char* name, Value fallback = Value());
// Global functions: range, namespace, dict, raise_exception, strftime_now, joiner, cycler.
void add_builtins(Scope& globals);

// json.dumps as transformers' tojson calls it (ensure_ascii=False; indent, separators,
// sort_keys as given) (json_dump.cpp).
struct JsonStyle {
  int indent = -1;  // -1: one line
  std::string item_separator = ", ", key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};
std::string json_dump(Interpreter& in, const Value& v, const JsonStyle& style, int line);

}  // namespace trident::chat
