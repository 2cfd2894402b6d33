#include "runtime/fusion_plan.h"

#include <fmt/format.h>

namespace trident {

std::string FusionPlan::describe() const {
  auto one = [](const char* what, FusionMode m) {
    if (m == FusionMode::Auto)
      return fmt::format("{}: auto -> fused (no calibration says unfused is faster)", what);
    return fmt::format("{}: {} (forced)", what, fusion_mode_name(m));
  };
  return one("fuse-qkv", qkv_) + "\n" + one("fuse-gate-up", gate_up_);
}

}  // namespace trident
