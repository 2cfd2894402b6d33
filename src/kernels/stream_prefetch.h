// Software prefetch of weights streamed from DRAM (decode: each weight byte is read once per
// step), shared by the packed kernels of every ISA.
//
// The kernels ask for the bytes kStreamAheadBytes past the ones they are about to read, into
// the L2 cache (hint T2; on Zen 4 T1 and T2 both fill L2), not L1: a deep L1 prefetch (the
// old scheme: T0, 6 KiB ahead) holds the core's few L1 miss buffers and stops the hardware
// streamers from running further ahead. Measured on a 2-core Zen 4 VM, Q4_0 decode matmul
// over 604 MB of weights (8192 x 2048 matrices), median of 15 passes, quiet host:
//   one thread:  T0 6 KiB 12.3 GB/s, none 10.7, T1 16 KiB 17.0, T2 16 KiB 17.2, T2 32 KiB 19.3
//   two threads: T0 6 KiB 14-16 GB/s, T2 32 KiB 24-28 (with the contiguous chunks matmul.cpp
//                hands out for decode); a plain read loop measures 39-43 GB/s on this host.
// Past the end of a packed group the address runs into the next group, which the same thread
// reads next when it holds a run of groups (matmul.cpp); prefetches never fault.
#pragma once
#include <xmmintrin.h>

#include <cstddef>

namespace trident {

inline constexpr size_t kStreamAheadBytes = size_t(32) << 10;

// Prefetches the kBytes bytes (whole 64-byte lines; a partial last line is fetched whole)
// that start kStreamAheadBytes after p.
template <size_t kBytes>
inline void prefetch_stream(const void* p) {
  const char* a = static_cast<const char*>(p) + kStreamAheadBytes;
#pragma GCC unroll 16
  for (size_t l = 0; l < kBytes; l += 64) _mm_prefetch(a + l, _MM_HINT_T2);
}

// Part `part` (of kParts) of a kBytes block's prefetch, for kernels that work through a large
// block (a K-quant super-block of 16 rows: 1.3-3.4 KB) in steps: asking for the whole block at
// its start, 20-53 prefetches in a burst, left one Zen 4 core streaming Q6_K at 12 GB/s and
// Q5_K at 9-10; a part before each quarter or half of the work streams both at 20 GB/s
// (8192 x 2048 matrices from DRAM, median of 15 passes).
template <size_t kBytes, int kParts>
inline void prefetch_stream_part(const void* p, int part) {
  constexpr size_t kPart = (kBytes + kParts - 1) / kParts;
  prefetch_stream<kPart>(static_cast<const char*>(p) + size_t(part) * kPart);
}

}  // namespace trident
