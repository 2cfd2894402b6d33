// The parsed template: expression and statement trees. One node struct per tree with a kind tag
// keeps the evaluator a pair of switch statements instead of a class hierarchy per construct.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace trident::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,    // literal
    Name,       // name
    ListLit,    // args
    TupleLit,   // args
    DictLit,    // args: key, value, key, value, ...
    Attribute,  // args[0].name
    Subscript,  // args[0][args[1]]
    Slice,      // args[0][args[1]:args[2]:args[3]]; absent parts are null
    Call,       // args[0](args[1..], kwargs)
    Filter,     // args[0] | name(args[1..], kwargs)
    Test,       // args[0] is [not] name(args[1..], kwargs)
    Unary,      // name in {"-", "+", "not"} applied to args[0]
    Binary,     // args[0] name args[1]: + - * / // % ** ~ and or
    Compare,    // args[0] ops[0] args[1] ops[1] args[2] ... (chained as Python does)
    Conditional,  // args[0] if args[1] else args[2] (args[2] may be null)
  };
  Expr() = default;
  Expr(Kind k, int l, int c) : kind(k), line(l), column(c) {}
  Kind kind = Kind::Literal;
  int line = 0, column = 0;
  Value literal;
  std::string name;
  bool negated = false;  // `is not`
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;  // Compare operators: == != < <= > >= in notin
};

struct Stmt;
using Body = std::vector<Stmt>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  enum class Kind {
    Text,        // text
    Print,       // {{ expr }}
    If,          // conditions[i] -> bodies[i]; bodies has one more entry for else
    For,         // for targets in expr [if filter] body [else else_body]
    Set,         // set targets = expr, or set target_object.attribute = expr
    SetBlock,    // set target [| filters] %}body{% endset (expr: the filter chain, or null)
    Macro,       // macro name(params) body
    CallBlock,   // call(params) expr body: expr's call gets `caller`
    FilterBlock, // filter f(args) | g body: expr is the filter chain
    Break,
    Continue,
    Scope,       // body only ({% generation %}, {% with %})
  };
  Stmt(Kind k, int l, int c) : kind(k), line(l), column(c) {}
  Kind kind;
  int line = 0, column = 0;
  std::string text;  // Text; Macro name; Set: target object (attribute assignment) or ""
  std::vector<std::string> targets;  // For/Set names; Set attribute form: {attribute}
  ExprPtr expr;      // Print/If unused/For iterable/Set value/CallBlock call/FilterBlock filter
  ExprPtr filter;    // For's `if` condition
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  Body body, else_body;
  std::vector<MacroParam> params;
  std::vector<std::pair<std::string, ExprPtr>> with_vars;  // {% with a = 1 %}
};

// Parses tokens from lex_template; throws Error naming the line and column of a syntax error.
// max_depth bounds the nesting of expressions and blocks (the parser and evaluator recurse).
Body parse_template(const std::vector<struct Token>& tokens, int max_depth);

}  // namespace trident::chat
