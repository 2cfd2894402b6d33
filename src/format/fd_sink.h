// Buffered writes to one file descriptor for the file writers. Every failure (ENOSPC, EFBIG,
// EIO) becomes an Error naming the destination the user asked for, not the temporary name.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "format/error.h"
#include "format/output_guard.h"

namespace trident {

class FdSink {
 public:
  FdSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) { buf_.reserve(kCap); }
  void put(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    pos_ += n;
    if (n >= kCap) {
      flush();
      write_all(b, n);
      return;
    }
    if (buf_.size() + n > kCap) flush();
    buf_.insert(buf_.end(), b, b + n);
  }
  template <typename T>
  void pod(T v) { put(&v, sizeof v); }
  // Zero bytes up to the next multiple of align (of the bytes put so far).
  void pad_to(uint64_t align) {
    static const uint8_t zeros[64] = {};
    uint64_t n = (align - pos_ % align) % align;
    while (n) {
      const size_t k = size_t(std::min<uint64_t>(n, sizeof zeros));
      put(zeros, k);
      n -= k;
    }
  }
  void flush() {
    write_all(buf_.data(), buf_.size());
    buf_.clear();
  }
  uint64_t pos() const { return pos_; }  // bytes put so far, buffered or written

 private:
  static constexpr size_t kCap = 1 << 20;
  void write_all(const uint8_t* p, size_t n) {
    while (n) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail("{}: write failed: {}", path_, std::strerror(errno));
      }
      p += w;
      n -= size_t(w);
    }
  }
  int fd_;
  std::string path_;
  std::vector<uint8_t> buf_;
  uint64_t pos_ = 0;
};

// Writes `path` all or nothing: refuses what the policy forbids (an existing file without
// overwrite, one of the inputs, anything but a regular file); fill() writes into a temporary
// file beside it (format/temp_files.h), which is then flushed, fsynced, closed, made 0644 and
// renamed over path. On any error or signal the temporary file is removed (fd_sink.cpp).
void write_file_atomically(const std::string& path, const OutputPolicy& policy,
                           const std::function<void(FdSink&)>& fill);

}  // namespace trident
