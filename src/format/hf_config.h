// The JSON files of a Hugging Face model directory (config.json, generation_config.json,
// tokenizer_config.json, tokenizer.json) with typed getters whose errors name the file and the
// key, and what was expected vs found.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trident {

class JsonDoc {
 public:
  JsonDoc() = default;
  JsonDoc(std::string path, nlohmann::json root) : path_(std::move(path)), root_(std::move(root)) {}

  // Throws Error when the file is missing, unreadable, not well-formed JSON or not an object.
  static JsonDoc load(const std::string& path);
  // nullopt when the file does not exist; a file that exists but is bad still throws.
  static std::optional<JsonDoc> load_optional(const std::string& path);

  const std::string& path() const { return path_; }
  const nlohmann::json& root() const { return root_; }
  nlohmann::json& root() { return root_; }

  // Present and not null.
  bool has(std::string_view key) const;
  const nlohmann::json* find(std::string_view key) const;  // nullptr when absent or null

  // Required getters throw when the key is absent; optional ones return nullopt then. Both
  // throw when the key is present with the wrong type.
  int64_t get_int(std::string_view key) const;
  std::optional<int64_t> opt_int(std::string_view key) const;
  double get_float(std::string_view key) const;
  std::optional<double> opt_float(std::string_view key) const;  // integers accepted
  std::optional<bool> opt_bool(std::string_view key) const;
  std::string get_string(std::string_view key) const;
  std::optional<std::string> opt_string(std::string_view key) const;
  // A nested object as its own document (messages say "file: key 'outer.inner'").
  std::optional<JsonDoc> opt_object(std::string_view key) const;

  // For messages about a key of this document: "PATH: key 'K'".
  std::string where(std::string_view key) const;

 private:
  std::string path_;
  std::string prefix_;  // "outer." for nested documents
  nlohmann::json root_;
};

// config.json plus the optional generation_config.json and tokenizer_config.json of a model
// directory. A multimodal config's "text_config" is merged over the top level, as the
// reference converter does, so text-model keys are found in one place.
struct HfModelConfig {
  std::string dir;
  JsonDoc config;
  std::optional<JsonDoc> generation;
  std::optional<JsonDoc> tokenizer_config;
  std::string architecture;  // architectures[0]
  std::string model_type;    // may be empty
};

HfModelConfig read_hf_model_config(const std::string& dir);

// A short, single-line rendering of a JSON value for error messages; it reads only the part
// of j it shows, so a huge or deeply nested value is safe to pass.
std::string json_snippet(const nlohmann::json& j);
// Parses untrusted JSON text; throws Error naming `path` (and `part` of it, e.g. "header")
// when it is not well-formed or nests deeper than a configuration file ever does.
nlohmann::json parse_json(std::string_view text, const std::string& path, std::string_view part = {});

}  // namespace trident
