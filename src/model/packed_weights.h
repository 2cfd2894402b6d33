// Packed copies of weight tensors (tensor/repack.h), made once at load for the types whose
// matrix kernels read the packed layout. Each tensor is packed whole, in groups of
// kPackRows rows from its row 0, so any row range starting on a group boundary (a fused
// tensor's part, an expert's slice) is a view into the same copy. Once packed, the tensor's
// mmapped pages are released: resident memory holds the weights once, not twice.
#pragma once
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "format/gguf.h"
#include "kernels/thread_pool.h"

namespace trident {

class PackedWeights {
 public:
  // The packed copy of t (rows = product of t's dims past the first), packing it on first
  // use. Precondition: packable(t.type).
  const uint8_t* get(const GgufFile& f, const GgufTensorInfo& t);
  uint64_t bytes() const { return bytes_; }  // packed bytes (padding groups included)
  double seconds() const { return seconds_; }  // time spent packing

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  uint8_t* allocate(size_t bytes);
  // Copies are carved from 2 MiB-aligned chunks (huge pages), 64-byte aligned each; a copy
  // larger than kChunk gets a chunk of its own.
  static constexpr size_t kChunk = size_t(64) << 20;
  std::vector<std::unique_ptr<uint8_t, Free>> chunks_;
  size_t chunk_used_ = kChunk;  // in chunks_.back()
  std::unordered_map<const GgufTensorInfo*, const uint8_t*> copies_;
  std::unique_ptr<ThreadPool> pool_;  // every core, made for the first tensor worth sharing out
  uint64_t bytes_ = 0;
  double seconds_ = 0;
};

}  // namespace trident
