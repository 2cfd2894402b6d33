#include "runtime/fusion_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

namespace trident {
namespace {

// Timed runs of each path: at least kMinRuns, then more while the measurement has taken less
// than kBudgetUs, up to kMaxRuns (fast groups get more samples, slow ones stay affordable).
constexpr int kMinRuns = 7;
constexpr int kMaxRuns = 31;
constexpr double kBudgetUs = 150'000;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

double mann_whitney_p(std::span<const double> a, std::span<const double> b) {
  const size_t na = a.size(), nb = b.size(), n = na + nb;
  if (na == 0 || nb == 0) return 1.0;
  std::vector<std::pair<double, bool>> all;  // (value, from a)
  for (double x : a) all.push_back({x, true});
  for (double x : b) all.push_back({x, false});
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  // Ranks 1..n, ties sharing their average rank; the tie term corrects the variance.
  double rank_sum_a = 0, ties = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && all[j].first == all[i].first) ++j;
    const double rank = double(i + 1 + j) / 2, t = double(j - i);
    for (size_t k = i; k < j; ++k)
      if (all[k].second) rank_sum_a += rank;
    ties += t * t * t - t;
    i = j;
  }
  const double u = rank_sum_a - double(na) * double(na + 1) / 2;
  const double mean = double(na) * double(nb) / 2;
  const double var = double(na) * double(nb) / 12 * (double(n + 1) - ties / (double(n) * double(n - 1)));
  if (var <= 0) return 1.0;  // every value equal
  const double z = std::max(0.0, std::abs(u - mean) - 0.5) / std::sqrt(var);  // continuity-corrected
  return std::erfc(z / std::sqrt(2.0));
}

FusionVerdict decide_fusion(std::span<const double> fused_us, std::span<const double> unfused_us) {
  FusionVerdict v;
  v.runs = int(std::min(fused_us.size(), unfused_us.size()));
  if (v.runs < 3) return v;
  v.fused_us = median({fused_us.begin(), fused_us.end()});
  v.unfused_us = median({unfused_us.begin(), unfused_us.end()});
  v.p_value = mann_whitney_p(fused_us, unfused_us);
  v.fused = !(v.unfused_us < v.fused_us && v.p_value < kFusionSignificance);
  return v;
}

std::string explain_verdict(const FusionVerdict& v) {
  const bool significant = v.p_value < kFusionSignificance;
  const char* why = !v.fused                           ? "unfused significantly faster"
                    : significant && v.fused_us < v.unfused_us ? "fused significantly faster"
                                                               : "within noise: fused";
  return fmt::format("{}: medians {:.1f} us fused, {:.1f} us unfused, {} interleaved runs each; "
                     "Mann-Whitney p = {:.2g} ({})",
                     v.fused ? "fused" : "unfused", v.fused_us, v.unfused_us, v.runs, v.p_value, why);
}

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
  if (!dirty_ || !cache_) return;
  for (const auto& [k, v] : verdicts_)
    if (!v.from_cache) cache_->put(k, v);
  if (auto w = cache_->save(unix_now()); w && verbose_) fmt::print(stderr, "fusion: {}\n", *w);
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
  // The hot path (every layer, every micro-batch): one lookup by group and bucket.
  const int64_t bucket = batch_bucket(n);
  if (auto q = decided_.find({&g, bucket}); q != decided_.end()) return q->second;
  static const std::string cpu = cpu_model_name();
  const std::string shape = group_shape_key(g);
  const std::string key = calibration_key(cpu, cc.kernels->isa, calibration_build_id(), cc.pool->size(), shape, bucket);
  auto it = verdicts_.find(key);  // another layer of the same shape was decided already
  if (it == verdicts_.end()) {
    if (!cache_) {
      cache_.emplace(cache_path());
      if (auto w = cache_->load()) fmt::print(stderr, "trident: warning: {}\n", *w);
    }
    std::optional<FusionVerdict> v = cache_->find(key, unix_now());
    if (!v) {
      v = measure(g, bucket, cc);
      dirty_ = true;
    }
    it = verdicts_.emplace(key, *v).first;
    const std::string line = fmt::format("{} [{}] batch {}: {} ({})", what, shape, bucket, explain_verdict(*v),
                                         v->from_cache ? "cached" : "measured now");
    log_.push_back(line);
    if (verbose_) fmt::print(stderr, "fusion: {}\n", line);
  }
  decided_[{&g, bucket}] = it->second.fused;
  return it->second.fused;
}

// Times the group both ways on its real weights with random activations, alternating in the
// order F U U F F U U F ... so that a drift of the host's speed affects both sides alike.
FusionVerdict FusionPlan::measure(const ProjectionGroup& g, int64_t n, const ComputeContext& session_cc) {
  ComputeContext cc = session_cc;
  cc.observer = nullptr;  // random activations are not the model's: no observer sees them
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
  time_one(true);  // untimed: pages in the weights, sizes the scratch buffers
  time_one(false);
  std::vector<double> fused, unfused;
  double spent = 0;
  for (int r = 0; r < kMaxRuns && (r < kMinRuns || spent < kBudgetUs); ++r) {
    const bool fused_first = r % 2 == 0;
    const double a = time_one(fused_first), b = time_one(!fused_first);
    fused.push_back(fused_first ? a : b);
    unfused.push_back(fused_first ? b : a);
    spent += a + b;
  }
  FusionVerdict v = decide_fusion(fused, unfused);
  v.measured_at = unix_now();
  return v;
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
