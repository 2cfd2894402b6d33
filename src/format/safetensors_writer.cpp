#include "format/safetensors_writer.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "format/checked.h"
#include "format/error.h"
#include "format/fd_sink.h"

namespace trident {
void write_safetensors(const std::string& path, const std::vector<StWriteTensor>& tensors,
                       const StWriteOptions& opt) {
  // Header first: offsets follow from the shapes alone.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!opt.metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : opt.metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  std::vector<uint64_t> sizes;
  uint64_t off = 0;
  for (const StWriteTensor& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__") fail("{}: invalid tensor name '{}'", path, t.name);
    if (header.contains(t.name)) fail("{}: duplicate tensor name '{}'", path, t.name);
    uint64_t n = st_dtype_size(t.dtype);
    for (int64_t d : t.shape) {
      if (d < 0) fail("{}: tensor '{}': negative dimension {}", path, t.name, d);
      n = checked_mul(n, uint64_t(d), t.name);
    }
    header[t.name] = {{"dtype", std::string(st_dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {off, checked_add(off, n, t.name)}}};
    off += n;
    sizes.push_back(n);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned

  write_file_atomically(path, {opt.overwrite, opt.inputs}, [&](FdSink& s) {
    const uint64_t header_len = text.size();
    s.put(&header_len, 8);
    s.put(text.data(), text.size());
    uint64_t done = 0;
    auto emit = [&](const void* p, size_t n) { s.put(p, n); };
    for (size_t i = 0; i < tensors.size(); ++i) {
      const uint64_t before = s.pos();
      tensors[i].write_data(emit);
      if (s.pos() - before != sizes[i])
        fail("{}: tensor '{}' produced {} bytes, expected {}", path, tensors[i].name, s.pos() - before, sizes[i]);
      done += sizes[i];
      if (opt.progress) opt.progress(i + 1, tensors.size(), done, off);
    }
  });
}

}  // namespace trident
