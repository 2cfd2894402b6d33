#include "chat/interpreter.h"

#include <fmt/format.h>

#include "format/error.h"

namespace trident::chat {

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

void Interpreter::error(int line, const std::string& what) const {
  fail("chat template: line {}: {}", line > 0 ? line : current_line_, what);
}

void Interpreter::charge(size_t bytes) {
  work_ += 1 + bytes / 64;
  if (work_ > limits_.max_work)
    fail("chat template: evaluation took more than the limit of {} steps", limits_.max_work);
}

void Interpreter::check_string_size(size_t bytes, int line) {
  if (bytes > limits_.max_string_bytes)
    error(line, fmt::format("a string of {} bytes exceeds the limit of {}", bytes, limits_.max_string_bytes));
  charge(bytes);
}

void Interpreter::check_list_size(size_t items, int line) {
  if (items > limits_.max_list_items)
    error(line, fmt::format("a list of {} items exceeds the limit of {}", items, limits_.max_list_items));
  charge(items);
}

std::string Interpreter::render(const Body& body, ScopePtr globals) {
  std::string out;
  out_ = &out;
  const Flow f = exec_body(body, globals);
  if (f != Flow::Normal) fail("chat template: {{% break %}} or {{% continue %}} outside a for loop");
  return out;
}

void Interpreter::write(const std::string& text, int line) {
  if (out_->size() + text.size() > limits_.max_output_bytes)
    fail("chat template: line {}: the output exceeds the limit of {} bytes", line, limits_.max_output_bytes);
  charge(text.size());
  *out_ += text;
}

std::string Interpreter::render_to_string(const Body& body, const ScopePtr& scope) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  try {
    const Flow f = exec_body(body, scope);
    if (f != Flow::Normal) fail("chat template: {{% break %}} or {{% continue %}} outside a for loop");
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return buf;
}

Flow Interpreter::exec_body(const Body& body, const ScopePtr& scope) {
  for (const Stmt& s : body) {
    const Flow f = exec(s, scope);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

Flow Interpreter::exec(const Stmt& s, const ScopePtr& scope) {
  charge();
  switch (s.kind) {
    case Stmt::Kind::Text: write(s.text, s.line); return Flow::Normal;
    case Stmt::Kind::Print: write(to_str(eval(*s.expr, scope)), s.line); return Flow::Normal;
    case Stmt::Kind::If:
      for (size_t i = 0; i < s.conditions.size(); ++i)
        if (truthy(eval(*s.conditions[i], scope))) return exec_body(s.bodies[i], scope);
      if (s.bodies.size() > s.conditions.size()) return exec_body(s.bodies.back(), scope);
      return Flow::Normal;
    case Stmt::Kind::For: return exec_for(s, scope);
    case Stmt::Kind::Set: exec_set(s, scope, eval(*s.expr, scope)); return Flow::Normal;
    case Stmt::Kind::SetBlock: {
      const Value text(render_to_string(s.body, scope));
      exec_set(s, scope, s.expr ? apply_filter_chain(*s.expr, text, scope) : text);
      return Flow::Normal;
    }
    case Stmt::Kind::Macro: scope->vars[s.text] = make_macro(s, scope); return Flow::Normal;
    case Stmt::Kind::CallBlock: {
      // The body becomes a macro named `caller` passed to the called macro.
      const Expr& call_expr = *s.expr;
      Value callee = eval(*call_expr.args[0], scope);
      CallArgs args;
      for (size_t i = 1; i < call_expr.args.size(); ++i) args.positional.push_back(eval(*call_expr.args[i], scope));
      for (const auto& [k, v] : call_expr.kwargs) args.keyword.emplace_back(k, eval(*v, scope));
      args.keyword.emplace_back("caller", make_macro(s, scope));
      write(to_str(call(callee, args, s.line)), s.line);
      return Flow::Normal;
    }
    case Stmt::Kind::FilterBlock: {
      const Value text(render_to_string(s.body, scope));
      write(to_str(apply_filter_chain(*s.expr, text, scope)), s.line);
      return Flow::Normal;
    }
    case Stmt::Kind::Break: return Flow::Break;
    case Stmt::Kind::Continue: return Flow::Continue;
    case Stmt::Kind::Scope: {
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      for (const auto& [k, v] : s.with_vars) inner->vars[k] = eval(*v, scope);
      return exec_body(s.body, inner);
    }
  }
  return Flow::Normal;
}

void Interpreter::exec_set(const Stmt& s, const ScopePtr& scope, Value v) {
  if (!s.text.empty()) {
    const Value* obj = scope->find(s.text);
    if (!obj || !obj->is_dict() || !obj->as_dict()->is_namespace)
      error(s.line, "cannot assign attribute '" + s.targets[0] + "' on '" + s.text + "', which is not a namespace()");
    obj->as_dict()->set(s.targets[0], std::move(v));
    return;
  }
  if (s.targets.size() == 1) {
    scope->vars[s.targets[0]] = std::move(v);
    return;
  }
  const std::vector<Value> parts = iterate(*this, v, s.line);
  if (parts.size() != s.targets.size())
    error(s.line, fmt::format("cannot unpack {} values into {} names", parts.size(), s.targets.size()));
  for (size_t i = 0; i < parts.size(); ++i) scope->vars[s.targets[i]] = parts[i];
}

// jinja2's `loop` object: one per loop, updated in place each iteration as jinja2's LoopContext
// is. Its keys are fixed; previtem/nextitem hold Undefined where there is no such item.
enum LoopField { kIndex, kIndex0, kRevindex, kRevindex0, kFirst, kLast, kLength, kPrevitem, kNextitem };

static DictPtr make_loop_object(size_t n, std::shared_ptr<size_t> position) {
  auto d = std::make_shared<DictObject>();
  for (const char* key : {"index", "index0", "revindex", "revindex0", "first", "last", "length", "previtem", "nextitem"})
    d->items.emplace_back(key, Value());
  d->items[kLength].second = Value(int64_t(n));
  d->set("depth", Value(int64_t(1)));
  d->set("depth0", Value(int64_t(0)));
  auto cycle = std::make_shared<CallableObject>();
  cycle->name = "cycle";
  cycle->call = [position](Interpreter& in, CallArgs& a) -> Value {
    if (a.positional.empty()) in.error(0, "loop.cycle() needs at least one argument");
    return a.positional[*position % a.positional.size()];
  };
  d->set("cycle", Value(cycle));
  return d;
}

static void update_loop_object(DictObject& d, const std::vector<Value>& items, size_t i) {
  const auto n = int64_t(items.size()), k = int64_t(i);
  d.items[kIndex].second = Value(k + 1);
  d.items[kIndex0].second = Value(k);
  d.items[kRevindex].second = Value(n - k);
  d.items[kRevindex0].second = Value(n - k - 1);
  d.items[kFirst].second = Value(k == 0);
  d.items[kLast].second = Value(k == n - 1);
  d.items[kPrevitem].second = i > 0 ? items[i - 1] : Value(Undefined{"there is no previous item"});
  d.items[kNextitem].second = i + 1 < items.size() ? items[i + 1] : Value(Undefined{"there is no next item"});
}

Flow Interpreter::exec_for(const Stmt& s, const ScopePtr& scope) {
  std::vector<Value> all = iterate(*this, eval(*s.expr, scope), s.line);
  auto bind = [&](Scope& target, const Value& item) {
    if (s.targets.size() == 1) {
      target.vars[s.targets[0]] = item;
      return;
    }
    const std::vector<Value> parts = iterate(*this, item, s.line);
    if (parts.size() != s.targets.size())
      error(s.line, fmt::format("cannot unpack {} values into {} loop variables", parts.size(), s.targets.size()));
    for (size_t i = 0; i < parts.size(); ++i) target.vars[s.targets[i]] = parts[i];
  };
  std::vector<Value> items;
  if (s.filter) {
    // `for x in xs if cond`: filtered before the loop starts, so loop.length counts what remains.
    for (const Value& item : all) {
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      bind(*probe, item);
      if (truthy(eval(*s.filter, probe))) items.push_back(item);
    }
  } else {
    items = std::move(all);
  }
  if (items.empty()) {
    if (s.else_body.empty()) return Flow::Normal;
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    const Flow f = exec_body(s.else_body, inner);
    return f == Flow::Normal ? f : Flow::Normal;
  }
  auto position = std::make_shared<size_t>(0);
  const DictPtr loop = make_loop_object(items.size(), position);
  for (size_t i = 0; i < items.size(); ++i) {
    charge(128);  // an iteration costs a few allocations: count it as more than one step
    *position = i;
    update_loop_object(*loop, items, i);
    // A fresh scope per iteration: assignments do not survive into the next one (jinja2).
    auto inner = std::make_shared<Scope>();
    inner->parent = scope;
    bind(*inner, items[i]);
    inner->vars["loop"] = Value(loop);
    if (exec_body(s.body, inner) == Flow::Break) break;
  }
  return Flow::Normal;
}

Value Interpreter::make_macro(const Stmt& s, const ScopePtr& scope) {
  auto c = std::make_shared<CallableObject>();
  c->name = s.kind == Stmt::Kind::Macro ? s.text : "caller";
  const Stmt* def = &s;
  // The defining scope is held weakly when the macro is stored in it (a cycle otherwise);
  // it outlives every call, since calls happen while the template runs.
  std::weak_ptr<Scope> weak = scope;
  c->call = [this, def, weak](Interpreter&, CallArgs& args) -> Value {
    ScopePtr def_scope = weak.lock();
    if (!def_scope) error(def->line, "macro called after its scope ended");
    return call_macro(*def, def_scope, args, def->line);
  };
  return Value(c);
}

Value Interpreter::call_macro(const Stmt& s, const ScopePtr& def_scope, CallArgs& args, int line) {
  if (call_depth_ >= limits_.max_call_depth)
    error(line, fmt::format("macro calls nested deeper than the limit of {}", limits_.max_call_depth));
  auto local = std::make_shared<Scope>();
  local->parent = def_scope;
  std::vector<Value> varargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < s.params.size()) local->vars[s.params[i].name] = args.positional[i];
    else varargs.push_back(args.positional[i]);
  }
  auto kwargs = std::make_shared<DictObject>();
  for (auto& [k, v] : args.keyword) {
    bool is_param = false;
    for (const auto& p : s.params) is_param |= p.name == k;
    if (is_param || k == "caller") local->vars[k] = v;
    else kwargs->set(k, v);
  }
  for (const auto& p : s.params) {
    if (local->vars.count(p.name)) continue;
    local->vars[p.name] = p.default_value ? eval(*p.default_value, local)
                                          : Value(Undefined{"parameter '" + p.name + "' was not provided"});
  }
  local->vars["varargs"] = make_list(std::move(varargs), true);
  local->vars["kwargs"] = Value(kwargs);
  ++call_depth_;
  std::string text;
  try {
    text = render_to_string(s.body, local);
  } catch (...) {
    --call_depth_;
    throw;
  }
  --call_depth_;
  return Value(std::move(text));
}

Value Interpreter::call(const Value& callee, CallArgs& args, int line) {
  if (callee.is_undefined()) error(line, callee.as_undefined().hint + " (called as a function)");
  if (!callee.is_callable()) error(line, "'" + type_name(callee) + "' object is not callable");
  charge();
  return callee.as_callable()->call(*this, args);
}

Value Interpreter::eval(const Expr& e, const ScopePtr& scope) {
  charge();
  switch (e.kind) {
    case Expr::Kind::Literal: return e.literal;
    case Expr::Kind::Name: {
      const Value* v = scope->find(e.name);
      return v ? *v : Value(Undefined{"'" + e.name + "' is undefined"});
    }
    case Expr::Kind::ListLit:
    case Expr::Kind::TupleLit: {
      std::vector<Value> items;
      for (const auto& a : e.args) items.push_back(eval(*a, scope));
      return make_list(std::move(items), e.kind == Expr::Kind::TupleLit);
    }
    case Expr::Kind::DictLit: {
      auto d = std::make_shared<DictObject>();
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        const Value k = eval(*e.args[i], scope);
        if (!k.is_string()) error(e.line, "dict keys must be strings, found " + type_name(k));
        d->set(k.as_string(), eval(*e.args[i + 1], scope));
      }
      return Value(d);
    }
    case Expr::Kind::Attribute: return get_attribute(*this, eval(*e.args[0], scope), e.name, e.line);
    case Expr::Kind::Subscript:
      return get_item(*this, eval(*e.args[0], scope), eval(*e.args[1], scope), e.line);
    case Expr::Kind::Slice: {
      const Value obj = eval(*e.args[0], scope);
      Value parts[3] = {Value(None{}), Value(None{}), Value(None{})};
      for (int i = 0; i < 3; ++i)
        if (e.args[size_t(i) + 1]) parts[i] = eval(*e.args[size_t(i) + 1], scope);
      return slice(*this, obj, parts[0], parts[1], parts[2], e.line);
    }
    case Expr::Kind::Call:
    case Expr::Kind::Filter:
    case Expr::Kind::Test: {
      const Value subject = eval(*e.args[0], scope);
      CallArgs args;
      for (size_t i = 1; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i], scope));
      for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v, scope));
      current_line_ = e.line;
      if (e.kind == Expr::Kind::Call) return call(subject, args, e.line);
      if (e.kind == Expr::Kind::Filter) return apply_filter(*this, e.name, subject, args, e.line);
      // `x is defined` sees the Undefined itself, which evaluating a missing name gives.
      return Value(apply_test(*this, e.name, subject, args, e.line) != e.negated);
    }
    case Expr::Kind::Unary: {
      const Value v = eval(*e.args[0], scope);
      if (e.name == "not") return Value(!truthy(v));
      if (!v.is_number()) error(e.line, "bad operand type for unary " + e.name + ": '" + type_name(v) + "'");
      if (e.name == "+") return v.is_bool() ? Value(v.int_value()) : v;
      if (v.is_float()) return Value(-v.as_float());
      if (v.int_value() == INT64_MIN) error(e.line, "integer overflow");
      return Value(-v.int_value());
    }
    case Expr::Kind::Binary: return eval_binary(e, scope);
    case Expr::Kind::Compare: return eval_compare(e, scope);
    case Expr::Kind::Conditional:
      if (truthy(eval(*e.args[1], scope))) return eval(*e.args[0], scope);
      if (e.args[2]) return eval(*e.args[2], scope);
      return Value(Undefined{"the inline if expression evaluated to false and no else section was defined"});
  }
  return Value();
}

