// Shared by the public-API tests (include/ is their only include path besides this directory).
#pragma once
#include <trident/error.h>

#include <string>

namespace api_test {

// The message of the trident::Error that f throws, or "(no error)".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const trident::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace api_test
