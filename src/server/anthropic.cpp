// POST /v1/messages: Anthropic's Messages API. A message object with one text block, or the
// stream message_start, content_block_start, content_block_delta..., content_block_stop,
// message_delta, message_stop (Anthropic's event names, each as `event:` and `data:`).
#include <optional>

#include "server/chat_request.h"
#include "server/state.h"
#include "server/tool_calls.h"

namespace trident::server {
namespace {

using nlohmann::json;

// Anthropic's stop_reason: end_turn (end of text), stop_sequence (one of stop_sequences, named
// in stop_sequence) or max_tokens (the limit or a full context).
std::string stop_reason(const CompletionResult& r, bool tool_use = false) {
  if (tool_use) return "tool_use";
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

// The reply as content blocks: its text (when any) and a tool_use block per call.
json content_blocks(ServerState& s, const ParsedReply& reply) {
  json blocks = json::array();
  if (!reply.content.empty() || reply.calls.empty()) blocks.push_back({{"type", "text"}, {"text", valid_utf8(reply.content)}});
  for (const ToolCall& c : reply.calls)
    blocks.push_back({{"type", "tool_use"}, {"id", s.new_id("toolu_")}, {"name", valid_utf8(c.name)},
                      {"input", json::parse(c.arguments)}});
  return blocks;
}

ParsedReply parse_reply(const CompletionRequest& request, const std::string& text) {
  return request.tool_syntax ? parse_tool_calls(*request.tool_syntax, text) : ParsedReply{text, {}};
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
    const ParsedReply reply = parse_reply(request, r.text);
    send_json(res, message_object(s, s.new_id("msg_"), content_blocks(s, reply), stop_reason(r, !reply.calls.empty()),
                                  stop_sequence(r), r.prompt_tokens, r.completion_tokens));
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
        std::optional<ToolStreamFilter> filter;
        if (request.tool_syntax) filter.emplace(*request.tool_syntax);
        std::string sent;
        auto text_delta = [&](const std::string& text) {
          const json delta = {{"type", "content_block_delta"}, {"index", 0},
                              {"delta", {{"type", "text_delta"}, {"text", valid_utf8(text)}}}};
          return write(sse_event(delta, "content_block_delta"));
        };
        const CompletionResult r = s.generate(request, [&](const std::string& piece, const std::vector<TokenLogprobs>&) {
          const std::string text = filter ? filter->push(piece) : piece;
          sent += text;
          return text.empty() || text_delta(text);
        });
        // With tools, what was held back: the rest of the text, then a block per call (its
        // input in one input_json_delta).
        const ParsedReply reply = parse_reply(request, r.text);
        if (reply.content.size() > sent.size() && reply.content.compare(0, sent.size(), sent) == 0 &&
            !text_delta(reply.content.substr(sent.size())))
          return;
        if (!write(sse_event({{"type", "content_block_stop"}, {"index", 0}}, "content_block_stop"))) return;
        for (size_t i = 0; i < reply.calls.size(); ++i) {
          const int index = int(i) + 1;
          const json start_block = {{"type", "content_block_start"}, {"index", index},
                                    {"content_block", {{"type", "tool_use"}, {"id", s.new_id("toolu_")},
                                                       {"name", valid_utf8(reply.calls[i].name)}, {"input", json::object()}}}};
          const json input = {{"type", "content_block_delta"}, {"index", index},
                              {"delta", {{"type", "input_json_delta"}, {"partial_json", valid_utf8(reply.calls[i].arguments)}}}};
          if (!write(sse_event(start_block, "content_block_start")) || !write(sse_event(input, "content_block_delta")) ||
              !write(sse_event({{"type", "content_block_stop"}, {"index", index}}, "content_block_stop")))
            return;
        }
        const json delta = {{"type", "message_delta"},
                            {"delta", {{"stop_reason", stop_reason(r, !reply.calls.empty())}, {"stop_sequence", stop_sequence(r)}}},
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
