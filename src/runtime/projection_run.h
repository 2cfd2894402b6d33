// Running projections: one matmul over a projection's row segments, or a group fused or part
// by part (model/projection.h holds the weights as views).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/matmul.h"
#include "model/projection.h"

namespace trident {

enum class FusionMode : uint8_t { Off, On, Auto };
const char* fusion_mode_name(FusionMode m);

// Sees the input of every weight product (`trident imatrix` collects its statistics so).
// Called on the calling thread before the product, once per input: a group is seen once with
// all its parts' segments, whether it then runs fused or part by part.
class ProjectionObserver {
 public:
  virtual ~ProjectionObserver() = default;
  // x: [n_tokens, ldx], its first n_in columns multiplied with the rows of `segs`. routed: the
  // tokens are those a router sent to the one expert the segments belong to.
  virtual void observe(std::span<const RowSegment> segs, int64_t n_in, const float* x, int64_t ldx,
                       int64_t n_tokens, bool routed) = 0;
};

// Everything one matmul call needs besides the weights.
struct ComputeContext {
  const KernelTable* kernels = nullptr;
  ActivationScratch* scratch = nullptr;
  ThreadPool* pool = nullptr;  // runs every parallel loop of the session
  ProjectionObserver* observer = nullptr;  // nullptr (always, but in `trident imatrix`)
  bool routed = false;  // the calls run one expert over its routed tokens (for the observer)
};

// Several projections with their own inputs and outputs run by one matmul_many: the experts
// a token was routed to, each product too small to keep two threads busy between barriers.
// Every output has the bits run_projection / run_group give it alone. The observer sees each
// input when it is added; the inputs must stay valid, and no input may be another's output,
// until run().
class ProjectionBatch {
 public:
  explicit ProjectionBatch(const ComputeContext& cc) : cc_(cc) {}
  void add(const Projection& p, const float* x, int64_t ldx, int64_t n_tokens, float* y, int64_t ldy);
  void add_group(const ProjectionGroup& g, bool fused, const float* x, int64_t ldx, int64_t n_tokens,
                 float* y, int64_t ldy);
  void run();  // then empty again

 private:
  const ComputeContext& cc_;
  std::vector<const Projection*> projections_;
  std::vector<MatmulArgs> calls_;
};

// y[t, 0:n_out] = W x[t] (+ bias). x: [n_tokens, ldx]; y: [n_tokens, ldy].
void run_projection(const Projection& p, const float* x, int64_t ldx, int64_t n_tokens, float* y,
                    int64_t ldy, const ComputeContext& cc);
// Runs the group fused or part by part; the output columns and bits are the same either way.
void run_group(const ProjectionGroup& g, bool fused, const float* x, int64_t ldx,
               int64_t n_tokens, float* y, int64_t ldy, const ComputeContext& cc);

}  // namespace trident
