#include "cli/prompt_text.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "format/error.h"

namespace trident::cli {
namespace {

std::string drop_one_newline(std::string s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void add_prompt_flags(CLI::App* cmd, PromptFlags& f) {
  cmd->add_option("-p,--prompt", f.text, "prompt text; - reads standard input");
  cmd->add_option("-f,--file", f.file, "read the prompt from a file");
  cmd->add_flag("-e,--escape,!--no-escape", f.escape, "process \\n, \\t, \\xHH ... in -p (default: on, as llama.cpp)");
}

std::string read_prompt(const PromptFlags& f) {
  if (!f.text.empty() && !f.file.empty()) fail("-p and -f are mutually exclusive: give the prompt once");
  if (!f.file.empty()) {
    std::ifstream in(f.file, std::ios::binary);
    if (!in) fail("-f {}: cannot read: {}", f.file, std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) fail("-f {}: cannot read", f.file);
    return drop_one_newline(ss.str());
  }
  if (f.text == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    return drop_one_newline(ss.str());
  }
  return f.escape ? process_escapes(f.text) : f.text;
}

std::string process_escapes(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'x':
        if (i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
          out += char(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
          i += 2;
          break;
        }
        [[fallthrough]];
      default: out += '\\', out += c;
    }
  }
  return out;
}

}  // namespace trident::cli
