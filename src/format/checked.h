// All size arithmetic on untrusted numbers goes through these helpers: an overflow becomes an
// Error naming what was being computed, never a wrapped value.
#pragma once
#include <cstdint>
#include <string_view>

#include "format/error.h"

namespace trident {

inline uint64_t checked_mul(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail("{}: size overflow ({} * {})", what, a, b);
  return r;
}

inline uint64_t checked_add(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail("{}: size overflow ({} + {})", what, a, b);
  return r;
}

// Rounds a up to a multiple of align (align > 0).
inline uint64_t checked_round_up(uint64_t a, uint64_t align, std::string_view what) {
  uint64_t r = checked_add(a, align - 1, what);
  return r - r % align;
}

}  // namespace trident
