// Where a prompt comes from, as llama.cpp's tools take it: -p TEXT, -p - (standard input) or
// -f FILE, with llama.cpp's escapes (\n, \t, \\, \xHH, ...) processed in -p TEXT unless
// --no-escape.
#pragma once
#include <CLI/CLI.hpp>

#include <string>

namespace trident::cli {

struct PromptFlags {
  std::string text;  // -p; "-" reads standard input
  std::string file;  // -f
  bool escape = true;
  bool given() const { return !text.empty() || !file.empty(); }
};

void add_prompt_flags(CLI::App* cmd, PromptFlags& f);
// The prompt's text; one trailing newline of a file or of standard input is dropped (what an
// editor or `echo` adds). Throws Error naming the flag (unreadable file, -p with -f).
std::string read_prompt(const PromptFlags& f);
// llama.cpp's string_process_escapes: \n \r \t \' \" \\ \xHH; any other backslash stays.
std::string process_escapes(const std::string& s);

}  // namespace trident::cli
