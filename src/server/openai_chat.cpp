// POST /v1/chat/completions: OpenAI's chat completion object, or its stream of chunks whose
// `delta`s carry the text.
#include <optional>

#include "server/chat_request.h"
#include "server/state.h"
#include "server/tool_calls.h"

namespace trident::server {
namespace {

using nlohmann::json;

json token_bytes(const std::string& piece) {
  json bytes = json::array();
  for (unsigned char c : piece) bytes.push_back(int(c));
  return bytes;
}

// {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]} as OpenAI's chat shape.
json chat_logprobs(const std::vector<TokenLogprobs>& tokens, bool asked) {
  if (!asked) return nullptr;
  json content = json::array();
  for (const TokenLogprobs& t : tokens) {
    json top = json::array();
    for (const auto& [piece, lp] : t.top)
      top.push_back({{"token", valid_utf8(piece)}, {"logprob", lp}, {"bytes", token_bytes(piece)}});
    content.push_back({{"token", valid_utf8(t.piece)}, {"logprob", t.logprob}, {"bytes", token_bytes(t.piece)},
                       {"top_logprobs", top}});
  }
  return {{"content", content}};
}

// OpenAI's tool_calls: [{"index"?, "id", "type": "function", "function": {"name", "arguments"}}],
// arguments as JSON text.
json openai_tool_calls(ServerState& s, const std::vector<ToolCall>& calls, bool with_index) {
  json out = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    json c = {{"id", s.new_id("call_")}, {"type", "function"},
              {"function", {{"name", valid_utf8(calls[i].name)}, {"arguments", valid_utf8(calls[i].arguments)}}}};
    if (with_index) c["index"] = i;
    out.push_back(std::move(c));
  }
  return out;
}

json chat_object(const ServerState& s, const std::string& id, const char* object, json choice) {
  return {{"id", id}, {"object", object}, {"created", unix_time()}, {"model", s.model_id},
          {"choices", json::array({std::move(choice)})}};
}

void chat_completion(ServerState& s, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req);
  CompletionRequest request =
      parse_chat_request(body, parse_body<nlohmann::ordered_json>(req), s.model, s.chat_template, s.ctx.n_ctx());
  s.compile_grammar(request);
  const bool logprobs = request.n_logprobs >= 0;
  if (!request.stream) {
    const CompletionResult r = s.generate(request, [](const std::string&, const std::vector<TokenLogprobs>&) { return true; });
    json message = {{"role", "assistant"}, {"content", valid_utf8(r.text)}};
    std::string finish = r.finish_reason;
    if (request.tool_syntax) {
      const ParsedReply parsed = parse_tool_calls(*request.tool_syntax, r.text);
      if (!parsed.calls.empty()) {
        message["content"] = parsed.content.empty() ? json(nullptr) : json(valid_utf8(parsed.content));
        message["tool_calls"] = openai_tool_calls(s, parsed.calls, false);
        finish = "tool_calls";
      }
    }
    json out = chat_object(s, s.new_id("chatcmpl-"), "chat.completion",
                           {{"index", 0},
                            {"message", std::move(message)},
                            {"logprobs", chat_logprobs(r.logprobs, logprobs)},
                            {"finish_reason", finish}});
    out["usage"] = usage_object(r);
    send_json(res, out);
    return;
  }
  // A first chunk with the role, one per piece of final text, a last one with an empty delta,
  // finish_reason and usage (llama-server sends usage there always), then [DONE]. With tools,
  // the text from the family's call marker on is held back and its calls, parsed, arrive in
  // one delta.tool_calls chunk before the last (what was held goes out as text when it is no
  // call after all).
  send_events(
      res,
      [&s, request, logprobs](const std::function<bool(const std::string&)>& write) {
        const std::string id = s.new_id("chatcmpl-");
        auto chunk = [&](json delta, const json& lp, const json& finish) {
          return chat_object(s, id, "chat.completion.chunk",
                             {{"index", 0}, {"delta", std::move(delta)}, {"logprobs", lp}, {"finish_reason", finish}});
        };
        if (!write(sse_event(chunk({{"role", "assistant"}, {"content", ""}}, nullptr, nullptr)))) return;
        std::optional<ToolStreamFilter> filter;
        if (request.tool_syntax) filter.emplace(*request.tool_syntax);
        std::string sent;
        const CompletionResult r = s.generate(request, [&](const std::string& piece, const std::vector<TokenLogprobs>& lp) {
          const std::string text = filter ? filter->push(piece) : piece;
          sent += text;
          if (text.empty() && lp.empty()) return true;
          return write(sse_event(chunk({{"content", valid_utf8(text)}}, chat_logprobs(lp, logprobs), nullptr)));
        });
        std::string finish = r.finish_reason;
        if (filter) {
          const ParsedReply parsed = parse_tool_calls(*request.tool_syntax, r.text);
          const std::string& content = parsed.calls.empty() ? r.text : parsed.content;
          if (content.size() > sent.size() && content.compare(0, sent.size(), sent) == 0 &&
              !write(sse_event(chunk({{"content", valid_utf8(content.substr(sent.size()))}}, nullptr, nullptr))))
            return;
          if (!parsed.calls.empty()) {
            if (!write(sse_event(chunk({{"tool_calls", openai_tool_calls(s, parsed.calls, true)}}, nullptr, nullptr))))
              return;
            finish = "tool_calls";
          }
        }
        json last = chunk(json::object(), nullptr, finish);
        last["usage"] = usage_object(r);
        if (write(sse_event(last))) write("data: [DONE]\n\n");
      },
      openai_error_event);
}

}  // namespace

void add_chat_routes(httplib::Server& http, ServerState& s) {
  http.Post("/v1/chat/completions",
            [&s](const httplib::Request& req, httplib::Response& res) { chat_completion(s, req, res); });
}

}  // namespace trident::server
