#include "server/completion.h"

#include <algorithm>
#include <charconv>
#include <cfloat>
#include <cmath>
#include <chrono>
#include <random>

namespace trident::server {

using nlohmann::json;

[[noreturn]] void bad_field(const std::string& field, const std::string& expected, const json& found) {
  throw Error("'" + field + "': expected " + expected + ", found " + valid_utf8(found.dump()));
}

// The field when present and not null, else nullptr.
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

namespace {

float number_field(const json& body, const char* name, float fallback) {
  const json* v = field(body, name);
  if (!v) return fallback;
  // A double beyond float's range has no float value (converting it is undefined).
  if (!v->is_number() || !(std::fabs(v->get<double>()) <= FLT_MAX)) bad_field(name, "a number", *v);
  return v->get<float>();
}

}  // namespace

int64_t integer_field(const json& body, const char* name, int64_t fallback) {
  const json* v = field(body, name);
  if (!v) return fallback;
  if (!v->is_number_integer()) bad_field(name, "an integer", *v);
  return v->get<int64_t>();
}

namespace {

std::vector<std::string> stop_field(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return {};
  if (v->is_string()) return v->get_ref<const std::string&>().empty() ? std::vector<std::string>{} : std::vector{v->get<std::string>()};
  if (!v->is_array()) bad_field(name, "a string or an array of strings", *v);
  std::vector<std::string> out;
  for (const json& s : *v) {
    if (!s.is_string()) bad_field(name, "a string or an array of strings", *v);
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

// Where the first stop string begins in text (searching from `from`), or npos, and which one.
std::pair<size_t, size_t> find_stop(const std::string& text, size_t from, const std::vector<std::string>& stop) {
  size_t first = std::string::npos, which = 0;
  for (size_t i = 0; i < stop.size(); ++i) {
    const size_t at = text.find(stop[i], from);
    if (at < first) first = at, which = i;
  }
  return {first, which};
}

// OpenAI's logit_bias: {"token id": bias} with bias a number (-100..100 by OpenAI; any finite
// value here) or false (the token is banned, as llama-server reads it).
std::vector<std::pair<int32_t, float>> logit_bias_field(const json& body, int64_t n_vocab) {
  const json* v = field(body, "logit_bias");
  if (!v) return {};
  if (!v->is_object()) bad_field("logit_bias", "an object of token id: bias", *v);
  std::vector<std::pair<int32_t, float>> out;
  for (const auto& [key, bias] : v->items()) {
    int64_t id = -1;
    const auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (ec != std::errc() || p != key.data() + key.size())
      throw Error("'logit_bias': expected token ids as keys, found \"" + valid_utf8(key) + "\"");
    if (id < 0 || id >= n_vocab)
      throw Error("'logit_bias': token id " + key + " is outside the vocabulary (0 to " + std::to_string(n_vocab - 1) + ")");
    if (bias.is_boolean() && !bias.get<bool>()) out.emplace_back(int32_t(id), -INFINITY);
    else if (bias.is_number() && std::fabs(bias.get<double>()) <= FLT_MAX) out.emplace_back(int32_t(id), bias.get<float>());
    else bad_field("logit_bias", "a number or false for token " + key, bias);
  }
  return out;
}

// The GBNF of `grammar`, `json_schema` or `response_format`, or "" when none is given.
std::string grammar_field(const json& body) {
  const json *gbnf = field(body, "grammar"), *schema = field(body, "json_schema"), *format = field(body, "response_format");
  if (int(gbnf != nullptr) + int(schema != nullptr) + int(format != nullptr) > 1)
    throw Error("'grammar', 'json_schema' and 'response_format': expected at most one of them");
  if (gbnf) {
    if (!gbnf->is_string() || gbnf->get_ref<const std::string&>().empty()) bad_field("grammar", "GBNF text", *gbnf);
    return gbnf->get<std::string>();
  }
  if (schema) {
    if (!schema->is_object()) bad_field("json_schema", "a JSON schema object", *schema);
    return api::json_schema_to_grammar(schema->dump());
  }
  if (!format) return "";
  const json* type = format->is_object() ? field(*format, "type") : nullptr;
  if (!type || !type->is_string())
    bad_field("response_format", R"({"type": "text"}, {"type": "json_object"} or {"type": "json_schema", ...})", *format);
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "text") return "";
  if (t == "json_object") {
    const json* s = field(*format, "schema");  // llama-server's extension
    if (s && !s->is_object()) bad_field("response_format.schema", "a JSON schema object", *s);
    return s ? api::json_schema_to_grammar(s->dump()) : api::json_object_grammar();
  }
  if (t == "json_schema") {
    const json* js = field(*format, "json_schema");
    const json* s = js && js->is_object() ? field(*js, "schema") : nullptr;
    if (!s || !s->is_object())
      bad_field("response_format.json_schema", R"({"schema": {...}} (a JSON schema object))", js ? *js : json());
    return api::json_schema_to_grammar(s->dump());
  }
  bad_field("response_format.type", R"("text", "json_object" or "json_schema")", *type);
}

TokenLogprobs token_logprobs(const api::Model& model, const std::vector<float>& logits, int32_t id, size_t n_top) {
  TokenLogprobs t;
  t.piece = model.token_piece(id);
  t.logprob = api::logprob(logits, id);
  for (const api::TokenLogprob& alt : api::top_logprobs(logits, n_top)) t.top.emplace_back(model.token_piece(alt.id), alt.logprob);
  return t;
}

}  // namespace

std::string valid_utf8(const std::string& s) {
  return json::parse(json(s).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

void check_prompt(const std::vector<int32_t>& prompt, int64_t n_ctx, const char* field) {
  if (prompt.empty()) throw Error(std::string("'") + field + "': expected text, found an empty prompt");
  if (int64_t(prompt.size()) > n_ctx)
    throw Error(std::string("'") + field + "': " + std::to_string(prompt.size()) + " tokens do not fit the context of " +
                std::to_string(n_ctx) + " tokens");
}

void parse_generation_fields(const json& body, const api::Model& model, CompletionRequest& r,
                             const char* max_tokens_field, const char* stop_name) {
  r.max_tokens = integer_field(body, max_tokens_field, -1);
  if (field(body, max_tokens_field) && r.max_tokens < 0)
    throw Error(std::string("'") + max_tokens_field + "': expected an integer >= 0, found " + std::to_string(r.max_tokens));
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
  sp.logit_bias = logit_bias_field(body, model.n_vocab());
  api::Sampler check(sp, model.n_vocab());  // anything the API refuses beyond these
  const int64_t n = integer_field(body, "n", 1);
  if (n != 1)
    throw Error("'n': only one choice per request is served (n = 1; send several requests for more), found " +
                std::to_string(n));
  r.stop = stop_field(body, stop_name);
  r.grammar = grammar_field(body);
  const json* stream = field(body, "stream");
  if (stream && !stream->is_boolean()) bad_field("stream", "true or false", *stream);
  r.stream = stream && stream->get<bool>();
}

CompletionRequest parse_completion_request(const json& body, const api::Model& model, int64_t n_ctx) {
  if (!body.is_object()) bad_field("request body", "a JSON object", body);
  CompletionRequest r;
  const json* prompt = field(body, "prompt");
  if (!prompt) throw Error("'prompt': required, found nothing");
  if (!prompt->is_string()) bad_field("prompt", "a string", *prompt);
  r.prompt = model.tokenize(prompt->get<std::string>(), true);
  if (r.prompt.empty() && model.bos() >= 0) r.prompt.push_back(model.bos());
  check_prompt(r.prompt, n_ctx, "prompt");
  parse_generation_fields(body, model, r);
  // OpenAI's legacy completions: logprobs is the number of alternatives (0 to 5; we allow 20).
  const int64_t logprobs = integer_field(body, "logprobs", -1);
  if (field(body, "logprobs") && (logprobs < 0 || logprobs > kMaxTopLogprobs))
    throw Error("'logprobs': expected an integer from 0 to " + std::to_string(kMaxTopLogprobs) + ", found " +
                std::to_string(logprobs));
  r.n_logprobs = logprobs;
  return r;
}

CompletionResult generate_completion(api::Context& ctx, const CompletionRequest& req, const OnText& on_text) {
  using Clock = std::chrono::steady_clock;
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
  api::Grammar* grammar = req.matcher.get();
  if (grammar) grammar->reset();
  api::Detokenizer detok(model);
  api::Batch batch;
  batch.add_tokens(seq, 0, req.prompt);
  std::vector<float> logits, raw;
  std::vector<int32_t> history = req.prompt;
  std::string text;  // everything generated; text[0, sent) has gone to on_text
  size_t sent = 0;
  size_t logprobs_sent = 0;  // res.logprobs[0, logprobs_sent) went with earlier text
  bool open = true;          // on_text still wants more
  size_t max_stop = 0;
  for (const std::string& s : req.stop) max_stop = std::max(max_stop, s.size());
  // Sends what is final; true when a stop string ended the text.
  auto advance = [&](bool last) {
    const auto [at, which] = find_stop(text, sent > max_stop ? sent - max_stop : 0, req.stop);
    if (at != std::string::npos) {
      text.resize(at);
      res.stop_word = req.stop[which];
    }
    const size_t hold = at != std::string::npos || last ? 0 : partial_stop_length(text, req.stop);
    const size_t end = std::max(sent, text.size() - hold);
    if (end > sent && open) {
      const std::vector<TokenLogprobs> fresh(res.logprobs.begin() + long(logprobs_sent), res.logprobs.end());
      logprobs_sent = res.logprobs.size();
      open = on_text(text.substr(sent, end - sent), fresh);
    }
    sent = end;
    return at != std::string::npos;
  };
  bool stopped = false;
  const Clock::time_point t0 = Clock::now();
  Clock::time_point t_first = t0;
  while (open && (req.max_tokens < 0 || res.completion_tokens < req.max_tokens)) {
    if (grammar && grammar->finished()) {  // the text is complete and nothing may follow
      res.finish_reason = "stop";
      break;
    }
    if (ctx.seq_length(seq) >= ctx.n_ctx()) break;  // the context is full: "length"
    ctx.decode(batch, logits);
    if (res.completion_tokens == 0) t_first = Clock::now();
    // Log-probabilities are the model's (before the grammar's mask, as before bias and penalties).
    if (grammar && req.n_logprobs >= 0) raw = logits;
    if (grammar) grammar->apply(logits);
    const int32_t id = sampler.sample(logits, history);
    if (model.is_eog(id)) {
      res.finish_reason = "stop";
      break;
    }
    if (grammar) grammar->accept(id);
    ++res.completion_tokens;
    if (req.n_logprobs >= 0)
      res.logprobs.push_back(token_logprobs(model, grammar ? raw : logits, id, size_t(req.n_logprobs)));
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
  res.prompt_seconds = std::chrono::duration<double>(t_first - t0).count();
  res.generation_seconds = std::chrono::duration<double>(Clock::now() - t_first).count();
  res.text = text;
  return res;
}

}  // namespace trident::server
