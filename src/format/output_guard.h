// What a writer may replace. Its output must not be one of its inputs (compared by device and
// inode, so `./x`, symlinks and hard links are seen through), and --force replaces only a
// regular file (or a symlink, whose link is replaced), never a FIFO, a device or a directory.
#pragma once
#include <string>
#include <vector>

namespace trident {

struct OutputPolicy {
  bool overwrite = false;            // --force
  std::vector<std::string> inputs;   // files the writer reads while writing
};

// Throws Error naming `target` when writing it would break the policy.
void check_output_file(const std::string& target, const OutputPolicy& policy);
// True when the file at `path` lies anywhere under the directory `dir` (by device and inode).
bool directory_holds(const std::string& dir, const std::string& path);
// The regular files directly inside `dir` (a model directory's inputs).
std::vector<std::string> regular_files_in(const std::string& dir);

}  // namespace trident
