// `trident chat-template`: the prompt a chat template makes of a conversation, as transformers'
// apply_chat_template (and llama.cpp's --jinja) would render it. Reads only the GGUF's
// metadata (tokenizer.chat_template and the BOS/EOS token texts), never its weights.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "chat/chat_template.h"
#include "cli/commands.h"
#include "cli/model_flags.h"
#include "format/error.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer.h"

namespace trident::cli {
namespace {

struct ChatTemplateFlags {
  std::string model;
  std::string template_file;  // --chat-template-file, or --chat-template with a path
  std::string messages, tools, kwargs;
  bool no_generation_prompt = false;
  std::string bos, eos;
  bool bos_given = false, eos_given = false;
};

std::string read_text_file(const std::string& path, const std::string& flag) {
  if (path == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{} {}: cannot read the file", flag, printable(path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("{} {}: read error", flag, printable(path));
  return ss.str();
}

void render(ChatTemplateFlags f) {
  if (f.messages.empty()) fail("--messages: give a JSON file with the conversation (an array of messages)");
  ChatTemplateInputs in;
  std::string tmpl;
  if (!f.template_file.empty()) {
    // llama.cpp's --chat-template takes the template's text; a value with Jinja tags is that.
    const bool inline_text = f.template_file.find("{%") != std::string::npos || f.template_file.find("{{") != std::string::npos;
    tmpl = inline_text ? f.template_file : read_text_file(f.template_file, "--chat-template-file");
  }
  if (!f.model.empty()) {
    auto gguf = GgufFile::open(resolve_model_path(f.model));
    if (tmpl.empty()) {
      auto t = gguf->get_string("tokenizer.chat_template");
      if (!t) fail("{}: no tokenizer.chat_template in the file; give --chat-template-file FILE", printable(f.model));
      tmpl = *t;
    }
    const VocabData vocab = vocab_from_gguf(*gguf);
    auto text = [&](int32_t id) { return id >= 0 && size_t(id) < vocab.tokens.size() ? vocab.tokens[size_t(id)] : ""; };
    in.bos_token = text(vocab.bos);
    in.eos_token = text(vocab.eos);
  } else if (tmpl.empty()) {
    fail("no template: give -m MODEL (its tokenizer.chat_template) or --chat-template-file FILE");
  }
  if (f.bos_given) in.bos_token = f.bos;
  if (f.eos_given) in.eos_token = f.eos;

  // --messages takes an array, or an object as an OpenAI request body has it ({"messages": [...],
  // "tools": [...]}).
  nlohmann::ordered_json conv = parse_chat_json(read_text_file(f.messages, "--messages"), "--messages " + printable(f.messages));
  if (conv.is_object()) {
    if (conv.contains("tools")) in.tools = conv["tools"];
    conv = conv.contains("messages") ? conv["messages"] : nlohmann::ordered_json();
  }
  if (!conv.is_array()) fail("--messages {}: expected a JSON array of messages (or an object with \"messages\")", printable(f.messages));
  in.messages = std::move(conv);
  if (!f.tools.empty()) {
    in.tools = parse_chat_json(read_text_file(f.tools, "--tools"), "--tools " + printable(f.tools));
    if (!in.tools.is_array()) fail("--tools {}: expected a JSON array of tools", printable(f.tools));
  }
  if (!f.kwargs.empty()) {
    in.extra = parse_chat_json(f.kwargs, "--kwargs");
    if (!in.extra.is_object()) fail("--kwargs: expected a JSON object such as '{{\"enable_thinking\": false}}'");
  }
  in.add_generation_prompt = !f.no_generation_prompt;
  const std::string prompt = render_chat_template(tmpl, in);
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
}

}  // namespace

void add_chat_template_command(CLI::App& app) {
  auto f = std::make_shared<ChatTemplateFlags>();
  auto* cmd = app.add_subcommand("chat-template", "print the prompt a chat template renders for a conversation");
  add_model_path(cmd, f->model, "GGUF file whose tokenizer.chat_template is used (only metadata is read)");
  cmd->add_option("--chat-template-file,--chat-template", f->template_file,
                  "Jinja template file to use instead of the model's (text with {% or {{ is the template itself)");
  cmd->add_option("--messages", f->messages, "JSON file: an array of messages, or {\"messages\": [...], \"tools\": [...]}; - reads stdin")
      ->required();
  cmd->add_option("--tools", f->tools, "JSON file: an array of tool definitions (OpenAI format)");
  cmd->add_option("--kwargs,--chat-template-kwargs", f->kwargs,
                  "JSON object of extra template variables, e.g. '{\"enable_thinking\": false}'");
  cmd->add_flag("--no-generation-prompt", f->no_generation_prompt, "do not open the assistant's turn at the end");
  cmd->add_option("--bos-token", f->bos, "BOS token text (default: the model's)")->each([f](const std::string&) { f->bos_given = true; });
  cmd->add_option("--eos-token", f->eos, "EOS token text (default: the model's)")->each([f](const std::string&) { f->eos_given = true; });
  cmd->callback([f] { render(*f); });
}

}  // namespace trident::cli
