// A persistent pool of threads for the engine's parallel loops (no OpenMP in the hot path).
//
// parallel_for(n, body) calls body(i) once for every i in [0, n): the caller takes part, and
// each thread claims the next index from one atomic counter, so a thread that runs slowly
// (another process on its core) delays a loop only by the index it holds, not by a fixed
// share of the work. Between loops an idle worker spins briefly, then yields, then sleeps on a
// futex, so a busy host is not fought over with spin loops.
//
// A worker the operating system has descheduled while it holds an index makes the caller wait
// until it runs again, which on a loaded core is a scheduler time slice (milliseconds), far
// more than the index's work. When such a stall is seen, the pool runs the next loops on the
// caller alone for a while (2 ms, doubling with each stall in a row up to 64 ms), then tries the
// workers again: a machine with a busy core then runs at about the speed of one thread instead
// of collapsing, and one that has calmed down gets its cores back within 64 ms.
//
// Which thread runs which index never changes what an index computes, so every loop gives the
// same results with any number of threads.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace trident {

// Cores this process may run on (its affinity mask), at least 1.
int available_cores();

class ThreadPool {
 public:
  // n_threads: threads that run a loop, the caller included; 0 means available_cores().
  // Throws Error for a negative count.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();  // wakes and joins the workers
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls body(i) for every i in [0, n), each exactly once, and returns when all have run.
  // The first exception a body throws is rethrown here after the other threads have left the
  // loop (indices not yet started are then skipped). A call from inside a body (of this or any
  // pool), or while another thread is running a loop on this pool, runs serially on the calling
  // thread: nesting and sharing are safe, never a deadlock.
  // worth_threads = false runs the loop on the caller: for work smaller than waking a thread.
  template <class Body>
  void parallel_for(int64_t n, Body&& body, bool worth_threads = true) {
    auto call = [](void* ctx, int64_t i) { (*static_cast<std::remove_reference_t<Body>*>(ctx))(i); };
    void* ctx = const_cast<void*>(static_cast<const void*>(&body));
    if (worth_threads)
      run(n, call, ctx);
    else
      run_serial(n, call, ctx);
  }

  // Counters for tests and diagnostics.
  struct Stats {
    uint64_t loops_parallel = 0;  // loops handed to the workers
    uint64_t loops_serial = 0;    // loops run on the caller alone (small, nested, shared or solo)
    uint64_t stalls = 0;          // loops whose end waited for a descheduled worker
  };
  Stats stats() const;

 private:
  using IndexFn = void (*)(void*, int64_t);
  void run(int64_t n, IndexFn fn, void* ctx);
  void run_serial(int64_t n, IndexFn fn, void* ctx);
  // Claims and runs indices of the open loop until none are left; returns how many it ran.
  int64_t work();
  void worker_main();
  void wait_workers_gone(int64_t caller_ns, int64_t caller_indices);
  bool solo_now();
  void note_stall(bool stalled);

  int n_threads_ = 1;
  std::vector<std::thread> workers_;

  // The open loop. Written by the caller before `open_` is set, read by workers that joined.
  IndexFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0;
  alignas(64) std::atomic<int64_t> next_{0};  // next unclaimed index
  alignas(64) std::atomic<uint32_t> open_{0};     // id of the loop workers may join; 0: none (futex word)
  alignas(64) std::atomic<uint32_t> inside_{0};   // workers inside the open loop (futex word)
  std::atomic<uint32_t> idle_sleepers_{0};        // workers asleep on open_
  std::atomic<uint32_t> caller_sleeping_{0};      // the caller asleep on inside_
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};  // a loop is in progress (another caller runs serially)
  uint32_t loop_id_ = 0;

  std::mutex error_mu_;
  std::exception_ptr error_;

  // Solo mode after a stall (caller thread only).
  int64_t solo_until_ns_ = 0;
  int64_t solo_ns_ = 0;        // length of the next solo period; 0 after a calm spell
  int64_t calm_since_ns_ = 0;  // start of the current run of stall-free parallel loops

  std::atomic<uint64_t> loops_parallel_{0}, loops_serial_{0}, stalls_{0};
};

}  // namespace trident
