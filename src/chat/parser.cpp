// Recursive descent over lex_template's tokens, following jinja2's grammar and precedence:
// conditional < or < and < not < comparison < + - < ~ < * / // % < ** < unary < postfix,
// with filters (`|`) and tests (`is`) binding to the unary operand as jinja2 binds them.
#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "chat/ast.h"
#include "chat/lexer.h"
#include "format/error.h"

namespace trident::chat {
namespace {

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

  // Statements until a block tag whose name is in `stops` (left unconsumed: at its name).
  Body parse_body(const std::vector<std::string>& stops) {
    DepthGuard guard(*this);
    Body body;
    for (;;) {
      const Token& t = cur();
      if (t.kind == TokenKind::End) {
        if (!stops.empty()) error("missing '{% " + stops.back() + " %}'");
        return body;
      }
      if (t.kind == TokenKind::Text) {
        Stmt s{Stmt::Kind::Text, t.line, t.column};
        s.text = t.value;
        body.push_back(std::move(s));
        advance();
      } else if (t.kind == TokenKind::PrintBegin) {
        Stmt s{Stmt::Kind::Print, t.line, t.column};
        advance();
        s.expr = parse_tuple_or_expr();
        if (cur().kind != TokenKind::PrintEnd) error("expected '}}', found " + describe(cur()));
        advance();
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::BlockBegin) {
        const std::string name = peek_block_name();
        for (const auto& stop : stops)
          if (name == stop) {
            advance();  // at the name
            return body;
          }
        advance();
        body.push_back(parse_statement());
      } else {
        error("unexpected " + describe(t));
      }
    }
  }

  Stmt parse_statement() {
    const Token& t = cur();
    if (t.kind != TokenKind::Name) error("expected a statement name, found " + describe(t));
    const std::string name = t.value;
    Stmt s{Stmt::Kind::Text, t.line, t.column};
    advance();
    if (name == "if") return parse_if(std::move(s));
    if (name == "for") return parse_for(std::move(s));
    if (name == "set") return parse_set(std::move(s));
    if (name == "macro") return parse_macro(std::move(s));
    if (name == "call") return parse_call_block(std::move(s));
    if (name == "filter") return parse_filter_block(std::move(s));
    if (name == "break" || name == "continue") {
      s.kind = name == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
      expect_block_end();
      return s;
    }
    if (name == "generation" || name == "with") {
      // {% generation %} is transformers' assistant-mask marker: it renders its body unchanged.
      s.kind = Stmt::Kind::Scope;
      if (name == "with") {
        while (cur().kind != TokenKind::BlockEnd) {
          std::string var = expect_name();
          expect_op("=");
          s.with_vars.emplace_back(var, parse_expr());
          if (is_op(",")) advance();
          else break;
        }
      }
      expect_block_end();
      s.body = parse_body({"end" + name});
      advance();
      expect_block_end();
      return s;
    }
    if (name == "include" || name == "import" || name == "extends" || name == "from" || name == "block")
      fail("chat template: line {} column {}: '{{% {} %}}' is not supported: a chat template is one self-contained text",
           s.line, s.column, name);
    fail("chat template: line {} column {}: unknown statement '{}'", s.line, s.column, printable(name, 40));
  }

  Stmt parse_if(Stmt s) {
    s.kind = Stmt::Kind::If;
    s.conditions.push_back(parse_tuple_or_expr());
    expect_block_end();
    for (;;) {
      s.bodies.push_back(parse_body({"elif", "else", "endif"}));
      const std::string tag = cur().value;
      advance();
      if (tag == "elif") {
        s.conditions.push_back(parse_tuple_or_expr());
        expect_block_end();
      } else if (tag == "else") {
        expect_block_end();
        s.bodies.push_back(parse_body({"endif"}));
        advance();
        expect_block_end();
        return s;
      } else {
        expect_block_end();
        return s;
      }
    }
  }

  Stmt parse_for(Stmt s) {
    s.kind = Stmt::Kind::For;
    do {
      s.targets.push_back(expect_name());
      if (!is_op(",")) break;
      advance();
    } while (cur().kind == TokenKind::Name && cur().value != "in");
    if (!is_name("in")) error("expected 'in' in a for loop, found " + describe(cur()));
    advance();
    s.expr = parse_tuple_or_expr(/*allow_condexpr=*/false);
    if (is_name("if")) {
      advance();
      s.filter = parse_expr();
    }
    if (is_name("recursive")) error("recursive for loops are not supported");
    expect_block_end();
    s.body = parse_body({"else", "endfor"});
    const std::string tag = cur().value;
    advance();
    expect_block_end();
    if (tag == "else") {
      s.else_body = parse_body({"endfor"});
      advance();
      expect_block_end();
    }
    return s;
  }

