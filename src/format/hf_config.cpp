#include "format/hf_config.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "format/error.h"

namespace trident {

using nlohmann::json;

std::string json_snippet(const json& j) {
  std::string s = j.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

JsonDoc JsonDoc::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("{}: missing (required file)", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open: {}", path, std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("{}: read failed", path);
  json root;
  try {
    root = json::parse(ss.str());
  } catch (const json::parse_error& e) {
    fail("{}: not well-formed JSON: {}", path, e.what());
  }
  if (!root.is_object()) fail("{}: expected a JSON object at the top level, found {}", path, root.type_name());
  return JsonDoc(path, std::move(root));
}

std::optional<JsonDoc> JsonDoc::load_optional(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  return load(path);
}

std::string JsonDoc::where(std::string_view key) const {
  return fmt::format("{}: key '{}{}'", path_, prefix_, key);
}

const json* JsonDoc::find(std::string_view key) const {
  auto it = root_.find(std::string(key));
  if (it == root_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonDoc::has(std::string_view key) const { return find(key) != nullptr; }

std::optional<int64_t> JsonDoc::opt_int(std::string_view key) const {
  const json* j = find(key);
  if (!j) return std::nullopt;
  if (j->is_number_integer()) return j->get<int64_t>();
  // Some configs write integral values as 4096.0.
  if (j->is_number_float()) {
    const double d = j->get<double>();
    if (d == double(int64_t(d))) return int64_t(d);
  }
  fail("{}: expected an integer, found {}", where(key), json_snippet(*j));
}

int64_t JsonDoc::get_int(std::string_view key) const {
  auto v = opt_int(key);
  if (!v) fail("{}: missing (required)", where(key));
  return *v;
}

std::optional<double> JsonDoc::opt_float(std::string_view key) const {
  const json* j = find(key);
  if (!j) return std::nullopt;
  if (!j->is_number()) fail("{}: expected a number, found {}", where(key), json_snippet(*j));
  return j->get<double>();
}

double JsonDoc::get_float(std::string_view key) const {
  auto v = opt_float(key);
  if (!v) fail("{}: missing (required)", where(key));
  return *v;
}

std::optional<bool> JsonDoc::opt_bool(std::string_view key) const {
  const json* j = find(key);
  if (!j) return std::nullopt;
  if (!j->is_boolean()) fail("{}: expected true or false, found {}", where(key), json_snippet(*j));
  return j->get<bool>();
}

std::optional<std::string> JsonDoc::opt_string(std::string_view key) const {
  const json* j = find(key);
  if (!j) return std::nullopt;
  if (!j->is_string()) fail("{}: expected a string, found {}", where(key), json_snippet(*j));
  return j->get<std::string>();
}

std::string JsonDoc::get_string(std::string_view key) const {
  auto v = opt_string(key);
  if (!v) fail("{}: missing (required)", where(key));
  return *v;
}

std::optional<JsonDoc> JsonDoc::opt_object(std::string_view key) const {
  const json* j = find(key);
  if (!j) return std::nullopt;
  if (!j->is_object()) fail("{}: expected an object, found {}", where(key), json_snippet(*j));
  JsonDoc d(path_, *j);
  d.prefix_ = prefix_ + std::string(key) + ".";
  return d;
}

HfModelConfig read_hf_model_config(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("{}: not a directory (expected a Hugging Face model directory)", dir);
  HfModelConfig c;
  c.dir = dir;
  c.config = JsonDoc::load((fs::path(dir) / "config.json").string());
  const json* archs = c.config.find("architectures");
  if (!archs) fail("{}: missing (required: the model class, e.g. [\"LlamaForCausalLM\"])", c.config.where("architectures"));
  if (!archs->is_array() || archs->empty() || !(*archs)[0].is_string())
    fail("{}: expected a non-empty list of class names, found {}", c.config.where("architectures"), json_snippet(*archs));
  c.architecture = (*archs)[0].get<std::string>();
  c.model_type = c.config.opt_string("model_type").value_or("");
  // The model class is the top level's; everything else the text model's own config says.
  if (const json* tc = c.config.find("text_config")) {
    if (!tc->is_object()) fail("{}: expected an object, found {}", c.config.where("text_config"), json_snippet(*tc));
    const json text = *tc;
    for (auto it = text.begin(); it != text.end(); ++it)
      if (it.key() != "architectures") c.config.root()[it.key()] = it.value();
  }
  c.generation = JsonDoc::load_optional((fs::path(dir) / "generation_config.json").string());
  c.tokenizer_config = JsonDoc::load_optional((fs::path(dir) / "tokenizer_config.json").string());
  return c;
}

}  // namespace trident
