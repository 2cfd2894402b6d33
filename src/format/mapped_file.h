// A read-only memory map of a whole file. Every access to the bytes goes through the
// bounds-checked view helpers of the readers that use it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace trident {

// madvise(advice) over every page holding a byte of [p, p + n); advisory, errors ignored.
void advise_pages(const void* p, size_t n, int advice);

class MappedFile {
 public:
  // Throws Error("PATH: cannot open: <reason>") on failure. An empty file maps to size 0.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops this process's pages of [p, p + n) (whole pages inside it only); the bytes stay
  // readable and come back from the file if touched again. For data copied elsewhere.
  void release(const uint8_t* p, size_t n) const;
  // Maps the pages of [p, p + n) in one call (reading them from the file if needed), so a
  // pass over them takes no page faults. Advisory: kernels without it fault as usual.
  void prefault(const uint8_t* p, size_t n) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace trident
