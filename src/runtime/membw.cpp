#include "runtime/membw.h"

#include <sys/mman.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <vector>

#include "format/error.h"
#include "kernels/thread_pool.h"

namespace trident {
namespace {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// Sums 64-bit words with eight independent accumulators so the loop is limited by memory, not
// by an add chain. n is a multiple of 8.
uint64_t sum_words(const uint64_t* p, size_t n) {
  uint64_t a[8] = {};
  for (size_t i = 0; i < n; i += 8)
    for (int k = 0; k < 8; ++k) a[k] += p[i + size_t(k)];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

}  // namespace

MemBandwidth measure_read_bandwidth(uint64_t bytes, int n_threads, int runs) {
  if (bytes < (uint64_t(1) << 20)) fail("memory bandwidth: buffer of {} bytes is too small (at least 1 MiB)", bytes);
  if (runs < 1) fail("memory bandwidth: expected at least 1 run, found {}", runs);
  if (n_threads < 0) fail("memory bandwidth: invalid thread count {}", n_threads);
  ThreadPool pool(n_threads);
  n_threads = pool.size();
  // Whole 2 MiB pages, on huge pages where the kernel allows: the packed weights live on huge
  // pages too, and 4 KiB TLB misses would understate what the memory can deliver.
  constexpr size_t kHuge = size_t(2) << 20;
  const size_t words = size_t((bytes + kHuge - 1) / kHuge * kHuge / 8);
  std::unique_ptr<uint64_t, FreeDeleter> buf(static_cast<uint64_t*>(std::aligned_alloc(kHuge, words * 8)));
  if (!buf) fail("memory bandwidth: cannot allocate {} bytes", words * 8);
  ::madvise(buf.get(), words * 8, MADV_HUGEPAGE);  // advisory
  uint64_t* p = buf.get();
  // One slice of whole cache lines per thread, written by the threads that later read it.
  const size_t lines = words / 8, slices = size_t(n_threads);
  auto slice_begin = [&](size_t s) { return lines * s / slices * 8; };
  pool.parallel_for(int64_t(slices), [&](int64_t s) {
    for (size_t i = slice_begin(size_t(s)); i < slice_begin(size_t(s) + 1); ++i) p[i] = i;
  });

  MemBandwidth r;
  r.bytes = uint64_t(words) * 8;
  r.n_threads = n_threads;
  r.runs = runs;
  volatile uint64_t sink = 0;
  for (int run = 0; run < runs; ++run) {
    std::vector<uint64_t> sums(slices);
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(int64_t(slices), [&](int64_t s) {
      sums[size_t(s)] = sum_words(p + slice_begin(size_t(s)), slice_begin(size_t(s) + 1) - slice_begin(size_t(s)));
    });
    uint64_t total = 0;
    for (uint64_t v : sums) total += v;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sink = sink + total;
    if (secs > 0) r.gb_per_s = std::max(r.gb_per_s, double(r.bytes) / secs / 1e9);
  }
  return r;
}

}  // namespace trident
