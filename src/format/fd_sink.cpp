#include "format/fd_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include "format/temp_files.h"

namespace trident {

void write_file_atomically(const std::string& path, const OutputPolicy& policy,
                           const std::function<void(FdSink&)>& fill) {
  check_output_file(path, policy);
  int fd = -1;
  const std::string tmp = create_temp_file(path, &fd);
  try {
    FdSink s(fd, path);
    fill(s);
    s.flush();
    if (::fsync(fd) != 0) fail("{}: fsync failed: {}", path, std::strerror(errno));
    const int rc = ::close(fd);
    fd = -1;
    if (rc != 0) fail("{}: close failed: {}", path, std::strerror(errno));
    ::chmod(tmp.c_str(), 0644);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      fail("{}: cannot rename the temporary file: {}", path, std::strerror(errno));
    forget_temp(tmp);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    forget_temp(tmp);
    throw;
  }
}

}  // namespace trident
