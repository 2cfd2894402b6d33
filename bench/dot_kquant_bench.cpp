// Micro-benchmarks of the K-quant and grid i-quant kernels of every kernel table this CPU supports:
//   vec_dot/<type>/<isa>/<n>  one weight row . one Q8_K row (bytes/s = weight bytes)
//   quantize_q8_K/<isa>/<n>   F32 activations -> Q8_K (bytes/s = F32 bytes read)
// Rows are small enough to stay in L1/L2, so these measure the kernels, not DRAM.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "tensor/blocks.h"
#include "tensor/quant_fns.h"
#include "tensor/types.h"

namespace trident {
namespace {

constexpr GgmlType kWeightTypes[] = {GgmlType::Q2_K,    GgmlType::Q3_K,   GgmlType::Q4_K,  GgmlType::Q5_K,
                                     GgmlType::Q6_K,    GgmlType::IQ2_XXS, GgmlType::IQ2_XS, GgmlType::IQ2_S,
                                     GgmlType::IQ3_XXS, GgmlType::IQ3_S,  GgmlType::IQ1_S, GgmlType::IQ1_M};
constexpr int64_t kLengths[] = {2048, 4096, 8192};

std::vector<float> random_row(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = dist(rng);
  return x;
}

void bench_vec_dot(benchmark::State& state, const KernelTable* table, GgmlType type, int64_t n) {
  const std::vector<float> wf = random_row(n, 1), xf = random_row(n, 2);
  std::vector<uint8_t> w(row_bytes(type, n));
  if (type_traits(type)->quantize_row) {
    type_traits(type)->quantize_row(wf.data(), w.data(), n);
  } else {  // the grid i-quants have no quantizer: random blocks (any bytes decode), for timing
    std::mt19937 rng(4);
    for (auto& b : w) b = uint8_t(rng());
  }
  std::vector<BlockQ8_K> x(static_cast<size_t>(n / QK_K));
  quantize_row_q8_K(xf.data(), x.data(), n);
  const VecDotFn fn = table->vec_dot[uint32_t(type)];
  for (auto _ : state) {
    float s;
    fn(n, &s, w.data(), x.data());
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(w.size()));
}

void bench_quantize_q8_K(benchmark::State& state, const KernelTable* table, int64_t n) {
  const std::vector<float> xf = random_row(n, 3);
  std::vector<BlockQ8_K> x(static_cast<size_t>(n / QK_K));
  const QuantizeRowFn fn = table->quantize_act[uint32_t(GgmlType::Q8_K)];
  for (auto _ : state) {
    fn(xf.data(), x.data(), n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * n * int64_t(sizeof(float)));
}

const bool kRegistered = [] {
  for (const KernelTable* table : supported_kernel_tables()) {
    for (GgmlType type : kWeightTypes)
      for (int64_t n : kLengths) {
        const std::string name = "vec_dot/" + std::string(layout_of(type).name) + "/" + table->isa +
                                 "/" + std::to_string(n);
        benchmark::RegisterBenchmark(name.c_str(), bench_vec_dot, table, type, n);
      }
    for (int64_t n : kLengths) {
      const std::string name = "quantize_q8_K/" + std::string(table->isa) + "/" + std::to_string(n);
      benchmark::RegisterBenchmark(name.c_str(), bench_quantize_q8_K, table, n);
    }
  }
  return true;
}();

}  // namespace
}  // namespace trident
