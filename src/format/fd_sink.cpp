#include "format/fd_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace trident {

void write_file_atomically(const std::string& path, bool overwrite, const std::function<void(FdSink&)>& fill) {
  namespace fs = std::filesystem;
  if (!overwrite && fs::exists(path)) fail("{}: output exists (use --force to overwrite)", path);
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmpl = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) fail("{}: cannot create a temporary file in '{}': {}", path, dir.string(), std::strerror(errno));
  const std::string tmp = tmpl;
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
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
}

}  // namespace trident
