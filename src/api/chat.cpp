// The public ChatTemplate over chat/'s interpreter.
#include <trident/chat.h>

#include <fstream>
#include <sstream>

#include "chat/chat_template.h"
#include "format/error.h"

namespace trident::api {
namespace {

// llama.cpp's CHATML_TEMPLATE_SRC (common/chat.cpp), what llama-server renders with when the
// model has no template.
constexpr const char* kChatML =
    "{%- for message in messages -%}\n"
    "  {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '<|im_start|>assistant\n' -}}\n"
    "{%- endif -%}";

}  // namespace

std::string chat_template_source(const std::string& value) {
  if (value.empty() || value == "chatml" || value.find("{%") != std::string::npos || value.find("{{") != std::string::npos)
    return value;
  std::ifstream in(value, std::ios::binary);
  std::stringstream ss;
  if (in) ss << in.rdbuf();
  if (!in || in.bad() || ss.str().empty()) fail("--chat-template {}: cannot read the file", printable(value));
  return ss.str();
}

ChatTemplate::ChatTemplate(const Model& model, std::string source) : source_(std::move(source)) {
  if (source_.empty()) {
    if (auto t = model.chat_template()) source_ = *t;
    else if (auto tool_use = model.meta("tokenizer.chat_template.tool_use")) source_ = *tool_use;
  }
  if (source_.empty() || source_ == "chatml") {
    fallback_ = source_.empty();
    source_ = kChatML;
  }
  if (model.bos() >= 0) bos_text_ = model.token_piece(model.bos(), true);
  if (model.eos() >= 0) eos_text_ = model.token_piece(model.eos(), true);
  strip_bos_ = model.add_bos() && !bos_text_.empty();
}

std::string ChatTemplate::apply(std::string_view messages_json, bool add_generation_prompt,
                                std::string_view extra_json) const {
  ChatTemplateInputs in;
  in.messages = parse_chat_json(std::string(messages_json), "chat template: messages");
  if (!in.messages.is_array()) fail("chat template: messages must be a JSON array");
  if (!extra_json.empty()) {
    in.extra = parse_chat_json(std::string(extra_json), "chat template: extra variables");
    if (!in.extra.is_object()) fail("chat template: extra variables must be a JSON object");
  }
  in.add_generation_prompt = add_generation_prompt;
  in.bos_token = bos_text_;
  in.eos_token = eos_text_;
  std::string prompt = render_chat_template(source_, in);
  if (strip_bos_ && prompt.starts_with(bos_text_)) prompt.erase(0, bos_text_.size());
  return prompt;
}

}  // namespace trident::api
