// Python str behaviours the templates rely on: whitespace stripping and splitting,
// `'%s' % x` formatting, case mapping.
#pragma once
#include <string>
#include <vector>

#include "chat/value.h"

namespace trident::chat {

class Interpreter;

// Python's str.isspace() set for the ASCII range (plus U+0085 / U+00A0 as UTF-8).
bool is_python_space(const std::string& s, size_t pos, size_t* len);
// str.strip / lstrip / rstrip: `chars` absent strips whitespace, else any of its characters.
std::string py_strip(const std::string& s, const Value& chars, bool left, bool right);
// str.split / rsplit with Python's two modes (whitespace runs vs an exact separator).
std::vector<std::string> py_split(const std::string& s, const Value& sep, int64_t maxsplit, bool from_right);
// str.upper / lower / title / capitalize over code points (see text_format.cpp for the scripts).
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);
std::string py_title(const std::string& s);
std::string py_capitalize(const std::string& s);
// str.replace with Python's empty-`old` behaviour and an optional count (-1: all).
std::string py_replace(Interpreter& in, const std::string& s, const std::string& old, const std::string& rep,
                       int64_t count, int line);
// `fmt % args` for the conversions s r d i f x % (with width, precision and `-`/`0` flags).
std::string percent_format(Interpreter& in, const std::string& fmt, const Value& args, int line);

}  // namespace trident::chat
