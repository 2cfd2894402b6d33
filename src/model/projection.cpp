#include "model/projection.h"

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

bool ProjectionGroup::mixed_types() const {
  for (const RowSegment& s : fused.segments)
    if (s.type != fused.segments.front().type) return true;
  return false;
}

void run_projection(const Projection& p, const float* x, int64_t ldx, int64_t n_tokens, float* y,
                    int64_t ldy, const ComputeContext& cc) {
  MatmulArgs a;
  a.segments = p.segments;
  a.n_in = p.n_in;
  a.x = x;
  a.ldx = ldx;
  a.n_tokens = n_tokens;
  a.y = y;
  a.ldy = ldy;
  matmul(a, *cc.kernels, *cc.scratch, cc.n_threads);
  if (p.bias)
    for (int64_t t = 0; t < n_tokens; ++t) add_inplace(y + t * ldy, p.bias, p.n_out);
}

void run_group(const ProjectionGroup& g, bool fused, const float* x, int64_t ldx,
               int64_t n_tokens, float* y, int64_t ldy, const ComputeContext& cc) {
  if (fused && g.fusable) {
    run_projection(g.fused, x, ldx, n_tokens, y, ldy, cc);
    return;
  }
  for (size_t i = 0; i < g.parts.size(); ++i)
    run_projection(g.parts[i], x, ldx, n_tokens, y + g.part_col[i], ldy, cc);
}

}  // namespace trident
