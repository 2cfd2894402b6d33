#include "server/tool_calls.h"

#include <trident/trident.h>

#include <algorithm>
#include <cctype>

namespace trident::server {
namespace {

using ojson = nlohmann::ordered_json;

// DeepSeek's markers are full-width bars and "▁" (U+2581), as its templates spell them.
#define DS_CALLS_BEGIN "<\uFF5Ctool\u2581calls\u2581begin\uFF5C>"
#define DS_CALLS_END "<\uFF5Ctool\u2581calls\u2581end\uFF5C>"
#define DS_CALL_BEGIN "<\uFF5Ctool\u2581call\u2581begin\uFF5C>"
#define DS_CALL_END "<\uFF5Ctool\u2581call\u2581end\uFF5C>"
#define DS_SEP "<\uFF5Ctool\u2581sep\uFF5C>"

// What the template text says about the model's syntax (llama.cpp's common/chat.cpp tests the
// same strings, in an order where the more specific row comes first).
const std::vector<ToolSyntax> kSyntaxes = {
    // Gemma 4: <|tool_call>call:NAME{city:<|"|>Paris<|"|>,days:3}<tool_call|>
    {"gemma4", "<|tool_call>call:", "", ToolLayout::GemmaArgs, "", "<|tool_call>call:", "", "<tool_call|>", "", "", ""},
    // gpt-oss (harmony): <|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{..}<|call|>
    {"gpt-oss", "<|channel|>", "", ToolLayout::NameThenArgs, "", "<|channel|>commentary to=functions.",
     " <|constrain|>json<|message|>", "<|call|>", "<|start|>assistant", "", ""},
    // DeepSeek R1: function<｜tool▁sep｜>NAME\n```json\n{..}\n```
    {"deepseek-r1", DS_CALLS_BEGIN, "```json", ToolLayout::NameThenArgs, DS_CALLS_BEGIN, DS_CALL_BEGIN "function" DS_SEP,
     "\n```json\n", "\n```" DS_CALL_END, "\n", DS_CALLS_END, ""},
    // DeepSeek V3.1: NAME<｜tool▁sep｜>{..}
    {"deepseek-v3.1", DS_CALLS_BEGIN, "", ToolLayout::NameThenArgs, DS_CALLS_BEGIN, DS_CALL_BEGIN, DS_SEP, DS_CALL_END,
     "", DS_CALLS_END, ""},
    {"glm-4.5", "<arg_key>", "", ToolLayout::ArgPairs, "", "<tool_call>", "", "</tool_call>", "\n", "", ""},
    // Mistral with [ARGS] (Magistral, Devstral, Mistral Small 3.2): [TOOL_CALLS]NAME[ARGS]{..}
    {"mistral-args", "[TOOL_CALLS]", "[ARGS]", ToolLayout::NameThenArgs, "", "[TOOL_CALLS]", "[ARGS]", "", "", "", ""},
    {"mistral", "[TOOL_CALLS]", "", ToolLayout::JsonObject, "[TOOL_CALLS][", "", "", "", ", ", "]", "arguments"},
    // Phi-4-mini: its template marks tool definitions <|tool|>; calls go in <|tool_call|>[...]<|/tool_call|>
    {"phi-4", "<|tool|>", "", ToolLayout::JsonObject, "<|tool_call|>[", "", "", "", ", ", "]<|/tool_call|>",
     "arguments"},
    {"granite", "<|tool_call|>", "", ToolLayout::JsonObject, "<|tool_call|>[", "", "", "", ", ", "]", "arguments"},
    {"llama3", "<|start_header_id|>ipython<|end_header_id|>", "", ToolLayout::JsonObject, "", "", "", "", "", "",
     "parameters"},
    // Hermes 2 Pro, Qwen 2.5 / 3, SmolLM3, Granite 4, and the fallback for everything else.
    {"hermes", "<tool_call>", "", ToolLayout::JsonObject, "", "<tool_call>\n", "", "\n</tool_call>", "\n", "",
     "arguments"},
};


bool rule_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'; }

// The grammar with every rule name prefixed, so several schemas' grammars (each with its own
// root, space, string...) live in one. Skips literals, character classes, repetition counts
// and comments, where names cannot occur.
std::string prefix_rules(const std::string& gbnf, const std::string& prefix) {
  std::string out;
  for (size_t i = 0; i < gbnf.size();) {
    const char c = gbnf[i];
    if (c == '"' || c == '[') {
      const char close = c == '"' ? '"' : ']';
      size_t j = i + 1;
      while (j < gbnf.size() && gbnf[j] != close) j += gbnf[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, gbnf.size());
      out.append(gbnf, i, j - i);
      i = j;
    } else if (c == '{' || c == '#') {
      const size_t j = std::min(gbnf.find(c == '{' ? '}' : '\n', i), gbnf.size());
      out.append(gbnf, i, j - i);
      i = j;
    } else if (rule_char(c)) {
      size_t j = i;
      while (j < gbnf.size() && rule_char(gbnf[j])) ++j;
      out += prefix;
      out.append(gbnf, i, j - i);
      i = j;
    } else {
      out += c, ++i;
    }
  }
  return out;
}

// The function's parameters schema ({"type": "object"} when absent).
ojson parameters_of(const ojson& tool) {
  const ojson& f = tool.at("function");
  auto it = f.find("parameters");
  return it == f.end() || it->is_null() ? ojson{{"type", "object"}} : *it;
}

// Rules for one schema under `prefix` (its root is PREFIX-root).
std::string schema_rules(const ojson& schema, const std::string& prefix) {
  return prefix_rules(api::json_schema_to_grammar(schema.dump()), prefix);
}

size_t json_value_end(const std::string& s, size_t at);

// Arguments written as key/value pairs (GLM-4.5, Gemma 4): each required property in order,
// string values in the family's own quoting, other values as JSON. Optional properties are left
// out: what the grammar allows is a valid call.
std::string arg_pairs_rules(ToolLayout layout, const ojson& schema, const std::string& prefix, std::string& body) {
  const bool glm = layout == ToolLayout::ArgPairs;
  std::string rules;
  if (!schema.contains("properties") || !schema.contains("required")) return rules;
  int i = 0;
  for (const ojson& key : schema["required"]) {
    if (!key.is_string() || !schema["properties"].contains(key.get<std::string>())) continue;
    const ojson& prop = schema["properties"][key.get<std::string>()];
    const std::string value = prefix + "p" + std::to_string(i) + "-";
    const std::string k = key.get<std::string>();
    body += " " + api::grammar_literal(glm ? "<arg_key>" + k + "</arg_key>\n<arg_value>" : (i ? "," : "") + k + ":");
    if (prop.is_object() && prop.value("type", ojson()) == "string" && !prop.contains("enum")) {
      body += glm ? " [^<]*" : " " + api::grammar_literal("<|\"|>") + " [^<]* " + api::grammar_literal("<|\"|>");
    } else {
      rules += schema_rules(prop, value);
      body += " " + value + "root";
    }
    if (glm) body += " " + api::grammar_literal("</arg_value>\n");
    ++i;
  }
  return rules;
}

// Gemma 4's argument block at `at` ({K:V,...}: bare keys, <|"|>-quoted strings) as JSON text;
// `end` is set past it. "" when it does not close.
std::string gemma_args_to_json(const std::string& text, size_t at, size_t& end) {
  static const std::string quote = "<|\"|>";
  std::string out;
  int depth = 0;
  for (size_t i = at; i < text.size();) {
    const char c = text[i];
    if (text.compare(i, quote.size(), quote) == 0) {
      const size_t close = text.find(quote, i + quote.size());
      if (close == std::string::npos) return "";
      out += ojson(text.substr(i + quote.size(), close - i - quote.size())).dump();
      i = close + quote.size();
    } else if (c == '"') {  // a JSON string, as the grammar writes nested values
      const size_t close = json_value_end(text, i);
      if (close == std::string::npos) return "";
      out.append(text, i, close - i);
      i = close;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_' || text[j] == '-')) ++j;
      const std::string word = text.substr(i, j - i);
      const bool is_key = j < text.size() && text[j] == ':';
      out += is_key ? ojson(word).dump() : word;
      i = j;
    } else {
      out += c;
      ++i;
      if (c == '{' || c == '[') ++depth;
      if ((c == '}' || c == ']') && --depth == 0) {
        end = i;
        return out;
      }
    }
  }
  return "";
}

// Skips spaces; returns the position after `word` when the text has it there, else npos.
size_t expect(const std::string& text, size_t at, std::string_view word) {
  auto skip = [&](size_t p) {
    while (p < text.size() && std::isspace(static_cast<unsigned char>(text[p]))) ++p;
    return p;
  };
  at = skip(at);
  std::string_view w = word;
  while (!w.empty() && std::isspace(static_cast<unsigned char>(w.front()))) w.remove_prefix(1);
  while (!w.empty() && std::isspace(static_cast<unsigned char>(w.back()))) w.remove_suffix(1);
  if (w.empty()) return at;
  return text.compare(at, w.size(), w) == 0 ? at + w.size() : std::string::npos;
}

// The end of the JSON value that starts at `at` (after spaces), or npos when it does not end.
size_t json_value_end(const std::string& s, size_t at) {
  while (at < s.size() && std::isspace(static_cast<unsigned char>(s[at]))) ++at;
  if (at >= s.size()) return std::string::npos;
  int depth = 0;
  bool in_string = false;
  for (size_t i = at; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      if (!in_string && depth == 0) return i + 1;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') {
      if (--depth <= 0) return depth == 0 ? i + 1 : std::string::npos;
    } else if (depth == 0 && (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '<')) {
      return i;
    }
  }
  return depth == 0 && !in_string ? s.size() : std::string::npos;
}

bool parse_json(const std::string& text, size_t from, size_t to, ojson& out) {
  out = ojson::parse(text.begin() + long(from), text.begin() + long(to), nullptr, false);
  return !out.is_discarded();
}

// One call's body at `at`; the position after it, or npos.
size_t parse_call_body(const ToolSyntax& s, const std::string& text, size_t at, ToolCall& call) {
  if (s.layout == ToolLayout::JsonObject) {
    const size_t end = json_value_end(text, at);
    ojson obj;
    if (end == std::string::npos || !parse_json(text, at, end, obj) || !obj.is_object()) return std::string::npos;
    if (obj.contains("function") && obj["function"].is_object()) obj = obj["function"];  // {"type":"function", ...}
    if (!obj.contains("name") || !obj["name"].is_string()) return std::string::npos;
    ojson args = obj.contains(s.args_key) ? obj[s.args_key] : obj.value("arguments", obj.value("parameters", ojson::object()));
    if (args.is_string()) args = ojson::parse(args.get<std::string>(), nullptr, false);
    if (!args.is_object()) return std::string::npos;
    call = {obj["name"].get<std::string>(), args.dump()};
    return end;
  }
  // A name (what function names are made of), then the arguments.
  while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
  size_t name_end = at;
  while (name_end < text.size() && (std::isalnum(static_cast<unsigned char>(text[name_end])) ||
                                    std::string_view("_-.:").find(text[name_end]) != std::string_view::npos))
    ++name_end;
  if (name_end == at) return std::string::npos;
  call.name = text.substr(at, name_end - at);
  if (s.layout == ToolLayout::GemmaArgs) {
    size_t end = 0;
    const std::string converted = name_end < text.size() && text[name_end] == '{' ? gemma_args_to_json(text, name_end, end) : "";
    ojson args = ojson::parse(converted, nullptr, false);
    if (converted.empty() || !args.is_object()) return std::string::npos;
    call.arguments = args.dump();
    return end;
  }
  if (s.layout == ToolLayout::NameThenArgs) {
    // The separator as written, or (models abbreviate harmony's) anything up to the object.
    size_t args_at = expect(text, name_end, s.name_end);
    if (args_at == std::string::npos) {
      args_at = text.find('{', name_end);
      if (args_at == std::string::npos || args_at - name_end > 64) return std::string::npos;
    }
    const size_t end = json_value_end(text, args_at);
    ojson args;
    if (end == std::string::npos || !parse_json(text, args_at, end, args) || !args.is_object()) return std::string::npos;
    call.arguments = args.dump();
    return end;
  }
  ojson args = ojson::object();
  size_t p = name_end;
  for (;;) {
    const size_t key_at = expect(text, p, "<arg_key>");
    if (key_at == std::string::npos) break;
    const size_t key_end = text.find("</arg_key>", key_at);
    const size_t value_at = key_end == std::string::npos ? key_end : expect(text, key_end + 10, "<arg_value>");
    const size_t value_end = value_at == std::string::npos ? value_at : text.find("</arg_value>", value_at);
    if (value_end == std::string::npos) return std::string::npos;
    const std::string raw = text.substr(value_at, value_end - value_at);
    ojson value = ojson::parse(raw, nullptr, false);
    args[text.substr(key_at, key_end - key_at)] = value.is_discarded() ? ojson(raw) : value;
    p = value_end + 12;
  }
  call.arguments = args.dump();
  return p;
}

}  // namespace

