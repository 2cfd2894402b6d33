#include "format/output_guard.h"

#include <sys/stat.h>

#include <filesystem>

#include "format/error.h"

namespace trident {
namespace {

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

}  // namespace

void check_output_file(const std::string& target, const OutputPolicy& policy) {
  struct stat out {};
  if (::stat(target.c_str(), &out) == 0) {
    for (const std::string& in : policy.inputs) {
      struct stat st {};
      if (::stat(in.c_str(), &st) == 0 && same_file(st, out))
        fail("{}: output is the input file '{}' (write to another path)", target, in);
    }
  }
  struct stat link {};
  if (::lstat(target.c_str(), &link) != 0) return;  // absent: nothing to replace
  if (!policy.overwrite) fail("{}: output exists (use --force to overwrite)", target);
  if (!S_ISREG(link.st_mode) && !S_ISLNK(link.st_mode))
    fail("{}: exists and is not a regular file (refusing to replace it, even with --force)", target);
}

bool directory_holds(const std::string& dir, const std::string& path) {
  namespace fs = std::filesystem;
  struct stat d {};
  if (::stat(dir.c_str(), &d) != 0) return false;
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  // Every ancestor of the file, compared by identity with dir (whatever path reaches it).
  for (fs::path a = p.parent_path(); !a.empty(); a = a.parent_path()) {
    struct stat st {};
    if (::stat(a.c_str(), &st) == 0 && same_file(st, d)) return true;
    if (a == a.root_path()) break;
  }
  return false;
}

std::vector<std::string> regular_files_in(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec)) out.push_back(it->path().string());
  return out;
}

}  // namespace trident
