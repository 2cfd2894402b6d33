// Throughput measurement with llama-bench's conventions: a prompt test evaluates n_prompt
// tokens in one eval call (split into n_ubatch micro-batches), a generation test decodes n_gen
// tokens one at a time, and a combined test does both; each is timed as a whole, repeated, and
// reported as tokens per second (mean and sample standard deviation over the repetitions).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"
#include "runtime/session.h"

namespace trident {

// What the report says about a model file.
struct BenchModelInfo {
  std::string filename;
  std::string type;          // "llama 1.2B Q8_0": architecture, size, file type
  uint64_t size = 0;         // bytes of all tensors
  uint64_t n_params = 0;
  uint64_t weight_bytes = 0; // bytes read per generated token (Model::weight_bytes)
  double load_seconds = 0;   // Model::load, repacking included (set by the caller)
  uint64_t packed_bytes = 0; // weights copied into the packed layout at load
  double pack_seconds = 0;
};
BenchModelInfo describe_model(const Model& m, const std::string& filename);

// One parameter combination and test.
struct BenchCase {
  size_t model = 0;  // index into the run's models
  int n_threads = 1;
  int64_t n_ubatch = 512;
  KvType k_type = KvType::F16, v_type = KvType::F16;
  FusionMode fuse_qkv = FusionMode::On, fuse_gate_up = FusionMode::On;
  int64_t n_prompt = 0, n_gen = 0;
  int64_t n_depth = 0;  // tokens in the context before the timed part (evaluated untimed)
};
// "pp512", "tg128", "pp512+tg128"; with a depth, llama-bench's "pp512 @ d4096".
std::string bench_test_name(int64_t n_prompt, int64_t n_gen, int64_t n_depth = 0);

// The lists a bench run crosses; every combination of every list is one case per test.
struct BenchGrid {
  std::vector<int> threads;
  std::vector<int64_t> ubatch;
  std::vector<KvType> k_types, v_types;
  std::vector<FusionMode> fuse_qkv, fuse_gate_up;
  std::vector<std::pair<int64_t, int64_t>> tests;  // (n_prompt, n_gen)
  std::vector<int64_t> depths = {0};
};
// Cases for one model, in report order.
std::vector<BenchCase> expand_grid(const BenchGrid& g, size_t model);

struct BenchResult {
  BenchCase c;
  std::string test_time;             // RFC 3339, UTC, when the case started
  std::vector<uint64_t> samples_ns;  // one per repetition
  std::vector<double> samples_ts;    // tokens per second per repetition
  double avg_ns = 0, stddev_ns = 0, avg_ts = 0, stddev_ts = 0;
  std::optional<double> ratio;         // t/s over the unfused case's with all else equal
  std::optional<double> roofline_pct;  // generation: weight bytes * t/s over memory bandwidth
  std::vector<std::string> fusion_verdicts;  // what `auto` chose and why (FusionPlan::verdict_lines)
};

struct BenchRunOptions {
  int repetitions = 5;
  bool warmup = true;
  std::function<void(int rep)> on_repetition;  // progress; rep counts from 1
};

// Times cases together, repetition by repetition (A B A B ...), each on a fresh Session of its
// own, so that a slow drift of the machine (another tenant, page merging, clocks) affects them
// alike; one case is a list of one. Token ids follow a fixed pattern (no randomness), so runs
// are repeatable. Throws Error for invalid options. Results in cs order.
std::vector<BenchResult> run_bench_interleaved(const Model& m, const std::vector<BenchCase>& cs,
                                               const BenchRunOptions& opt);

double mean(const std::vector<double>& v);
double sample_stddev(const std::vector<double>& v);  // n - 1 denominator; 0 for fewer than 2

// Fills `ratio` on every result whose unfused twin was measured. The baseline of a result sets
// to off each fusion dimension whose list holds both a fused (on/auto) and an off value.
void fill_ratios(std::vector<BenchResult>& rs, bool qkv_varies, bool gate_up_varies);
bool fusion_list_varies(const std::vector<FusionMode>& modes);
// Fills `roofline_pct` on generation-only results (n_prompt == 0).
void fill_rooflines(std::vector<BenchResult>& rs, const std::vector<BenchModelInfo>& models, double gb_per_s);

// "f16" / "f32", as llama-bench prints type_k and type_v.
const char* bench_kv_type_name(KvType t);

}  // namespace trident