const std::vector<ToolSyntax>& tool_syntaxes() { return kSyntaxes; }

const ToolSyntax& tool_syntax_for(std::string_view src) {
  for (const ToolSyntax& s : kSyntaxes)
    if (src.find(s.detect) != std::string_view::npos && src.find(s.detect_also) != std::string_view::npos) return s;
  return kSyntaxes.back();
}

std::string tool_call_trigger(const ToolSyntax& s) {
  std::string t = *s.begin ? s.begin : s.call_open;  // without the spaces models may leave out
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  return t;
}

ParsedReply parse_tool_calls(const ToolSyntax& s, const std::string& text) {
  const std::string trigger = tool_call_trigger(s);
  size_t start = 0;
  if (trigger.empty()) {  // bare JSON: the whole reply is the call, after an optional <|python_tag|>
    start = expect(text, 0, "<|python_tag|>");
    if (start == std::string::npos) start = 0;
    if (expect(text, start, "{") == std::string::npos) return {text, {}};
  } else {
    start = text.find(trigger);
    if (start == std::string::npos) return {text, {}};
  }
  ParsedReply out{text.substr(0, trigger.empty() ? 0 : start), {}};
  size_t at = expect(text, start, s.begin);
  for (bool first = true; at != std::string::npos; first = false) {
    if (!first) {
      const size_t next = expect(text, at, s.separator);
      if (next == std::string::npos || expect(text, next, s.call_open) == std::string::npos) break;
      at = next;
    }
    const size_t body = expect(text, at, s.call_open);
    ToolCall call;
    const size_t after = body == std::string::npos ? body : parse_call_body(s, text, body, call);
    if (after == std::string::npos) break;
    out.calls.push_back(std::move(call));
    at = expect(text, after, s.call_close);
  }
  if (out.calls.empty()) return {text, {}};
  return out;
}

