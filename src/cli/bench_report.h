// Output of `trident bench`: a markdown table (llama-bench's layout plus fusion columns),
// JSON / CSV rows with llama-bench's field names, and an SVG chart of t/s against ubatch.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "runtime/bench.h"
#include "runtime/membw.h"

namespace trident::cli {

struct BenchReport {
  std::vector<BenchModelInfo> models;
  std::vector<BenchResult> results;  // in run order
  bool show_ratio = false;           // a fusion list held both fused and off
  std::optional<MemBandwidth> membw;
  std::string kernels;               // kernel set the run used ("avx2")
};

std::string format_markdown(const BenchReport& r);
std::string format_json(const BenchReport& r);
std::string format_csv(const BenchReport& r);
// One chart per (model, test): t/s against ubatch, one line per fusion setting (and per
// thread count / cache type when those vary), with +-sd bars; fully fused lines solid, others dashed.
std::string format_svg(const BenchReport& r);

}  // namespace trident::cli
