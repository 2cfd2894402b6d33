// Decides, per projection group and micro-batch size, whether to run fused. Both choices give
// identical bits, so this is purely a speed decision.
#pragma once
#include <cstdint>
#include <string>

#include "model/projection.h"

namespace trident {

class FusionPlan {
 public:
  FusionPlan() = default;
  FusionPlan(FusionMode qkv, FusionMode gate_up) : qkv_(qkv), gate_up_(gate_up) {}
  bool fuse_qkv(int64_t n_tokens) const { return decide(qkv_, n_tokens); }
  bool fuse_gate_up(int64_t n_tokens) const { return decide(gate_up_, n_tokens); }
  FusionMode qkv_mode() const { return qkv_; }
  FusionMode gate_up_mode() const { return gate_up_; }
  // One line per choice, for --verbose.
  std::string describe() const;

 private:
  // Auto falls back to fused when it has no measurement saying otherwise.
  static bool decide(FusionMode m, int64_t) { return m != FusionMode::Off; }
  FusionMode qkv_ = FusionMode::Auto;
  FusionMode gate_up_ = FusionMode::Auto;
};

}  // namespace trident
