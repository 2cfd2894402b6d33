// The generation behind every endpoint: the request fields shared by /v1/completions,
// /v1/chat/completions and /v1/messages (OpenAI's names, llama-server's extensions top_k, min_p
// and seed), their parsing, and what a generation gives back; the generation itself is
// generation.h (per sequence) run by scheduler.h (all sequences of the context).
#pragma once
#include <trident/trident.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace trident::server {

struct ToolSyntax;

// Most alternatives a request may ask for per token (top_logprobs, OpenAI allows 20).
constexpr int64_t kMaxTopLogprobs = 20;

struct CompletionRequest {
  std::vector<int32_t> prompt;     // tokenized with BOS as the vocabulary asks
  int64_t max_tokens = -1;         // absent: until the end of text or the full context
  api::SamplingParams sampling;    // the API's defaults (llama-server's) where a field is absent
  std::vector<std::string> stop;   // the text ends before the first of these
  bool stream = false;
  bool cache_prompt = true;        // false: evaluate the whole prompt, reusing no cached sequence
  int64_t n_logprobs = -1;         // -1: no logprobs; else the chosen token's and this many alternatives
  // GBNF the generated text must match (from `grammar`, `json_schema` or `response_format`), or
  // "". `matcher` is it compiled for the model (ServerState::compile_grammar), reset per run.
  std::string grammar;
  std::shared_ptr<api::Grammar> matcher;
  // "": the grammar applies from the first token. Otherwise the grammar is lazy (llama-server's
  // grammar_lazy): sampling is free until the reply contains this text, and from there on the
  // grammar, fed the text from this one's start, masks every token (tool_choice "auto": the
  // calls' opening, so a reply may be text but its calls are well-formed).
  std::string grammar_trigger;
  // Tools offered (tool_choice other than "none"): the family's call syntax (tool_calls.h) the
  // reply is parsed with; nullptr when there are none.
  const ToolSyntax* tool_syntax = nullptr;
};

// One generated token's log-probability and the most probable alternatives (logprobs).
struct TokenLogprobs {
  std::string piece;  // the token's bytes (may be part of a UTF-8 character)
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;  // (piece, logprob), most probable first
};

// The fields every generating endpoint reads, in OpenAI's spelling: max_tokens (and
// `max_tokens_field`'s name for it), temperature, top_p, top_k, min_p, presence_penalty,
// frequency_penalty, seed, logit_bias, n (only 1), stream and cache_prompt, and the constraints on the text as
// llama-server reads them: `grammar` (GBNF), `json_schema` (a schema) or OpenAI's
// `response_format` ({"type": "text"}, {"type": "json_object"} with an optional "schema", or
// {"type": "json_schema", "json_schema": {"schema": ...}}), at most one of the three. `stop_field`
// names the stop strings' field (stop, stop_sequences). Throws trident::Error naming the field and what was
// expected (a 400 for the client).
// `ordered`: the same body parsed keeping key order, which a schema's properties keep in the grammar.
void parse_generation_fields(const nlohmann::json& body, const nlohmann::ordered_json& ordered, const api::Model& model,
                             CompletionRequest& r,
                             const char* max_tokens_field = "max_tokens", const char* stop_field = "stop");

// A prompt's tokens checked against the context: empty or longer than n_ctx is an Error naming
// `field`.
void check_prompt(const std::vector<int32_t>& prompt, int64_t n_ctx, const char* field);

// /v1/completions: `prompt` (a string) plus the fields above, and `logprobs` (an integer: that
// many alternatives, OpenAI's legacy shape). Throws trident::Error as above.
CompletionRequest parse_completion_request(const nlohmann::json& body, const nlohmann::ordered_json& ordered,
                                           const api::Model& model, int64_t n_ctx);

struct CompletionResult {
  std::string text;
  std::string finish_reason;  // "stop" (end of text or a stop string) or "length"
  std::string stop_word;      // the stop string that ended the text, or ""
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;      // of prompt_tokens, reused from an idle sequence (not evaluated)
  int64_t completion_tokens = 0;
  double prompt_seconds = 0;      // evaluating the prompt (and the first token's logits)
  double generation_seconds = 0;  // the steps after it
  std::vector<TokenLogprobs> logprobs;  // one per generated token when asked
};

// Called with text as it becomes final (never a piece that could still turn out to begin a stop
// string) and the logprobs of the tokens generated since the last call (when asked); returning
// false stops early (the client went away).
using OnText = std::function<bool(const std::string& text, const std::vector<TokenLogprobs>& logprobs)>;

// Request-field helpers. bad_field throws Error "'FIELD': expected EXPECTED, found JSON".
[[noreturn]] void bad_field(const std::string& field, const std::string& expected, const nlohmann::json& found);
// The member when present and not null, else nullptr.
const nlohmann::json* field(const nlohmann::json& body, const char* name);
int64_t integer_field(const nlohmann::json& body, const char* name, int64_t fallback);

// Text safe for the JSON writer: invalid UTF-8 becomes U+FFFD.
std::string valid_utf8(const std::string& s);

}  // namespace trident::server
