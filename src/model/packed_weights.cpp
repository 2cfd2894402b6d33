#include "model/packed_weights.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <new>

#include "format/mapped_file.h"
#include "tensor/repack.h"

namespace trident {

void PackedWeights::Free::operator()(uint8_t* p) const { std::free(p); }

uint8_t* PackedWeights::allocate(size_t bytes) {
  constexpr size_t kHuge = size_t(2) << 20;
  bytes = (bytes + 63) / 64 * 64;
  if (bytes > kChunk - chunk_used_) {
    const size_t size = std::max(kChunk, (bytes + kHuge - 1) / kHuge * kHuge);
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(kHuge, size));
    if (!p) throw std::bad_alloc();
    ::madvise(p, size, MADV_HUGEPAGE);  // fewer TLB misses when streaming weights; advisory
    chunks_.emplace_back(p);
    // A copy bigger than a chunk fills its own; the next copy starts a new chunk.
    chunk_used_ = size > kChunk ? kChunk : 0;
    if (size > kChunk) return p;
  }
  uint8_t* p = chunks_.back().get() + chunk_used_;
  chunk_used_ += bytes;
  return p;
}

const uint8_t* PackedWeights::get(const GgufFile& f, const GgufTensorInfo& t) {
  if (auto it = copies_.find(&t); it != copies_.end()) return it->second;
  const auto start = std::chrono::steady_clock::now();
  const int64_t n_in = t.ne[0];
  const int64_t rows = t.rows();
  const int64_t groups = (rows + kPackRows - 1) / kPackRows;
  const size_t group_bytes = packed_group_bytes(t.type, n_in);
  // Sizes were validated with the file (the tensor fits in it); padding adds < 1 group.
  const size_t bytes = size_t(groups) * group_bytes;
  uint8_t* p = allocate(bytes);
#ifdef MADV_POPULATE_WRITE
  // One call maps the copy's pages, instead of a fault per page while both threads pack.
  advise_pages(p, bytes, MADV_POPULATE_WRITE);
#endif
  const uint8_t* src = f.tensor_data(t);
  f.prefault_tensor(t);
  const size_t stride = t.n_bytes / size_t(rows);
  // Small tensors pack on one thread: waking the others costs more than they take.
  const bool worth_threads = bytes >= (size_t(1) << 20);
  if (worth_threads && !pool_) pool_ = std::make_unique<ThreadPool>(0);
  auto pack = [&](int64_t g) {
    const int64_t r0 = g * kPackRows;
    pack_group(t.type, src + size_t(r0) * stride, stride, std::min(kPackRows, rows - r0), n_in,
               p + size_t(g) * group_bytes);
  };
  if (worth_threads)
    pool_->parallel_for(groups, pack);
  else
    for (int64_t g = 0; g < groups; ++g) pack(g);
  f.release_tensor(t);
  bytes_ += bytes;
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  copies_.emplace(&t, p);
  return p;
}

}  // namespace trident
