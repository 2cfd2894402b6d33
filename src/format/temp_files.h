// Temporary outputs of the file writers: named `.NAME.tmp-PID-XXXXXX` beside the target, removed
// when the writer fails, when it is stopped by SIGINT / SIGTERM / SIGHUP (a signal-safe registry
// of live paths, unlinked by the handler before the signal is re-raised), and, after a SIGKILL,
// by the next writer of the same target (the pid in the name is gone).
#pragma once
#include <string>

namespace trident {

// Creates a temporary file (mode 0600) or directory for `target` in its directory, registered
// for removal on a signal. Throws Error naming target on failure. create_temp_file returns the
// open descriptor in *fd.
std::string create_temp_file(const std::string& target, int* fd);
std::string create_temp_dir(const std::string& target);
// The temporary path is gone (renamed into place or removed): stop tracking it.
void forget_temp(const std::string& path);
// Removes the temporaries of `target` left by writers that no longer run.
void remove_stale_temps(const std::string& target);

}  // namespace trident
