// Rendering a model's chat template (tokenizer.chat_template) the way transformers'
// apply_chat_template does, with trident's own sandboxed Jinja interpreter.
#pragma once
#include <nlohmann/json.hpp>

#include <ctime>
#include <functional>
#include <string>

#include "chat/interpreter.h"

namespace trident {

// The variables apply_chat_template passes to the template.
struct ChatTemplateInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // [{role, content, tool_calls, ...}]
  nlohmann::ordered_json tools;        // null: no tools (the template sees `tools` as None)
  nlohmann::ordered_json documents;    // null: none
  bool add_generation_prompt = true;
  std::string bos_token, eos_token;
  // Extra keyword arguments (enable_thinking, reasoning_effort, builtin_tools, ...): an object
  // whose members become template variables, overriding the ones above as Python's **kwargs do.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  // The local time strftime_now() formats; default: the machine's clock.
  std::function<std::tm()> clock;
};

using chat::ChatTemplateLimits;

// Untrusted JSON (messages, tools, kwargs) parsed keeping key order, which tojson preserves;
// throws Error naming `what` when malformed or nested deeper than 128 levels.
nlohmann::ordered_json parse_chat_json(const std::string& text, const std::string& what);

// Throws Error "chat template: ..." for a syntax error (with line and column), an error the
// template raises (raise_exception), an invalid operation, or a bound exceeded.
std::string render_chat_template(const std::string& tmpl, const ChatTemplateInputs& in,
                                 const ChatTemplateLimits& limits = {});

}  // namespace trident
