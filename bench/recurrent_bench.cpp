// Recurrent-layer kernels per kernel table, one thread, at real models' layer shapes:
//   DeltaNet/<tokens>:  Qwen3-Next's linear attention (32 value heads over 16 key heads of 128);
//   Mamba2/<tokens>:    a Mamba-2 layer (64 heads of 64, d_state 128, one group);
//   Mamba1/<tokens>:    a Mamba-1 layer (d_inner 1536, d_state 16);
//   ShortConv/<tokens>: the convolution before Qwen3-Next's delta rule (8192 channels, width 4).
// <tokens> is 1 (a decode step) or 64 (a prompt chunk). Reported as state elements (or conv
// multiply-adds) per second.
//   trident_microbench --benchmark_filter='DeltaNet|Mamba|ShortConv'
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/recurrent.h"

namespace trident {
namespace {

const KernelTable* table_by_isa(const char* isa) {
  for (const KernelTable* k : supported_kernel_tables())
    if (std::strcmp(k->isa, isa) == 0) return k;
  return nullptr;
}

std::vector<float> uniform(size_t n, float lo, float hi) {
  std::mt19937 rng{uint32_t(n)};
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

void bm_delta(benchmark::State& state, const char* isa) {
  const KernelTable* kt = table_by_isa(isa);
  if (!kt) return state.SkipWithError("instruction set not supported by this CPU");
  const DeltaNet op{32, 16, 128, 128, KHeadMap::Interleaved};
  const int64_t n = state.range(0), qk = 2 * 16 * 128, vw = 32 * 128;
  std::vector<float> qkv = uniform(size_t(n * qk), -0.1f, 0.1f), v = uniform(size_t(n * vw), -1, 1);
  std::vector<float> g = uniform(size_t(n * 32), -0.1f, 0), beta = uniform(size_t(n * 32), 0, 1);
  std::vector<float> out(size_t(n * vw)), s = uniform(size_t(32 * 128 * 128), -0.1f, 0.1f);
  const DeltaNetRows io{qkv.data(), qk, qkv.data() + 16 * 128, qk, v.data(), vw, g.data(), beta.data(), 32,
                        out.data(), vw, n, s.data()};
  for (auto _ : state) {
    kt->recurrent.delta_net(op, io, 0, op.n_v_heads);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * n * int64_t(s.size()));
}

void bm_scan(benchmark::State& state, const char* isa, bool mamba1) {
  const KernelTable* kt = table_by_isa(isa);
  if (!kt) return state.SkipWithError("instruction set not supported by this CPU");
  const SsmScan shape = mamba1 ? SsmScan{1536, 1, 16, 1, true} : SsmScan{64, 64, 128, 1, false};
  const int64_t n = state.range(0), d_inner = shape.n_head * shape.head_dim, bc = shape.n_group * shape.d_state;
  std::vector<float> A = uniform(size_t(mamba1 ? d_inner * 16 : shape.n_head), -2, -0.1f), D = uniform(size_t(shape.n_head), -1, 1);
  std::vector<float> x = uniform(size_t(n * d_inner), -1, 1), dt = uniform(size_t(n * shape.n_head), -3, 1);
  std::vector<float> B = uniform(size_t(n * bc), -1, 1), C = uniform(size_t(n * bc) + 1, -1, 1), y(size_t(n * d_inner));
  std::vector<float> s = uniform(size_t(d_inner * shape.d_state), -1, 1);
  SsmScan op = shape;
  op.A = A.data();
  op.D = D.data();
  const SsmScanRows io{x.data(), d_inner, dt.data(), shape.n_head, B.data(), bc, C.data(), bc, y.data(), d_inner, n, s.data()};
  for (auto _ : state) {
    kt->recurrent.ssm_scan(op, io, 0, op.n_head);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * n * int64_t(s.size()));
}

void bm_conv(benchmark::State& state, const char* isa) {
  const KernelTable* kt = table_by_isa(isa);
  if (!kt) return state.SkipWithError("instruction set not supported by this CPU");
  const int64_t n_ch = 8192, n = state.range(0);
  const int d_conv = 4;
  std::vector<float> w = uniform(size_t(d_conv * n_ch), -1, 1), bias = uniform(size_t(n_ch), -1, 1);
  std::vector<float> x = uniform(size_t(n * n_ch), -1, 1), y(x.size()), s = uniform(size_t((d_conv - 1) * n_ch), -1, 1);
  const ShortConv cv{n_ch, d_conv, w.data(), bias.data()};
  const ShortConvRows io{x.data(), n_ch, y.data(), n_ch, n, s.data()};
  for (auto _ : state) {
    kt->recurrent.short_conv(cv, io, 0, n_ch);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * n * n_ch * d_conv);
}

// Registered by name only: tables are looked up when a benchmark runs.
const int kRegistered = [] {
  for (const char* isa : {"scalar", "avx2", "avx512"}) {
    const std::string s(isa);
    benchmark::RegisterBenchmark(("DeltaNet/" + s).c_str(), [isa](benchmark::State& st) { bm_delta(st, isa); })->Arg(1)->Arg(64);
    benchmark::RegisterBenchmark(("Mamba2/" + s).c_str(), [isa](benchmark::State& st) { bm_scan(st, isa, false); })->Arg(1)->Arg(64);
    benchmark::RegisterBenchmark(("Mamba1/" + s).c_str(), [isa](benchmark::State& st) { bm_scan(st, isa, true); })->Arg(1)->Arg(64);
    benchmark::RegisterBenchmark(("ShortConv/" + s).c_str(), [isa](benchmark::State& st) { bm_conv(st, isa); })->Arg(1)->Arg(64);
  }
  return 0;
}();

}  // namespace
}  // namespace trident
