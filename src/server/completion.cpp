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
// Schemas are dumped from `ordered`, so their properties keep the client's order (the grammar
// writes required properties in that order, as llama.cpp's converter does).
std::string grammar_field(const json& body, const nlohmann::ordered_json& ordered) {
  const json *gbnf = field(body, "grammar"), *schema = field(body, "json_schema"), *format = field(body, "response_format");
  if (int(gbnf != nullptr) + int(schema != nullptr) + int(format != nullptr) > 1)
    throw Error("'grammar', 'json_schema' and 'response_format': expected at most one of them");
  if (gbnf) {
    if (!gbnf->is_string() || gbnf->get_ref<const std::string&>().empty()) bad_field("grammar", "GBNF text", *gbnf);
    return gbnf->get<std::string>();
  }
  if (schema) {
    if (!schema->is_object()) bad_field("json_schema", "a JSON schema object", *schema);
    return api::json_schema_to_grammar(ordered.at("json_schema").dump());
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
    return s ? api::json_schema_to_grammar(ordered.at("response_format").at("schema").dump()) : api::json_object_grammar();
  }
  if (t == "json_schema") {
    const json* js = field(*format, "json_schema");
    const json* s = js && js->is_object() ? field(*js, "schema") : nullptr;
    if (!s || !s->is_object())
      bad_field("response_format.json_schema", R"({"schema": {...}} (a JSON schema object))", js ? *js : json());
    return api::json_schema_to_grammar(ordered.at("response_format").at("json_schema").at("schema").dump());
  }
  bad_field("response_format.type", R"("text", "json_object" or "json_schema")", *type);
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

void parse_generation_fields(const json& body, const nlohmann::ordered_json& ordered, const api::Model& model,
                             CompletionRequest& r,
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
  r.grammar = grammar_field(body, ordered);
  const json* stream = field(body, "stream");
  if (stream && !stream->is_boolean()) bad_field("stream", "true or false", *stream);
  r.stream = stream && stream->get<bool>();
  const json* cache = field(body, "cache_prompt");  // llama-server's extension
  if (cache && !cache->is_boolean()) bad_field("cache_prompt", "true or false", *cache);
  r.cache_prompt = !cache || cache->get<bool>();
}

CompletionRequest parse_completion_request(const json& body, const nlohmann::ordered_json& ordered, const api::Model& model,
                                           int64_t n_ctx) {
  if (!body.is_object()) bad_field("request body", "a JSON object", body);
  CompletionRequest r;
  const json* prompt = field(body, "prompt");
  if (!prompt) throw Error("'prompt': required, found nothing");
  if (!prompt->is_string()) bad_field("prompt", "a string", *prompt);
  r.prompt = model.tokenize(prompt->get<std::string>(), true);
  if (r.prompt.empty() && model.bos() >= 0) r.prompt.push_back(model.bos());
  check_prompt(r.prompt, n_ctx, "prompt");
  parse_generation_fields(body, ordered, model, r);
  // OpenAI's legacy completions: logprobs is the number of alternatives (0 to 5; we allow 20).
  const int64_t logprobs = integer_field(body, "logprobs", -1);
  if (field(body, "logprobs") && (logprobs < 0 || logprobs > kMaxTopLogprobs))
    throw Error("'logprobs': expected an integer from 0 to " + std::to_string(kMaxTopLogprobs) + ", found " +
                std::to_string(logprobs));
  r.n_logprobs = logprobs;
  return r;
}

}  // namespace trident::server
