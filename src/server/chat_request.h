// Conversations in OpenAI's (/v1/chat/completions) and Anthropic's (/v1/messages) request shapes,
// rendered through the chat template into a CompletionRequest.
#pragma once
#include <nlohmann/json.hpp>
#include <trident/trident.h>

#include "server/completion.h"

namespace trident::server {

// OpenAI: `messages` (role plus content as a string, null, or an array of {"type":"text"} parts,
// which are joined with "\n" as llama-server does for templates that take strings; every other
// member of a message reaches the template as it is), the fields of parse_generation_fields
// with max_completion_tokens preferred to max_tokens, `logprobs` (true/false) and `top_logprobs`
// (0 to 20). ordered: the same body parsed keeping key order (what tojson shows). Throws Error
// naming the field (a 400).
CompletionRequest parse_chat_request(const nlohmann::json& body, const nlohmann::ordered_json& ordered,
                                     const api::Model& model, const api::ChatTemplate& tmpl, int64_t n_ctx);

// Anthropic: `max_tokens` (required, >= 1), `system` (a string or text blocks), `messages`
// (role user or assistant; content a string or text blocks), `stop_sequences`, `temperature`,
// `top_p`, `top_k`, `stream`. Throws Error naming the field (a 400).
CompletionRequest parse_messages_request(const nlohmann::json& body, const nlohmann::ordered_json& ordered,
                                         const api::Model& model, const api::ChatTemplate& tmpl, int64_t n_ctx);

}  // namespace trident::server
