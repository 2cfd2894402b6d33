#include "server/chat_request.h"

#include <optional>

#include "server/tool_calls.h"

namespace trident::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Text parts ({"type": "text", "text": ...}) joined with "\n"; `where` names the field.
std::string join_text_parts(const ordered_json& parts, const std::string& where) {
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) {
    const ordered_json& p = parts[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!p.is_object() || !p.contains("type") || p["type"] != "text")
      bad_field(at, "a text part {\"type\": \"text\", \"text\": ...} (only text is served)", json::parse(p.dump()));
    if (!p.contains("text") || !p["text"].is_string()) bad_field(at + ".text", "a string", json::parse(p.dump()));
    if (i > 0) text += "\n";
    text += p["text"].get<std::string>();
  }
  return text;
}

// A message's content: a string, null (kept), or text parts (joined).
ordered_json message_content(const ordered_json& content, const std::string& where) {
  if (content.is_string() || content.is_null()) return content;
  if (content.is_array()) return join_text_parts(content, where);
  bad_field(where, "a string or an array of text parts", json::parse(content.dump()));
}

// Tokenizes a rendered prompt (control-token texts recognised, as the template writes them) and
// checks it against the context.
std::vector<int32_t> tokenize_prompt(const std::string& prompt, const api::Model& model, int64_t n_ctx) {
  std::vector<int32_t> tokens = model.tokenize(prompt, true, true);
  if (tokens.empty() && model.bos() >= 0) tokens.push_back(model.bos());
  check_prompt(tokens, n_ctx, "messages");
  return tokens;
}

// The tools of a request in OpenAI's shape and what tool_choice asks.
struct ToolChoice {
  ordered_json tools = ordered_json::array();  // [{"type": "function", "function": {name, ...}}]
  std::string mode = "none";                  // none, auto or required (a named function: required + only)
  std::string only;
  bool parallel = false;                      // llama-server's default for parallel_tool_calls
};

// The conversation as the template may take it. Templates differ in what they accept, and
// llama.cpp probes each for its capabilities; here the variants are tried in order and the first
// that renders wins: (1) tool_calls' arguments as objects (Qwen, Llama 3.x, Mistral, GLM iterate
// or tojson them), (2) as the JSON strings OpenAI sends (DeepSeek concatenates them), (3) tool
// calls written into the assistant's text in Hermes's syntax, tool results as user turns and
// same-role turns merged (templates without tool roles: Gemma 2/3, Phi-3.5, Phi-4, and ChatML;
// a template that never mentions tools gets only this one). A tools prompt the
// template cannot take as a system turn (Gemma 2) goes before the first user turn instead.
struct ToolRender {
  std::string prompt;         // the tools system prompt, when the template does not render tools
  bool tools_in_template = false;
};

ordered_json arguments_as_objects(ordered_json messages) {
  for (ordered_json& m : messages)
    if (m.contains("tool_calls") && m["tool_calls"].is_array())
      for (ordered_json& call : m["tool_calls"])
        if (call.is_object() && call.contains("function") && call["function"].is_object() &&
            call["function"].contains("arguments") && call["function"]["arguments"].is_string()) {
          ordered_json args = ordered_json::parse(call["function"]["arguments"].get<std::string>(), nullptr, false);
          if (args.is_object()) call["function"]["arguments"] = args;
        }
  return messages;
}

std::string text_of(const ordered_json& content) { return content.is_string() ? content.get<std::string>() : ""; }

// Tool calls as Hermes text, tool results as user turns, consecutive same-role turns merged.
ordered_json without_tool_roles(const ordered_json& messages) {
  ordered_json out = ordered_json::array();
  for (const ordered_json& m : messages) {
    std::string role = m.value("role", ""), text = text_of(m.value("content", ordered_json()));
    if (role == "tool") {
      role = "user";
      text = "<tool_response>\n" + text + "\n</tool_response>";
    } else if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
      for (const ordered_json& call : m["tool_calls"]) {
        const ordered_json f = call.is_object() ? call.value("function", ordered_json::object()) : ordered_json();
        if (!f.is_object()) continue;
        ordered_json args = f.value("arguments", ordered_json::object());
        if (args.is_string()) args = ordered_json::parse(args.get<std::string>(), nullptr, false);
        text += (text.empty() ? "" : "\n") + std::string("<tool_call>\n") +
                ordered_json{{"name", f.value("name", ordered_json(""))}, {"arguments", args.is_discarded() ? ordered_json(f.value("arguments", "")) : args}}.dump() +
                "\n</tool_call>";
      }
    }
    if (!out.empty() && out.back()["role"] == role) {
      out.back()["content"] = text_of(out.back()["content"]) + "\n\n" + text;
    } else {
      ordered_json copy = {{"role", role}, {"content", text}};
      out.push_back(std::move(copy));
    }
  }
  return out;
}

