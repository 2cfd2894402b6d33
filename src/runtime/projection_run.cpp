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

void project(const Projection& p, const float* x, int64_t ldx, int64_t n_tokens, float* y, int64_t ldy,
             const ComputeContext& cc) {
  MatmulArgs a;
  a.segments = p.segments;
  a.n_in = p.n_in;
  a.x = x;
  a.ldx = ldx;
  a.n_tokens = n_tokens;
  a.y = y;
  a.ldy = ldy;
  matmul(a, *cc.kernels, *cc.scratch, *cc.pool);
  auto add_bias = [&] {
    if (p.bias)
      for (int64_t t = 0; t < n_tokens; ++t) add_inplace(y + t * ldy, p.bias, p.n_out);
  };
  if (p.bias_before_scale) add_bias();
  // Each segment's own scale on its own columns, so a fused group's outputs get exactly the
  // arithmetic of its parts run alone.
  int64_t col = 0;
  for (const RowSegment& s : p.segments) {
    if (s.scale != 1.0f)
      for (int64_t t = 0; t < n_tokens; ++t)
        for (int64_t r = 0; r < s.rows; ++r) y[t * ldy + col + r] *= s.scale;
    col += s.rows;
  }
  if (!p.bias_before_scale) add_bias();
}

}  // namespace

void run_projection(const Projection& p, const float* x, int64_t ldx, int64_t n_tokens, float* y,
                    int64_t ldy, const ComputeContext& cc) {
  if (cc.observer) cc.observer->observe(p.segments, p.n_in, x, ldx, n_tokens, cc.routed);
  project(p, x, ldx, n_tokens, y, ldy, cc);
}

void run_group(const ProjectionGroup& g, bool fused, const float* x, int64_t ldx,
               int64_t n_tokens, float* y, int64_t ldy, const ComputeContext& cc) {
  // The parts share the input: seen once, with every part's rows, fused or not.
  if (cc.observer) cc.observer->observe(g.fused.segments, g.fused.n_in, x, ldx, n_tokens, cc.routed);
  if (fused && g.fusable) {
    project(g.fused, x, ldx, n_tokens, y, ldy, cc);
    return;
  }
  for (size_t i = 0; i < g.parts.size(); ++i)
    project(g.parts[i], x, ldx, n_tokens, y + g.part_col[i], ldy, cc);
}

}  // namespace trident
