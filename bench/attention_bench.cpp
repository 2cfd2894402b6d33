// Attention kernels per kernel table, with Llama 3.2 1B's shape (head_dim 64, four query heads
// per KV head) and an F16 cache, as the session calls them:
//   Decode/<keys>:        one token, the four heads of one KV group, over 128..2048 keys;
//   Prompt/<tile>:        a 512-token prompt for one KV group, in tasks of <tile> tokens
//                         (1: no batching; 16: what the session uses for groups of four).
// Reported as keys per second (one key = one K and one V row for one head).
//   trident_microbench --benchmark_filter=Attention
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "tensor/fp16.h"

namespace trident {
namespace {

constexpr int kHeadDim = 64, kGroup = 4;

const KernelTable* table_by_isa(const char* isa) {
  for (const KernelTable* k : supported_kernel_tables())
    if (std::strcmp(k->isa, isa) == 0) return k;
  return nullptr;
}

// An F16 cache of n_pos rows of one KV head, and n_tok tokens of kGroup query heads.
struct Data {
  std::vector<uint16_t> k, v;
  std::vector<float> q, out;
  KvView view;
  Data(int64_t n_pos, int64_t n_tok) {
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    k.resize(size_t(n_pos * kHeadDim));
    v.resize(k.size());
    for (auto& x : k) x = fp32_to_fp16(nd(rng));
    for (auto& x : v) x = fp32_to_fp16(nd(rng));
    q.resize(size_t(n_tok * kGroup * kHeadDim));
    for (auto& x : q) x = nd(rng);
    out.resize(q.size());
    view.k = k.data();
    view.v = v.data();
    view.k_stride = view.v_stride = kHeadDim * 2;
    view.k_type = view.v_type = KvType::F16;
  }
  AttentionTask task(int64_t t0, int64_t n_tok) {
    AttentionTask t;
    t.q = q.data() + t0 * kGroup * kHeadDim;
    t.out = out.data() + t0 * kGroup * kHeadDim;
    t.q_stride = t.out_stride = kGroup * kHeadDim;
    t.n_tokens = n_tok;
    t.n_heads = kGroup;
    t.head_dim = kHeadDim;
    t.pos0 = t0;
    t.scale = 0.125f;
    return t;
  }
};

void bm_decode(benchmark::State& state, const char* isa) {
  const KernelTable* kt = table_by_isa(isa);
  if (!kt) return state.SkipWithError("instruction set not supported by this CPU");
  const int64_t keys = state.range(0);
  Data d(keys, keys);
  const AttentionTask task = d.task(keys - 1, 1);
  for (auto _ : state) {
    kt->attention(task, d.view);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * keys * kGroup);
}

void bm_prompt(benchmark::State& state, const char* isa) {
  const KernelTable* kt = table_by_isa(isa);
  if (!kt) return state.SkipWithError("instruction set not supported by this CPU");
  const int64_t n = 512, tile = state.range(0);
  Data d(n, n);
  for (auto _ : state) {
    for (int64_t t0 = 0; t0 < n; t0 += tile) kt->attention(d.task(t0, std::min(tile, n - t0)), d.view);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * (n * (n + 1) / 2) * kGroup);
}

// Registered by name only: tables are looked up when a benchmark runs.
const int kRegistered = [] {
  for (const char* isa : {"scalar", "avx2", "avx512"}) {
    benchmark::RegisterBenchmark(("Attention/Decode/" + std::string(isa)).c_str(),
                                 [isa](benchmark::State& s) { bm_decode(s, isa); })
        ->Arg(128)->Arg(512)->Arg(2048);
    benchmark::RegisterBenchmark(("Attention/Prompt/" + std::string(isa)).c_str(),
                                 [isa](benchmark::State& s) { bm_prompt(s, isa); })
        ->Arg(1)->Arg(4)->Arg(16)->Arg(64);
  }
  return 0;
}();

}  // namespace
}  // namespace trident
