#include "runtime/fusion_plan.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

namespace trident {
namespace {

// Unfused must beat fused by this factor to be chosen: fused is never slower in principle
// (one activation pass, one parallel loop), so noise should not flip the choice.
constexpr double kUnfusedMargin = 0.97;
constexpr int kTimedRuns = 5;

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      return p == std::string::npos ? line : line.substr(p + 2);
    }
  return "unknown-cpu";
}

}  // namespace

int64_t batch_bucket(int64_t n) {
  int64_t b = 1;
  while (b < n && b < 1024) b *= 2;
  return b;
}

std::string group_shape_key(const ProjectionGroup& g) {
  std::string k;
  for (const RowSegment& s : g.fused.segments)
    k += fmt::format("{}{}:{}x{}", k.empty() ? "" : "+", layout_of(s.type).name, s.rows, g.fused.n_in);
  return k;
}

FusionPlan::FusionPlan(FusionMode qkv, FusionMode gate_up, bool verbose)
    : qkv_(qkv), gate_up_(gate_up), verbose_(verbose) {}

FusionPlan::~FusionPlan() {
  if (dirty_) save_cache();
}

bool FusionPlan::fuse_qkv(const ProjectionGroup& g, int64_t n, const ComputeContext& cc) {
  return decide(qkv_, "qkv", g, n, cc);
}
bool FusionPlan::fuse_gate_up(const ProjectionGroup& g, int64_t n, const ComputeContext& cc) {
  return decide(gate_up_, "gate/up", g, n, cc);
}

std::string FusionPlan::cache_path() {
  namespace fs = std::filesystem;
  fs::path dir;
  if (const char* d = std::getenv("TRIDENT_CACHE_DIR"); d && *d) dir = d;
  else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) dir = fs::path(x) / "trident";
  else if (const char* h = std::getenv("HOME"); h && *h) dir = fs::path(h) / ".cache" / "trident";
  else dir = fs::temp_directory_path() / "trident";
  return (dir / "fusion-calibration.json").string();
}

bool FusionPlan::decide(FusionMode m, const char* what, const ProjectionGroup& g, int64_t n,
                        const ComputeContext& cc) {
  if (m != FusionMode::Auto || !g.fusable || g.parts.size() < 2) return m != FusionMode::Off;
  const std::string key = fmt::format("{}|{}|t{}|{}|b{}", cpu_model(), cc.kernels->isa, cc.n_threads,
                                      group_shape_key(g), batch_bucket(n));
  if (!cache_loaded_) load_cache();
  auto it = verdicts_.find(key);
  if (it == verdicts_.end()) {
    FusionVerdict v = measure(g, batch_bucket(n), cc);
    it = verdicts_.emplace(key, v).first;
    dirty_ = true;
  }
  const FusionVerdict& v = it->second;
  std::string line = fmt::format("{} [{}] batch {}: {} (fused {:.1f} us, unfused {:.1f} us{})", what,
                                 group_shape_key(g), batch_bucket(n), v.fused ? "fused" : "unfused",
                                 v.fused_us, v.unfused_us, v.from_cache ? ", cached" : ", measured now");
  if (std::find(log_.begin(), log_.end(), line) == log_.end()) {
    log_.push_back(line);
    if (verbose_) fmt::print(stderr, "fusion: {}\n", line);
  }
  return v.fused;
}

// Times the group both ways on its real weights with random activations, alternating so that
// drift affects both sides alike; best of kTimedRuns each.
FusionVerdict FusionPlan::measure(const ProjectionGroup& g, int64_t n, const ComputeContext& cc) {
  std::vector<float> x(size_t(n * g.fused.n_in)), y(size_t(n * g.fused.n_out));
  std::mt19937 rng(1234);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (float& v : x) v = d(rng);
  using Clock = std::chrono::steady_clock;
  auto time_one = [&](bool fused) {
    const auto t0 = Clock::now();
    run_group(g, fused, x.data(), g.fused.n_in, n, y.data(), g.fused.n_out, cc);
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  };
  time_one(true);
  time_one(false);
  FusionVerdict v;
  v.fused_us = v.unfused_us = 1e300;
  for (int r = 0; r < kTimedRuns; ++r) {
    v.fused_us = std::min(v.fused_us, time_one(true));
    v.unfused_us = std::min(v.unfused_us, time_one(false));
  }
  v.fused = !(v.unfused_us < v.fused_us * kUnfusedMargin);
  return v;
}

void FusionPlan::load_cache() {
  cache_loaded_ = true;
  std::ifstream in(cache_path());
  if (!in) return;
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    for (auto& [k, e] : j.items()) {
      FusionVerdict v;
      v.fused = e.at("fused").get<bool>();
      v.fused_us = e.at("fused_us").get<double>();
      v.unfused_us = e.at("unfused_us").get<double>();
      v.from_cache = true;
      verdicts_[k] = v;
    }
  } catch (const std::exception& e) {
    // A damaged cache only costs a re-measurement.
    verdicts_.clear();
    if (verbose_) fmt::print(stderr, "fusion: ignoring unreadable cache {}: {}\n", cache_path(), e.what());
  }
}

void FusionPlan::save_cache() const {
  namespace fs = std::filesystem;
  try {
    const fs::path p = cache_path();
    fs::create_directories(p.parent_path());
    nlohmann::json j = nlohmann::json::object();
    // Merge with what another process may have written meanwhile.
    if (std::ifstream in(p); in) {
      try { j = nlohmann::json::parse(in); } catch (...) { j = nlohmann::json::object(); }
    }
    for (const auto& [k, v] : verdicts_)
      j[k] = {{"fused", v.fused}, {"fused_us", v.fused_us}, {"unfused_us", v.unfused_us}};
    const fs::path tmp = p.string() + ".tmp-" + std::to_string(::getpid());
    { std::ofstream(tmp) << j.dump(1) << "\n"; }
    fs::rename(tmp, p);
  } catch (const std::exception& e) {
    if (verbose_) fmt::print(stderr, "fusion: could not save the calibration cache: {}\n", e.what());
  }
}

std::string FusionPlan::describe() const {
  auto mode = [](const char* what, FusionMode m) {
    return m == FusionMode::Auto
               ? fmt::format("{}: auto (measured per shape and batch size; cache {})", what, cache_path())
               : fmt::format("{}: {} (forced)", what, fusion_mode_name(m));
  };
  std::string s = mode("fuse-qkv", qkv_) + "\n" + mode("fuse-gate-up", gate_up_);
  for (const auto& l : log_) s += "\n  " + l;
  return s;
}

}  // namespace trident
