// matmul of one 2048 x 2048 weight against 1, 64 and 512 tokens, per kernel table and
// weight type, on 1 and 2 threads. For the packable types it runs with the weight packed
// once as at load ("packed") and packed tile by tile on the fly ("on_the_fly", what
// --repack off does); the other types have one row-by-row path ("rows"). Reports GFLOP/s
// (2 * n * rows * tokens per call; activation quantization included, as in the model) and
// the weight bytes streamed per second.
//   trident_microbench --benchmark_filter=Matmul
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "tensor/repack.h"
#include "tensor/types.h"

namespace trident {
namespace {

constexpr int64_t kN = 2048, kRows = 2048;

const KernelTable* table_by_isa(const char* isa) {
  for (const KernelTable* k : supported_kernel_tables())
    if (std::strcmp(k->isa, isa) == 0) return k;
  return nullptr;
}

void bm_matmul(benchmark::State& state, const char* isa, GgmlType t, bool pack) {
  const KernelTable* k = table_by_isa(isa);
  if (!k) {
    state.SkipWithError("instruction set not supported by this CPU");
    return;
  }
  const int64_t tokens = state.range(0);
  const int threads = int(state.range(1));
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const size_t rb = row_bytes(t, kN);
  std::vector<uint8_t> w(rb * kRows);
  std::vector<float> f(kN);
  for (int64_t r = 0; r < kRows; ++r) {
    for (auto& v : f) v = nd(rng);
    if (type_traits(t)->quantize_row)
      type_traits(t)->quantize_row(f.data(), w.data() + size_t(r) * rb, kN);
    else  // the grid i-quants have no quantizer: random blocks (every byte pattern decodes)
      for (size_t i = 0; i < rb; ++i) w[size_t(r) * rb + i] = uint8_t(rng());
  }
  std::vector<uint8_t> packed;
  if (pack) {
    const size_t gb = packed_group_bytes(t, kN);
    packed.resize(gb * size_t(kRows / kPackRows));
    for (int64_t g = 0; g < kRows / kPackRows; ++g)
      pack_group(t, w.data() + size_t(g * kPackRows) * rb, rb, kPackRows, kN, packed.data() + size_t(g) * gb);
  }
  std::vector<float> x(size_t(kN * tokens)), y(size_t(kRows * tokens));
  for (auto& v : x) v = nd(rng);
  const RowSegment seg{t, w.data(), kRows, rb, pack ? packed.data() : nullptr};
  ActivationScratch scratch;
  const MatmulArgs args{std::span<const RowSegment>(&seg, 1), kN, x.data(), kN, tokens, y.data(), kRows};
  ThreadPool pool(threads);
  for (auto _ : state) {
    matmul(args, *k, scratch, pool);
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      double(state.iterations()) * 2.0 * double(kN) * double(kRows) * double(tokens) * 1e-9,
      benchmark::Counter::kIsRate);
  state.counters["weight_GB/s"] =
      benchmark::Counter(double(state.iterations()) * double(w.size()) * 1e-9, benchmark::Counter::kIsRate);
}

// Registered by name; tables are looked up when a benchmark runs.
int register_all() {
  const GgmlType types[] = {GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q8_0,
                            GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q5_0,
                            GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_1, GgmlType::Q5_1,
                            GgmlType::IQ4_NL, GgmlType::IQ4_XS, GgmlType::MXFP4, GgmlType::NVFP4,
                            GgmlType::TQ1_0, GgmlType::TQ2_0, GgmlType::Q1_0, GgmlType::Q2_0,
                            GgmlType::IQ2_XXS, GgmlType::IQ2_XS, GgmlType::IQ2_S, GgmlType::IQ3_XXS,
                            GgmlType::IQ3_S, GgmlType::IQ1_S, GgmlType::IQ1_M};
  for (const char* isa : {"scalar", "avx2", "avx512"})
    for (GgmlType t : types)
      for (bool pack : {true, false}) {
        if (pack && !packable(t)) continue;
        const char* path = packable(t) ? (pack ? "packed" : "on_the_fly") : "rows";
        const std::string nm = std::string("Matmul/") + isa + "/" + layout_of(t).name.data() + "/" + path;
        benchmark::RegisterBenchmark(nm.c_str(), bm_matmul, isa, t, pack)
            ->ArgNames({"tokens", "threads"})
            ->ArgsProduct({{1, 64, 512}, {1, 2}})
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
  return 0;
}
const int kRegistered = register_all();

}  // namespace
}  // namespace trident