// The tools prompt in a system turn (joined to the first one), or before the first user turn.
ordered_json with_tools_prompt(ordered_json messages, const std::string& prompt, bool as_system) {
  if (prompt.empty()) return messages;
  if (as_system) {
    if (!messages.empty() && messages[0].value("role", "") == "system" && messages[0]["content"].is_string())
      messages[0]["content"] = messages[0]["content"].get<std::string>() + "\n\n" + prompt;
    else
      messages.insert(messages.begin(), ordered_json{{"role", "system"}, {"content", prompt}});
    return messages;
  }
  for (ordered_json& m : messages)
    if (m.value("role", "") == "user") {
      m["content"] = prompt + "\n\n" + text_of(m["content"]);
      break;
    }
  return messages;
}

std::string render_conversation(const ordered_json& messages, const ordered_json& extra, const ToolRender& tools,
                                const api::ChatTemplate& tmpl) {
  const std::string extra_text = extra.empty() ? "" : extra.dump();
  if (tools.prompt.empty() && !tools.tools_in_template) return tmpl.apply(messages.dump(), true, extra_text);
  // A template that never mentions tools would drop tool turns silently (Phi-3.5, Phi-4).
  std::vector<ordered_json> variants = {arguments_as_objects(messages), messages, without_tool_roles(messages)};
  if (tmpl.is_fallback() || tmpl.source().find("tool") == std::string::npos) variants = {without_tool_roles(messages)};
  std::optional<Error> first;
  for (const ordered_json& v : variants)
    for (bool as_system : {true, false}) {
      if (!as_system && tools.prompt.empty()) continue;
      try {
        return tmpl.apply(with_tools_prompt(v, tools.prompt, as_system).dump(), true, extra_text);
      } catch (const Error& e) {
        if (!first) first = e;
      }
    }
  throw *first;
}

// Offers the tools to the template (as `tools`, or as a system prompt when the template does
// not render them), sets the reply's syntax and its grammar: from the first token for required
// calls, from the calls' opening on for "auto".
ToolRender offer_tools(const ToolChoice& choice, const api::ChatTemplate& tmpl, ordered_json& extra, CompletionRequest& r) {
  ToolRender out;
  if (choice.mode == "none" || choice.tools.empty()) return out;
  const std::string& src = tmpl.source();
  out.tools_in_template = !tmpl.is_fallback() && src.find("tools") != std::string::npos;
  // The template's own call syntax even when it does not list the tools (DeepSeek R1 and V3.1
  // templates write calls but never the definitions).
  r.tool_syntax = tmpl.is_fallback() ? &tool_syntax_for("") : &tool_syntax_for(src);
  if (out.tools_in_template) extra["tools"] = choice.tools;
  else out.prompt = tools_system_prompt(choice.tools, std::string(r.tool_syntax->name) == "hermes");
  if (choice.mode == "required") {
    if (!r.grammar.empty())
      throw Error("'tool_choice': a required tool call cannot be combined with 'grammar', 'json_schema' or 'response_format'");
    r.grammar = tool_call_grammar(*r.tool_syntax, choice.tools, choice.only, choice.parallel);
  } else if (r.grammar.empty() && !tool_call_trigger(*r.tool_syntax).empty()) {
    // "auto": the calls' grammar waits for their opening. A syntax whose calls are bare JSON
    // (Llama 3.x) has no opening to wait for and is only parsed; so are tools whose parameter
    // schemas the grammar engine cannot express (a 400 only where a call is required).
    try {
      r.grammar = tool_call_grammar(*r.tool_syntax, choice.tools, "", choice.parallel);
      r.grammar_trigger = tool_call_trigger(*r.tool_syntax);
    } catch (const Error&) {
      r.grammar.clear();
    }
  }
  return out;
}

