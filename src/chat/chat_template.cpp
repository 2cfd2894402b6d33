#include "chat/chat_template.h"

#include "chat/lexer.h"
#include "format/error.h"

namespace trident {

nlohmann::ordered_json parse_chat_json(const std::string& text, const std::string& what) {
  constexpr int kMaxDepth = 128;
  // The callback sees every nesting level before the parser descends further, so a deeply
  // nested document is refused without deep recursion.
  auto guard = [&](int depth, nlohmann::ordered_json::parse_event_t, nlohmann::ordered_json&) {
    if (depth > kMaxDepth) fail("{}: JSON nested deeper than {} levels", what, kMaxDepth);
    return true;
  };
  try {
    return nlohmann::ordered_json::parse(text, guard);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON ({})", what, printable(e.what(), 160));
  }
}

std::string render_chat_template(const std::string& tmpl, const ChatTemplateInputs& in,
                                 const ChatTemplateLimits& limits) {
  using namespace chat;
  const std::vector<Token> tokens = lex_template(tmpl, limits.max_template_bytes);
  const Body body = parse_template(tokens, limits.max_nesting);
  if (!in.messages.is_array()) fail("chat template: messages must be a JSON array");
  if (!in.extra.is_object()) fail("chat template: extra template arguments must be a JSON object");

  auto globals = std::make_shared<Scope>();
  add_builtins(*globals);
  globals->vars["messages"] = from_json(in.messages);
  globals->vars["tools"] = from_json(in.tools);
  globals->vars["documents"] = from_json(in.documents);
  globals->vars["add_generation_prompt"] = Value(in.add_generation_prompt);
  globals->vars["bos_token"] = Value(in.bos_token);
  globals->vars["eos_token"] = Value(in.eos_token);
  for (const auto& [k, v] : in.extra.items()) globals->vars[k] = from_json(v);
  // The render's own variables live one scope below the inputs, so a template's top-level
  // {% set %} never replaces the inputs object the caller passed.
  auto top = std::make_shared<Scope>();
  top->parent = globals;

  std::function<std::tm()> clock = in.clock;
  if (!clock)
    clock = [] {
      const std::time_t t = std::time(nullptr);
      std::tm local{};
      localtime_r(&t, &local);
      return local;
    };
  Interpreter interp(limits, clock);
  return interp.render(body, top);
}

}  // namespace trident
