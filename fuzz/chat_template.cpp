// Fuzz target: arbitrary bytes as a chat template, rendered over a conversation with a system
// prompt, tools, a tool call and its result, and reasoning. Small bounds keep every input fast;
// any outcome but a rendered string or trident::Error is a bug.
#include <cstdint>
#include <string>

#include "chat/chat_template.h"
#include "format/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trident;
  static const ChatTemplateInputs inputs = [] {
    ChatTemplateInputs in;
    in.messages = nlohmann::ordered_json::parse(R"([
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Weather in Zürich?"},
      {"role": "assistant", "content": "", "reasoning_content": "Call the tool.",
       "tool_calls": [{"id": "call12345", "type": "function",
                       "function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}]},
      {"role": "tool", "tool_call_id": "call12345", "content": "{\"temp\": 21.5}"},
      {"role": "assistant", "content": "<think>ok</think>21.5 °C"}])");
    in.tools = nlohmann::ordered_json::parse(R"([{"type": "function", "function": {"name": "get_weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])");
    in.bos_token = "<s>";
    in.eos_token = "</s>";
    in.extra = {{"enable_thinking", true}};
    in.clock = [] { return std::tm{}; };
    return in;
  }();
  ChatTemplateLimits limits;
  limits.max_work = 200'000;
  limits.max_output_bytes = 1 << 16;
  limits.max_string_bytes = 1 << 16;
  limits.max_list_items = 1 << 12;
  try {
    (void)render_chat_template(std::string(reinterpret_cast<const char*>(data), size), inputs, limits);
  } catch (const Error&) {
  }
  return 0;
}
