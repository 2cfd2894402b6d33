// Streaming tensor conversion shared by convert and export-hf. An output tensor is a list of
// row pieces taken from source tensors (a whole tensor, some rows of a fused one, one expert of
// a stacked one, optionally permuted within heads). Rows are read in chunks of a few MB,
// reordered, converted to the output type with the reference quantizers, and handed to the
// writer's emit callback, so memory stays at a few chunk buffers whatever the model size.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "format/ggml_type.h"

namespace trident {

class SafetensorsModel;
struct StTensor;
class GgufFile;
struct GgufTensorInfo;

// Rows of one stored tensor, viewed as [n_rows, row_len] (a 1-D tensor is [n, 1], so that its
// elements can be permuted like rows). Element type F32, F16 or BF16.
class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual GgmlType type() const = 0;
  virtual int64_t n_rows() const = 0;
  virtual int64_t row_len() const = 0;
  // dst receives n rows' bytes. Throws Error on I/O failure.
  virtual void read_rows(int64_t row0, int64_t n, void* dst) const = 0;
  // The rows will not be read again (lets a mapped source drop its pages).
  virtual void done_with(int64_t row0, int64_t n) const {}
  virtual const std::string& name() const = 0;
};

// A safetensors tensor; bytes come from pread, never a map.
std::unique_ptr<RowSource> safetensors_rows(const SafetensorsModel& m, const StTensor& t);
// A GGUF tensor inside its file's map; pages are released after use so a large export does
// not keep the whole file resident.
// Rows of row_len elements (0: the tensor's ne[0], or 1 for a 1-D tensor).
std::unique_ptr<RowSource> gguf_rows(const GgufFile& f, const GgufTensorInfo& t, int64_t row_len = 0);
// Generated data (e.g. llama3 rope factors), as one row.
std::unique_ptr<RowSource> memory_rows(std::string name, std::vector<float> data);

enum class RowOrder : uint8_t { Same, HfToGguf, GgufToHf };  // RoPE permutation, see hf_convert_arch.h

struct RowPiece {
  const RowSource* src = nullptr;
  int64_t row0 = 0, n_rows = 0;
  RowOrder order = RowOrder::Same;
  int64_t head_rows = 0;    // rows per head when permuted
  float add = 0.0f;         // added to every value (norm offsets)
};

using EmitFn = std::function<void(const void*, size_t)>;

// Writes the pieces' rows, in order, as `out_type` rows of `out_row_len` elements (each
// piece's row length must equal it unless out_type has block size 1). Returns bytes emitted.
uint64_t stream_rows(const std::vector<RowPiece>& pieces, GgmlType out_type, int64_t out_row_len,
                     const EmitFn& emit);

}  // namespace trident
