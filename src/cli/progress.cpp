#include "cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace trident::cli {

ProgressFn progress_line(const char* what) {
  using Clock = std::chrono::steady_clock;
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  const auto start = Clock::now();
  auto last = std::make_shared<Clock::time_point>(start);
  constexpr double kLogEvery = 5.0;  // seconds between lines in a log
  return [what, tty, start, last](size_t i, size_t n, uint64_t done, uint64_t total) {
    const auto now = Clock::now();
    if (!tty && (i == n || std::chrono::duration<double>(now - *last).count() < kLogEvery)) return;
    *last = now;
    const double secs = std::chrono::duration<double>(now - start).count();
    const double rate = secs > 0 ? double(done) / secs : 0;
    const double eta = rate > 0 && total > done ? double(total - done) / rate : 0;
    const std::string text = fmt::format("{}: tensor {}/{}, {:.1f}/{:.1f} MiB, {:.0f} MiB/s, ETA {:.0f}s", what, i, n,
                                         double(done) / (1 << 20), double(total) / (1 << 20), rate / (1 << 20), eta);
    if (tty)
      fmt::print(stderr, "\r\033[K{}{}", text, i == n ? "\n" : "");
    else
      fmt::print(stderr, "{}\n", text);
  };
}

}  // namespace trident::cli