// A function's name as a tool call can spell it.
void check_function_name(const ordered_json& name, const std::string& at) {
  if (!name.is_string() || name.get_ref<const std::string&>().empty())
    bad_field(at, "a function name (a non-empty string)", json::parse(name.dump()));
  for (char c : name.get<std::string>())
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      bad_field(at, "a function name of letters, digits, '_', '-' and '.'", json::parse(name.dump()));
}

bool has_function(const ordered_json& tools, const std::string& name) {
  for (const ordered_json& t : tools)
    if (t["function"]["name"] == name) return true;
  return false;
}

// OpenAI: tools [{"type": "function", "function": {"name", "description", "parameters"}}],
// tool_choice "none" | "auto" | "required" | {"type": "function", "function": {"name"}},
// parallel_tool_calls.
ToolChoice openai_tools(const json& body, const ordered_json& ordered) {
  ToolChoice c;
  if (const json* tools = field(body, "tools")) {
    if (!tools->is_array()) bad_field("tools", "an array of function tools", *tools);
    for (size_t i = 0; i < tools->size(); ++i) {
      const std::string at = "tools[" + std::to_string(i) + "]";
      const json& t = (*tools)[i];
      if (!t.is_object() || t.value("type", json()) != "function" || !t.contains("function") || !t["function"].is_object())
        bad_field(at, R"({"type": "function", "function": {"name": ..., "parameters": {...}}})", t);
      check_function_name(ordered["tools"][i]["function"].value("name", ordered_json()), at + ".function.name");
      const json* params = field(t["function"], "parameters");
      if (params && !params->is_object()) bad_field(at + ".function.parameters", "a JSON schema object", *params);
      c.tools.push_back(ordered["tools"][i]);
    }
  }
  c.mode = c.tools.empty() ? "none" : "auto";
  if (const json* choice = field(body, "tool_choice")) {
    if (choice->is_string() && (*choice == "none" || *choice == "auto" || *choice == "required")) {
      c.mode = choice->get<std::string>();
    } else if (choice->is_object() && choice->value("type", json()) == "function" && choice->contains("function") &&
               (*choice)["function"].is_object() && (*choice)["function"].contains("name") &&
               (*choice)["function"]["name"].is_string()) {
      c.mode = "required";
      c.only = (*choice)["function"]["name"];
      if (!has_function(c.tools, c.only)) bad_field("tool_choice.function.name", "the name of one of 'tools'", (*choice)["function"]["name"]);
    } else {
      bad_field("tool_choice", R"("none", "auto", "required" or {"type": "function", "function": {"name": ...}})", *choice);
    }
    if (c.mode == "required" && c.tools.empty()) throw Error("'tool_choice': requires 'tools', found none");
  }
  if (const json* parallel = field(body, "parallel_tool_calls")) {
    if (!parallel->is_boolean()) bad_field("parallel_tool_calls", "true or false", *parallel);
    c.parallel = parallel->get<bool>();
  }
  return c;
}

const ordered_json& messages_array(const json& body, const ordered_json& ordered) {
  if (!body.is_object()) bad_field("request body", "a JSON object", body);
  if (!field(body, "messages")) throw Error("'messages': required, found nothing");
  if (!body["messages"].is_array() || body["messages"].empty())
    bad_field("messages", "a non-empty array of messages", body["messages"]);
  return ordered["messages"];
}

}  // namespace

