// POST /v1/messages: Anthropic's Messages API. A message object with one text block, or the
// stream message_start, content_block_start, content_block_delta..., content_block_stop,
// message_delta, message_stop (Anthropic's event names, each as `event:` and `data:`).
#include "server/chat_request.h"
#include "server/state.h"

namespace trident::server {
namespace {

using nlohmann::json;

// Anthropic's stop_reason: end_turn (end of text), stop_sequence (one of stop_sequences, named
// in stop_sequence) or max_tokens (the limit or a full context).
std::string stop_reason(const CompletionResult& r) {
  if (r.finish_reason == "length") return "max_tokens";
  return r.stop_word.empty() ? "end_turn" : "stop_sequence";
}

json stop_sequence(const CompletionResult& r) { return r.stop_word.empty() ? json(nullptr) : json(valid_utf8(r.stop_word)); }

json message_object(const ServerState& s, const std::string& id, json content, const json& reason, const json& sequence,
                    int64_t input_tokens, int64_t output_tokens) {
  return {{"id", id},
          {"type", "message"},
          {"role", "assistant"},
          {"model", s.model_id},
          {"content", std::move(content)},
          {"stop_reason", reason},
          {"stop_sequence", sequence},
          {"usage", {{"input_tokens", input_tokens}, {"output_tokens", output_tokens}}}};
}

std::string anthropic_error_event(const std::string& message) {
  return sse_event({{"type", "error"}, {"error", {{"type", "api_error"}, {"message", valid_utf8(message)}}}}, "error");
}

void messages(ServerState& s, const httplib::Request& req, httplib::Response& res) {
  CompletionRequest request =
      parse_messages_request(parse_body(req), parse_body<nlohmann::ordered_json>(req), s.model, s.chat_template, s.ctx.n_ctx());
  s.compile_grammar(request);
  if (!request.stream) {
    const CompletionResult r = s.generate(request, [](const std::string&, const std::vector<TokenLogprobs>&) { return true; });
    send_json(res, message_object(s, s.new_id("msg_"), json::array({{{"type", "text"}, {"text", valid_utf8(r.text)}}}),
                                  stop_reason(r), stop_sequence(r), r.prompt_tokens, r.completion_tokens));
    return;
  }
  send_events(
      res,
      [&s, request](const std::function<bool(const std::string&)>& write) {
        const std::string id = s.new_id("msg_");
        const json start = {{"type", "message_start"},
                            {"message", message_object(s, id, json::array(), nullptr, nullptr,
                                                       int64_t(request.prompt.size()), 0)}};
        if (!write(sse_event(start, "message_start"))) return;
        const json block = {{"type", "content_block_start"}, {"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}};
        if (!write(sse_event(block, "content_block_start"))) return;
        const CompletionResult r = s.generate(request, [&](const std::string& text, const std::vector<TokenLogprobs>&) {
          const json delta = {{"type", "content_block_delta"}, {"index", 0},
                              {"delta", {{"type", "text_delta"}, {"text", valid_utf8(text)}}}};
          return write(sse_event(delta, "content_block_delta"));
        });
        if (!write(sse_event({{"type", "content_block_stop"}, {"index", 0}}, "content_block_stop"))) return;
        const json delta = {{"type", "message_delta"},
                            {"delta", {{"stop_reason", stop_reason(r)}, {"stop_sequence", stop_sequence(r)}}},
                            {"usage", {{"output_tokens", r.completion_tokens}}}};
        if (write(sse_event(delta, "message_delta"))) write(sse_event({{"type", "message_stop"}}, "message_stop"));
      },
      anthropic_error_event);
}

}  // namespace

void add_messages_routes(httplib::Server& http, ServerState& s) {
  http.Post("/v1/messages", [&s](const httplib::Request& req, httplib::Response& res) { messages(s, req, res); });
}

}  // namespace trident::server
