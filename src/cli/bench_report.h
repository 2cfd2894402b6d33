// Output of `trident bench`: llama-bench's formats (a markdown table with fusion columns added,
// CSV, JSON, JSON lines and SQL rows with llama-bench's field names), printed row by row as
// each result is measured (bench_output.cpp), and an SVG chart (bench_plot.cpp).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "runtime/bench.h"
#include "runtime/membw.h"

namespace trident::cli {

// One row of `llama-bench -o json`, matched to trident's rows by file name, test, threads and
// (for prompt tests) ubatch.
struct LlamaBenchRow {
  std::string model_file;  // file name without its directory
  int64_t n_prompt = 0, n_gen = 0, n_ubatch = 0;
  int n_threads = 0;
  double avg_ts = 0;
};
// Reads llama-bench's JSON output; Error naming the file, row and field when it is not that.
std::vector<LlamaBenchRow> read_llama_bench_json(const std::string& path);

// Everything the formats print besides the rows. The column choices are fixed before the
// first row is measured, so rows can be printed as they come.
struct BenchReport {
  std::vector<BenchModelInfo> models;
  std::vector<BenchResult> results;  // in the order they were printed
  bool show_ratio = false;           // a fusion list held both fused and off
  bool show_kv = false;              // a K/V cache type other than f16 was asked for
  std::optional<MemBandwidth> membw;
  std::string kernels;               // kernel set the run used ("avx2")
  std::string build_commit;          // git commit of this binary
  // For the chart's header.
  std::string cpu;                   // CPU model name
  int repetitions = 0;
  std::vector<LlamaBenchRow> llama;  // llama.cpp's speeds on the same files (--plot-llama)
};

// "md", "csv", "json", "jsonl", "sql"; Error for anything else.
void check_bench_format(const std::string& format);

// Writes one format incrementally: row() for each result as it arrives (the first call adds
// the header), finish() once at the end (closing bracket, markdown footer).
class BenchPrinter {
 public:
  explicit BenchPrinter(std::string format) : format_(std::move(format)) {}
  std::string row(const BenchReport& r, const BenchResult& x);
  std::string finish(const BenchReport& r);

 private:
  std::string format_;
  size_t rows_ = 0;
};

// The whole report in one format: every row, then the end.
std::string format_report(const BenchReport& r, const std::string& format);

// The chart: a header with the run's metadata; per model and prompt test, t/s against ubatch
// (one colour per configuration, fused solid, unfused dashed, llama.cpp dotted) over a ratio
// panel (fused / unfused, trident / llama.cpp); per generation test, one bar per series.
std::string format_svg(const BenchReport& r);

}  // namespace trident::cli
