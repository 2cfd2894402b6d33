// trident's one error type. Every function of the public API (and of the library inside it)
// reports failure by throwing trident::Error whose what() is one complete line: which file /
// flag / sequence / row, what was expected and what was found. Nothing else is thrown on bad
// input (std::bad_alloc may still escape when the machine runs out of memory).
#pragma once
#include <stdexcept>
#include <string>

namespace trident {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

namespace api {
using trident::Error;
}  // namespace api

}  // namespace trident
