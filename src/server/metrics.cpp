// GET /metrics: Prometheus' text exposition format (version 0.0.4) of the server's totals.
#include <fmt/format.h>

#include "server/state.h"

namespace trident::server {
namespace {

void metric(std::string& out, const char* name, const char* type, const char* help, double value) {
  out += fmt::format("# HELP trident_{0} {1}\n# TYPE trident_{0} {2}\ntrident_{0} {3}\n", name, help, type, value);
}

std::string metrics_text(Metrics& m, const Scheduler& s) {
  double prompt_seconds = 0, generation_seconds = 0;
  {
    std::lock_guard lock(m.seconds_mutex);
    prompt_seconds = m.prompt_seconds;
    generation_seconds = m.generation_seconds;
  }
  std::string out;
  metric(out, "requests_total", "counter", "HTTP requests answered (every endpoint).", double(m.requests.load()));
  metric(out, "request_errors_total", "counter", "HTTP requests answered with a status >= 400.", double(m.errors.load()));
  metric(out, "generations_total", "counter", "Completions run (completions, chat, messages).", double(m.generations.load()));
  metric(out, "prompt_tokens_total", "counter", "Prompt tokens evaluated.", double(m.prompt_tokens.load()));
  metric(out, "prompt_tokens_cached_total", "counter", "Prompt tokens reused from a cached sequence, not evaluated.",
         double(m.prompt_tokens_cached.load()));
  metric(out, "generated_tokens_total", "counter", "Tokens generated.", double(m.generated_tokens.load()));
  metric(out, "prompt_seconds_total", "counter", "Seconds spent evaluating prompts.", prompt_seconds);
  metric(out, "generation_seconds_total", "counter", "Seconds spent generating after the prompt.", generation_seconds);
  metric(out, "requests_processing", "gauge", "Generations running or waiting for a slot.", double(m.processing.load()));
  metric(out, "requests_deferred", "gauge", "Requests waiting for a free slot.", double(s.queued()));
  metric(out, "slots_busy", "gauge", "Slots (sequences) generating now.", double(s.slots_busy()));
  metric(out, "sequences_cached", "gauge", "Idle sequences kept for prefix reuse.", double(s.cached()));
  return out;
}

}  // namespace

void add_metrics_routes(httplib::Server& http, ServerState& s) {
  http.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(s.metrics, s.scheduler), "text/plain; version=0.0.4");
  });
}

}  // namespace trident::server