  Stmt parse_set(Stmt s) {
    s.kind = Stmt::Kind::Set;
    std::string first = expect_name();
    if (is_op(".")) {
      advance();
      s.text = first;
      s.targets.push_back(expect_name());
    } else {
      s.targets.push_back(first);
      while (is_op(",")) {
        advance();
        s.targets.push_back(expect_name());
      }
    }
    if (cur().kind == TokenKind::BlockEnd || is_op("|")) {
      if (!s.text.empty() || s.targets.size() != 1) error("a block {% set %} assigns one name");
      s.kind = Stmt::Kind::SetBlock;
      if (is_op("|")) s.expr = parse_filter_chain_on_placeholder();
      expect_block_end();
      s.body = parse_body({"endset"});
      advance();
      expect_block_end();
      return s;
    }
    expect_op("=");
    s.expr = parse_tuple_or_expr();
    expect_block_end();
    return s;
  }

  // `| f(x) | g` with nothing on the left: the evaluator substitutes the block's text for
  // the Literal at the bottom of the chain.
  ExprPtr parse_filter_chain_on_placeholder() {
    auto base = std::make_unique<Expr>(Expr{Expr::Kind::Literal, cur().line, cur().column});
    return parse_filters_and_tests(std::move(base));
  }

  std::vector<MacroParam> parse_params() {
    std::vector<MacroParam> params;
    expect_op("(");
    while (!is_op(")")) {
      MacroParam p{expect_name(), nullptr};
      if (is_op("=")) {
        advance();
        p.default_value = parse_expr();
      }
      params.push_back(std::move(p));
      if (!is_op(",")) break;
      advance();
    }
    expect_op(")");
    return params;
  }

  Stmt parse_macro(Stmt s) {
    s.kind = Stmt::Kind::Macro;
    s.text = expect_name();
    s.params = parse_params();
    expect_block_end();
    s.body = parse_body({"endmacro"});
    advance();
    if (cur().kind == TokenKind::Name) advance();  // {% endmacro name %}
    expect_block_end();
    return s;
  }

  Stmt parse_call_block(Stmt s) {
    s.kind = Stmt::Kind::CallBlock;
    if (is_op("(")) s.params = parse_params();
    s.expr = parse_expr();
    if (s.expr->kind != Expr::Kind::Call) error("{% call %} needs a macro call");
    expect_block_end();
    s.body = parse_body({"endcall"});
    advance();
    expect_block_end();
    return s;
  }

  Stmt parse_filter_block(Stmt s) {
    s.kind = Stmt::Kind::FilterBlock;
    auto base = std::make_unique<Expr>(Expr{Expr::Kind::Literal, cur().line, cur().column});
    s.expr = parse_filter(std::move(base));
    while (is_op("|")) {
      advance();
      s.expr = parse_filter(std::move(s.expr));
    }
    expect_block_end();
    s.body = parse_body({"endfilter"});
    advance();
    expect_block_end();
    return s;
  }

  // ---- expressions ----

  ExprPtr node(Expr::Kind k, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = at.line;
    e->column = at.column;
    return e;
  }

  // `a, b` without brackets is a tuple (as in `{% set a, b = 1, 2 %}` or `{{ 1, 2 }}`).
  ExprPtr parse_tuple_or_expr(bool allow_condexpr = true) {
    const Token start = cur();
    ExprPtr first = allow_condexpr ? parse_expr() : parse_or();
    if (!is_op(",")) return first;
    auto t = node(Expr::Kind::TupleLit, start);
    t->args.push_back(std::move(first));
    while (is_op(",")) {
      advance();
      if (cur().kind == TokenKind::BlockEnd || cur().kind == TokenKind::PrintEnd) break;
      t->args.push_back(allow_condexpr ? parse_expr() : parse_or());
    }
    return t;
  }

