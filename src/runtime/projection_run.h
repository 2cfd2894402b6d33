// Running projections: one matmul over a projection's row segments, or a group fused or part
// by part (model/projection.h holds the weights as views).
#pragma once
#include <cstdint>

#include "kernels/matmul.h"
#include "model/projection.h"

namespace trident {

enum class FusionMode : uint8_t { Off, On, Auto };
const char* fusion_mode_name(FusionMode m);

// Everything one matmul call needs besides the weights.
struct ComputeContext {
  const KernelTable* kernels = nullptr;
  ActivationScratch* scratch = nullptr;
  ThreadPool* pool = nullptr;  // runs every parallel loop of the session
};

// y[t, 0:n_out] = W x[t] (+ bias). x: [n_tokens, ldx]; y: [n_tokens, ldy].
void run_projection(const Projection& p, const float* x, int64_t ldx, int64_t n_tokens, float* y,
                    int64_t ldy, const ComputeContext& cc);
// Runs the group fused or part by part; the output columns and bits are the same either way.
void run_group(const ProjectionGroup& g, bool fused, const float* x, int64_t ldx,
               int64_t n_tokens, float* y, int64_t ldy, const ComputeContext& cc);

}  // namespace trident
