// /v1/completions: the request's fields (OpenAI's names, llama-server's extensions min_p and
// seed) and the generation loop, apart from HTTP so it can serve streaming and whole replies.
#pragma once
#include <trident/trident.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace trident::server {

struct CompletionRequest {
  std::vector<int32_t> prompt;     // tokenized with BOS as the vocabulary asks
  int64_t max_tokens = -1;         // absent: until the end of text or the full context
  api::SamplingParams sampling;    // the API's defaults (llama-server's) where a field is absent
  std::vector<std::string> stop;   // the text ends before the first of these
  bool stream = false;
};

// Reads and checks a request body. Throws trident::Error naming the field and what was
// expected (a 400 for the client): wrong types, negative max_tokens, an out-of-range sampling
// value, an empty prompt or one longer than the context of n_ctx tokens.
CompletionRequest parse_completion_request(const nlohmann::json& body, const api::Model& model, int64_t n_ctx);

struct CompletionResult {
  std::string text;
  std::string finish_reason;  // "stop" (end of text or a stop string) or "length"
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

// Evaluates the prompt in a new sequence of ctx, samples until the end, and removes the
// sequence again. on_text receives the text as it becomes final (never a piece that could still
// turn out to begin a stop string); returning false stops early (the client went away).
CompletionResult generate_completion(api::Context& ctx, const CompletionRequest& req,
                                     const std::function<bool(const std::string&)>& on_text);

// Text safe for the JSON writer: invalid UTF-8 becomes U+FFFD.
std::string valid_utf8(const std::string& s);

}  // namespace trident::server
