// How fast a sleeping thread wakes: a raw futex against C++20 std::atomic::wait/notify (which
// kernels/thread_pool could use instead), as a ping-pong of two threads that both sleep between
// turns; and the pool's fork-join cost for a loop of two empty indices.
//   build/trident_microbench --benchmark_filter='Wake|ForkJoin'
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <thread>

#include "kernels/thread_pool.h"

namespace {

struct Futex {
  static void wait(std::atomic<uint32_t>& w, uint32_t old) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&w), FUTEX_WAIT_PRIVATE, old, nullptr, nullptr, 0);
  }
  static void wake(std::atomic<uint32_t>& w) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&w), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
};
struct AtomicWait {
  static void wait(std::atomic<uint32_t>& w, uint32_t old) { w.wait(old); }
  static void wake(std::atomic<uint32_t>& w) { w.notify_one(); }
};

// One iteration: main sets the word to an odd value and wakes the partner, which answers with
// the next even value; each side sleeps until its turn.
template <class Mech>
void BM_Wake(benchmark::State& state) {
  std::atomic<uint32_t> turn{0};
  std::atomic<bool> done{false};
  std::thread partner([&] {
    uint32_t seen = 0;
    for (;;) {
      uint32_t v;
      while ((v = turn.load()) == seen) Mech::wait(turn, seen);
      if (done.load()) return;
      seen = v + 1;
      turn.store(seen);
      Mech::wake(turn);
    }
  });
  uint32_t v = 0;
  for (auto _ : state) {
    turn.store(++v);
    Mech::wake(turn);
    uint32_t now;
    while ((now = turn.load()) == v) Mech::wait(turn, v);
    v = now;
  }
  done.store(true);
  turn.store(v + 1);
  Mech::wake(turn);
  partner.join();
  state.SetLabel("round trip: two wake-ups");
}
BENCHMARK_TEMPLATE(BM_Wake, Futex)->Name("Wake/futex")->UseRealTime();
BENCHMARK_TEMPLATE(BM_Wake, AtomicWait)->Name("Wake/atomic_wait")->UseRealTime();

void BM_ForkJoin(benchmark::State& state) {
  trident::ThreadPool pool(int(state.range(0)));
  std::atomic<int64_t> sink{0};
  for (auto _ : state) pool.parallel_for(2 * pool.size(), [&](int64_t i) { sink.fetch_add(i, std::memory_order_relaxed); });
  benchmark::DoNotOptimize(sink.load());
}
BENCHMARK(BM_ForkJoin)->Name("ForkJoin/threads")->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
