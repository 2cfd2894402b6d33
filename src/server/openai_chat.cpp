// POST /v1/chat/completions: OpenAI's chat completion object, or its stream of chunks whose
// `delta`s carry the text.
#include "server/chat_request.h"
#include "server/state.h"

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
    json out = chat_object(s, s.new_id("chatcmpl-"), "chat.completion",
                           {{"index", 0},
                            {"message", {{"role", "assistant"}, {"content", valid_utf8(r.text)}}},
                            {"logprobs", chat_logprobs(r.logprobs, logprobs)},
                            {"finish_reason", r.finish_reason}});
    out["usage"] = usage_object(r);
    send_json(res, out);
    return;
  }
  // A first chunk with the role, one per piece of final text, a last one with an empty delta,
  // finish_reason and usage (llama-server sends usage there always), then [DONE].
  send_events(
      res,
      [&s, request, logprobs](const std::function<bool(const std::string&)>& write) {
        const std::string id = s.new_id("chatcmpl-");
        auto chunk = [&](json delta, const json& lp, const json& finish) {
          return chat_object(s, id, "chat.completion.chunk",
                             {{"index", 0}, {"delta", std::move(delta)}, {"logprobs", lp}, {"finish_reason", finish}});
        };
        if (!write(sse_event(chunk({{"role", "assistant"}, {"content", ""}}, nullptr, nullptr)))) return;
        const CompletionResult r = s.generate(request, [&](const std::string& text, const std::vector<TokenLogprobs>& lp) {
          return write(sse_event(chunk({{"content", valid_utf8(text)}}, chat_logprobs(lp, logprobs), nullptr)));
        });
        json last = chunk(json::object(), nullptr, r.finish_reason);
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
