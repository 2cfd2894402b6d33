#include "format/temp_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "format/error.h"

namespace trident {
namespace {

namespace fs = std::filesystem;

// A fixed table the signal handler can walk without allocating or locking. A slot is free (0),
// being filled (1) or live (2); only live slots are touched by the handler.
struct Slot {
  std::atomic<int> state{0};
  bool is_dir = false;
  char path[PATH_MAX] = {};
};
constexpr int kSlots = 32;
Slot g_slots[kSlots];
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_previous[std::size(kSignals)];

// Async-signal-safe removal of a directory of plain files (what a writer's temp dir holds).
void remove_dir_in_handler(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    alignas(8) char buf[4096];
    // Removing entries while reading the directory may skip some: rescan until a pass finds none.
    for (int pass = 0; pass < 8; ++pass) {
      int removed = 0;
      ::lseek(fd, 0, SEEK_SET);
      for (;;) {
        const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0) break;
        // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, then the name.
        for (long off = 0; off < n;) {
          unsigned short reclen;
          std::memcpy(&reclen, buf + off + 16, sizeof reclen);
          const char* name = buf + off + 19;
          if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0 && ::unlinkat(fd, name, 0) == 0) ++removed;
          off += reclen;
        }
      }
      if (removed == 0) break;
    }
    ::close(fd);
  }
  ::rmdir(path);
}

void on_signal(int sig) {
  const int saved = errno;
  for (Slot& s : g_slots) {
    if (s.state.load() != 2) continue;
    if (s.is_dir) remove_dir_in_handler(s.path);
    else ::unlink(s.path);
  }
  // Re-raise with the previous disposition, so the exit status says which signal stopped us.
  for (size_t i = 0; i < std::size(kSignals); ++i)
    if (kSignals[i] == sig) ::sigaction(sig, &g_previous[i], nullptr);
  errno = saved;
  ::raise(sig);
}

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (size_t i = 0; i < std::size(kSignals); ++i) {
      struct sigaction sa {};
      ::sigaction(kSignals[i], nullptr, &g_previous[i]);
      if (g_previous[i].sa_handler == SIG_IGN) continue;  // e.g. nohup: keep ignoring
      sa.sa_handler = on_signal;
      sigemptyset(&sa.sa_mask);
      ::sigaction(kSignals[i], &sa, nullptr);
    }
  });
}

// Blocks the handled signals while a temporary is created and entered in the table, so it
// never exists untracked.
class SignalsHeld {
 public:
  SignalsHeld() {
    install_handlers_once();
    sigset_t set;
    sigemptyset(&set);
    for (int s : kSignals) sigaddset(&set, s);
    ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~SignalsHeld() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

void track(const std::string& path, bool is_dir) {
  if (path.size() >= PATH_MAX) return;  // cannot be tracked; still removed on errors
  for (Slot& s : g_slots) {
    int free_state = 0;
    if (!s.state.compare_exchange_strong(free_state, 1)) continue;
    std::memcpy(s.path, path.c_str(), path.size() + 1);
    s.is_dir = is_dir;
    s.state.store(2);
    return;
  }
}

fs::path dir_of(const fs::path& target) { return target.has_parent_path() ? target.parent_path() : fs::path("."); }

std::string temp_template(const std::string& target) {
  const fs::path t(target);
  return (dir_of(t) / ("." + t.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-XXXXXX")).string();
}

}  // namespace

std::string create_temp_file(const std::string& target, int* fd) {
  remove_stale_temps(target);
  std::string tmpl = temp_template(target);
  SignalsHeld held;
  *fd = ::mkstemp(tmpl.data());
  if (*fd < 0)
    fail("{}: cannot create a temporary file in '{}': {}", target, dir_of(target).string(), std::strerror(errno));
  track(tmpl, false);
  return tmpl;
}

std::string create_temp_dir(const std::string& target) {
  remove_stale_temps(target);
  std::string tmpl = temp_template(target);
  SignalsHeld held;
  if (!::mkdtemp(tmpl.data()))
    fail("{}: cannot create a temporary directory in '{}': {}", target, dir_of(target).string(), std::strerror(errno));
  track(tmpl, true);
  return tmpl;
}

void forget_temp(const std::string& path) {
  for (Slot& s : g_slots)
    if (s.state.load() == 2 && path == s.path) s.state.store(0);
}

void remove_stale_temps(const std::string& target) {
  const fs::path t(target);
  const std::string prefix = "." + t.filename().string() + ".tmp-";
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir_of(t), ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    // ".NAME.tmp-PID-XXXXXX": only a pid that no longer exists marks it stale.
    const std::string rest = name.substr(prefix.size());
    const size_t dash = rest.find('-');
    if (dash == std::string::npos || dash == 0 || dash > 9) continue;
    long pid = 0;
    for (size_t i = 0; i < dash; ++i) {
      if (rest[i] < '0' || rest[i] > '9') pid = -1;
      if (pid >= 0) pid = pid * 10 + (rest[i] - '0');
    }
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    fs::remove_all(it->path(), rm);
  }
}

}  // namespace trident
