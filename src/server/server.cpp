// Routes, authentication and error replies. Handlers run on httplib's worker threads and hand
// their generations to the scheduler, whose thread alone uses the Context and batches up to -np
// requests together (scheduler.h). The chat, Anthropic and metrics endpoints live in their own
// files (state.h).
#include "server/server.h"

#include <algorithm>
#include <charconv>
#include <csignal>
#include <ctime>

#include "server/state.h"

namespace trident::server {
namespace {

using nlohmann::json;

// The error object of the API the path belongs to: Anthropic's for /v1/messages, OpenAI's
// (type as llama-server names it for each status) everywhere else.
void send_error(Metrics& metrics, httplib::Response& res, const std::string& path, int status, const std::string& message) {
  ++metrics.errors;
  const bool anthropic = path.starts_with("/v1/messages");
  const char* type = status == 401   ? "authentication_error"
                     : status == 404 ? "not_found_error"
                     : status == 413 ? "request_too_large"
                     : status == 411 ? "invalid_request_error"
                     : status >= 500 ? (anthropic ? "api_error" : "server_error")
                                     : "invalid_request_error";
  res.status = status;
  const json body = anthropic ? json{{"type", "error"}, {"error", {{"type", type}, {"message", valid_utf8(message)}}}}
                              : json{{"error", {{"message", valid_utf8(message)}, {"type", type}, {"code", status}}}};
  res.set_content(body.dump(), "application/json");
}

std::string file_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

api::ContextOptions context_options(const ServerOptions& o) {
  if (o.n_parallel < 1) throw Error("-np: expected a slot count >= 1, found " + std::to_string(o.n_parallel));
  if (o.n_ctx < 0) throw Error("-c: expected a context size >= 0, found " + std::to_string(o.n_ctx));
  api::ContextOptions c;
  c.n_ctx = o.n_ctx / o.n_parallel;  // llama-server's -c is shared by the slots
  if (o.n_ctx > 0 && c.n_ctx == 0)
    throw Error("-c: a context of " + std::to_string(o.n_ctx) + " tokens leaves nothing for each of " +
                std::to_string(o.n_parallel) + " slots");
  c.n_seq_max = o.n_parallel;
  c.n_threads = o.n_threads;
  return c;
}

// One completion object (or streaming chunk) in OpenAI's shape.
json completion_object(const ServerState& s, const std::string& id, const std::string& text, const json& logprobs,
                       const json& finish_reason) {
  return {{"id", id},
          {"object", "text_completion"},
          {"created", unix_time()},
          {"model", s.model_id},
          {"choices", json::array({{{"text", valid_utf8(text)}, {"index", 0}, {"logprobs", logprobs},
                                    {"finish_reason", finish_reason}}})}};
}

// OpenAI's legacy logprobs object of /v1/completions.
json legacy_logprobs(const std::vector<TokenLogprobs>& tokens, bool asked) {
  if (!asked) return nullptr;
  json out = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()}};
  for (const TokenLogprobs& t : tokens) {
    out["tokens"].push_back(valid_utf8(t.piece));
    out["token_logprobs"].push_back(t.logprob);
    json top = json::object();
    for (const auto& [piece, lp] : t.top) top[valid_utf8(piece)] = lp;
    out["top_logprobs"].push_back(top);
  }
  return out;
}

}  // namespace

json usage_object(const CompletionResult& r) {
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.completion_tokens},
          {"total_tokens", r.prompt_tokens + r.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", r.cached_tokens}}}};
}

int64_t unix_time() { return int64_t(std::time(nullptr)); }

void send_json(httplib::Response& res, const json& j) { res.set_content(j.dump(), "application/json"); }

std::string sse_event(const json& data, const char* name) {
  return (name ? std::string("event: ") + name + "\n" : std::string()) + "data: " + data.dump() + "\n\n";
}

void send_events(httplib::Response& res, std::function<void(const std::function<bool(const std::string&)>&)> produce,
                 std::function<std::string(const std::string&)> error_event) {
  res.set_chunked_content_provider("text/event-stream", [produce, error_event](size_t, httplib::DataSink& sink) {
    auto write = [&sink](const std::string& event) { return sink.write(event.data(), event.size()); };
    try {
      produce(write);
    } catch (const std::exception& e) {  // the status has gone out: the error is an event
      write(error_event(e.what()));
    }
    sink.done();
    return true;
  });
}

