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
// tokens of its call so its weight rows stay in cache while every token uses them. Tiles
// start at the segment's first row, so a packed segment's tiles are its groups.
struct SegmentPlan {
  const MatmulArgs* call;
  const RowSegment* seg;
  VecDotFn dot;
  PackedGemmFn packed;  // non-null for the packable types
  size_t job;           // the ActJob holding this segment's quantized activations
  int64_t first_row;    // output column of the segment's first row in its call
};
struct Tile {
  size_t plan;
  int64_t row0;  // within the segment
  int64_t rows;
};
// One call's activations converted to one format: n_tokens rows of row_bytes at act, and for
// the packed kernels of the 32-element quants the per-block info of those Q8_0 / Q8_1 rows.
// Planned as offsets into the format's scratch buffer, which is sized once all calls are seen
// (a resize would move rows already placed).
struct ActJob {
  const MatmulArgs* call;
  GgmlType type;
  size_t row_bytes;
  size_t act_offset;
  int64_t info_offset;  // -1: no packed kernel reads the info
  int64_t first_index;  // of its first token in the conversion loop
  uint8_t* act = nullptr;
  PackedActInfo* info = nullptr;
};

// Reused between calls (per calling thread), so the decode path does not allocate.
thread_local std::vector<SegmentPlan> t_plans;
thread_local std::vector<Tile> t_tiles;
thread_local std::vector<ActJob> t_jobs;
thread_local std::vector<uint8_t> t_pack;  // per worker: a group packed on the fly

}  // namespace

void matmul(const MatmulArgs& a, const KernelTable& k, ActivationScratch& scratch, ThreadPool& pool) {
  matmul_many(std::span<const MatmulArgs>(&a, 1), k, scratch, pool);
}

void matmul_many(std::span<const MatmulArgs> calls, const KernelTable& k, ActivationScratch& scratch,
                 ThreadPool& pool) {
  std::vector<SegmentPlan>& plans = t_plans;
  std::vector<Tile>& tiles = t_tiles;
  std::vector<ActJob>& jobs = t_jobs;
  plans.clear();
  tiles.clear();
  jobs.clear();
  // Each call's activations are converted once per distinct activation format.
  size_t act_bytes[kGgmlTypeCount] = {}, info_entries[kGgmlTypeCount] = {};
  int64_t work = 0, max_tokens = 0, n_conversions = 0;
  for (const MatmulArgs& a : calls) {
    const size_t first_job = jobs.size();
    int64_t first = 0;
    for (const RowSegment& s : a.segments) {
      work += s.rows * int64_t(row_bytes(s.type, a.n_in)) * a.n_tokens;
      const TypeTraits* tr = type_traits(s.type);
      if (!tr || !k.vec_dot[uint32_t(s.type)]) fail("no matrix kernel for weight type {}", layout_of(s.type).name);
      const GgmlType at = tr->vec_dot_type;
      if (!k.quantize_act[uint32_t(at)]) fail("no activation converter for {}", layout_of(at).name);
      size_t j = first_job;
      while (j < jobs.size() && jobs[j].type != at) ++j;
      if (j == jobs.size()) {
        const size_t rb = row_bytes(at, a.n_in);
        jobs.push_back({&a, at, rb, act_bytes[uint32_t(at)], -1, n_conversions});
        act_bytes[uint32_t(at)] += rb * size_t(a.n_tokens);
        n_conversions += a.n_tokens;
      }
      if (k.packed_gemm[uint32_t(s.type)] && (at == GgmlType::Q8_0 || at == GgmlType::Q8_1) && jobs[j].info_offset < 0) {
        jobs[j].info_offset = int64_t(info_entries[uint32_t(at)]);
        info_entries[uint32_t(at)] += size_t(a.n_tokens * (a.n_in / 32));
      }
      plans.push_back({&a, &s, k.vec_dot[uint32_t(s.type)], k.packed_gemm[uint32_t(s.type)], j, first});
      for (int64_t r = 0; r < s.rows; r += kPackRows) tiles.push_back({plans.size() - 1, r, std::min(kPackRows, s.rows - r)});
      first += s.rows;
    }
    max_tokens = std::max(max_tokens, a.n_tokens);
  }
  for (ActJob& job : jobs) {
    const uint32_t t = uint32_t(job.type);
    job.act = scratch.get(job.type, act_bytes[t]) + job.act_offset;
    if (job.info_offset >= 0) job.info = scratch.info(job.type, info_entries[t]) + job.info_offset;
  }
  const bool worth_threads = work >= kMatmulMinParallelWork;
  pool.parallel_for(n_conversions, [&](int64_t i) {
    const ActJob& job = *(std::upper_bound(jobs.begin(), jobs.end(), i,
                                           [](int64_t v, const ActJob& j) { return v < j.first_index; }) - 1);
    const int64_t t = i - job.first_index, n_in = job.call->n_in;
    uint8_t* row = job.act + size_t(t) * job.row_bytes;
    k.quantize_act[uint32_t(job.type)](job.call->x + t * job.call->ldx, row, n_in);
    if (job.info) packed_act_info(job.type, row, job.row_bytes, 1, n_in / 32, job.info + t * (n_in / 32));
  }, worth_threads);

  auto run_tile = [&](const Tile& tile) {
    const SegmentPlan& p = plans[tile.plan];
    const MatmulArgs& a = *p.call;
    const ActJob& job = jobs[p.job];
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
      p.packed(a.n_in, g, job.act, job.row_bytes, job.info, a.n_tokens, tile.rows, y, a.ldy);
      return;
    }
    for (int64_t t = 0; t < a.n_tokens; ++t) {
      const uint8_t* xa = job.act + size_t(t) * job.row_bytes;
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
  // per thread and 30-33 with 8. Several calls in one loop (the experts a token was routed
  // to) share the runs, so no thread waits at the end of each small product.
  const int64_t n_tiles = int64_t(tiles.size());
  const int64_t run = max_tokens <= kStreamTokens ? std::max<int64_t>(1, (n_tiles + 2 * pool.size() - 1) / (2 * pool.size())) : 1;
  pool.parallel_for((n_tiles + run - 1) / run, [&](int64_t r) {
    for (int64_t t = r * run; t < std::min(n_tiles, (r + 1) * run); ++t) run_tile(tiles[size_t(t)]);
  }, worth_threads);
}

}  // namespace trident
