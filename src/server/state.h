// What the endpoint files of server/ share: the model, the one context and the scheduler that
// owns it, the chat template, counters for /metrics, and the HTTP reply helpers.
#pragma once
#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <trident/trident.h>

#include "server/completion.h"
#include "server/scheduler.h"
#include "server/server.h"

namespace trident::server {

// Totals since the server started (GET /metrics).
struct Metrics {
  std::atomic<uint64_t> requests{0}, errors{0};  // every HTTP request; those answered >= 400
  std::atomic<uint64_t> generations{0};           // completions run (any endpoint)
  std::atomic<uint64_t> prompt_tokens{0}, prompt_tokens_cached{0}, generated_tokens{0};
  std::atomic<int64_t> processing{0};             // generations running or waiting for a slot
  std::mutex seconds_mutex;
  double prompt_seconds = 0, generation_seconds = 0;  // under seconds_mutex
};

struct ServerState {
  explicit ServerState(const ServerOptions& o);
  ServerOptions opt;
  api::Model model;
  api::Context ctx;       // used only by the scheduler's thread (n_ctx() is safe anywhere)
  api::ChatTemplate chat_template;
  std::string model_id;   // the model file's name, as /v1/models lists it
  std::atomic<uint64_t> next_id{0};
  Metrics metrics;

  // Compiles req.grammar into req.matcher (nothing when it is ""); throws Error (a 400) for a
  // malformed grammar, so a stream's errors are found before its 200 goes out. The grammar's
  // vocabulary index is built on the first request that needs it and then shared.
  void compile_grammar(CompletionRequest& req);
  std::mutex grammar_vocab_mutex;
  std::shared_ptr<const api::GrammarVocab> grammar_vocab;  // under grammar_vocab_mutex

  // Runs req in a slot of the scheduler (waiting for one) and adds to the metrics.
  CompletionResult generate(const CompletionRequest& req, const OnText& on_text);
  Scheduler scheduler;  // after ctx: stops before it goes
  std::string new_id(const char* prefix) { return prefix + std::to_string(next_id++); }
};

int64_t unix_time();
void send_json(httplib::Response& res, const nlohmann::json& j);
// The body as JSON (T: json, or ordered_json to keep key order); throws Error (a 400) with the
// parser's account of what is wrong. Nesting is bounded: the parser itself does not recurse, but
// dumping, comparing and destroying a value do, and 200,000 levels of `[` (400 KB) overflowed a
// worker's stack (tests/serve_hostile_test.cpp).
constexpr int kMaxBodyDepth = 256;
template <class T = nlohmann::json>
T parse_body(const httplib::Request& req) {
  try {
    // The callback sees each level before the parser descends into it.
    return T::parse(req.body, [](int depth, typename T::parse_event_t, T&) {
      if (depth > kMaxBodyDepth)
        throw Error("invalid JSON in the request body: nested deeper than " + std::to_string(kMaxBodyDepth) + " levels");
      return true;
    });
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e400
    throw Error(std::string("invalid JSON in the request body: ") + e.what());
  }
}

// A streaming reply (text/event-stream): produce(write) runs when httplib sends the body;
// write(event text) returns false once the client has gone. An exception inside produce
// (the 200 has gone out) becomes the event error_event(message).
void send_events(httplib::Response& res, std::function<void(const std::function<bool(const std::string&)>& write)> produce,
                 std::function<std::string(const std::string& message)> error_event);

// `data: JSON\n\n`, and with a name `event: NAME\ndata: JSON\n\n` (Anthropic's streams).
std::string sse_event(const nlohmann::json& data, const char* name = nullptr);

nlohmann::json usage_object(const CompletionResult& r);  // OpenAI's usage
std::string openai_error_event(const std::string& message);  // a stream's error, OpenAI's shape

// The endpoint groups, each in its own file.
void add_chat_routes(httplib::Server& http, ServerState& s);       // openai_chat.cpp
void add_messages_routes(httplib::Server& http, ServerState& s);   // anthropic.cpp
void add_metrics_routes(httplib::Server& http, ServerState& s);    // metrics.cpp
void add_embeddings_routes(httplib::Server& http, ServerState& s); // embeddings.cpp

}  // namespace trident::server
