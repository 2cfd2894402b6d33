// Fuzz target: arbitrary bytes as the body of a request to `trident serve`. The first byte picks
// the endpoint (/v1/chat/completions, /v1/messages, /v1/completions); the rest is parsed as
// JSON, as the server does, and read by that endpoint's request reader, which checks every
// field, renders the conversation through the chat template and tokenizes the prompt. A body
// that is not JSON is the parser's 400; after that, any outcome but a request or trident::Error
// (the server's 400) is a bug: another exception would be a 500. HTTP framing itself is
// cpp-httplib's. The model is ../shared's stories260K (a tiny vocabulary, the ChatML fallback).
#include <cstdint>
#include <string>

#include "format/error.h"
#include "server/chat_request.h"
#include "server/completion.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trident;
  static const api::Model model(std::string(TRIDENT_SHARED_DIR) + "/models/stories260K.gguf");
  static const api::ChatTemplate tmpl(model);
  constexpr int64_t kCtx = 256;
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  nlohmann::json j;
  nlohmann::ordered_json ordered;
  try {
    j = nlohmann::json::parse(body);
    ordered = nlohmann::ordered_json::parse(body);
  } catch (const nlohmann::json::exception&) {  // not JSON (or a number beyond double): the server's 400
    return 0;
  }
  try {
    switch (data[0] % 3) {
      case 0: (void)server::parse_chat_request(j, ordered, model, tmpl, kCtx); break;
      case 1: (void)server::parse_messages_request(j, ordered, model, tmpl, kCtx); break;
      default: (void)server::parse_completion_request(j, ordered, model, kCtx); break;
    }
  } catch (const Error&) {
  }
  return 0;
}
