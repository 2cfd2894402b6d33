#include "server/chat_request.h"

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

// Renders, tokenizes (control-token texts recognised, as the template writes them) and checks.
std::vector<int32_t> render_prompt(const ordered_json& messages, const api::Model& model, const api::ChatTemplate& tmpl,
                                   int64_t n_ctx) {
  const std::string prompt = tmpl.apply(messages.dump(), true);
  std::vector<int32_t> tokens = model.tokenize(prompt, true, true);
  if (tokens.empty() && model.bos() >= 0) tokens.push_back(model.bos());
  check_prompt(tokens, n_ctx, "messages");
  return tokens;
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
  r.prompt = render_prompt(messages, model, tmpl, n_ctx);
  parse_generation_fields(body, model, r, field(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens");
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
      bad_field(at + ".content", "a string or an array of text blocks",
                m.contains("content") ? json::parse(m["content"].dump()) : json());
    messages.push_back({{"role", m["role"]}, {"content", message_content(m["content"], at + ".content")}});
  }
  CompletionRequest r;
  r.prompt = render_prompt(messages, model, tmpl, n_ctx);
  parse_generation_fields(body, model, r, "max_tokens", "stop_sequences");
  return r;
}

}  // namespace trident::server
