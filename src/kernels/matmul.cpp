#include "kernels/matmul.h"

#include <algorithm>

#include "format/error.h"
#include "kernels/packed_tiling.h"
#include "tensor/repack.h"
#include "tensor/types.h"

namespace trident {

uint8_t* ActivationScratch::get(GgmlType act_type, size_t bytes) {
  auto& b = buf_[uint32_t(act_type)];
  if (b.size() < bytes) b.resize(bytes);
  return b.data();
}

PackedActInfo* ActivationScratch::info(GgmlType act_type, size_t n) {
  auto& v = info_[uint32_t(act_type)];
  if (v.size() < n) v.resize(n);
  return v.data();
}

int64_t total_rows(std::span<const RowSegment> segs) {
  int64_t n = 0;
  for (const auto& s : segs) n += s.rows;
  return n;
}

namespace {

// Work is cut into tiles of at most kPackRows rows of one segment; each tile runs over all
// tokens so its weight rows stay in cache while every token uses them. Tiles start at the
// segment's first row, so a packed segment's tiles are its groups.
struct SegmentPlan {
  const RowSegment* seg;
  VecDotFn dot;
  PackedGemmFn packed;  // non-null for the packable types
  const uint8_t* act;   // quantized activations for this segment's type, [n_tokens] rows
  size_t act_row_bytes;
  const PackedActInfo* info;  // packed_act_info of act, for the packed 32-element quants
  int64_t first_row;    // global output column of the segment's first row
};
struct Tile {
  size_t plan;
  int64_t row0;  // within the segment
  int64_t rows;
};

// Reused between calls (per calling thread), so the decode path does not allocate.
thread_local std::vector<SegmentPlan> t_plans;
thread_local std::vector<Tile> t_tiles;
thread_local std::vector<uint8_t> t_pack;  // per worker: a group packed on the fly

}  // namespace

void matmul(const MatmulArgs& a, const KernelTable& k, ActivationScratch& scratch, ThreadPool& pool) {
  std::vector<SegmentPlan>& plans = t_plans;
  std::vector<Tile>& tiles = t_tiles;
  plans.clear();
  tiles.clear();
  // Quantize the activations once per distinct activation format.
  const uint8_t* act_for[kGgmlTypeCount] = {};
  size_t act_bytes_for[kGgmlTypeCount] = {};
  PackedActInfo* info_for[kGgmlTypeCount] = {};
  // The packed kernels of the 32-element quants read per-block info of their Q8_0 / Q8_1
  // activations; it is filled only for a format some packed segment reads.
  bool wants_info[kGgmlTypeCount] = {};
  int64_t weight_bytes = 0;
  for (const RowSegment& s : a.segments) {
    weight_bytes += s.rows * int64_t(row_bytes(s.type, a.n_in));
    const TypeTraits* tr = type_traits(s.type);
    VecDotFn dot = tr ? k.vec_dot[uint32_t(s.type)] : nullptr;
    if (!dot) fail("no matrix kernel for weight type {}", layout_of(s.type).name);
    const GgmlType at = tr->vec_dot_type;
    if (k.packed_gemm[uint32_t(s.type)] && (at == GgmlType::Q8_0 || at == GgmlType::Q8_1))
      wants_info[uint32_t(at)] = true;
  }
  const int64_t nb = a.n_in / 32;
  const bool worth_threads = weight_bytes * a.n_tokens >= kMatmulMinParallelWork;
  int64_t first = 0;
  for (const RowSegment& s : a.segments) {
    const GgmlType at = type_traits(s.type)->vec_dot_type;
    if (!act_for[uint32_t(at)]) {
      QuantizeRowFn q = k.quantize_act[uint32_t(at)];
      if (!q) fail("no activation converter for {}", layout_of(at).name);
      const size_t rb = row_bytes(at, a.n_in);
      uint8_t* buf = scratch.get(at, rb * size_t(a.n_tokens));
      const float* x = a.x;
      const int64_t ldx = a.ldx;
      PackedActInfo* inf = wants_info[uint32_t(at)] ? scratch.info(at, size_t(a.n_tokens * nb)) : nullptr;
      pool.parallel_for(a.n_tokens, [&](int64_t t) {
        q(x + t * ldx, buf + size_t(t) * rb, a.n_in);
        if (inf) packed_act_info(at, buf + size_t(t) * rb, rb, 1, nb, inf + t * nb);
      }, worth_threads);
      act_for[uint32_t(at)] = buf;
      act_bytes_for[uint32_t(at)] = rb;
      info_for[uint32_t(at)] = inf;
    }
    const size_t pi = plans.size();
    plans.push_back({&s, k.vec_dot[uint32_t(s.type)], k.packed_gemm[uint32_t(s.type)],
                     act_for[uint32_t(at)], act_bytes_for[uint32_t(at)], info_for[uint32_t(at)], first});
    for (int64_t r = 0; r < s.rows; r += kPackRows) tiles.push_back({pi, r, std::min(kPackRows, s.rows - r)});
    first += s.rows;
  }

  auto run_tile = [&](const Tile& tile) {
    const SegmentPlan& p = plans[tile.plan];
    const RowSegment& seg = *p.seg;
    float* y = a.y + p.first_row + tile.row0;
    if (p.packed) {
      const size_t group_bytes = packed_group_bytes(seg.type, a.n_in);
      const uint8_t* g;
      if (seg.packed) {
        g = seg.packed + size_t(tile.row0 / kPackRows) * group_bytes;
      } else {
        if (t_pack.size() < group_bytes) t_pack.resize(group_bytes);
        pack_group(seg.type, seg.data + size_t(tile.row0) * seg.row_stride, seg.row_stride, tile.rows, a.n_in, t_pack.data());
        g = t_pack.data();
      }
      p.packed(a.n_in, g, p.act, p.act_row_bytes, p.info, a.n_tokens, tile.rows, y, a.ldy);
      return;
    }
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const uint8_t* xa = p.act + size_t(t) * p.act_row_bytes;
      for (int64_t r = 0; r < tile.rows; ++r)
        p.dot(a.n_in, y + t * a.ldy + r, seg.data + size_t(tile.row0 + r) * seg.row_stride, xa);
    }
  };

  // Tiles are claimed one at a time, so a thread slowed by another process delays the product
  // by at most the tile it holds. Decode (a few tokens: the weights stream from DRAM once)
  // claims runs of consecutive tiles instead, two runs per thread: a thread then reads one
  // long contiguous stream, which the hardware prefetchers and the kernels' software
  // prefetch (stream_prefetch.h) keep ahead of, where single tiles taken in turn by two
  // threads made each thread's reads jump every 16 rows. Llama-3.2-1B Q4_0 tg128, 2 threads,
  // quiet 2-core Zen 4 host, with the prefetch change: 34-36 tok/s against 30-33 with 1 run
  // per thread and 30-33 with 8.
  const int64_t n_tiles = int64_t(tiles.size());
  const int64_t run = a.n_tokens <= kStreamTokens ? std::max<int64_t>(1, (n_tiles + 2 * pool.size() - 1) / (2 * pool.size())) : 1;
  pool.parallel_for((n_tiles + run - 1) / run, [&](int64_t r) {
    for (int64_t t = r * run; t < std::min(n_tiles, (r + 1) * run); ++t) run_tile(tiles[size_t(t)]);
  }, worth_threads);
}

}  // namespace trident
