// Expressions, following jinja2's grammar and precedence: conditional < or < and < not <
// comparison < + - < ~ < * / // % < ** < unary < postfix, with filters (`|`) and tests (`is`)
// binding to the unary operand as jinja2 binds them (`a + b|trim` is `a + (b|trim)`).
#include <charconv>

#include "chat/parser.h"

namespace trident::chat {

ExprPtr Parser::node(Expr::Kind k, const Token& at) {
  auto e = std::make_unique<Expr>();
  e->kind = k;
  e->line = at.line;
  e->column = at.column;
  return e;
}

// `a, b` without brackets is a tuple (as in `{% set a, b = 1, 2 %}` or `{{ 1, 2 }}`).
ExprPtr Parser::parse_tuple_or_expr(bool allow_condexpr) {
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

ExprPtr Parser::parse_expr() {
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

ExprPtr Parser::binary(const Token& at, const std::string& op, ExprPtr l, ExprPtr r) {
  auto b = node(Expr::Kind::Binary, at);
  b->name = op;
  b->args.push_back(std::move(l));
  b->args.push_back(std::move(r));
  return b;
}

ExprPtr Parser::parse_or() {
  ExprPtr l = parse_and();
  while (is_name("or")) {
    const Token at = cur();
    advance();
    l = binary(at, "or", std::move(l), parse_and());
  }
  return l;
}

ExprPtr Parser::parse_and() {
  ExprPtr l = parse_not();
  while (is_name("and")) {
    const Token at = cur();
    advance();
    l = binary(at, "and", std::move(l), parse_not());
  }
  return l;
}

ExprPtr Parser::parse_not() {
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

ExprPtr Parser::parse_compare() {
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

ExprPtr Parser::parse_math1() {
  ExprPtr l = parse_concat();
  while (is_op("+") || is_op("-")) {
    const Token at = cur();
    advance();
    l = binary(at, at.value, std::move(l), parse_concat());
  }
  return l;
}

ExprPtr Parser::parse_concat() {
  ExprPtr l = parse_math2();
  while (is_op("~")) {
    const Token at = cur();
    advance();
    l = binary(at, "~", std::move(l), parse_math2());
  }
  return l;
}

ExprPtr Parser::parse_math2() {
  ExprPtr l = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    const Token at = cur();
    advance();
    l = binary(at, at.value, std::move(l), parse_pow());
  }
  return l;
}

ExprPtr Parser::parse_pow() {
  ExprPtr l = parse_unary(true);
  while (is_op("**")) {
    const Token at = cur();
    advance();
    l = binary(at, "**", std::move(l), parse_unary(true));
  }
  return l;
}

ExprPtr Parser::parse_unary(bool with_filter) {
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

ExprPtr Parser::parse_primary() {
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

ExprPtr Parser::parse_postfix(ExprPtr e) {
  for (;;) {
    const Token at = cur();
    if (is_op(".")) {
      advance();
      auto a = node(Expr::Kind::Attribute, at);
      if (cur().kind == TokenKind::Integer) {  // x.0 is x[0] in jinja2
        a->kind = Expr::Kind::Subscript;
        a->args.push_back(std::move(e));
        auto idx = node(Expr::Kind::Literal, cur());
        int64_t v = 0;
        const std::string& text = cur().value;
        if (std::from_chars(text.data(), text.data() + text.size(), v).ec != std::errc())
          error("integer literal " + text + " is out of range");
        idx->literal = Value(v);
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

ExprPtr Parser::parse_subscript(ExprPtr target, const Token& at) {
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

void Parser::parse_call_args(Expr& call) {
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

ExprPtr Parser::parse_call(ExprPtr callee) {
  auto c = node(Expr::Kind::Call, cur());
  c->args.push_back(std::move(callee));
  parse_call_args(*c);
  return c;
}

ExprPtr Parser::parse_filter(ExprPtr subject) {
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

ExprPtr Parser::parse_filters_and_tests(ExprPtr e) {
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

}  // namespace trident::chat