  ExprPtr parse_expr() {
    DepthGuard guard(*this);
    const Token start = cur();
    ExprPtr e = parse_or();
    while (is_name("if")) {
      advance();
      auto c = node(Expr::Kind::Conditional, start);
      c->args.push_back(std::move(e));
      c->args.push_back(parse_or());
      if (is_name("else")) {
        advance();
        c->args.push_back(parse_expr());
      } else {
        c->args.push_back(nullptr);
      }
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(const Token& at, const std::string& op, ExprPtr l, ExprPtr r) {
    auto b = node(Expr::Kind::Binary, at);
    b->name = op;
    b->args.push_back(std::move(l));
    b->args.push_back(std::move(r));
    return b;
  }

  ExprPtr parse_or() {
    ExprPtr l = parse_and();
    while (is_name("or")) {
      const Token at = cur();
      advance();
      l = binary(at, "or", std::move(l), parse_and());
    }
    return l;
  }

  ExprPtr parse_and() {
    ExprPtr l = parse_not();
    while (is_name("and")) {
      const Token at = cur();
      advance();
      l = binary(at, "and", std::move(l), parse_not());
    }
    return l;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      const Token at = cur();
      advance();
      auto u = node(Expr::Kind::Unary, at);
      u->name = "not";
      u->args.push_back(parse_not());
      return u;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token at = cur();
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    for (;;) {
      std::string op;
      if (cur().kind == TokenKind::Operator &&
          (cur().value == "==" || cur().value == "!=" || cur().value == "<" || cur().value == "<=" ||
           cur().value == ">" || cur().value == ">=")) {
        op = cur().value;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && next_tok().kind == TokenKind::Name && next_tok().value == "in") {
        op = "notin";
        advance();
        advance();
      } else {
        break;
      }
      if (!cmp) {
        cmp = node(Expr::Kind::Compare, at);
        cmp->args.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr l = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token at = cur();
      advance();
      l = binary(at, at.value, std::move(l), parse_concat());
    }
    return l;
  }

  ExprPtr parse_concat() {
    ExprPtr l = parse_math2();
    while (is_op("~")) {
      const Token at = cur();
      advance();
      l = binary(at, "~", std::move(l), parse_math2());
    }
    return l;
  }

  ExprPtr parse_math2() {
    ExprPtr l = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token at = cur();
      advance();
      l = binary(at, at.value, std::move(l), parse_pow());
    }
    return l;
  }

  ExprPtr parse_pow() {
    ExprPtr l = parse_unary(true);
    while (is_op("**")) {
      const Token at = cur();
      advance();
      l = binary(at, "**", std::move(l), parse_unary(true));
    }
    return l;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    const Token at = cur();
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      advance();
      e = node(Expr::Kind::Unary, at);
      e->name = at.value;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    return with_filter ? parse_filters_and_tests(std::move(e)) : std::move(e);
  }

  ExprPtr parse_primary() {
    const Token t = cur();
    switch (t.kind) {
      case TokenKind::Name: {
        advance();
        auto e = node(Expr::Kind::Literal, t);
        if (t.value == "true" || t.value == "True") e->literal = Value(true);
        else if (t.value == "false" || t.value == "False") e->literal = Value(false);
        else if (t.value == "none" || t.value == "None") e->literal = Value(None{});
        else {
          e->kind = Expr::Kind::Name;
          e->name = t.value;
        }
        return e;
      }
      case TokenKind::String: {
        std::string s;
        while (cur().kind == TokenKind::String) {  // adjacent literals concatenate
          s += cur().value;
          advance();
        }
        auto e = node(Expr::Kind::Literal, t);
        e->literal = Value(std::move(s));
        return e;
      }
      case TokenKind::Integer: {
        advance();
        int64_t v = 0;
        auto r = std::from_chars(t.value.data(), t.value.data() + t.value.size(), v);
        if (r.ec != std::errc()) error("integer literal " + t.value + " is out of range");
        auto e = node(Expr::Kind::Literal, t);
        e->literal = Value(v);
        return e;
      }
      case TokenKind::Float: {
        advance();
        auto e = node(Expr::Kind::Literal, t);
        e->literal = Value(std::strtod(t.value.c_str(), nullptr));
        return e;
      }
      case TokenKind::Operator:
        if (t.value == "(") {
          advance();
          if (is_op(")")) {
            advance();
            return node(Expr::Kind::TupleLit, t);
          }
          ExprPtr inner = parse_expr();
          if (is_op(",")) {
            auto tup = node(Expr::Kind::TupleLit, t);
            tup->args.push_back(std::move(inner));
            while (is_op(",")) {
              advance();
              if (is_op(")")) break;
              tup->args.push_back(parse_expr());
            }
            inner = std::move(tup);
          }
          expect_op(")");
          return inner;
        }
        if (t.value == "[") {
          advance();
          auto l = node(Expr::Kind::ListLit, t);
          while (!is_op("]")) {
            l->args.push_back(parse_expr());
            if (!is_op(",")) break;
            advance();
          }
          expect_op("]");
          return l;
        }
        if (t.value == "{") {
          advance();
          auto d = node(Expr::Kind::DictLit, t);
          while (!is_op("}")) {
            d->args.push_back(parse_expr());
            expect_op(":");
            d->args.push_back(parse_expr());
            if (!is_op(",")) break;
            advance();
          }
          expect_op("}");
          return d;
        }
        break;
      default: break;
    }
    error("expected an expression, found " + describe(t));
  }

  ExprPtr parse_postfix(ExprPtr e) {
    for (;;) {
      const Token at = cur();
      if (is_op(".")) {
        advance();
        auto a = node(Expr::Kind::Attribute, at);
        if (cur().kind == TokenKind::Integer) {  // x.0 is x[0] in jinja2
          a->kind = Expr::Kind::Subscript;
          a->args.push_back(std::move(e));
          auto idx = node(Expr::Kind::Literal, cur());
          idx->literal = Value(int64_t(std::stoll(cur().value)));
          advance();
          a->args.push_back(std::move(idx));
        } else {
          a->name = expect_name();
          a->args.push_back(std::move(e));
        }
        e = std::move(a);
      } else if (is_op("[")) {
        advance();
        e = parse_subscript(std::move(e), at);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr target, const Token& at) {
    ExprPtr parts[3];
    int part = 0;
    bool is_slice = false;
    for (;;) {
      if (is_op("]")) break;
      if (is_op(":")) {
        if (++part > 2) error("a slice has at most three parts");
        is_slice = true;
        advance();
        continue;
      }
      parts[part] = parse_expr();
      if (!is_op(":") && !is_op("]")) error("expected ']' or ':', found " + describe(cur()));
    }
    expect_op("]");
    auto s = node(is_slice ? Expr::Kind::Slice : Expr::Kind::Subscript, at);
    s->args.push_back(std::move(target));
    if (!is_slice) {
      if (!parts[0]) error("empty subscript []");
      s->args.push_back(std::move(parts[0]));
    } else {
      for (auto& p : parts) s->args.push_back(std::move(p));
    }
    return s;
  }

  void parse_call_args(Expr& call) {
    expect_op("(");
    while (!is_op(")")) {
      if (cur().kind == TokenKind::Name && next_tok().kind == TokenKind::Operator && next_tok().value == "=") {
        std::string k = cur().value;
        advance();
        advance();
        call.kwargs.emplace_back(k, parse_expr());
      } else {
        if (!call.kwargs.empty()) error("positional argument after a keyword argument");
        call.args.push_back(parse_expr());
      }
      if (!is_op(",")) break;
      advance();
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto c = node(Expr::Kind::Call, cur());
    c->args.push_back(std::move(callee));
    parse_call_args(*c);
    return c;
  }

  ExprPtr parse_filter(ExprPtr subject) {
    auto f = node(Expr::Kind::Filter, cur());
    f->name = expect_name();
    while (is_op(".")) {  // dotted filter names are jinja2 syntax; keep them whole
      advance();
      f->name += "." + expect_name();
    }
    f->args.push_back(std::move(subject));
    if (is_op("(")) parse_call_args(*f);
    return f;
  }

  ExprPtr parse_filters_and_tests(ExprPtr e) {
    for (;;) {
      if (is_op("|")) {
        advance();
        e = parse_filter(std::move(e));
      } else if (is_name("is")) {
        const Token at = cur();
        advance();
        auto t = node(Expr::Kind::Test, at);
        if (is_name("not")) {
          t->negated = true;
          advance();
        }
        t->name = expect_name();
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if ((cur().kind == TokenKind::Name && cur().value != "else" && cur().value != "or" &&
                    cur().value != "and" && cur().value != "if" && cur().value != "is" && cur().value != "in" &&
                    cur().value != "not") ||
                   cur().kind == TokenKind::String || cur().kind == TokenKind::Integer ||
                   cur().kind == TokenKind::Float || is_op("[") || is_op("{")) {
          // `x is divisibleby 3`, `x is sameas none`: one argument without parentheses
          t->args.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(t);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens, int max_depth) {
  return Parser(tokens, max_depth).parse_all();
}

}  // namespace trident::chat
