#include "server/completion.h"

#include <algorithm>
#include <chrono>
#include <random>

namespace trident::server {
namespace {

using nlohmann::json;

[[noreturn]] void bad_field(const std::string& field, const std::string& expected, const json& found) {
  throw Error("'" + field + "': expected " + expected + ", found " + valid_utf8(found.dump()));
}

// The field when present and not null, else nullptr.
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

float number_field(const json& body, const char* name, float fallback) {
  const json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_number()) bad_field(name, "a number", *v);
  return v->get<float>();
}

int64_t integer_field(const json& body, const char* name, int64_t fallback) {
  const json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_number_integer()) bad_field(name, "an integer", *v);
  return v->get<int64_t>();
}

std::vector<std::string> stop_field(const json& body) {
  const json* v = field(body, "stop");
  if (!v) return {};
  if (v->is_string()) return {v->get<std::string>()};
  if (!v->is_array()) bad_field("stop", "a string or an array of strings", *v);
  std::vector<std::string> out;
  for (const json& s : *v) {
    if (!s.is_string()) bad_field("stop", "a string or an array of strings", *v);
    if (!s.get_ref<const std::string&>().empty()) out.push_back(s.get<std::string>());
  }
  return out;
}

// Length of the longest suffix of text that is a proper beginning of some stop string: text
// that must wait for the next token before it can be sent.
size_t partial_stop_length(const std::string& text, const std::vector<std::string>& stop) {
  size_t longest = 0;
  for (const std::string& s : stop)
    for (size_t n = std::min(s.size() - 1, text.size()); n > longest; --n)
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        longest = n;
        break;
      }
  return longest;
}

// Where the first stop string begins in text (searching from `from`), or npos.
size_t find_stop(const std::string& text, size_t from, const std::vector<std::string>& stop) {
  size_t first = std::string::npos;
  for (const std::string& s : stop) first = std::min(first, text.find(s, from));
  return first;
}

}  // namespace

std::string valid_utf8(const std::string& s) {
  return json::parse(json(s).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

CompletionRequest parse_completion_request(const json& body, const api::Model& model, int64_t n_ctx) {
  if (!body.is_object()) bad_field("request body", "a JSON object", body);
  CompletionRequest r;
  const json* prompt = field(body, "prompt");
  if (!prompt) throw Error("'prompt': required, found nothing");
  if (!prompt->is_string()) bad_field("prompt", "a string", *prompt);
  r.prompt = model.tokenize(prompt->get<std::string>(), true);
  if (r.prompt.empty() && model.bos() >= 0) r.prompt.push_back(model.bos());
  if (r.prompt.empty()) throw Error("'prompt': expected text, found an empty prompt");
  if (int64_t(r.prompt.size()) > n_ctx)
    throw Error("'prompt': " + std::to_string(r.prompt.size()) + " tokens do not fit the context of " +
                std::to_string(n_ctx) + " tokens");
  r.max_tokens = integer_field(body, "max_tokens", -1);
  if (field(body, "max_tokens") && r.max_tokens < 0)
    throw Error("'max_tokens': expected an integer >= 0, found " + std::to_string(r.max_tokens));
  api::SamplingParams& sp = r.sampling;
  sp.temperature = number_field(body, "temperature", sp.temperature);
  sp.top_p = number_field(body, "top_p", sp.top_p);
  sp.min_p = number_field(body, "min_p", sp.min_p);
  sp.presence_penalty = number_field(body, "presence_penalty", sp.presence_penalty);
  sp.frequency_penalty = number_field(body, "frequency_penalty", sp.frequency_penalty);
  const int64_t top_k = integer_field(body, "top_k", sp.top_k);
  if (top_k < INT32_MIN || top_k > INT32_MAX) bad_field("top_k", "a 32-bit integer", body["top_k"]);
  sp.top_k = int32_t(top_k);
  const json* seed = field(body, "seed");
  if (seed && !seed->is_number_integer()) bad_field("seed", "an integer", *seed);
  sp.seed = seed ? seed->get<uint64_t>()
                 : std::random_device{}() ^ uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  // The API's Sampler checks these too, but its messages name the CLI's flags.
  if (!(sp.temperature >= 0)) throw Error("'temperature': expected a number >= 0, found " + json(sp.temperature).dump());
  if (!(sp.top_p > 0 && sp.top_p <= 1)) throw Error("'top_p': expected 0 < top_p <= 1, found " + json(sp.top_p).dump());
  if (!(sp.min_p >= 0 && sp.min_p <= 1)) throw Error("'min_p': expected 0 <= min_p <= 1, found " + json(sp.min_p).dump());
  if (sp.top_k < 0) throw Error("'top_k': expected an integer >= 0 (0: off), found " + std::to_string(sp.top_k));
  api::Sampler check(sp, model.n_vocab());  // anything the API refuses beyond these
  r.stop = stop_field(body);
  const json* stream = field(body, "stream");
  if (stream && !stream->is_boolean()) bad_field("stream", "true or false", *stream);
  r.stream = stream && stream->get<bool>();
  return r;
}

CompletionResult generate_completion(api::Context& ctx, const CompletionRequest& req,
                                     const std::function<bool(const std::string&)>& on_text) {
  const api::Model& model = ctx.model();
  CompletionResult res;
  res.prompt_tokens = int64_t(req.prompt.size());
  res.finish_reason = "length";
  const api::SeqId seq = ctx.seq_create();
  struct RemoveSeq {  // the sequence goes back to the pool whatever happens
    api::Context& ctx;
    api::SeqId seq;
    ~RemoveSeq() { ctx.seq_remove(seq); }
  } remove{ctx, seq};

  api::Sampler sampler(req.sampling, model.n_vocab());
  api::Detokenizer detok(model);
  api::Batch batch;
  batch.add_tokens(seq, 0, req.prompt);
  std::vector<float> logits;
  std::vector<int32_t> history = req.prompt;
  std::string text;  // everything generated; text[0, sent) has gone to on_text
  size_t sent = 0;
  bool open = true;  // on_text still wants more
  // Sends what is final; true when a stop string ended the text.
  auto advance = [&](bool last) {
    const size_t max_stop = req.stop.empty() ? 0 : std::max_element(req.stop.begin(), req.stop.end(), [](auto& a, auto& b) {
                                                     return a.size() < b.size();
                                                   })->size();
    const size_t at = find_stop(text, sent > max_stop ? sent - max_stop : 0, req.stop);
    if (at != std::string::npos) text.resize(at);
    const size_t hold = at != std::string::npos || last ? 0 : partial_stop_length(text, req.stop);
    const size_t end = std::max(sent, text.size() - hold);
    if (end > sent && open) open = on_text(text.substr(sent, end - sent));
    sent = end;
    return at != std::string::npos;
  };
  bool stopped = false;
  while (open && (req.max_tokens < 0 || res.completion_tokens < req.max_tokens)) {
    if (ctx.seq_length(seq) >= ctx.n_ctx()) break;  // the context is full: "length"
    ctx.decode(batch, logits);
    const int32_t id = sampler.sample(logits, history);
    if (model.is_eog(id)) {
      res.finish_reason = "stop";
      break;
    }
    ++res.completion_tokens;
    history.push_back(id);
    text += detok.push(id);
    if (advance(false)) {
      stopped = true;
      res.finish_reason = "stop";
      break;
    }
    batch.clear();
    batch.add(seq, ctx.seq_length(seq), id, true);
  }
  if (!stopped) {
    text += detok.flush();
    if (advance(true)) res.finish_reason = "stop";
  }
  res.text = text;
  return res;
}

}  // namespace trident::server
