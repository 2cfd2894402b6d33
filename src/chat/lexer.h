// Template text -> tokens, with jinja2's whitespace rules as transformers configures them
// (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False) plus `-`/`+` markers.
#pragma once
#include <string>
#include <vector>

namespace trident::chat {

enum class TokenKind {
  Text,        // template data between tags, whitespace control already applied
  PrintBegin,  // {{
  PrintEnd,    // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,
  String,      // value holds the decoded literal
  Integer,
  Float,
  Operator,    // one of + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { }
  End,
};

struct Token {
  TokenKind kind;
  std::string value;
  int line = 0, column = 0;  // 1-based position of the token in the template
};

// Throws Error ("chat template: line L column C: ...") on an unterminated tag, string or
// comment, or a character no token starts with. Templates longer than max_bytes are refused.
std::vector<Token> lex_template(const std::string& source, size_t max_bytes);

}  // namespace trident::chat
