// kernels/thread_pool: every index exactly once, nesting and sharing, exceptions, shutdown, and
// a stuck thread that must not hold up the others' work (no timing assertions: the waits
// below are upper bounds that only fail a test that would otherwise hang).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "format/error.h"
#include "kernels/thread_pool.h"

namespace trident {
namespace {

// Spins until cond() or 20 s; false on timeout.
template <class Cond>
bool eventually(Cond cond) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!cond())
    if (std::chrono::steady_clock::now() > end) return false;
    else std::this_thread::yield();
  return true;
}

TEST(ThreadPool, EveryIndexRunsExactlyOnce) {
  for (int threads : {1, 2, 3, 4, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 3, 7, 64, 1000, 100003}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.parallel_for(n, [&](int64_t i) { hits[size_t(i)].fetch_add(1, std::memory_order_relaxed); });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "threads " << threads << " n " << n << " i " << i;
    }
  }
}

TEST(ThreadPool, ManyLoopsInARowReuseTheWorkers) {
  ThreadPool pool(4);
  std::atomic<int64_t> sum{0};
  for (int loop = 0; loop < 2000; ++loop) pool.parallel_for(17, [&](int64_t i) { sum += i; });
  EXPECT_EQ(sum.load(), 2000 * (16 * 17 / 2));
}

TEST(ThreadPool, ZeroMeansEveryCoreAndNegativeIsRefused) {
  EXPECT_GE(available_cores(), 1);
  EXPECT_EQ(ThreadPool(0).size(), available_cores());
  try {
    ThreadPool bad(-1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "invalid thread count -1 (expected >= 1, or 0 for every core)");
  }
}

TEST(ThreadPool, NestedLoopsRunSeriallyInsideTheBody) {
  ThreadPool pool(3), other(2);
  std::vector<std::atomic<int>> hits(40 * 30);
  pool.parallel_for(40, [&](int64_t i) {
    ThreadPool& inner = i % 2 ? pool : other;
    inner.parallel_for(30, [&](int64_t j) { hits[size_t(i * 30 + j)]++; });
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(ThreadPool, TwoCallersCanShareOnePool) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> a(5000), b(5000);
  auto use = [&](std::vector<std::atomic<int>>& v) {
    for (int loop = 0; loop < 50; ++loop) pool.parallel_for(int64_t(v.size()), [&](int64_t i) { v[size_t(i)]++; });
  };
  std::thread other(use, std::ref(b));
  use(a);
  other.join();
  for (size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(a[i] == 50 && b[i] == 50) << i;
}

TEST(ThreadPool, AnExceptionReachesTheCallerAndThePoolStaysUsable) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    try {
      pool.parallel_for(1000, [&](int64_t i) {
        if (i == 617) throw std::runtime_error("index 617 failed");
      });
      FAIL() << "expected the body's exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "index 617 failed");
    }
    std::atomic<int> n{0};
    pool.parallel_for(100, [&](int64_t) { n++; });
    EXPECT_EQ(n.load(), 100);
  }
}

TEST(ThreadPool, DestructionJoinsBusyIdleAndSleepingWorkers) {
  for (int round = 0; round < 20; ++round) {
    ThreadPool never_used(3);
    ThreadPool used(3);
    std::atomic<int> n{0};
    used.parallel_for(64, [&](int64_t) { n++; });
    if (round % 4 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // workers asleep
    EXPECT_EQ(n.load(), 64);
  }
}

// A thread that is stuck (as one descheduled by a busy core) holds only the index it took: the
// other threads, the caller included, finish every other index meanwhile. A static split would
// leave the stuck thread's share undone and this test would time out.
TEST(ThreadPool, AStuckThreadHoldsUpOnlyItsOwnIndex) {
  for (int threads : {2, 4, 16}) {  // 16 threads on this machine's cores: oversubscribed
    ThreadPool pool(threads);
    constexpr int64_t kN = 500;
    std::atomic<int64_t> done{0};
    std::atomic<bool> gave_up{false};
    pool.parallel_for(kN, [&](int64_t i) {
      if (i == 0 && !eventually([&] { return done.load() == kN - 1; })) gave_up = true;
      done++;
    });
    EXPECT_FALSE(gave_up.load()) << threads << " threads";
    EXPECT_EQ(done.load(), kN);
  }
}

// When the caller has to wait for a worker far longer than its own indices took (the worker
// was descheduled), the following loops run on the caller alone for a while.
TEST(ThreadPool, AStalledWorkerSendsTheNextLoopsToTheCaller) {
  ThreadPool pool(2);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> worker_started{false}, slept{false};
  pool.parallel_for(64, [&](int64_t) {
    if (std::this_thread::get_id() != caller) {
      worker_started = true;
      if (!slept.exchange(true)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } else {
      ASSERT_TRUE(eventually([&] { return worker_started.load(); }));
    }
  });
  EXPECT_EQ(pool.stats().stalls, 1u);
  const uint64_t serial = pool.stats().loops_serial;
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<int> n{0};
  pool.parallel_for(10, [&](int64_t) { n++; });
  EXPECT_EQ(n.load(), 10);
  // The solo period is 2 ms; a host that paused this test longer has ended it already.
  if (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1)) {
    EXPECT_EQ(pool.stats().loops_serial, serial + 1);
  }
}

}  // namespace
}  // namespace trident
