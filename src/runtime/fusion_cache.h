// The on-disk cache of `auto` fusion verdicts (fusion-calibration.json), so a machine pays for
// the measurement once per build and shape, not on every run.
//
// An entry's key names everything its verdict depends on: CPU model, kernel set (ISA),
// trident build (commit), thread count, group shape and batch bucket; a change of any of them
// is a different key. An entry also expires kMaxAgeSeconds after it was measured (a host's
// load and firmware change), or when its time lies in the future. A file that cannot be read
// or parsed, or an entry that is malformed, is ignored with a warning and re-measured: the
// cache can cost a measurement, never a failure.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace trident {

struct FusionVerdict {
  bool fused = true;
  double fused_us = 0, unfused_us = 0;  // medians of the timed runs
  int runs = 0;                         // timed runs of each path, interleaved
  double p_value = 1;                   // two-sided Mann–Whitney U test of the two samples
  int64_t measured_at = 0;              // Unix time, seconds
  bool from_cache = false;
};

class CalibrationCache {
 public:
  static constexpr int64_t kMaxAgeSeconds = 7 * 24 * 3600;
  static constexpr int kFormat = 2;  // files of another format are ignored (re-measured)

  explicit CalibrationCache(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  // Reads the file (a missing file is an empty cache). Returns a warning for a damaged file or
  // entry (what was ignored and why), else nothing. Never throws.
  std::optional<std::string> load();
  // The entry for key if present and measured within kMaxAgeSeconds before now.
  std::optional<FusionVerdict> find(const std::string& key, int64_t now) const;
  void put(const std::string& key, const FusionVerdict& v) { entries_[key] = v; }
  // Writes the entries merged with what the file holds now (another process may have added
  // some), dropping expired ones; through a temporary file and a rename. Returns a warning on
  // failure. Never throws.
  std::optional<std::string> save(int64_t now) const;

 private:
  std::string path_;
  std::map<std::string, FusionVerdict> entries_;
};

// "cpu|isa|build|tN|shape|bBUCKET": the cache key of one verdict.
std::string calibration_key(const std::string& cpu, const std::string& isa, const std::string& build,
                            int threads, const std::string& shape, int64_t bucket);
// The CPU model string of /proc/cpuinfo, or "unknown-cpu".
std::string cpu_model_name();
// The build the verdicts are measured with (the CLI sets its commit); "unknown-build" by default.
void set_calibration_build_id(std::string id);
const std::string& calibration_build_id();

}  // namespace trident
