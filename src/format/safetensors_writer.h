// Safetensors writer with streamed tensor data: the header is built from names, dtypes and
// shapes first, then each tensor's bytes come from its callback, one tensor at a time. The file
// is written to a temporary name in the destination directory, fsynced and renamed, so an
// error never leaves a partial file behind.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "format/safetensors.h"

namespace trident {

struct StWriteTensor {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<int64_t> shape;  // PyTorch order
  // Must emit exactly the tensor's byte size (may call emit several times).
  std::function<void(const std::function<void(const void*, size_t)>& emit)> write_data;
};

struct StWriteOptions {
  bool overwrite = false;
  std::vector<std::string> inputs;  // files being read: never written over (format/output_guard.h)
  std::map<std::string, std::string> metadata;  // "__metadata__", e.g. {"format": "pt"}
  std::function<void(size_t, size_t, uint64_t, uint64_t)> progress;  // as GgufWriteOptions
};

void write_safetensors(const std::string& path, const std::vector<StWriteTensor>& tensors,
                       const StWriteOptions& opt = {});

}  // namespace trident
