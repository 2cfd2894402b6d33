#include "format/memory_budget.h"

#include <unistd.h>

#include <atomic>
#include <charconv>

#include "format/error.h"

namespace trident {
namespace {

std::atomic<uint64_t> g_limit{0};

std::string gib(uint64_t bytes) { return fmt::format("{:.1f} GiB", double(bytes) / double(uint64_t(1) << 30)); }

}  // namespace

uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return UINT64_MAX;  // unknown: do not refuse on a guess
  return uint64_t(pages) * uint64_t(page);
}

void set_memory_limit(uint64_t bytes) { g_limit = bytes; }

uint64_t memory_budget() {
  const uint64_t limit = g_limit;
  return limit ? limit : physical_memory_bytes();
}

void check_memory(uint64_t bytes, std::string_view what) {
  const uint64_t limit = g_limit;
  if (limit && bytes > limit) fail("{} needs {}, the limit (--mem-limit) is {}", what, gib(bytes), gib(limit));
  const uint64_t phys = physical_memory_bytes();
  if (bytes > phys) fail("{} needs {}, the machine has {}", what, gib(bytes), gib(phys));
}

uint64_t parse_byte_size(const std::string& flag, const std::string& text) {
  uint64_t n = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, n);
  unsigned shift = 0;
  if (p != end && p + 1 == end) {
    switch (*p | 0x20) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      case 't': shift = 40; break;
      default: shift = 64;
    }
    ++p;
  }
  if (text.empty() || ec != std::errc() || p != end || shift == 64 || n == 0 || (shift && n > (UINT64_MAX >> shift)))
    fail("{}: expected a size in bytes such as 8G, 512M or 1000000, found '{}'", flag, printable(text));
  return n << shift;
}

}  // namespace trident
