#include "chat/lexer.h"

#include <algorithm>
#include <cstring>

#include "format/error.h"

namespace trident::chat {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

class Lexer {
 public:
  Lexer(std::string src) : src_(std::move(src)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;  // the previous match ended with a newline (jinja2's lstrip rule)
    while (pos < src_.size()) {
      const size_t tag = find_tag(pos);
      std::string text = src_.substr(pos, tag - pos);
      if (tag == src_.size()) {
        emit_text(std::move(text), pos);
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      const char marker = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (marker == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (marker != '+' && kind != '{') {
        // lstrip_blocks: a block or comment tag preceded on its line by spaces/tabs only.
        const size_t l_pos = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if ((l_pos > 0 || line_starting) &&
            std::all_of(text.begin() + l_pos, text.end(), [](char c) { return c == ' ' || c == '\t'; }))
          text.resize(l_pos);
      }
      emit_text(std::move(text), pos);
      size_t after = tag + 2 + ((marker == '-' || marker == '+') ? 1 : 0);
      if (kind == '#') {
        pos = end_of_comment(tag, after);
      } else if (kind == '%' && is_raw_block(after)) {
        pos = raw_block(tag, after);
      } else {
        pos = lex_tag(tag, after, kind);
      }
      line_starting = pos > 0 && src_[pos - 1] == '\n';
    }
    out_.push_back({TokenKind::End, "", line_of(src_.size()), column_of(src_.size())});
    return std::move(out_);
  }

 private:
  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> out_;

  int line_of(size_t pos) const {
    return int(std::upper_bound(line_starts_.begin(), line_starts_.end(), pos) - line_starts_.begin());
  }
  int column_of(size_t pos) const { return int(pos - line_starts_[size_t(line_of(pos) - 1)]) + 1; }

  [[noreturn]] void error_at(size_t pos, const std::string& what) const {
    fail("chat template: line {} column {}: {}", line_of(pos), column_of(pos), what);
  }

  void emit_text(std::string text, size_t pos) {
    if (!text.empty()) out_.push_back({TokenKind::Text, std::move(text), line_of(pos), column_of(pos)});
  }

  size_t find_tag(size_t pos) const {
    for (size_t i = pos; i + 1 < src_.size(); ++i)
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    return src_.size();
  }

  // After a closing `%}`/`#}`: `-` strips all following whitespace, `+` keeps it, otherwise
  // trim_blocks drops one newline.
  size_t after_block_end(size_t close_end, char marker) const {
    size_t p = close_end;
    if (marker == '-') {
      while (p < src_.size() && is_space(src_[p])) ++p;
    } else if (marker != '+' && p < src_.size() && src_[p] == '\n') {
      ++p;
    }
    return p;
  }

  size_t end_of_comment(size_t tag, size_t after) const {
    const size_t close = src_.find("#}", after);
    if (close == std::string::npos) error_at(tag, "comment {# is not closed with #}");
    const char marker = close > after ? src_[close - 1] : '\0';
    return after_block_end(close + 2, marker);
  }

  bool is_raw_block(size_t p) const {
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && is_space(src_[p])) ++p;
    return src_.compare(p, 2, "%}") == 0 || src_.compare(p, 3, "-%}") == 0;
  }

  // {% raw %}...{% endraw %}: the body is text, tags inside it are not interpreted.
  size_t raw_block(size_t tag, size_t after) {
    size_t open_end = src_.find("%}", after);
    const char open_marker = src_[open_end - 1];
    size_t body = after_block_end(open_end + 2, open_marker);
    for (size_t p = src_.find("{%", body); p != std::string::npos; p = src_.find("{%", p + 2)) {
      size_t q = p + 2;
      const char left = q < src_.size() ? src_[q] : '\0';
      if (left == '-' || left == '+') ++q;
      while (q < src_.size() && is_space(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q += 6;
      while (q < src_.size() && is_space(src_[q])) ++q;
      char right = '\0';
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) right = src_[q++];
      if (src_.compare(q, 2, "%}") != 0) continue;
      std::string text = src_.substr(body, p - body);
      if (left == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      }
      emit_text(std::move(text), body);
      return after_block_end(q + 2, right);
    }
    error_at(tag, "{% raw %} is not closed with {% endraw %}");
  }

  // Tokens of one {{ ... }} or {% ... %} up to its closing delimiter; returns the position after
  // it, whitespace control applied.
  size_t lex_tag(size_t tag, size_t p, char kind) {
    const bool block = kind == '%';
    out_.push_back({block ? TokenKind::BlockBegin : TokenKind::PrintBegin, "", line_of(tag), column_of(tag)});
    const char closer = block ? '%' : '}';
    int bracket_depth = 0;
    for (;;) {
      while (p < src_.size() && is_space(src_[p])) ++p;
      if (p >= src_.size()) error_at(tag, block ? "tag {% is not closed with %}" : "tag {{ is not closed with }}");
      // The closing delimiter, possibly with a `-`/`+` marker; `}}` inside a dict literal is two
      // braces while brackets are open, as in jinja2.
      for (const char marker : {'-', '+', '\0'}) {
        size_t q = p;
        if (marker) {
          if (src_[q] != marker) continue;
          ++q;
        }
        if (q + 1 < src_.size() && src_[q] == closer && src_[q + 1] == '}' && bracket_depth <= 0) {
          out_.push_back({block ? TokenKind::BlockEnd : TokenKind::PrintEnd, "", line_of(p), column_of(p)});
          return block ? after_block_end(q + 2, marker) : after_var_end(q + 2, marker);
        }
      }
      p = lex_one(p, bracket_depth);
    }
  }

  size_t after_var_end(size_t p, char marker) const {
    if (marker == '-')
      while (p < src_.size() && is_space(src_[p])) ++p;
    return p;
  }

  size_t lex_one(size_t p, int& bracket_depth) {
    const char c = src_[p];
    const int line = line_of(p), col = column_of(p);
    if (is_name_start(c)) {
      size_t q = p;
      while (q < src_.size() && (is_name_start(src_[q]) || is_digit(src_[q]))) ++q;
      out_.push_back({TokenKind::Name, src_.substr(p, q - p), line, col});
      return q;
    }
    if (is_digit(c)) return lex_number(p);
    if (c == '\'' || c == '"') return lex_string(p);
    static const char* const two[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : two)
      if (src_.compare(p, 2, op) == 0) {
        out_.push_back({TokenKind::Operator, op, line, col});
        return p + 2;
      }
    if (std::strchr("+-*/%~<>=.,:|()[]{}", c) && c != '\0') {
      if (c == '(' || c == '[' || c == '{') ++bracket_depth;
      if (c == ')' || c == ']' || c == '}') --bracket_depth;
      out_.push_back({TokenKind::Operator, std::string(1, c), line, col});
      return p + 1;
    }
    error_at(p, "unexpected character '" + printable(std::string(1, c)) + "'");
  }

  size_t lex_number(size_t p) {
    const size_t start = p;
    auto digits = [&] {
      while (p < src_.size() && (is_digit(src_[p]) || (src_[p] == '_' && p + 1 < src_.size() && is_digit(src_[p + 1]))))
        ++p;
    };
    digits();
    bool is_float = false;
    if (p + 1 < src_.size() && src_[p] == '.' && is_digit(src_[p + 1])) {
      ++p;
      digits();
      is_float = true;
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      size_t q = p + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      if (q < src_.size() && is_digit(src_[q])) {
        p = q;
        digits();
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = start; i < p; ++i)
      if (src_[i] != '_') text += src_[i];
    out_.push_back({is_float ? TokenKind::Float : TokenKind::Integer, text, line_of(start), column_of(start)});
    return p;
  }

  // Python string literal escapes, as jinja2 decodes them; an unknown escape keeps its backslash.
  size_t lex_string(size_t p) {
    const char quote = src_[p];
    const size_t start = p++;
    std::string value;
    for (;;) {
      if (p >= src_.size()) error_at(start, "string literal is not closed");
      const char c = src_[p];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++p;
        continue;
      }
      if (p + 1 >= src_.size()) error_at(start, "string literal is not closed");
      const char e = src_[p + 1];
      p += 2;
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case '0': value += '\0'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case '\n': break;
        case 'x': case 'u': case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (size_t i = 0; i < n; ++i) {
            const char h = p + i < src_.size() ? src_[p + i] : '\0';
            if (!std::isxdigit(static_cast<unsigned char>(h)))
              error_at(p - 2, std::string("truncated \\") + e + " escape in a string literal");
            cp = cp * 16 + uint32_t(is_digit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
          }
          if (cp > 0x10ffff) error_at(p - 2, "escape outside the Unicode range in a string literal");
          append_utf8(value, cp);
          p += n;
          break;
        }
        default: value += '\\'; value += e;
      }
    }
    out_.push_back({TokenKind::String, std::move(value), line_of(start), column_of(start)});
    return p + 1;
  }
};

}  // namespace

std::vector<Token> lex_template(const std::string& source, size_t max_bytes) {
  if (source.size() > max_bytes)
    fail("chat template: the template is {} bytes, more than the limit of {}", source.size(), max_bytes);
  // jinja2 reads every newline as \n and, with keep_trailing_newline=False, drops one at the end.
  std::string src;
  src.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      src += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      src += source[i];
    }
  }
  if (!src.empty() && src.back() == '\n') src.pop_back();
  return Lexer(std::move(src)).run();
}

}  // namespace trident::chat
