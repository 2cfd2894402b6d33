#include "runtime/fusion_cache.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/hf_config.h"

namespace trident {
namespace {

std::string& build_id() {
  static std::string id = "unknown-build";
  return id;
}

// The file's text, parsed; nullopt for a missing file. Throws Error on damage.
std::optional<nlohmann::json> read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json(text.str(), path);
}

// One entry, or nullopt for a malformed one (a field missing or of the wrong type).
std::optional<FusionVerdict> parse_entry(const nlohmann::json& e) {
  if (!e.is_object()) return std::nullopt;
  auto num = [&](const char* k) { return e.contains(k) && e[k].is_number(); };
  if (!e.contains("fused") || !e["fused"].is_boolean() || !num("fused_us") || !num("unfused_us") || !num("runs") ||
      !num("p_value") || !e.contains("measured_at") || !e["measured_at"].is_number_integer())
    return std::nullopt;
  FusionVerdict v;
  v.fused = e["fused"].get<bool>();
  v.fused_us = e["fused_us"].get<double>();
  v.unfused_us = e["unfused_us"].get<double>();
  v.runs = e["runs"].get<int>();
  v.p_value = e["p_value"].get<double>();
  v.measured_at = e["measured_at"].get<int64_t>();
  v.from_cache = true;
  return v;
}

nlohmann::json entry_json(const FusionVerdict& v) {
  return {{"fused", v.fused},     {"fused_us", v.fused_us},     {"unfused_us", v.unfused_us},
          {"runs", v.runs},       {"p_value", v.p_value},       {"measured_at", v.measured_at}};
}

bool fresh(const FusionVerdict& v, int64_t now) {
  return v.measured_at <= now && now - v.measured_at <= CalibrationCache::kMaxAgeSeconds;
}

}  // namespace

void set_calibration_build_id(std::string id) { build_id() = std::move(id); }
const std::string& calibration_build_id() { return build_id(); }

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      return p == std::string::npos ? line : line.substr(p + 2);
    }
  return "unknown-cpu";
}

std::string calibration_key(const std::string& cpu, const std::string& isa, const std::string& build,
                            int threads, const std::string& shape, int64_t bucket) {
  return fmt::format("{}|{}|{}|t{}|{}|b{}", cpu, isa, build, threads, shape, bucket);
}

std::optional<std::string> CalibrationCache::load() {
  entries_.clear();
  try {
    const std::optional<nlohmann::json> j = read_json(path_);
    if (!j) return std::nullopt;
    // Files of the first format (no "format" key) hold best-of-5 verdicts without age: not
    // damaged, just not trusted; they are replaced on the next save.
    if (!j->is_object()) return fmt::format("ignoring the fusion calibration cache {}: not a JSON object", path_);
    if (!j->contains("format") || (*j)["format"] != kFormat) return std::nullopt;
    const auto it = j->find("entries");
    if (it == j->end() || !it->is_object())
      return fmt::format("ignoring the fusion calibration cache {}: no \"entries\" object", path_);
    size_t bad = 0;
    for (const auto& [k, e] : it->items()) {
      if (auto v = parse_entry(e)) entries_[k] = *v;
      else ++bad;
    }
    if (bad > 0) return fmt::format("ignoring {} malformed entries of the fusion calibration cache {}", bad, path_);
  } catch (const std::exception& e) {
    entries_.clear();
    return fmt::format("ignoring the fusion calibration cache {}", e.what());  // what() starts with the path
  }
  return std::nullopt;
}

std::optional<FusionVerdict> CalibrationCache::find(const std::string& key, int64_t now) const {
  const auto it = entries_.find(key);
  if (it == entries_.end() || !fresh(it->second, now)) return std::nullopt;
  return it->second;
}

std::optional<std::string> CalibrationCache::save(int64_t now) const {
  namespace fs = std::filesystem;
  try {
    const fs::path p = path_;
    fs::create_directories(p.parent_path());
    CalibrationCache merged(path_);
    merged.load();  // a damaged file was already reported when it was loaded; it is replaced
    for (const auto& [k, v] : entries_) merged.entries_[k] = v;
    nlohmann::json entries = nlohmann::json::object();
    for (const auto& [k, v] : merged.entries_)
      if (fresh(v, now)) entries[k] = entry_json(v);
    const nlohmann::json j = {{"format", kFormat}, {"entries", entries}};
    const fs::path tmp = p.string() + ".tmp-" + std::to_string(::getpid());
    {
      std::ofstream out(tmp);
      out << j.dump(1) << "\n";
      if (!out.flush()) {
        std::error_code ec;
        fs::remove(tmp, ec);
        return fmt::format("could not write the fusion calibration cache {}", tmp.string());
      }
    }
    fs::rename(tmp, p);
  } catch (const std::exception& e) {
    return fmt::format("could not save the fusion calibration cache {}: {}", path_, e.what());
  }
  return std::nullopt;
}

}  // namespace trident
