// The one matrix multiply every projection goes through, fused or not.
//
// A projection's weight is a list of row segments. Each segment is a run of rows of one
// type (a whole GGUF tensor, a row range of one, or one expert's slice). Output column r of
// the concatenated segments is always computed the same way from the same bytes and the same
// quantized activation row, whichever list it belongs to: by vec_dot, or for the packable
// types by the packed kernel, which equals the reference vec_dot bit for bit whether the
// rows come packed at load or are packed on the fly. That is what makes fused and unfused
// projections, any thread count and any batch size give identical bits.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "format/ggml_type.h"
#include "kernels/dispatch.h"
#include "kernels/thread_pool.h"

namespace trident {

struct RowSegment {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;  // first row
  int64_t rows = 0;
  size_t row_stride = 0;          // bytes from one row to the next
  // Optional copy of the same rows in the packed layout (tensor/repack.h), its first group
  // starting at this segment's first row; groups are packed_group_bytes(type, n_in) apart.
  const uint8_t* packed = nullptr;
  // Per-tensor weight scale (a `.scale` tensor, as llama.cpp's build_lora_mm): this segment's
  // outputs are multiplied by it after the dot products. 1: none. matmul() leaves it to the
  // caller (runtime/projection_run.cpp), which applies it per segment, fused or not.
  float scale = 1.0f;
};

// Reusable buffers for quantized activations, one per activation format. Grows on first use
// and is then reused, so the decode path does not allocate.
class ActivationScratch {
 public:
  uint8_t* get(GgmlType act_type, size_t bytes);
  // Per token and block of activation format act_type, for the packed kernels; one buffer
  // per format, so a call mixing Q8_0 and Q8_1 activations keeps both.
  PackedActInfo* info(GgmlType act_type, size_t n);

 private:
  std::vector<uint8_t> buf_[kGgmlTypeCount];
  std::vector<PackedActInfo> info_[kGgmlTypeCount];
};

struct MatmulArgs {
  std::span<const RowSegment> segments;
  int64_t n_in = 0;          // row length of every segment (elements)
  const float* x = nullptr;  // [n_tokens, ldx] f32
  int64_t ldx = 0;
  int64_t n_tokens = 0;
  float* y = nullptr;        // [n_tokens, ldy]; columns [0, total rows) are written
  int64_t ldy = 0;
};

// Runs on the pool's threads (a product smaller than kMatmulMinParallelWork runs on the
// caller alone). Throws Error if a segment's type has no kernel. Precondition: n_in is a
// multiple of every segment type's block size.
void matmul(const MatmulArgs& a, const KernelTable& k, ActivationScratch& scratch, ThreadPool& pool);
// Several independent products in one parallel loop (the experts a token was routed to):
// each call's outputs have the bits matmul gives it alone, but no thread waits for the others
// between the calls. The calls' x must not overlap any call's y.
void matmul_many(std::span<const MatmulArgs> calls, const KernelTable& k, ActivationScratch& scratch,
                 ThreadPool& pool);
// Weight bytes x tokens below which waking a second thread costs more than it saves.
constexpr int64_t kMatmulMinParallelWork = int64_t(256) << 10;

// Total output width of a segment list.
int64_t total_rows(std::span<const RowSegment> segs);

}  // namespace trident
