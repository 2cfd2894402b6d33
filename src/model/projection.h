// Linear projections as lists of row segments, and groups of projections that share an
// input (Q/K/V, gate/up) and may run fused.
//
// A ProjectionGroup holds the same weight bytes two ways: `fused`, one projection over all
// parts' segments, and `parts`, one projection per output. Both are views of the mmapped
// tensors, so keeping both costs nothing and the choice can be made per call.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/matmul.h"

namespace trident {

enum class FusionMode : uint8_t { Off, On, Auto };
const char* fusion_mode_name(FusionMode m);

struct Projection {
  std::vector<RowSegment> segments;
  const float* bias = nullptr;  // [n_out] or nullptr
  int64_t n_in = 0;
  int64_t n_out = 0;
};

struct ProjectionGroup {
  Projection fused;                 // all parts, in order
  std::vector<Projection> parts;    // one per output (Q, K, V / gate, up)
  std::vector<int64_t> part_col;    // first output column of each part
  std::vector<std::string> part_names;
  bool from_fused_tensor = false;   // the file stored the parts as one tensor
  bool fusable = true;              // false when a part is missing
  std::string why_not;              // reason when not fusable
  int64_t n_out() const { return fused.n_out; }
  bool mixed_types() const;
};

// Everything one matmul call needs besides the weights.
struct ComputeContext {
  const KernelTable* kernels = nullptr;
  ActivationScratch* scratch = nullptr;
  int n_threads = 1;
};

// y[t, 0:n_out] = W x[t] (+ bias). x: [n_tokens, ldx]; y: [n_tokens, ldy].
void run_projection(const Projection& p, const float* x, int64_t ldx, int64_t n_tokens, float* y,
                    int64_t ldy, const ComputeContext& cc);
// Runs the group fused or part by part; the output columns and bits are the same either way.
void run_group(const ProjectionGroup& g, bool fused, const float* x, int64_t ldx,
               int64_t n_tokens, float* y, int64_t ldy, const ComputeContext& cc);

}  // namespace trident
