// Routes, authentication and error replies. Handlers run on httplib's worker threads; the one
// Context is used under a mutex, so requests are served one at a time (continuous batching of
// several requests is the next slice, docs/serve.md).
#include "server/server.h"

#include <httplib.h>

#include <csignal>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <trident/trident.h>

#include "server/completion.h"

namespace trident::server {
namespace {

using nlohmann::json;

// OpenAI's error object; type as llama-server names it for each status.
void send_error(httplib::Response& res, int status, const std::string& message) {
  const char* type = status == 401   ? "authentication_error"
                     : status == 404 ? "not_found_error"
                     : status == 413 ? "request_too_large"
                     : status >= 500 ? "server_error"
                                     : "invalid_request_error";
  res.status = status;
  res.set_content(json{{"error", {{"message", valid_utf8(message)}, {"type", type}, {"code", status}}}}.dump(),
                  "application/json");
}

void send_json(httplib::Response& res, const json& j) { res.set_content(j.dump(), "application/json"); }

// The body as JSON; throws Error (a 400) with the parser's account of what is wrong.
json parse_body(const httplib::Request& req) {
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    throw Error(std::string("invalid JSON in the request body: ") + e.what());
  }
}

std::string file_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int64_t unix_time() { return int64_t(std::time(nullptr)); }

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  api::Model model;
  api::Context ctx;
  std::string model_id;
  std::mutex ctx_mutex;  // one request at a time uses ctx
  httplib::Server http;
  uint64_t next_id = 0;  // completion ids, under ctx_mutex

  static api::ContextOptions context_options(const ServerOptions& o) {
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

  explicit Impl(const ServerOptions& o)
      : opt(o), model(o.model_path), ctx(model, context_options(o)), model_id(file_name(o.model_path)) {
    http.set_payload_max_length(opt.max_body);
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (opt.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
      if (req.get_header_value("Authorization") == "Bearer " + opt.api_key)
        return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, 401, "invalid or missing API key (send the header 'Authorization: Bearer KEY')");
      return httplib::Server::HandlerResponse::Handled;
    });
    // Statuses httplib sets itself (unknown path, body over the limit) get an error object too.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404) send_error(res, 404, "no endpoint " + req.method + " " + req.path);
      else if (res.status == 413)
        send_error(res, 413, "request body over the limit of " + std::to_string(opt.max_body) + " bytes (--max-body)");
      else send_error(res, res.status, "malformed HTTP request (" + req.method + " " + req.path + ")");
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const Error& e) {
        send_error(res, 400, e.what());
      } catch (const std::exception& e) {
        send_error(res, 500, e.what());
      } catch (...) {
        send_error(res, 500, "unexpected failure");
      }
    });
    http.Get("/health", [](const httplib::Request&, httplib::Response& res) { send_json(res, {{"status", "ok"}}); });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, {{"object", "list"},
                      {"data", json::array({{{"id", model_id}, {"object", "model"}, {"created", unix_time()},
                                             {"owned_by", "trident"}}})}});
    });
    http.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) { tokenize(req, res); });
    http.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) { detokenize(req, res); });
    http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) { complete(req, res); });
  }

  void tokenize(const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req);
    if (!body.is_object() || !body.contains("content") || !body["content"].is_string())
      throw Error("'content': expected a string");
    const bool add_special = body.value("add_special", false);
    send_json(res, {{"tokens", model.tokenize(body["content"].get<std::string>(), add_special)}});
  }

  void detokenize(const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req);
    const json* tokens = body.is_object() && body.contains("tokens") ? &body["tokens"] : nullptr;
    if (!tokens || !tokens->is_array()) throw Error("'tokens': expected an array of token ids");
    std::vector<int32_t> ids;
    for (const json& t : *tokens) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= model.n_vocab())
        throw Error("'tokens': expected token ids from 0 to " + std::to_string(model.n_vocab() - 1) + ", found " +
                    t.dump());
      ids.push_back(t.get<int32_t>());
    }
    send_json(res, {{"content", valid_utf8(model.detokenize(ids))}});
  }

  // One completion object (or streaming chunk) in OpenAI's shape.
  json completion_object(const std::string& id, const std::string& text, const json& finish_reason) const {
    return {{"id", id},
            {"object", "text_completion"},
            {"created", unix_time()},
            {"model", model_id},
            {"choices", json::array({{{"text", valid_utf8(text)}, {"index", 0}, {"logprobs", nullptr},
                                      {"finish_reason", finish_reason}}})}};
  }

  static json usage(const CompletionResult& r) {
    return {{"prompt_tokens", r.prompt_tokens},
            {"completion_tokens", r.completion_tokens},
            {"total_tokens", r.prompt_tokens + r.completion_tokens}};
  }

  void complete(const httplib::Request& req, httplib::Response& res) {
    CompletionRequest request = parse_completion_request(parse_body(req), model, ctx.n_ctx());
    if (!request.stream) {
      std::lock_guard lock(ctx_mutex);
      const CompletionResult r = generate_completion(ctx, request, [](const std::string&) { return true; });
      json out = completion_object("cmpl-" + std::to_string(next_id++), r.text, r.finish_reason);
      out["usage"] = usage(r);
      send_json(res, out);
      return;
    }
    // Server-sent events: one chunk per piece of final text, a last chunk with finish_reason
    // and usage, then [DONE]. Errors are found above, before the 200 goes out.
    res.set_chunked_content_provider("text/event-stream", [this, request](size_t, httplib::DataSink& sink) {
      auto send = [&sink](const json& j) {
        const std::string event = "data: " + j.dump() + "\n\n";
        return sink.write(event.data(), event.size());
      };
      std::lock_guard lock(ctx_mutex);
      const std::string id = "cmpl-" + std::to_string(next_id++);
      try {
        const CompletionResult r = generate_completion(
            ctx, request, [&](const std::string& text) { return send(completion_object(id, text, nullptr)); });
        json last = completion_object(id, "", r.finish_reason);
        last["usage"] = usage(r);
        if (send(last)) {
          const std::string done = "data: [DONE]\n\n";
          sink.write(done.data(), done.size());
        }
      } catch (const std::exception& e) {  // the status has gone out: the error is an event
        send(json{{"error", {{"message", valid_utf8(e.what())}, {"type", "server_error"}, {"code", 500}}}});
      }
      sink.done();
      return true;
    });
  }
};

Server::Server(const ServerOptions& opt) : impl_(std::make_unique<Impl>(opt)) {
  // A client that closes its connection mid-reply makes the next write fail with EPIPE; the
  // default SIGPIPE would end the whole process instead.
  std::signal(SIGPIPE, SIG_IGN);
}
Server::~Server() = default;

int Server::bind() {
  const ServerOptions& o = impl_->opt;
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
