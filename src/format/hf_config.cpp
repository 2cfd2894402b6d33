#include "format/hf_config.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "format/error.h"

namespace trident {

using nlohmann::json;

namespace {

// Real configs nest a handful of levels; a file nested thousands deep is hostile, and
// nlohmann's dump, copy and compare recurse once per level (a stack overflow at ~100,000).
constexpr int kMaxJsonDepth = 64;
constexpr size_t kSnippetChars = 60;

// Appends a rendering of j to out, stopping once out reaches kSnippetChars: containers are
// walked only as far as the message shows, so the size or depth of j costs nothing.
void append_snippet(const json& j, int depth, std::string& out) {
  if (out.size() >= kSnippetChars) return;
  if (j.is_array() || j.is_object()) {
    if (depth >= 3) {
      out += j.is_array() ? "[...]" : "{...}";
      return;
    }
    out += j.is_array() ? '[' : '{';
    bool first = true;
    for (auto it = j.begin(); it != j.end() && out.size() < kSnippetChars; ++it, first = false) {
      if (!first) out += ',';
      if (j.is_object()) out += json(it.key()).dump(-1, ' ', false, json::error_handler_t::replace) + ":";
      append_snippet(*it, depth + 1, out);
    }
    out += j.is_array() ? ']' : '}';
    return;
  }
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    out += json(s.substr(0, kSnippetChars)).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += j.dump();
}

}  // namespace

std::string json_snippet(const json& j) {
  std::string s;
  append_snippet(j, 0, s);
  if (s.size() > kSnippetChars) s = s.substr(0, kSnippetChars - 3) + "...";
  return s;
}

json parse_json(std::string_view text, const std::string& path, std::string_view part) {
  const std::string subject = part.empty() ? std::string() : std::string(part) + " is ";
  bool too_deep = false;
  const json::parser_callback_t bound_depth = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth) {
      too_deep = true;
      throw std::length_error("nesting");
    }
    return true;
  };
  try {
    return json::parse(text, bound_depth);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    fail("{}: {}not well-formed JSON: {}", path, subject, e.what());
  } catch (const std::length_error&) {
    if (!too_deep) throw;
    fail("{}: {}JSON nested deeper than {} levels (expected a configuration file)", path, subject, kMaxJsonDepth);
  }
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
  json root = parse_json(ss.str(), path);
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
    // Moved out, not copied: text_config is replaced by its own keys right after.
    json text = std::move(c.config.root()["text_config"]);
    for (auto it = text.begin(); it != text.end(); ++it)
      if (it.key() != "architectures") c.config.root()[it.key()] = std::move(it.value());
  }
  c.generation = JsonDoc::load_optional((fs::path(dir) / "generation_config.json").string());
  c.tokenizer_config = JsonDoc::load_optional((fs::path(dir) / "tokenizer_config.json").string());
  return c;
}

}  // namespace trident
