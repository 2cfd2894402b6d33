#include "kernels/matmul.h"

#include <omp.h>

#include <algorithm>

#include "format/error.h"
#include "tensor/types.h"

namespace trident {

uint8_t* ActivationScratch::get(GgmlType act_type, size_t bytes) {
  auto& b = buf_[uint32_t(act_type)];
  if (b.size() < bytes) b.resize(bytes);
  return b.data();
}

int64_t total_rows(std::span<const RowSegment> segs) {
  int64_t n = 0;
  for (const auto& s : segs) n += s.rows;
  return n;
}

namespace {

// Work is cut into tiles of kRowTile rows; each tile runs over all tokens so a tile's weight
// rows stay in cache while every token uses them.
constexpr int64_t kRowTile = 16;

struct SegmentPlan {
  const RowSegment* seg;
  VecDotFn dot;
  GemmFn gemm;
  const uint8_t* act;  // quantized activations for this segment's type, [n_tokens] rows
  size_t act_row_bytes;
  int64_t first_row;   // global output column of the segment's first row
};

}  // namespace

void matmul(const MatmulArgs& a, const KernelTable& k, ActivationScratch& scratch, int n_threads) {
  // Quantize the activations once per distinct activation format.
  std::vector<SegmentPlan> plans;
  plans.reserve(a.segments.size());
  const uint8_t* act_for[kGgmlTypeCount] = {};
  size_t act_bytes_for[kGgmlTypeCount] = {};
  int64_t first = 0;
  for (const RowSegment& s : a.segments) {
    const TypeTraits* tr = type_traits(s.type);
    VecDotFn dot = tr ? k.vec_dot[uint32_t(s.type)] : nullptr;
    if (!dot) fail("no matrix kernel for weight type {}", layout_of(s.type).name);
    const GgmlType at = tr->vec_dot_type;
    if (!act_for[uint32_t(at)]) {
      QuantizeRowFn q = k.quantize_act[uint32_t(at)];
      if (!q) fail("no activation converter for {}", layout_of(at).name);
      const size_t rb = row_bytes(at, a.n_in);
      uint8_t* buf = scratch.get(at, rb * size_t(a.n_tokens));
      const float* x = a.x;
      const int64_t ldx = a.ldx;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n_threads > 1 && a.n_tokens > 1)
      for (int64_t t = 0; t < a.n_tokens; ++t) q(x + t * ldx, buf + size_t(t) * rb, a.n_in);
      act_for[uint32_t(at)] = buf;
      act_bytes_for[uint32_t(at)] = rb;
    }
    plans.push_back({&s, dot, k.gemm[uint32_t(s.type)], act_for[uint32_t(at)], act_bytes_for[uint32_t(at)], first});
    first += s.rows;
  }
  const int64_t n_rows = first;
  const int64_t n_tiles = (n_rows + kRowTile - 1) / kRowTile;

  auto run_tile = [&](int64_t tile) {
    const int64_t r0 = tile * kRowTile, r1 = std::min(n_rows, r0 + kRowTile);
    // Find the segment holding r0; a tile may straddle segments.
    size_t si = 0;
    while (plans[si].first_row + plans[si].seg->rows <= r0) ++si;
    for (int64_t r = r0; r < r1;) {
      const SegmentPlan& p = plans[si];
      const int64_t seg_end = std::min(r1, p.first_row + p.seg->rows);
      const uint8_t* w0 = p.seg->data + size_t(r - p.first_row) * p.seg->row_stride;
      if (p.gemm) {
        p.gemm(a.n_in, w0, p.seg->row_stride, seg_end - r, p.act, p.act_row_bytes, a.n_tokens, a.y + r, a.ldy);
        r = seg_end;
        ++si;
        continue;
      }
      for (int64_t t = 0; t < a.n_tokens; ++t) {
        const uint8_t* xa = p.act + size_t(t) * p.act_row_bytes;
        float* yrow = a.y + t * a.ldy;
        for (int64_t rr = r; rr < seg_end; ++rr) {
          const uint8_t* w = p.seg->data + size_t(rr - p.first_row) * p.seg->row_stride;
          p.dot(a.n_in, yrow + rr, w, xa);
        }
      }
      r = seg_end;
      ++si;
    }
  };

  if (n_threads <= 1 || n_tiles == 1) {
    for (int64_t t = 0; t < n_tiles; ++t) run_tile(t);
  } else {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t t = 0; t < n_tiles; ++t) run_tile(t);
  }
}

}  // namespace trident
