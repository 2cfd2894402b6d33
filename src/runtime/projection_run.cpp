#include "runtime/projection_run.h"

#include "kernels/ops.h"

namespace trident {

const char* fusion_mode_name(FusionMode m) {
  switch (m) {
    case FusionMode::Off: return "off";
    case FusionMode::On: return "on";
    case FusionMode::Auto: return "auto";
  }
  return "?";
}

namespace {

MatmulArgs call_of(const Projection& p, const float* x, int64_t ldx, int64_t n_tokens, float* y, int64_t ldy) {
  MatmulArgs a;
  a.segments = p.segments;
  a.n_in = p.n_in;
  a.x = x;
  a.ldx = ldx;
  a.n_tokens = n_tokens;
  a.y = y;
  a.ldy = ldy;
  return a;
}

// The bias and the per-segment scales after the product.
void finish(const Projection& p, const MatmulArgs& a) {
  auto add_bias = [&] {
    if (p.bias)
      for (int64_t t = 0; t < a.n_tokens; ++t) add_inplace(a.y + t * a.ldy, p.bias, p.n_out);
  };
  if (p.bias_before_scale) add_bias();
  // Each segment's own scale on its own columns, so a fused group's outputs get exactly the
  // arithmetic of its parts run alone.
  int64_t col = 0;
  for (const RowSegment& s : p.segments) {
    if (s.scale != 1.0f)
      for (int64_t t = 0; t < a.n_tokens; ++t)
        for (int64_t r = 0; r < s.rows; ++r) a.y[t * a.ldy + col + r] *= s.scale;
    col += s.rows;
  }
  if (!p.bias_before_scale) add_bias();
}

void project(const Projection& p, const float* x, int64_t ldx, int64_t n_tokens, float* y, int64_t ldy,
             const ComputeContext& cc) {
  const MatmulArgs a = call_of(p, x, ldx, n_tokens, y, ldy);
  matmul(a, *cc.kernels, *cc.scratch, *cc.pool);
  finish(p, a);
}

// A group's products, fused or part by part: each(projection, its first output column). The
// parts share the input, which the observer sees once, with every part's rows, either way.
template <class Each>
void group_products(const ProjectionGroup& g, bool fused, const float* x, int64_t ldx, int64_t n_tokens,
                    float* y, const ComputeContext& cc, Each each) {
  if (cc.observer) cc.observer->observe(g.fused.segments, g.fused.n_in, x, ldx, n_tokens, cc.routed);
  if (fused && g.fusable) return each(g.fused, y);
  for (size_t i = 0; i < g.parts.size(); ++i) each(g.parts[i], y + g.part_col[i]);
}

}  // namespace

void run_projection(const Projection& p, const float* x, int64_t ldx, int64_t n_tokens, float* y,
                    int64_t ldy, const ComputeContext& cc) {
  if (cc.observer) cc.observer->observe(p.segments, p.n_in, x, ldx, n_tokens, cc.routed);
  project(p, x, ldx, n_tokens, y, ldy, cc);
}

void run_group(const ProjectionGroup& g, bool fused, const float* x, int64_t ldx,
               int64_t n_tokens, float* y, int64_t ldy, const ComputeContext& cc) {
  group_products(g, fused, x, ldx, n_tokens, y, cc,
                 [&](const Projection& p, float* out) { project(p, x, ldx, n_tokens, out, ldy, cc); });
}

void ProjectionBatch::add(const Projection& p, const float* x, int64_t ldx, int64_t n_tokens, float* y,
                          int64_t ldy) {
  if (cc_.observer) cc_.observer->observe(p.segments, p.n_in, x, ldx, n_tokens, cc_.routed);
  projections_.push_back(&p);
  calls_.push_back(call_of(p, x, ldx, n_tokens, y, ldy));
}

void ProjectionBatch::add_group(const ProjectionGroup& g, bool fused, const float* x, int64_t ldx,
                                int64_t n_tokens, float* y, int64_t ldy) {
  group_products(g, fused, x, ldx, n_tokens, y, cc_, [&](const Projection& p, float* out) {
    projections_.push_back(&p);
    calls_.push_back(call_of(p, x, ldx, n_tokens, out, ldy));
  });
}

void ProjectionBatch::run() {
  matmul_many(calls_, *cc_.kernels, *cc_.scratch, *cc_.pool);
  for (size_t c = 0; c < calls_.size(); ++c) finish(*projections_[c], calls_[c]);
  projections_.clear();
  calls_.clear();
}

}  // namespace trident