ServerState::ServerState(const ServerOptions& o)
    : opt(o),
      model(o.model_path),
      ctx(model, context_options(o)),
      chat_template(model, api::chat_template_source(o.chat_template)),
      model_id(file_name(o.model_path)),
      scheduler(ctx, o.n_parallel) {}

void ServerState::compile_grammar(CompletionRequest& req) {
  if (req.grammar.empty()) return;
  std::shared_ptr<const api::GrammarVocab> vocab;
  {
    std::lock_guard lock(grammar_vocab_mutex);
    if (!grammar_vocab) grammar_vocab = std::make_shared<const api::GrammarVocab>(model);
    vocab = grammar_vocab;
  }
  req.matcher = std::make_shared<api::Grammar>(std::move(vocab), req.grammar);
}

CompletionResult ServerState::generate(const CompletionRequest& req, const OnText& on_text) {
  ++metrics.processing;
  struct Done {
    Metrics& m;
    ~Done() { --m.processing; }
  } done{metrics};
  CompletionResult r = scheduler.generate(req, on_text);
  ++metrics.generations;
  metrics.prompt_tokens += uint64_t(r.prompt_tokens - r.cached_tokens);
  metrics.prompt_tokens_cached += uint64_t(r.cached_tokens);
  metrics.generated_tokens += uint64_t(r.completion_tokens);
  std::lock_guard seconds(metrics.seconds_mutex);
  metrics.prompt_seconds += r.prompt_seconds;
  metrics.generation_seconds += r.generation_seconds;
  return r;
}

struct Server::Impl {
  ServerState s;
  httplib::Server http;

