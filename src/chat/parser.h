// The recursive-descent parser over lex_template's tokens, shared by parser_statements.cpp
// (blocks: if, for, set, macro, call, filter, ...) and parser_expressions.cpp (jinja2's
// expression grammar). Internal to src/chat.
#pragma once
#include <fmt/format.h>

#include <string>
#include <vector>

#include "chat/ast.h"
#include "chat/lexer.h"
#include "format/error.h"

namespace trident::chat {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, int max_depth) : toks_(tokens), max_depth_(max_depth) {}

  Body parse_all() {
    Body body = parse_body({});
    if (cur().kind != TokenKind::End) error("unexpected '{% " + peek_block_name() + " %}'");
    return body;
  }

 private:
  const std::vector<Token>& toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  const int max_depth_;

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > p.max_depth_)
        p.error(fmt::format("nesting deeper than the limit of {}", p.max_depth_));
    }
    ~DepthGuard() { --p.depth_; }
  };

  const Token& cur() const { return toks_[pos_]; }
  const Token& next_tok() const { return toks_[std::min(pos_ + 1, toks_.size() - 1)]; }
  void advance() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }

  [[noreturn]] void error(const std::string& what) const {
    fail("chat template: line {} column {}: {}", cur().line, cur().column, what);
  }

  std::string describe(const Token& t) const {
    switch (t.kind) {
      case TokenKind::End: return "end of template";
      case TokenKind::PrintEnd: return "'}}'";
      case TokenKind::BlockEnd: return "'%}'";
      case TokenKind::String: return "a string";
      default: return "'" + printable(t.value, 40) + "'";
    }
  }

  bool is_op(const char* op) const { return cur().kind == TokenKind::Operator && cur().value == op; }
  bool is_name(const char* n) const { return cur().kind == TokenKind::Name && cur().value == n; }
  void expect_op(const char* op) {
    if (!is_op(op)) error(fmt::format("expected '{}', found {}", op, describe(cur())));
    advance();
  }
  std::string expect_name() {
    if (cur().kind != TokenKind::Name) error("expected a name, found " + describe(cur()));
    std::string n = cur().value;
    advance();
    return n;
  }
  void expect_block_end() {
    if (cur().kind != TokenKind::BlockEnd) error("expected '%}', found " + describe(cur()));
    advance();
  }

  std::string peek_block_name() const {
    if (cur().kind == TokenKind::BlockBegin && next_tok().kind == TokenKind::Name) return next_tok().value;
    return "";
  }

  // Statements
  // Statements until a block tag whose name is in `stops` (left unconsumed: at its name).
  Body parse_body(const std::vector<std::string>& stops);
  Stmt parse_statement();
  Stmt parse_if(Stmt s);
  Stmt parse_for(Stmt s);
  Stmt parse_set(Stmt s);
  // `f(x) | g` applied to nothing yet (a Literal placeholder at the bottom of the chain): the
  // evaluator applies it to a block's text ({% set x | f %}, {% filter f %}).
  ExprPtr parse_filter_chain_on_placeholder();
  std::vector<MacroParam> parse_params();
  Stmt parse_macro(Stmt s);
  Stmt parse_call_block(Stmt s);
  Stmt parse_filter_block(Stmt s);

  // Expressions, lowest precedence first
  ExprPtr node(Expr::Kind k, const Token& at);
  // `a, b` without brackets is a tuple (as in `{% set a, b = 1, 2 %}` or `{{ 1, 2 }}`).
  ExprPtr parse_tuple_or_expr(bool allow_condexpr = true);
  ExprPtr parse_expr();
  ExprPtr binary(const Token& at, const std::string& op, ExprPtr l, ExprPtr r);
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr e);
  ExprPtr parse_subscript(ExprPtr target, const Token& at);
  void parse_call_args(Expr& call);
  ExprPtr parse_call(ExprPtr callee);
  ExprPtr parse_filter(ExprPtr subject);
  ExprPtr parse_filters_and_tests(ExprPtr e);
};

}  // namespace trident::chat
