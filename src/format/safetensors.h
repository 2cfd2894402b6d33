// Safetensors reader: one file, or a sharded checkpoint described by
// model.safetensors.index.json. Every header is validated when it is opened (length bound,
// JSON shape, known dtype, offsets in range, contiguous and non-overlapping, shape x dtype size
// equal to the byte length), so reads afterwards only need the tensor's own range. Tensor bytes
// are read with pread into the caller's buffer: nothing is mapped, so memory stays at whatever
// the caller reads at once.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "format/ggml_type.h"

namespace trident {

enum class StDtype : uint8_t {
  F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, BOOL,
};
std::string_view st_dtype_name(StDtype t);
size_t st_dtype_size(StDtype t);
std::optional<StDtype> st_dtype_from_name(std::string_view name);
// F32 / F16 / BF16 -> the GGML type with the same element encoding; nullopt otherwise.
std::optional<GgmlType> st_dtype_to_ggml(StDtype t);
std::optional<StDtype> st_dtype_from_ggml(GgmlType t);

struct StTensor {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<int64_t> shape;  // PyTorch order: outermost first, shape.back() is the row length
  uint64_t offset = 0;         // absolute file offset of the first byte
  uint64_t n_bytes = 0;
  size_t shard = 0;            // index of the file in SafetensorsModel

  uint64_t n_elements() const;
  std::string shape_str() const;  // "[4, 256]"
};

class SafetensorsFile {
 public:
  // Opens and validates the header; throws Error naming the file, tensor and problem.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path, size_t shard_index = 0);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  const std::vector<StTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Reads exactly n bytes at file offset `offset` (retrying short reads); throws Error.
  void read(uint64_t offset, void* dst, size_t n) const;

 private:
  SafetensorsFile() = default;
  void parse(size_t shard_index);

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::vector<StTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a model directory, whichever way they are split into files.
class SafetensorsModel {
 public:
  // Uses DIR/model.safetensors.index.json when present, else DIR/model.safetensors, else every
  // *.safetensors file in DIR (sorted). Throws Error when none exists or the files disagree.
  static std::unique_ptr<SafetensorsModel> open_dir(const std::string& dir);

  const StTensor* find(std::string_view name) const;
  const std::vector<const StTensor*>& tensors() const { return order_; }  // file order
  const SafetensorsFile& file_of(const StTensor& t) const { return *files_[t.shard]; }
  size_t n_files() const { return files_.size(); }
  // Reads bytes [byte_offset, byte_offset + n) of tensor t; throws Error outside its range.
  void read(const StTensor& t, uint64_t byte_offset, void* dst, size_t n) const;

 private:
  void add_file(std::unique_ptr<SafetensorsFile> f);

  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, const StTensor*> by_name_;
  std::vector<const StTensor*> order_;
};

}  // namespace trident
