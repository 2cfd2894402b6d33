#include "grammar/json_schema.h"

#include <map>
#include <set>
#include <vector>

#include "format/error.h"

namespace trident {
namespace {

using Json = nlohmann::ordered_json;

// Optional whitespace between tokens, bounded so a generation cannot spin in it forever.
constexpr const char* kSpaceRule = R"(| " " | "\n"{1,2} [ \t]{0,20})";

struct Builtin {
  const char* body;
  std::vector<const char*> deps;
};

// llama.cpp's primitive rules (the same names and language, so grammars compare).
const std::map<std::string, Builtin>& builtins() {
  static const std::map<std::string, Builtin> rules = {
      {"boolean", {R"(("true" | "false"))", {}}},
      {"decimal-part", {"[0-9]{1,16}", {}}},
      {"integral-part", {"[0] | [1-9] [0-9]{0,15}", {}}},
      {"number", {R"(("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?)", {"integral-part", "decimal-part"}}},
      {"integer", {R"(("-"? integral-part))", {"integral-part"}}},
      {"value", {"object | array | string | number | boolean | null", {"object", "array", "string", "number", "boolean", "null"}}},
      {"object", {R"("{" space ( string ":" space value ("," space string ":" space value)* )? space "}")", {"string", "value"}}},
      {"array", {R"("[" space ( value ("," space value)* )? space "]")", {"value"}}},
      {"char", {R"([^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4}))", {}}},
      {"string", {R"("\"" char* "\"")", {"char"}}},
      {"null", {R"("null")", {}}},
  };
  return rules;
}

const std::set<std::string>& known_keywords() {
  static const std::set<std::string> k = {
      "type", "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems",
      "minLength", "maxLength", "enum", "const", "anyOf", "oneOf", "$ref", "$defs", "definitions", "minimum",
      "maximum", "exclusiveMinimum", "exclusiveMaximum",
      // annotations: they describe the value and do not constrain it
      "title", "description", "default", "examples", "format", "$schema", "$id", "$comment", "deprecated",
      "readOnly", "writeOnly"};
  return k;
}

// Rule names are [a-zA-Z0-9-]+: anything else becomes '-'.
std::string rule_name_of(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (ok) out += c;
    else if (out.empty() || out.back() != '-') out += '-';
  }
  return out;
}


std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(sep) : "") + parts[i];
  return out;
}

constexpr int64_t kUnbounded = -1;

// Integer ranges as digit patterns. Bounds stay within 16 digits, integral-part's length.
constexpr int64_t kMaxIntBound = 9'999'999'999'999'999;

// Numbers of exactly x.size() digits from x to y (x <= y, same length), digit by digit: the
// first digit of x with the rest from x's tail up to 9..9, the digits strictly between with
// anything, the first digit of y with 0..0 up to y's tail.
std::string same_length_range(const std::string& x, const std::string& y) {
  if (x.empty()) return "";
  const auto tail = [](const std::string& t) { return t.empty() ? "" : " " + t; };
  if (x == y) return "\"" + x + "\"";
  const size_t rest = x.size() - 1;
  const std::string any_rest = rest == 0 ? "" : rest == 1 ? " [0-9]" : " [0-9]{" + std::to_string(rest) + "}";
  const auto digits = [](char a, char b) { return a == b ? "[" + std::string(1, a) + "]" : "[" + std::string(1, a) + "-" + b + "]"; };
  if (x[0] == y[0]) return "\"" + std::string(1, x[0]) + "\"" + tail(same_length_range(x.substr(1), y.substr(1)));
  if (x.substr(1) == std::string(rest, '0') && y.substr(1) == std::string(rest, '9'))
    return digits(x[0], y[0]) + any_rest;
  std::vector<std::string> alts;
  alts.push_back("\"" + std::string(1, x[0]) + "\"" + tail(same_length_range(x.substr(1), std::string(rest, '9'))));
  if (y[0] - x[0] > 1)
    alts.push_back(digits(char(x[0] + 1), char(y[0] - 1)) + any_rest);
  alts.push_back("\"" + std::string(1, y[0]) + "\"" + tail(same_length_range(std::string(rest, '0'), y.substr(1))));
  return "(" + join(alts, " | ") + ")";
}

// Non-negative integers from lo to hi (hi kUnbounded: no limit) without leading zeros.
std::string natural_range(int64_t lo, int64_t hi) {
  std::vector<std::string> alts;
  const std::string slo = std::to_string(lo);
  const size_t max_len = hi == kUnbounded ? slo.size() : std::to_string(hi).size();
  for (size_t len = slo.size(); len <= max_len; ++len) {
    const int64_t first = len == 1 ? 0 : int64_t(std::stoll("1" + std::string(len - 1, '0')));
    const int64_t last = int64_t(std::stoll(std::string(len, '9')));
    const int64_t a = std::max(lo, first), b = hi == kUnbounded ? last : std::min(hi, last);
    if (a <= b) alts.push_back(same_length_range(std::to_string(a), std::to_string(b)));
  }
  if (hi == kUnbounded && slo.size() < 16) alts.push_back("[1-9] [0-9]{" + std::to_string(slo.size()) + ",15}");
  return alts.size() == 1 ? alts[0] : "(" + join(alts, " | ") + ")";
}

// Integers in [lo, hi]; either bound may be absent (nullopt-like: has_lo / has_hi false).
std::string integer_range(bool has_lo, int64_t lo, bool has_hi, int64_t hi) {
  std::vector<std::string> alts;
  if (!has_lo || lo < 0) {  // the negative part: "-" and a magnitude
    const int64_t mag_lo = has_hi && hi < 0 ? -hi : 1;
    alts.push_back("\"-\" " + natural_range(mag_lo, has_lo ? -lo : kUnbounded));
  }
  if (!has_hi || hi >= 0) alts.push_back(natural_range(has_lo ? std::max<int64_t>(lo, 0) : 0, has_hi ? hi : kUnbounded));
  return "(" + join(alts, " | ") + ")";
}

// item repeated min..max times (max kUnbounded: no limit), items separated by `sep` if given.
std::string repetition(const std::string& item, int64_t min, int64_t max, const std::string& sep) {
  if (max == 0) return "";
  if (min == 0 && max == 1) return item + "?";
  const auto count = [](int64_t lo, int64_t hi) {
    return "{" + std::to_string(lo) + "," + (hi == kUnbounded ? "" : std::to_string(hi)) + "}";
  };
  if (sep.empty()) {
    if (max == kUnbounded && min <= 1) return item + (min == 0 ? "*" : "+");
    return item + count(min, max);
  }
  const std::string rest = "(" + sep + " " + item + ")";
  std::string out = item;
  const int64_t rmin = min == 0 ? 0 : min - 1, rmax = max == kUnbounded ? kUnbounded : max - 1;
  if (rmax != 0) out += " " + repetition(rest, rmin, rmax, "");
  return min == 0 ? "(" + out + ")?" : out;
}

class SchemaConverter {
 public:
  explicit SchemaConverter(const Json& root) : root_(root) { rules_["space"] = kSpaceRule; }

