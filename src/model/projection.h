// Linear projections as lists of row segments, and groups of projections that share an
// input (Q/K/V, gate/up) and may run fused. Running them is runtime/projection_run.h.
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

struct Projection {
  std::vector<RowSegment> segments;
  const float* bias = nullptr;  // [n_out] or nullptr
  // Where the segments' weight scales apply (llama.cpp's order): after the bias for the FFN's
  // projections (build_ffn), before it for attention's (build_qkv, build_attn's output).
  bool bias_before_scale = false;
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

}  // namespace trident
