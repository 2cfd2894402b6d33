// Chat templates: the prompt text a model was trained on, made from a conversation.
//
// A ChatTemplate renders tokenizer.chat_template (a Jinja program) with trident's sandboxed
// interpreter, byte for byte as transformers' apply_chat_template does (docs/chat-templates.md).
// A file without a template gets what llama-server uses then: tokenizer.chat_template.tool_use
// when present, else ChatML (`<|im_start|>ROLE\nCONTENT<|im_end|>\n` per message and
// `<|im_start|>assistant\n` as the generation prompt).
//
// Thread-safety: apply() is const and may run from several threads at once.
#pragma once
#include <trident/error.h>
#include <trident/model.h>

#include <string>
#include <string_view>

namespace trident::api {

// The template a --chat-template value names, as llama.cpp reads that flag: a value containing
// "{%" or "{{" is the template's text, "chatml" (and "") stay as they are (ChatTemplate's
// names), anything else is a file whose contents are returned. Throws Error
// "--chat-template FILE: cannot read the file" when it cannot be read or is empty.
std::string chat_template_source(const std::string& value);

class ChatTemplate {
 public:
  // The model's template, or `source` (a template's text) when non-empty (--chat-template).
  // Reads bos_token / eos_token from the model's vocabulary.
  explicit ChatTemplate(const Model& model, std::string source = "");

  const std::string& source() const { return source_; }
  // True when neither the model nor the caller gave a template and ChatML is used.
  bool is_fallback() const { return fallback_; }

  // messages_json: a JSON array of messages in OpenAI's shape ({"role": ..., "content": ...},
  // tool_calls, ...; key order is kept, as tojson shows it). extra_json: "" or a JSON object of
  // further template variables (enable_thinking, ...). Returns the prompt; a leading BOS text is
  // removed when the vocabulary adds BOS itself (as llama.cpp does), so
  // Model::tokenize(prompt, true, true) holds exactly one BOS. Throws Error "chat template: ..."
  // for malformed JSON, a template error or raise_exception, or a bound exceeded.
  std::string apply(std::string_view messages_json, bool add_generation_prompt = true,
                    std::string_view extra_json = "") const;

 private:
  std::string source_;
  std::string bos_text_, eos_text_;
  bool strip_bos_ = false;
  bool fallback_ = false;
};

}  // namespace trident::api
