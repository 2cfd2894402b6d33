// Memory read bandwidth of this machine: the ceiling for token generation, which reads every
// weight once per token.
#pragma once
#include <cstdint>

namespace trident {

struct MemBandwidth {
  double gb_per_s = 0;  // best run, 1e9 bytes per second
  uint64_t bytes = 0;   // buffer size read per run
  int n_threads = 0;
  int runs = 0;
};

// Reads a `bytes` buffer with n_threads threads (0: every core), `runs` times, and reports the
// best run (the others are slowed by whatever else the machine was doing). Throws Error on
// bad arguments or allocation failure.
MemBandwidth measure_read_bandwidth(uint64_t bytes = uint64_t(1) << 30, int n_threads = 0, int runs = 5);

}  // namespace trident
