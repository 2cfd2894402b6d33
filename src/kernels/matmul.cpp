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
  const uint8_t* act;   // quantized activations for this segment's type, [n_tokens] rows
  size_t act_row_bytes;
  const PackedActInfo* info;  // packed_act_info of act, for the packed 32-element quants
  int64_t first_row;    // output column of the segment's first row in its call
};
struct Tile {
  size_t plan;
  int64_t row0;  // within the segment
  int64_t rows;
};
// One call's activations converted to one format: n_tokens rows of row_bytes at act.
struct ActJob {
  const MatmulArgs* call;
  QuantizeRowFn quantize;
  GgmlType type;
  uint8_t* act;
  size_t row_bytes;
  PackedActInfo* info;  // null unless a packed kernel reads it
  int64_t first_index;  // of its first token in the conversion loop
};

// Reused between calls (per calling thread), so the decode path does not allocate.
thread_local std::vector<SegmentPlan> t_plans;
thread_local std::vector<Tile> t_tiles;
thread_local std::vector<ActJob> t_jobs;
thread_local std::vector<uint8_t> t_pack;  // per worker: a group packed on the fly

bool reads_info(const KernelTable& k, GgmlType w, GgmlType at) {
  return k.packed_gemm[uint32_t(w)] && (at == GgmlType::Q8_0 || at == GgmlType::Q8_1);
}

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
  // Each call's activations are converted once per distinct activation format; the packed
  // kernels of the 32-element quants also read per-block info of their Q8_0 / Q8_1 rows,
  // filled only where some packed segment reads it. One scratch buffer per format holds every
  // call's rows, so it is sized first (a resize would move rows already placed).
  size_t bytes_for[kGgmlTypeCount] = {}, info_for[kGgmlTypeCount] = {};
  int64_t work = 0, max_tokens = 0;
  for (const MatmulArgs& a : calls) {
    bool seen[kGgmlTypeCount] = {}, info_seen[kGgmlTypeCount] = {};
    for (const RowSegment& s : a.segments) {
      work += s.rows * int64_t(row_bytes(s.type, a.n_in)) * a.n_tokens;
      const TypeTraits* tr = type_traits(s.type);
      if (!tr || !k.vec_dot[uint32_t(s.type)]) fail("no matrix kernel for weight type {}", layout_of(s.type).name);
      const GgmlType at = tr->vec_dot_type;
      if (!k.quantize_act[uint32_t(at)]) fail("no activation converter for {}", layout_of(at).name);
      if (!seen[uint32_t(at)]) bytes_for[uint32_t(at)] += row_bytes(at, a.n_in) * size_t(a.n_tokens);
      seen[uint32_t(at)] = true;
      if (reads_info(k, s.type, at) && !info_seen[uint32_t(at)])
        info_for[uint32_t(at)] += size_t(a.n_tokens * (a.n_in / 32));
      info_seen[uint32_t(at)] |= reads_info(k, s.type, at);
    }
    max_tokens = std::max(max_tokens, a.n_tokens);
  }
  uint8_t* act_next[kGgmlTypeCount] = {};
  PackedActInfo* info_next[kGgmlTypeCount] = {};
  for (uint32_t t = 0; t < kGgmlTypeCount; ++t) {
    if (bytes_for[t]) act_next[t] = scratch.get(GgmlType(t), bytes_for[t]);
    if (info_for[t]) info_next[t] = scratch.info(GgmlType(t), info_for[t]);
  }
  const bool worth_threads = work >= kMatmulMinParallelWork;
  int64_t n_conversions = 0;
  for (const MatmulArgs& a : calls) {
    const size_t first_job = jobs.size();
    auto job_for = [&](GgmlType at) -> ActJob& {
      for (size_t j = first_job; j < jobs.size(); ++j)
        if (jobs[j].type == at) return jobs[j];
      const size_t rb = row_bytes(at, a.n_in);
      jobs.push_back({&a, k.quantize_act[uint32_t(at)], at, act_next[uint32_t(at)], rb, nullptr, n_conversions});
      act_next[uint32_t(at)] += rb * size_t(a.n_tokens);
      n_conversions += a.n_tokens;
      return jobs.back();
    };
    for (const RowSegment& s : a.segments) {
      const GgmlType at = type_traits(s.type)->vec_dot_type;
      ActJob& job = job_for(at);
      if (reads_info(k, s.type, at) && !job.info) {
        job.info = info_next[uint32_t(at)];
        info_next[uint32_t(at)] += a.n_tokens * (a.n_in / 32);
      }
    }
    int64_t first = 0;
    for (const RowSegment& s : a.segments) {
      const ActJob& job = job_for(type_traits(s.type)->vec_dot_type);
      plans.push_back({&a, &s, k.vec_dot[uint32_t(s.type)], k.packed_gemm[uint32_t(s.type)], job.act, job.row_bytes,
                       job.info, first});
      for (int64_t r = 0; r < s.rows; r += kPackRows) tiles.push_back({plans.size() - 1, r, std::min(kPackRows, s.rows - r)});
      first += s.rows;
    }
  }
  pool.parallel_for(n_conversions, [&](int64_t i) {
    size_t j = 0;
    while (j + 1 < jobs.size() && jobs[j + 1].first_index <= i) ++j;
    const ActJob& job = jobs[j];
    const int64_t t = i - job.first_index, n_in = job.call->n_in;
    uint8_t* row = job.act + size_t(t) * job.row_bytes;
    job.quantize(job.call->x + t * job.call->ldx, row, n_in);
    if (job.info) packed_act_info(job.type, row, job.row_bytes, 1, n_in / 32, job.info + t * (n_in / 32));
  }, worth_threads);

  auto run_tile = [&](const Tile& tile) {
    const SegmentPlan& p = plans[tile.plan];
    const MatmulArgs& a = *p.call;
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
  // per thread and 30-33 with 8. Several calls in one loop (the experts a token was routed
  // to) share the runs, so no thread waits at the end of each small product.
  const int64_t n_tiles = int64_t(tiles.size());
  const int64_t run = max_tokens <= kStreamTokens ? std::max<int64_t>(1, (n_tiles + 2 * pool.size() - 1) / (2 * pool.size())) : 1;
  pool.parallel_for((n_tiles + run - 1) / run, [&](int64_t r) {
    for (int64_t t = r * run; t < std::min(n_tiles, (r + 1) * run); ++t) run_tile(tiles[size_t(t)]);
  }, worth_threads);
}

}  // namespace trident
