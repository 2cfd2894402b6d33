// GGUF v3 writer. Metadata and tensor infos are collected first; tensor bytes are streamed
// one tensor at a time from a callback, so memory stays near one tensor. Output goes to a
// temporary file in the destination directory, is fsynced, and renamed over the target only
// when everything succeeded; on any error nothing is left behind.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/gguf.h"

namespace trident {

struct GgufWriteTensor {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;  // ne[0] = row length
  // Writes exactly the tensor's byte size through `emit` (may be called several times).
  std::function<void(const std::function<void(const void*, size_t)>& emit)> write_data;
};

struct GgufWriteOptions {
  bool overwrite = false;            // refuse an existing output unless set
  std::vector<std::string> inputs;   // files being read: never written over (format/output_guard.h)
  uint64_t alignment = 32;
  // Called after each tensor with (tensors done, total, bytes done, total bytes).
  std::function<void(size_t, size_t, uint64_t, uint64_t)> progress;
};

class GgufWriter {
 public:
  void set(const std::string& key, GgufValue value);  // replaces an existing key, keeps order
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_string_array(const std::string& key, const std::vector<std::string>& v);
  void set_f32_array(const std::string& key, const std::vector<float>& v);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
  void set_bool_array(const std::string& key, const std::vector<bool>& v);
  void copy_metadata(const GgufFile& from);  // every key, in order

  // Validates shape / type / name; throws Error.
  void add_tensor(GgufWriteTensor t);
  size_t tensor_count() const { return tensors_.size(); }

  // Writes everything to `path` (atomically). Throws Error naming the path on failure.
  void write(const std::string& path, const GgufWriteOptions& opt = {}) const;

 private:
  std::vector<GgufKv> kvs_;
  std::vector<GgufWriteTensor> tensors_;
};

// Byte size of a tensor of this type and shape (checked).
uint64_t tensor_nbytes(GgmlType type, const std::vector<int64_t>& ne, const std::string& what);

}  // namespace trident
