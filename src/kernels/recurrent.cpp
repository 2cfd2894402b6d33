// Drivers of the recurrent ops: the selected kernel table's kernel over blocks of channels or
// heads, one block per pool index. Channels and heads are independent, so the split never
// changes a result; work below about 64K multiply-adds stays on the calling thread.
#include <algorithm>

#include "format/error.h"
#include "kernels/dispatch.h"
#include "kernels/recurrent.h"
#include "kernels/thread_pool.h"

namespace trident {
namespace {

constexpr int64_t kMinParallelWork = int64_t(1) << 16;

// Calls body(first, last) over [0, n) in blocks of `block`, on the pool when worth it.
template <class Body>
void for_blocks(ThreadPool* pool, int64_t n, int64_t block, int64_t work, Body&& body) {
  const int64_t n_blocks = (n + block - 1) / block;
  auto run = [&](int64_t b) { body(b * block, std::min(n, (b + 1) * block)); };
  if (pool && n_blocks > 1)
    pool->parallel_for(n_blocks, run, work >= kMinParallelWork);
  else
    for (int64_t b = 0; b < n_blocks; ++b) run(b);
}

// The shapes the kernels divide by or index with, checked on every call (a few compares): a
// file's hyper-parameters reach here, and a bad one must be an Error, not a division by zero.
void check(const ShortConv& cv) {
  if (cv.d_conv < 1) fail("short convolution: kernel width {} (expected at least 1)", cv.d_conv);
}
void check(const SsmScan& op) {
  if (op.n_group < 1 || op.n_head % op.n_group != 0)
    fail("SSM scan: {} heads do not split into {} groups", op.n_head, op.n_group);
}
void check(const DeltaNet& op) {
  if (op.n_k_heads < 1 || op.n_v_heads % op.n_k_heads != 0)
    fail("delta net: {} value heads are not a multiple of {} key heads", op.n_v_heads, op.n_k_heads);
}

}  // namespace

void short_conv(const ShortConv& cv, const ShortConvRows& io, ThreadPool* pool) {
  check(cv);
  const ShortConvFn fn = kernel_table().recurrent.short_conv;
  // Blocks of 256 channels: whole SIMD registers, and enough blocks for the threads.
  for_blocks(pool, cv.n_ch, 256, cv.n_ch * cv.d_conv * io.n_tokens,
             [&](int64_t c0, int64_t c1) { fn(cv, io, c0, c1); });
}

void ssm_scan(const SsmScan& op, const SsmScanRows& io, ThreadPool* pool) {
  check(op);
  const SsmScanFn fn = kernel_table().recurrent.ssm_scan;
  const int64_t per_head = op.head_dim * op.d_state;
  // Mamba-1 has thousands of one-channel heads: blocks of about 4K state values.
  const int64_t block = std::max<int64_t>(1, 4096 / std::max<int64_t>(per_head, 1));
  for_blocks(pool, op.n_head, block, op.n_head * per_head * io.n_tokens,
             [&](int64_t h0, int64_t h1) { fn(op, io, h0, h1); });
}

void delta_net(const DeltaNet& op, const DeltaNetRows& io, ThreadPool* pool) {
  check(op);
  const DeltaNetFn fn = kernel_table().recurrent.delta_net;
  for_blocks(pool, op.n_v_heads, 1, op.n_v_heads * op.head_v_dim * op.head_k_dim * io.n_tokens,
             [&](int64_t h0, int64_t h1) { fn(op, io, h0, h1); });
}

void kda(const DeltaNet& op, const DeltaNetRows& io, ThreadPool* pool) {
  check(op);
  const KdaFn fn = kernel_table().recurrent.kda;
  for_blocks(pool, op.n_v_heads, 1, op.n_v_heads * op.head_v_dim * op.head_k_dim * io.n_tokens,
             [&](int64_t h0, int64_t h1) { fn(op, io, h0, h1); });
}

}  // namespace trident
