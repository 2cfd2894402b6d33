// Allocations sized by a flag (-c, -ub) or by numbers in a file are checked against the
// machine before they are made, so a hostile size is refused in one line instead of ending in
// std::bad_alloc, an OOM kill or minutes of swapping.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace trident {

// Physical memory of the machine (sysconf), in bytes.
uint64_t physical_memory_bytes();
// The budget: --mem-limit when given (set_memory_limit, 0 = none), else physical memory.
void set_memory_limit(uint64_t bytes);
uint64_t memory_budget();
// Throws Error "WHAT needs N GiB, the machine has M GiB" (or "... --mem-limit is M GiB")
// when bytes exceed the budget.
void check_memory(uint64_t bytes, std::string_view what);
// Parses a --mem-limit value: bytes, or a number with K, M, G or T (powers of 1024).
uint64_t parse_byte_size(const std::string& flag, const std::string& text);

}  // namespace trident