  std::string convert() {
    visit(root_, "", "#", 0);
    std::string out;
    for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
    return out;
  }

 private:
  const Json& root_;
  std::map<std::string, std::string> rules_;
  std::set<std::string> resolving_;  // $refs whose target is being converted (recursion)

  std::string add_rule(const std::string& name, const std::string& body) {
    const std::string base = rule_name_of(name);
    for (int i = -1;; ++i) {
      const std::string key = i < 0 ? base : base + std::to_string(i);
      const auto it = rules_.find(key);
      if (it == rules_.end() || it->second == body) {
        rules_[key] = body;
        return key;
      }
    }
  }

  std::string builtin(const std::string& name) {
    const Builtin& b = builtins().at(name);
    rules_[name] = b.body;
    for (const char* dep : b.deps)
      if (!rules_.count(dep)) builtin(dep);
    return name;
  }

  static bool reserved(const std::string& name) { return name == "root" || name == "space" || builtins().count(name); }
  static std::string child(const std::string& name, const std::string& part) {
    return name.empty() ? part : name + "-" + part;
  }

  static int64_t count_of(const Json& s, const char* key, const std::string& path, int64_t dflt) {
    if (!s.contains(key)) return dflt;
    const Json& v = s[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      fail("json schema: {} at {}: expected a non-negative integer, found {}", key, path, v.dump());
    return v.get<int64_t>();
  }

  static const Json& array_of(const Json& s, const char* key, const std::string& path) {
    const Json& v = s[key];
    if (!v.is_array() || v.empty()) fail("json schema: {} at {}: expected a non-empty array", key, path);
    return v;
  }

  std::string visit(const Json& s, const std::string& name, const std::string& path, int depth) {
    if (depth > 64) fail("json schema: nested deeper than 64 levels at {}", path);
    const std::string rule = reserved(name) ? name + "-" : name.empty() ? "root" : name;
    if (s.is_boolean()) {
      if (!s.get<bool>()) fail("json schema: the schema 'false' at {} matches nothing", path);
      return add_rule(rule, builtin("value"));
    }
    if (!s.is_object()) fail("json schema: expected a schema (an object or a boolean) at {}, found {}", path, s.dump());
    for (const auto& [key, value] : s.items())
      if (!known_keywords().count(key)) fail("json schema: unsupported keyword '{}' at {}", key, path);

    if (s.contains("$ref")) return add_rule(rule, resolve_ref(s["$ref"], path, depth));
    if (s.contains("oneOf") || s.contains("anyOf")) {
      const char* key = s.contains("oneOf") ? "oneOf" : "anyOf";
      const Json& alts = array_of(s, key, path);
      std::vector<std::string> parts;
      for (size_t i = 0; i < alts.size(); ++i)
        parts.push_back(visit(alts[i], child(name, std::to_string(i)), path + "/" + key + "/" + std::to_string(i), depth + 1));
      return add_rule(rule, join(parts, " | "));
    }
    if (s.contains("type") && s["type"].is_array()) {
      std::vector<std::string> parts;
      for (const Json& t : array_of(s, "type", path)) {
        Json one = s;
        one["type"] = t;
        parts.push_back(visit(one, child(name, t.is_string() ? t.get<std::string>() : "type"), path, depth + 1));
      }
      return add_rule(rule, join(parts, " | "));
    }
    if (s.contains("const")) return add_rule(rule, gbnf_literal(s["const"].dump()));
    if (s.contains("enum")) {
      std::vector<std::string> parts;
      for (const Json& v : array_of(s, "enum", path)) parts.push_back(gbnf_literal(v.dump()));
      return add_rule(rule, "(" + join(parts, " | ") + ")");
    }

    std::string type;
    if (s.contains("type")) {
      if (!s["type"].is_string()) fail("json schema: type at {}: expected a string or an array of strings", path);
      type = s["type"].get<std::string>();
      static const std::set<std::string> types = {"object", "array", "string", "number", "integer", "boolean", "null"};
      if (!types.count(type)) fail("json schema: type at {}: unknown type '{}'", path, printable(type));
    }
    for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
      if (s.contains(k) && type != "integer")
        fail("json schema: unsupported keyword '{}' at {} (supported with \"type\": \"integer\" only)", k, path);
    const bool any = type.empty();
    if ((any || type == "object") &&
        (s.contains("properties") || (s.contains("additionalProperties") && s["additionalProperties"] != true)))
      return add_rule(rule, object_rule(s, name, path, depth));
    if ((any || type == "array") && (s.contains("items") || s.contains("prefixItems")))
      return add_rule(rule, array_rule(s, name, path, depth));
    if (type == "array" && (s.contains("minItems") || s.contains("maxItems"))) {
      Json with_items = s;
      with_items["items"] = true;
      return add_rule(rule, array_rule(with_items, name, path, depth));
    }
    if (type == "integer" && (s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") ||
                              s.contains("exclusiveMaximum")))
      return add_rule(rule, integer_rule(s, path));
    if (type == "string" && (s.contains("minLength") || s.contains("maxLength"))) {
      const int64_t min = count_of(s, "minLength", path, 0), max = count_of(s, "maxLength", path, kUnbounded);
      if (max != kUnbounded && max < min) fail("json schema: maxLength at {} is below minLength", path);
      return add_rule(rule, R"("\"" )" + repetition(builtin("char"), min, max, "") + R"( "\"")");
    }
    return add_rule(rule, builtin(any ? "value" : type));
  }

  static std::string integer_rule(const Json& s, const std::string& path) {
    const auto bound = [&](const char* key, bool& has, int64_t& v, int64_t shift, bool lower) {
      if (!s.contains(key)) return;
      const Json& b = s[key];
      if (!b.is_number_integer() || b.get<int64_t>() < -kMaxIntBound || b.get<int64_t>() > kMaxIntBound)
        fail("json schema: {} at {}: expected an integer of at most 16 digits, found {}", key, path, b.dump());
      const int64_t x = b.get<int64_t>() + shift;
      v = has ? (lower ? std::max(v, x) : std::min(v, x)) : x;
      has = true;
    };
    bool has_lo = false, has_hi = false;
    int64_t lo = 0, hi = 0;
    bound("minimum", has_lo, lo, 0, true);
    bound("exclusiveMinimum", has_lo, lo, 1, true);
    bound("maximum", has_hi, hi, 0, false);
    bound("exclusiveMaximum", has_hi, hi, -1, false);
    if (has_lo && has_hi && lo > hi) fail("json schema: the integer range at {} is empty ({} > {})", path, lo, hi);
    return integer_range(has_lo, lo, has_hi, hi);
  }

  std::string resolve_ref(const Json& ref, const std::string& path, int depth) {
    if (!ref.is_string() || ref.get<std::string>().rfind('#', 0) != 0)
      fail("json schema: $ref at {}: only references inside the schema ('#/...') are supported, found {}", path, ref.dump());
    const std::string target = ref.get<std::string>();
    const std::string name = "ref" + rule_name_of(target.substr(1));
    if (rules_.count(name) || resolving_.count(target)) return name;
    const Json* resolved = nullptr;
    try {
      resolved = &root_.at(Json::json_pointer(target.substr(1)));
    } catch (const nlohmann::json::exception&) {
      fail("json schema: $ref at {}: '{}' points to nothing in the schema", path, printable(target));
    }
    resolving_.insert(target);
    const std::string rule = visit(*resolved, name, target, depth + 1);
    resolving_.erase(target);
    return rule;
  }

  std::string object_rule(const Json& s, const std::string& name, const std::string& path, int depth) {
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) fail("json schema: required at {}: expected an array of property names", path);
      for (const Json& r : s["required"]) {
        if (!r.is_string()) fail("json schema: required at {}: expected an array of property names", path);
        required.insert(r.get<std::string>());
      }
    }
    std::vector<std::string> required_kv, optional_kv;
    if (s.contains("properties")) {
      if (!s["properties"].is_object()) fail("json schema: properties at {}: expected an object", path);
      for (const auto& [prop, sub] : s["properties"].items()) {
        const std::string value = visit(sub, child(name, prop), path + "/properties/" + prop, depth + 1);
        const std::string kv = add_rule(child(name, prop + "-kv"), gbnf_literal(Json(prop).dump()) + R"( space ":" space )" + value);
        (required.count(prop) ? required_kv : optional_kv).push_back(kv);
      }
    }
    bool any_more = false;  // additionalProperties: true or a schema -> a trailing "*" entry
    if (s.contains("additionalProperties")) {
      const Json& extra = s["additionalProperties"];
      if (extra.is_object() || extra == true) {
        const std::string sub = child(name, "additional");
        const std::string value = extra.is_object() ? visit(extra, sub + "-value", path + "/additionalProperties", depth + 1)
                                                    : builtin("value");
        optional_kv.push_back(add_rule(sub + "-kv", builtin("string") + R"( ":" space )" + value));
        any_more = true;
      } else if (extra != false) {
        fail("json schema: additionalProperties at {}: expected a boolean or a schema", path);
      }
    }
    std::string body = R"("{" space )" + join(required_kv, R"( "," space )");
    if (!optional_kv.empty()) {
      // Any subset of the optional properties, in order: alternative i starts with property i
      // and continues with a "-rest" rule of the later ones, each optional.
      std::vector<std::string> alts;
      for (size_t i = 0; i < optional_kv.size(); ++i) {
        const bool last_is_any = any_more && i + 1 == optional_kv.size();
        std::string alt = optional_kv[i] + (last_is_any ? R"( ( "," space )" + optional_kv[i] + " )*" : "");
        std::string rest;
        for (size_t j = i + 1; j < optional_kv.size(); ++j) {
          const bool is_any = any_more && j + 1 == optional_kv.size();
          rest += (rest.empty() ? "" : " ") + (R"(( "," space )" + optional_kv[j] + " )" + (is_any ? "*" : "?"));
        }
        if (!rest.empty()) alt += " " + add_rule(optional_kv[i] + "-rest", rest);
        alts.push_back(alt);
      }
      body += required_kv.empty() ? " ( " + join(alts, " | ") + " )?" : R"( ( "," space ( )" + join(alts, " | ") + " ) )?";
    }
    return body + R"( space "}")";
  }