CompletionRequest parse_chat_request(const json& body, const ordered_json& ordered, const api::Model& model,
                                     const api::ChatTemplate& tmpl, int64_t n_ctx) {
  const ordered_json& in = messages_array(body, ordered);
  ordered_json messages = ordered_json::array();
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    const ordered_json& m = in[i];
    if (!m.is_object()) bad_field(at, "an object with role and content", json::parse(m.dump()));
    if (!m.contains("role") || !m["role"].is_string()) bad_field(at + ".role", "a string", json::parse(m.dump()));
    ordered_json out = m;
    if (m.contains("content")) out["content"] = message_content(m["content"], at + ".content");
    messages.push_back(std::move(out));
  }
  CompletionRequest r;
  parse_generation_fields(body, ordered, model, r, field(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens");
  ordered_json extra = ordered_json::object();
  const ToolRender tools = offer_tools(openai_tools(body, ordered), tmpl, extra, r);
  r.prompt = tokenize_prompt(render_conversation(messages, extra, tools, tmpl), model, n_ctx);
  const json* logprobs = field(body, "logprobs");
  if (logprobs && !logprobs->is_boolean()) bad_field("logprobs", "true or false", *logprobs);
  const int64_t top = integer_field(body, "top_logprobs", 0);
  if (top < 0 || top > kMaxTopLogprobs)
    throw Error("'top_logprobs': expected an integer from 0 to " + std::to_string(kMaxTopLogprobs) + ", found " +
                std::to_string(top));
  if (field(body, "top_logprobs") && !(logprobs && logprobs->get<bool>()))
    throw Error("'top_logprobs': needs \"logprobs\": true");
  if (logprobs && logprobs->get<bool>()) r.n_logprobs = top;
  return r;
}

namespace {

// An Anthropic message's content blocks as OpenAI messages: text blocks joined; an assistant's
// tool_use blocks become its tool_calls (arguments as JSON text); a user's tool_result blocks
// become `tool` messages (before the user's own text, as they answer the previous turn).
void anthropic_message(const ordered_json& m, const std::string& at, ordered_json& out) {
  const std::string role = m["role"];
  const ordered_json& content = m["content"];
  if (content.is_string()) {
    out.push_back({{"role", role}, {"content", content}});
    return;
  }
  std::string text;
  bool has_text = false;
  ordered_json calls = ordered_json::array();
  for (size_t i = 0; i < content.size(); ++i) {
    const ordered_json& b = content[i];
    const std::string bat = at + "[" + std::to_string(i) + "]";
    const std::string type = b.is_object() && b.contains("type") && b["type"].is_string() ? b["type"].get<std::string>() : "";
    if (type == "text") {
      if (!b.contains("text") || !b["text"].is_string()) bad_field(bat + ".text", "a string", json::parse(b.dump()));
      text += (has_text ? "\n" : "") + b["text"].get<std::string>();
      has_text = true;
    } else if (type == "tool_use" && role == "assistant") {
      check_function_name(b.value("name", ordered_json()), bat + ".name");
      const ordered_json input = b.value("input", ordered_json::object());
      if (!input.is_object()) bad_field(bat + ".input", "an object", json::parse(input.dump()));
      const ordered_json id = b.value("id", ordered_json(""));
      if (!id.is_string()) bad_field(bat + ".id", "a string", json::parse(id.dump()));
      calls.push_back({{"id", id}, {"type", "function"},
                       {"function", {{"name", b["name"]}, {"arguments", input.dump()}}}});
    } else if (type == "tool_result" && role == "user") {
      const ordered_json result = b.value("content", ordered_json(""));
      const ordered_json id = b.value("tool_use_id", ordered_json(""));
      if (!id.is_string()) bad_field(bat + ".tool_use_id", "a string", json::parse(id.dump()));
      ordered_json tool = {{"role", "tool"}, {"tool_call_id", id}};
      if (!result.is_string() && !result.is_array())
        bad_field(bat + ".content", "a string or an array of text blocks", json::parse(result.dump()));
      tool["content"] = result.is_string() ? result : ordered_json(join_text_parts(result, bat + ".content"));
      out.push_back(std::move(tool));
    } else {
      bad_field(bat, role == "user" ? "a text or tool_result block" : "a text or tool_use block", json::parse(b.dump()));
    }
  }
  if (!calls.empty()) {
    out.push_back({{"role", role}, {"content", has_text ? ordered_json(text) : ordered_json(nullptr)}, {"tool_calls", calls}});
  } else if (has_text || content.empty()) {
    out.push_back({{"role", role}, {"content", text}});
  }
}

// Anthropic: tools [{"name", "description", "input_schema"}], tool_choice {"type": "auto" |
// "any" | "tool" (with "name") | "none", "disable_parallel_tool_use"}.
ToolChoice anthropic_tools(const json& body, const ordered_json& ordered) {
  ToolChoice c;
  if (const json* tools = field(body, "tools")) {
    if (!tools->is_array()) bad_field("tools", "an array of tools", *tools);
    for (size_t i = 0; i < tools->size(); ++i) {
      const std::string at = "tools[" + std::to_string(i) + "]";
      const ordered_json& t = ordered["tools"][i];
      if (!t.is_object()) bad_field(at, R"({"name": ..., "input_schema": {...}})", (*tools)[i]);
      check_function_name(t.value("name", ordered_json()), at + ".name");
      const ordered_json schema = t.value("input_schema", ordered_json{{"type", "object"}});
      if (!schema.is_object()) bad_field(at + ".input_schema", "a JSON schema object", (*tools)[i]["input_schema"]);
      ordered_json f = {{"name", t["name"]}};
      if (t.contains("description")) f["description"] = t["description"];
      f["parameters"] = schema;
      c.tools.push_back({{"type", "function"}, {"function", f}});
    }
  }
  c.mode = c.tools.empty() ? "none" : "auto";
  c.parallel = true;
  if (const json* choice = field(body, "tool_choice")) {
    const json* type = choice->is_object() ? field(*choice, "type") : nullptr;
    const std::string t = type && type->is_string() ? type->get<std::string>() : "";
    if (t == "auto" || t == "none") c.mode = t;
    else if (t == "any") c.mode = "required";
    else if (t == "tool" && field(*choice, "name") && (*choice)["name"].is_string()) {
      c.mode = "required";
      c.only = (*choice)["name"];
      if (!has_function(c.tools, c.only)) bad_field("tool_choice.name", "the name of one of 'tools'", (*choice)["name"]);
    } else {
      bad_field("tool_choice", R"({"type": "auto"}, {"type": "any"}, {"type": "tool", "name": ...} or {"type": "none"})", *choice);
    }
    if (const json* d = field(*choice, "disable_parallel_tool_use")) c.parallel = !(d->is_boolean() && d->get<bool>());
    if (c.mode == "required" && c.tools.empty()) throw Error("'tool_choice': requires 'tools', found none");
  }
  return c;
}

}  // namespace

CompletionRequest parse_messages_request(const json& body, const ordered_json& ordered, const api::Model& model,
                                         const api::ChatTemplate& tmpl, int64_t n_ctx) {
  const ordered_json& in = messages_array(body, ordered);
  if (!field(body, "max_tokens")) throw Error("'max_tokens': required, found nothing");
  if (!body["max_tokens"].is_number_integer() || body["max_tokens"].get<int64_t>() < 1)
    bad_field("max_tokens", "an integer >= 1", body["max_tokens"]);
  ordered_json messages = ordered_json::array();
  if (const json* system = field(body, "system")) {
    if (system->is_string()) messages.push_back({{"role", "system"}, {"content", *system}});
    else if (system->is_array()) messages.push_back({{"role", "system"}, {"content", join_text_parts(ordered["system"], "system")}});
    else bad_field("system", "a string or an array of text blocks", *system);
  }
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    const ordered_json& m = in[i];
    if (!m.is_object()) bad_field(at, "an object with role and content", json::parse(m.dump()));
    if (!m.contains("role") || (m["role"] != "user" && m["role"] != "assistant"))
      bad_field(at + ".role", "\"user\" or \"assistant\"", m.contains("role") ? json::parse(m["role"].dump()) : json());
    if (!m.contains("content") || !(m["content"].is_string() || m["content"].is_array()))
      bad_field(at + ".content", "a string or an array of content blocks",
                m.contains("content") ? json::parse(m["content"].dump()) : json());
    anthropic_message(m, at + ".content", messages);
  }
  CompletionRequest r;
  parse_generation_fields(body, ordered, model, r, "max_tokens", "stop_sequences");
  ordered_json extra = ordered_json::object();
  const ToolRender tools = offer_tools(anthropic_tools(body, ordered), tmpl, extra, r);
  r.prompt = tokenize_prompt(render_conversation(messages, extra, tools, tmpl), model, n_ctx);
  return r;
}

}  // namespace trident::server
