// Statements: a body of text, prints and blocks up to a closing tag, and each block statement.
#include "chat/parser.h"

namespace trident::chat {

// Statements until a block tag whose name is in `stops` (left unconsumed: at its name).
Body Parser::parse_body(const std::vector<std::string>& stops) {
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

Stmt Parser::parse_statement() {
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

Stmt Parser::parse_if(Stmt s) {
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

Stmt Parser::parse_for(Stmt s) {
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

Stmt Parser::parse_set(Stmt s) {
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
    if (is_op("|")) {
      advance();
      s.expr = parse_filter_chain_on_placeholder();
    }
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
ExprPtr Parser::parse_filter_chain_on_placeholder() {
  auto chain = parse_filter(std::make_unique<Expr>(Expr{Expr::Kind::Literal, cur().line, cur().column}));
  while (is_op("|")) {
    advance();
    chain = parse_filter(std::move(chain));
  }
  return chain;
}

std::vector<MacroParam> Parser::parse_params() {
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

Stmt Parser::parse_macro(Stmt s) {
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

Stmt Parser::parse_call_block(Stmt s) {
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

Stmt Parser::parse_filter_block(Stmt s) {
  s.kind = Stmt::Kind::FilterBlock;
  s.expr = parse_filter_chain_on_placeholder();
  expect_block_end();
  s.body = parse_body({"endfilter"});
  advance();
  expect_block_end();
  return s;
}

Body parse_template(const std::vector<Token>& tokens, int max_depth) { return Parser(tokens, max_depth).parse_all(); }

}  // namespace trident::chat
