// An independent JSON Schema validator for the keywords grammar/json_schema.cpp supports: the
// oracle the grammar tests check generated JSON against (header-only: the public-API tests use
// it too).
#pragma once
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

namespace trident::test {

using Json = nlohmann::ordered_json;

inline size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// v against schema s; root resolves "#/..." references.
inline bool valid(const Json& v, const Json& s, const Json& root) {
  if (s.is_boolean()) return s.get<bool>();
  if (s.contains("$ref")) return valid(v, root.at(Json::json_pointer(s["$ref"].get<std::string>().substr(1))), root);
  for (const char* key : {"anyOf", "oneOf"}) {
    if (!s.contains(key)) continue;
    int hits = 0;
    for (const Json& alt : s[key]) hits += valid(v, alt, root);
    if (std::string(key) == "anyOf" ? hits == 0 : hits != 1) return false;
  }
  if (s.contains("const") && v != s["const"]) return false;
  if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end()) return false;
  if (s.contains("type")) {
    const Json types = s["type"].is_array() ? s["type"] : Json::array({s["type"]});
    bool ok = false;
    for (const Json& t : types) {
      const std::string ty = t.get<std::string>();
      ok |= (ty == "object" && v.is_object()) || (ty == "array" && v.is_array()) || (ty == "string" && v.is_string()) ||
            (ty == "number" && v.is_number()) || (ty == "integer" && v.is_number_integer()) ||
            (ty == "boolean" && v.is_boolean()) || (ty == "null" && v.is_null());
    }
    if (!ok) return false;
  }
  if (v.is_number_integer()) {
    const auto n = v.get<int64_t>();
    if (s.contains("minimum") && n < s["minimum"].get<int64_t>()) return false;
    if (s.contains("maximum") && n > s["maximum"].get<int64_t>()) return false;
    if (s.contains("exclusiveMinimum") && n <= s["exclusiveMinimum"].get<int64_t>()) return false;
    if (s.contains("exclusiveMaximum") && n >= s["exclusiveMaximum"].get<int64_t>()) return false;
  }
  if (v.is_string()) {
    const size_t n = code_points(v.get<std::string>());
    if (s.contains("minLength") && n < s["minLength"].get<size_t>()) return false;
    if (s.contains("maxLength") && n > s["maxLength"].get<size_t>()) return false;
  }
  if (v.is_array()) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return false;
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return false;
    if (s.contains("items"))
      for (const Json& item : v)
        if (!valid(item, s["items"], root)) return false;
  }
  if (v.is_object()) {
    if (s.contains("required"))
      for (const Json& r : s["required"])
        if (!v.contains(r.get<std::string>())) return false;
    for (const auto& [key, value] : v.items()) {
      if (s.contains("properties") && s["properties"].contains(key)) {
        if (!valid(value, s["properties"][key], root)) return false;
      } else if (s.contains("additionalProperties") && !valid(value, s["additionalProperties"], root)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace trident::test