  explicit Impl(const ServerOptions& o) : s(o) {
    http.set_payload_max_length(s.opt.max_body);
    // A worker per slot plus some for queued requests, /metrics and /health while all slots run.
    const size_t workers = size_t(std::max<int64_t>(8, s.opt.n_parallel + 4));
    http.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      ++s.metrics.requests;  // on arrival, so /metrics is exact for every request answered before it
      // Before the body is read (httplib reads it after this handler): a body announced over
      // the limit is refused without reading it (httplib itself would read and discard it all),
      // and a chunked one, which httplib 0.11 buffers without any limit, is refused outright.
      // Connection: close, as the unread body must not be taken for the next request.
      const std::string length = req.get_header_value("Content-Length");
      uint64_t n = 0;
      const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
      const bool too_long = ec == std::errc::result_out_of_range || (ec == std::errc() && n > s.opt.max_body);
      const bool chunked = req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
      if (chunked || too_long) {
        res.set_header("Connection", "close");
        if (chunked)
          send_error(s.metrics, res, req.path, 411, "chunked request bodies are not accepted: send Content-Length");
        else
          send_error(s.metrics, res, req.path, 413,
                     "request body over the limit of " + std::to_string(s.opt.max_body) + " bytes (--max-body)");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (s.opt.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
      // OpenAI clients send a bearer token, Anthropic's send x-api-key.
      if (req.get_header_value("Authorization") == "Bearer " + s.opt.api_key ||
          req.get_header_value("x-api-key") == s.opt.api_key)
        return httplib::Server::HandlerResponse::Unhandled;
      send_error(s.metrics, res, req.path, 401,
                 "invalid or missing API key (send the header 'Authorization: Bearer KEY' or 'x-api-key: KEY')");
      return httplib::Server::HandlerResponse::Handled;
    });
    // Statuses httplib sets itself (unknown path, body over the limit) get an error object too.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404) send_error(s.metrics, res, req.path, 404, "no endpoint " + req.method + " " + req.path);
      else if (res.status == 413)
        send_error(s.metrics, res, req.path, 413,
                   "request body over the limit of " + std::to_string(s.opt.max_body) + " bytes (--max-body)");
      else send_error(s.metrics, res, req.path, res.status, "malformed HTTP request (" + req.method + " " + req.path + ")");
    });
    http.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const Error& e) {
        send_error(s.metrics, res, req.path, 400, e.what());
      } catch (const std::exception& e) {
        send_error(s.metrics, res, req.path, 500, e.what());
      } catch (...) {
        send_error(s.metrics, res, req.path, 500, "unexpected failure");
      }
    });
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) { send_json(res, {{"status", "ok"}}); });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, {{"object", "list"},
                      {"data", json::array({{{"id", s.model_id}, {"object", "model"}, {"created", unix_time()},
                                             {"owned_by", "trident"}}})}});
    });
    http.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) { tokenize(req, res); });
    http.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) { detokenize(req, res); });
    http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) { complete(req, res); });
    add_chat_routes(http, s);
    add_messages_routes(http, s);
    add_metrics_routes(http, s);
    add_embeddings_routes(http, s);
  }

  void tokenize(const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req);
    if (!body.is_object() || !body.contains("content") || !body["content"].is_string())
      throw Error("'content': expected a string");
    const bool add_special = body.value("add_special", false);
    send_json(res, {{"tokens", s.model.tokenize(body["content"].get<std::string>(), add_special)}});
  }

  void detokenize(const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req);
    const json* tokens = body.is_object() && body.contains("tokens") ? &body["tokens"] : nullptr;
    if (!tokens || !tokens->is_array()) throw Error("'tokens': expected an array of token ids");
    std::vector<int32_t> ids;
    for (const json& t : *tokens) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= s.model.n_vocab())
        throw Error("'tokens': expected token ids from 0 to " + std::to_string(s.model.n_vocab() - 1) + ", found " +
                    t.dump());
      ids.push_back(t.get<int32_t>());
    }
    send_json(res, {{"content", valid_utf8(s.model.detokenize(ids))}});
  }

  void complete(const httplib::Request& req, httplib::Response& res) {
    CompletionRequest request = parse_completion_request(parse_body(req), parse_body<nlohmann::ordered_json>(req), s.model, s.ctx.n_ctx());
    s.compile_grammar(request);
    const bool logprobs = request.n_logprobs >= 0;
    if (!request.stream) {
      const CompletionResult r = s.generate(request, [](const std::string&, const std::vector<TokenLogprobs>&) { return true; });
      json out = completion_object(s, s.new_id("cmpl-"), r.text, legacy_logprobs(r.logprobs, logprobs), r.finish_reason);
      out["usage"] = usage_object(r);
      send_json(res, out);
      return;
    }
    // Server-sent events: one chunk per piece of final text, a last chunk with finish_reason
    // and usage, then [DONE]. Errors are found above, before the 200 goes out.
    send_events(
        res,
        [this, request, logprobs](const std::function<bool(const std::string&)>& write) {
          const std::string id = s.new_id("cmpl-");
          const CompletionResult r = s.generate(request, [&](const std::string& text, const std::vector<TokenLogprobs>& lp) {
            return write(sse_event(completion_object(s, id, text, legacy_logprobs(lp, logprobs), nullptr)));
          });
          json last = completion_object(s, id, "", legacy_logprobs({}, logprobs), r.finish_reason);
          last["usage"] = usage_object(r);
          if (write(sse_event(last))) write("data: [DONE]\n\n");
        },
        openai_error_event);
  }
};

std::string openai_error_event(const std::string& message) {
  return sse_event(json{{"error", {{"message", valid_utf8(message)}, {"type", "server_error"}, {"code", 500}}}});
}

Server::Server(const ServerOptions& opt) : impl_(std::make_unique<Impl>(opt)) {
  // A client that closes its connection mid-reply makes the next write fail with EPIPE; the
  // default SIGPIPE would end the whole process instead.
  std::signal(SIGPIPE, SIG_IGN);
}
Server::~Server() = default;

int Server::bind() {
  const ServerOptions& o = impl_->s.opt;
  if (o.port < 0 || o.port > 65535) throw Error("--port: expected 0 to 65535, found " + std::to_string(o.port));
  if (o.port == 0) {
    const int port = impl_->http.bind_to_any_port(o.host);
    if (port < 0) throw Error("cannot listen on " + o.host + " (any port)");
    return port;
  }
  if (!impl_->http.bind_to_port(o.host, o.port))
    throw Error("cannot listen on " + o.host + ":" + std::to_string(o.port) + " (in use, or not an address of this host)");
  return o.port;
}

void Server::run() { impl_->http.listen_after_bind(); }
void Server::stop() { impl_->http.stop(); }

}  // namespace trident::server