Value Interpreter::apply_filter_chain(const Expr& chain, const Value& subject, const ScopePtr& scope) {
  if (chain.kind != Expr::Kind::Filter) return subject;  // the placeholder at the bottom
  const Value inner = apply_filter_chain(*chain.args[0], subject, scope);
  CallArgs args;
  for (size_t i = 1; i < chain.args.size(); ++i) args.positional.push_back(eval(*chain.args[i], scope));
  for (const auto& [k, v] : chain.kwargs) args.keyword.emplace_back(k, eval(*v, scope));
  current_line_ = chain.line;
  return apply_filter(*this, chain.name, inner, args, chain.line);
}

Value Interpreter::eval_binary(const Expr& e, const ScopePtr& scope) {
  const Value l = eval(*e.args[0], scope);
  // `and`/`or` short-circuit and return an operand, as in Python.
  if (e.name == "and") return truthy(l) ? eval(*e.args[1], scope) : l;
  if (e.name == "or") return truthy(l) ? l : eval(*e.args[1], scope);
  return binary_op(*this, e.name, l, eval(*e.args[1], scope), e.line);
}

Value Interpreter::eval_compare(const Expr& e, const ScopePtr& scope) {
  Value left = eval(*e.args[0], scope);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.args[i + 1], scope);
    if (!compare_op(*this, e.ops[i], left, right, e.line)) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

}  // namespace trident::chat
