// Decides, per projection group shape and micro-batch size, whether to run fused. Both choices
// give identical bits, so this is purely a speed decision.
//
// on/off are obeyed. auto measures: the first time a (group shape, batch-size bucket) is met,
// the group is timed on its real weights fused and unfused alternately (F U U F F U ...), and
// the two samples are compared with a two-sided Mann–Whitney U test. Unfused is chosen only
// when it is faster and the test says the difference is not noise (p < kFusionSignificance);
// otherwise fused, which is never slower in principle (one activation pass, one parallel loop).
// Verdicts are cached on disk (runtime/fusion_cache.h: keyed by CPU, kernels, build, threads,
// shape and bucket; they expire after a week), so later runs on this machine skip the timing.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/fusion_cache.h"
#include "runtime/projection_run.h"

namespace trident {

constexpr double kFusionSignificance = 0.01;

// The decision on interleaved samples (microseconds, any order): medians, the test's p-value,
// and fused unless unfused is significantly faster. Fewer than 3 samples a side: fused.
FusionVerdict decide_fusion(std::span<const double> fused_us, std::span<const double> unfused_us);
// Two-sided p-value of the Mann–Whitney U test (normal approximation, tie-corrected).
double mann_whitney_p(std::span<const double> a, std::span<const double> b);
// "fused: medians 10.0 us fused, 10.2 us unfused, 15 interleaved runs each; Mann–Whitney
// p = 0.41 (within noise: fused)".
std::string explain_verdict(const FusionVerdict& v);

class FusionPlan {
 public:
  FusionPlan() = default;
  FusionPlan(FusionMode qkv, FusionMode gate_up, bool verbose);
  ~FusionPlan();

  // Whether to run group g fused for a call over n_tokens rows.
  bool fuse_qkv(const ProjectionGroup& g, int64_t n_tokens, const ComputeContext& cc);
  bool fuse_gate_up(const ProjectionGroup& g, int64_t n_tokens, const ComputeContext& cc);
  FusionMode qkv_mode() const { return qkv_; }
  FusionMode gate_up_mode() const { return gate_up_; }
  std::string describe() const;  // modes and every verdict so far, one per line
  const std::vector<std::string>& verdict_lines() const { return log_; }  // the `auto` verdicts

  // Path of the on-disk cache: $TRIDENT_CACHE_DIR, else $XDG_CACHE_HOME/trident, else
  // ~/.cache/trident, + /fusion-calibration.json.
  static std::string cache_path();

 private:
  bool decide(FusionMode m, const char* what, const ProjectionGroup& g, int64_t n, const ComputeContext& cc);
  FusionVerdict measure(const ProjectionGroup& g, int64_t n, const ComputeContext& cc);

  FusionMode qkv_ = FusionMode::Auto;
  FusionMode gate_up_ = FusionMode::Auto;
  bool verbose_ = false;
  std::optional<CalibrationCache> cache_;  // loaded on the first auto decision
  bool dirty_ = false;
  std::map<std::string, FusionVerdict> verdicts_;             // key -> verdict, this session
  std::map<std::pair<const ProjectionGroup*, int64_t>, bool> decided_;  // (group, bucket) -> fused
  std::vector<std::string> log_;
};

// Power-of-two bucket of a batch size (1, 2, 4, ... 512, 1024+): sizes in a bucket share a verdict.
int64_t batch_bucket(int64_t n_tokens);
// "q4_K:2048x2048+q4_K:512x2048+q6_K:512x2048" — what a verdict depends on besides the batch.
std::string group_shape_key(const ProjectionGroup& g);

}  // namespace trident
