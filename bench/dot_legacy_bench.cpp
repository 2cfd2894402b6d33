// Single-row vec_dot of the legacy quants, per kernel table, for rows of 2048 and 4096
// elements (the float types' matrix kernels are the packed ones: matmul_bench.cpp). Throughput is reported as bytes of weights per second; both rows
// stay in L1/L2, so this measures the kernel, not DRAM.
//   trident_microbench --benchmark_filter=DotLegacy
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "tensor/types.h"

namespace trident {
namespace {

const KernelTable* table_by_isa(const char* isa) {
  for (const KernelTable* k : supported_kernel_tables())
    if (std::strcmp(k->isa, isa) == 0) return k;
  return nullptr;
}

void bm_vec_dot(benchmark::State& state, const char* isa, GgmlType t) {
  const KernelTable* k = table_by_isa(isa);
  if (!k) {
    state.SkipWithError("instruction set not supported by this CPU");
    return;
  }
  const int64_t n = state.range(0);
  const TypeTraits* tr = type_traits(t);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> wf(static_cast<size_t>(n)), xf(static_cast<size_t>(n));
  for (auto& v : wf) v = nd(rng);
  for (auto& v : xf) v = nd(rng);
  std::vector<uint8_t> w(row_bytes(t, n)), x(row_bytes(tr->vec_dot_type, n));
  tr->quantize_row(wf.data(), w.data(), n);
  k->quantize_act[uint32_t(tr->vec_dot_type)](xf.data(), x.data(), n);
  const VecDotFn dot = k->vec_dot[uint32_t(t)];
  for (auto _ : state) {
    float s;
    dot(n, &s, w.data(), x.data());
    benchmark::DoNotOptimize(s);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(w.size()));
}

// Benchmarks are registered by name only: tables and traits are looked up when they run,
// not during static initialization.
const int kRegistered = [] {
  const std::pair<GgmlType, const char*> types[] = {
      {GgmlType::Q4_0, "q4_0"}, {GgmlType::Q4_1, "q4_1"}, {GgmlType::Q5_0, "q5_0"},
      {GgmlType::Q5_1, "q5_1"}, {GgmlType::Q8_0, "q8_0"}, {GgmlType::Q8_1, "q8_1"}};
  for (const char* isa : {"scalar", "avx2", "avx512"})
    for (const auto& [t, name] : types)
      benchmark::RegisterBenchmark(("DotLegacy/" + std::string(name) + "/" + isa).c_str(),
                                   [isa, t = t](benchmark::State& s) { bm_vec_dot(s, isa, t); })
          ->Arg(2048)
          ->Arg(4096);
  return 0;
}();

}  // namespace
}  // namespace trident
