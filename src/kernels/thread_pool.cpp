#include "kernels/thread_pool.h"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>

#include "format/error.h"

namespace trident {
namespace {

// Idle workers: pause-spin this long (a decode step's loops follow each other within
// microseconds), then sched_yield until kYieldNs (lets a thread sharing the core run), then
// sleep on the futex. The caller waiting for the last worker follows the same steps.
constexpr int64_t kSpinNs = 30'000;
constexpr int64_t kYieldNs = 300'000;
// A loop's end that waited longer than this, and longer than kStallIndices of the caller's own
// indices, waited for a descheduled worker rather than for work.
constexpr int64_t kStallMinNs = 100'000;
constexpr int64_t kStallIndices = 4;
// Solo periods after stalls: 2 ms, doubling up to 64 ms; 100 ms without a stall resets them.
constexpr int64_t kSoloMinNs = 2'000'000;
constexpr int64_t kSoloMaxNs = 64'000'000;
constexpr int64_t kCalmNs = 100'000'000;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The futex calls on a 32-bit atomic (std::atomic<uint32_t> is a plain 32-bit word on Linux).
// bench/thread_pool_bench.cpp compares their wake latency with std::atomic::wait/notify.
void futex_wait(std::atomic<uint32_t>* word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
void futex_wake(std::atomic<uint32_t>* word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins, then yields, until ready() or kYieldNs have passed; true if ready.
template <class Ready>
bool spin_then_yield(Ready ready) {
  const int64_t t0 = now_ns();
  for (int i = 0;; ++i) {
    if (ready()) return true;
    if ((i & 63) == 63) {
      const int64_t t = now_ns() - t0;
      if (t > kYieldNs) return false;
      if (t > kSpinNs) {
        sched_yield();
        continue;
      }
    }
    cpu_relax();
  }
}

// Set while a thread runs a loop's bodies: a parallel_for inside runs serially.
thread_local bool t_in_body = false;

struct InBody {
  bool saved = t_in_body;
  InBody() { t_in_body = true; }
  ~InBody() { t_in_body = saved; }
};

}  // namespace

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads < 0) fail("invalid thread count {} (expected >= 1, or 0 for every core)", n_threads);
  n_threads_ = n_threads == 0 ? available_cores() : n_threads;
  workers_.reserve(size_t(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_main(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_seq_cst);
  open_.store(loop_id_ + 1 == 0 ? 1 : loop_id_ + 1, std::memory_order_seq_cst);  // a value sleepers did not see
  futex_wake(&open_, INT_MAX);
  for (std::thread& t : workers_) t.join();
}

ThreadPool::Stats ThreadPool::stats() const {
  return {loops_parallel_.load(), loops_serial_.load(), stalls_.load()};
}

void ThreadPool::run_serial(int64_t n, IndexFn fn, void* ctx) {
  loops_serial_.fetch_add(1, std::memory_order_relaxed);
  InBody guard;
  for (int64_t i = 0; i < n; ++i) fn(ctx, i);
}

void ThreadPool::run(int64_t n, IndexFn fn, void* ctx) {
  if (n <= 0) return;
  if (n == 1 || workers_.empty() || t_in_body) return run_serial(n, fn, ctx);
  if (running_.exchange(true, std::memory_order_acquire)) return run_serial(n, fn, ctx);  // shared
  if (solo_now()) {
    running_.store(false, std::memory_order_release);
    return run_serial(n, fn, ctx);
  }
  fn_ = fn;
  ctx_ = ctx;
  n_ = n;
  error_ = nullptr;
  next_.store(0, std::memory_order_relaxed);
  if (++loop_id_ == 0) ++loop_id_;
  const int64_t t0 = now_ns();
  open_.store(loop_id_, std::memory_order_seq_cst);
  if (idle_sleepers_.load(std::memory_order_seq_cst) > 0) futex_wake(&open_, INT_MAX);
  int64_t mine;
  {
    InBody guard;
    mine = work();
  }
  const int64_t caller_ns = now_ns() - t0;
  open_.store(0, std::memory_order_seq_cst);  // no worker joins from now on
  wait_workers_gone(caller_ns, mine);
  loops_parallel_.fetch_add(1, std::memory_order_relaxed);
  std::exception_ptr e = std::move(error_);
  error_ = nullptr;
  running_.store(false, std::memory_order_release);
  if (e) std::rethrow_exception(e);
}

int64_t ThreadPool::work() {
  int64_t ran = 0;
  for (;;) {
    const int64_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= n_) return ran;
    try {
      fn_(ctx_, i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu_);
      if (!error_) error_ = std::current_exception();
      next_.store(n_, std::memory_order_relaxed);  // hand out no more indices
    }
    ++ran;
  }
}

void ThreadPool::worker_main() {
  uint32_t last = 0;  // the loop this worker last took part in
  for (;;) {
    auto ready = [&] {
      const uint32_t v = open_.load(std::memory_order_acquire);
      return (v != 0 && v != last) || stop_.load(std::memory_order_relaxed);
    };
    if (!spin_then_yield(ready)) {
      idle_sleepers_.fetch_add(1, std::memory_order_seq_cst);
      for (;;) {
        const uint32_t v = open_.load(std::memory_order_seq_cst);
        if ((v != 0 && v != last) || stop_.load(std::memory_order_seq_cst)) break;
        futex_wait(&open_, v);
      }
      idle_sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    // Join: count in first, then check the loop is still open. The caller closes first, then
    // reads the count (both sequentially consistent), so either it waits for this worker or
    // this worker sees the loop closed and touches none of its data.
    const uint32_t id = open_.load(std::memory_order_seq_cst);
    inside_.fetch_add(1, std::memory_order_seq_cst);
    if (id != 0 && open_.load(std::memory_order_seq_cst) == id) {
      InBody guard;
      work();
      last = id;
    }
    if (inside_.fetch_sub(1, std::memory_order_seq_cst) == 1 && caller_sleeping_.load(std::memory_order_seq_cst))
      futex_wake(&inside_, 1);
  }
}

void ThreadPool::wait_workers_gone(int64_t caller_ns, int64_t caller_indices) {
  auto gone = [&] { return inside_.load(std::memory_order_acquire) == 0; };
  if (gone()) return note_stall(false);
  const int64_t w0 = now_ns();
  if (!spin_then_yield(gone)) {
    caller_sleeping_.store(1, std::memory_order_seq_cst);
    for (;;) {
      const uint32_t v = inside_.load(std::memory_order_seq_cst);
      if (v == 0) break;
      futex_wait(&inside_, v);
    }
    caller_sleeping_.store(0, std::memory_order_relaxed);
  }
  const int64_t waited = now_ns() - w0;
  const int64_t per_index = caller_indices > 0 ? caller_ns / caller_indices : 0;
  note_stall(waited > std::max(kStallMinNs, kStallIndices * per_index));
}

bool ThreadPool::solo_now() {
  if (solo_until_ns_ == 0) return false;
  const int64_t t = now_ns();
  if (t < solo_until_ns_) return true;
  solo_until_ns_ = 0;
  calm_since_ns_ = t;
  return false;
}

void ThreadPool::note_stall(bool stalled) {
  if (stalled) {
    stalls_.fetch_add(1, std::memory_order_relaxed);
    solo_ns_ = solo_ns_ == 0 ? kSoloMinNs : std::min(2 * solo_ns_, kSoloMaxNs);
    solo_until_ns_ = now_ns() + solo_ns_;
  } else if (solo_ns_ != 0 && now_ns() - calm_since_ns_ > kCalmNs) {
    solo_ns_ = 0;
  }
}

}  // namespace trident