std::string tool_call_grammar(const ToolSyntax& s, const ojson& tools, const std::string& only, bool parallel) {
  std::string rules, alternatives;
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string name = tools[i]["function"]["name"];
    if (!only.empty() && name != only) continue;
    const std::string f = "f" + std::to_string(i);
    const ojson params = parameters_of(tools[i]);
    std::string body;
    if (s.layout == ToolLayout::JsonObject) {
      rules += schema_rules(params, f + "-");
      body = api::grammar_literal("{\"name\": " + ojson(name).dump() + ", \"" + s.args_key + "\": ") + " " + f + "-root " + api::grammar_literal("}");
    } else if (s.layout == ToolLayout::NameThenArgs) {
      rules += schema_rules(params, f + "-");
      body = api::grammar_literal(name + s.name_end) + " " + f + "-root";
    } else if (s.layout == ToolLayout::ArgPairs) {
      body = api::grammar_literal(name + "\n");
      rules += arg_pairs_rules(s.layout, params, f + "-", body);
    } else {
      body = api::grammar_literal(name + "{");
      rules += arg_pairs_rules(s.layout, params, f + "-", body);
      body += " " + api::grammar_literal("}");
    }
    rules += f + " ::= " + body + "\n";
    alternatives += (alternatives.empty() ? "" : " | ") + f;
  }
  std::string call = "tool-call ::= ";
  if (*s.call_open) call += api::grammar_literal(s.call_open) + " ";
  call += "(" + alternatives + ")";
  if (*s.call_close) call += " " + api::grammar_literal(s.call_close);
  std::string root = "root ::= ";
  if (*s.begin) root += api::grammar_literal(s.begin) + " ";
  root += "tool-call";
  if (parallel) root += " (" + (*s.separator ? api::grammar_literal(s.separator) + " " : std::string()) + "tool-call)*";
  if (*s.end) root += " " + api::grammar_literal(s.end);
  return root + "\n" + call + "\n" + rules;
}