  std::string array_rule(const Json& s, const std::string& name, const std::string& path, int depth) {
    const Json& items = s.contains("items") ? s["items"] : s["prefixItems"];
    const std::string key = s.contains("items") ? "items" : "prefixItems";
    if (items.is_array()) {
      std::vector<std::string> parts;
      for (size_t i = 0; i < items.size(); ++i)
        parts.push_back(visit(items[i], child(name, "tuple-" + std::to_string(i)), path + "/" + key + "/" + std::to_string(i), depth + 1));
      return R"("[" space )" + join(parts, R"( "," space )") + R"( space "]")";
    }
    const std::string item = visit(items, child(name, "item"), path + "/" + key, depth + 1);
    const int64_t min = count_of(s, "minItems", path, 0), max = count_of(s, "maxItems", path, kUnbounded);
    if (max != kUnbounded && max < min) fail("json schema: maxItems at {} is below minItems", path);
    return R"("[" space )" + repetition(item, min, max, R"("," space)") + R"( space "]")";
  }
};

}  // namespace

std::string gbnf_literal(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out + "\"";
}

std::string json_schema_to_gbnf(const nlohmann::ordered_json& schema) { return SchemaConverter(schema).convert(); }

std::string json_schema_to_gbnf(std::string_view schema_text) {
  nlohmann::ordered_json schema;
  try {
    schema = nlohmann::ordered_json::parse(schema_text);
  } catch (const nlohmann::json::exception& e) {
    fail("json schema: invalid JSON: {}", e.what());
  }
  return json_schema_to_gbnf(schema);
}

std::string json_object_gbnf() { return json_schema_to_gbnf(nlohmann::ordered_json{{"type", "object"}}); }

}  // namespace trident
