// Decides, per projection group shape and micro-batch size, whether to run fused. Both choices
// give identical bits, so this is purely a speed decision.
//
// on/off are obeyed. auto measures: the first time a (group shape, batch-size bucket) is met,
// the group is timed both ways on its real weights; unfused is chosen only when it is clearly
// faster, and the verdict is cached on disk keyed by CPU model, kernel ISA, thread count,
// shape and bucket, so later runs on this machine skip the measurement.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/projection_run.h"

namespace trident {

struct FusionVerdict {
  bool fused = true;
  double fused_us = 0, unfused_us = 0;  // best of the timed runs
  bool from_cache = false;
};

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

  // Path of the on-disk cache: $TRIDENT_CACHE_DIR, else $XDG_CACHE_HOME/trident, else
  // ~/.cache/trident, + /fusion-calibration.json.
  static std::string cache_path();

 private:
  bool decide(FusionMode m, const char* what, const ProjectionGroup& g, int64_t n, const ComputeContext& cc);
  FusionVerdict measure(const ProjectionGroup& g, int64_t n, const ComputeContext& cc);
  void load_cache();
  void save_cache() const;

  FusionMode qkv_ = FusionMode::Auto;
  FusionMode gate_up_ = FusionMode::Auto;
  bool verbose_ = false;
  bool cache_loaded_ = false;
  bool dirty_ = false;
  std::map<std::string, FusionVerdict> verdicts_;  // key -> verdict
  std::vector<std::string> log_;
};

// Power-of-two bucket of a batch size (1, 2, 4, ... 512, 1024+): sizes in a bucket share a verdict.
int64_t batch_bucket(int64_t n_tokens);
// "q4_K:2048x2048+q4_K:512x2048+q6_K:512x2048" — what a verdict depends on besides the batch.
std::string group_shape_key(const ProjectionGroup& g);

}  // namespace trident