std::string tools_system_prompt(const ojson& tools, bool hermes_format) {
  std::string text =
      "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with "
      "function signatures within <tools></tools> XML tags:\n<tools>";
  for (const ojson& t : tools) text += "\n" + t.dump();
  text += "\n</tools>";
  if (hermes_format)
    text += "\n\nFor each function call, return a json object with function name and arguments within "
            "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
            "<args-json-object>}\n</tool_call>";
  return text;
}

std::string ToolStreamFilter::push(const std::string& piece) {
  text_ += piece;
  if (in_calls_) return "";
  size_t hold_from = text_.size();
  if (trigger_.empty()) {
    // Bare JSON calls begin the reply: hold everything while it may still be one.
    const size_t first = text_.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    const std::string_view rest = std::string_view(text_).substr(first);
    const std::string_view tag = "<|python_tag|>";
    if (rest.starts_with("{") || rest.starts_with(tag) || tag.starts_with(rest)) {
      in_calls_ = rest.starts_with("{") || rest.starts_with(tag);
      return "";
    }
  } else if (const size_t at = text_.find(trigger_, sent_ > trigger_.size() ? sent_ - trigger_.size() : 0);
             at != std::string::npos) {
    in_calls_ = true;
    hold_from = at;
  } else {
    for (size_t n = std::min(trigger_.size() - 1, text_.size()); n > 0; --n)
      if (text_.compare(text_.size() - n, n, trigger_, 0, n) == 0) {
        hold_from = text_.size() - n;
        break;
      }
  }
  if (hold_from <= sent_) return "";
  std::string out = text_.substr(sent_, hold_from - sent_);
  sent_ = hold_from;
  return out;
}

}  // namespace trident::server
