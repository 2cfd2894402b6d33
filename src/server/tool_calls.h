// Tool calls: the syntax each chat-template family uses to write a function call, chosen from
// the template's text as llama.cpp's chat parser does; a GBNF grammar that forces a reply into
// that syntax with arguments valid against each function's `parameters` schema (tool_choice
// "required" or a named function); and the parser that turns a reply back into calls.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace trident::server {

// How a family writes its calls. All calls: begin, then each call as call_open BODY call_close
// with separator between calls, then end. BODY is one of the layouts below.
enum class ToolLayout {
  JsonObject,  // {"name": NAME, "<args_key>": {ARGS}}
  NameThenArgs,  // NAME name_end {ARGS}
  ArgPairs,    // NAME "\n" then per argument <arg_key>K</arg_key>\n<arg_value>V</arg_value>\n (GLM-4.5)
  GemmaArgs,   // NAME{K:V,...}: bare keys, strings between <|"|> marks, other values as JSON (Gemma 4)
};

struct ToolSyntax {
  const char* name;          // "hermes", "llama3", ... (docs/serve.md lists them)
  const char* detect;        // the template text containing all of these selects the row
  const char* detect_also;   // ("" : no second condition)
  ToolLayout layout;
  const char* begin;
  const char* call_open;
  const char* name_end;      // NameThenArgs: between the name and the arguments
  const char* call_close;
  const char* separator;
  const char* end;
  const char* args_key;      // JsonObject: "arguments" or "parameters"
};

// The row whose detect strings the template contains, first match in table order; Hermes's
// `<tool_call>{json}</tool_call>` when none does.
const ToolSyntax& tool_syntax_for(std::string_view template_source);
const std::vector<ToolSyntax>& tool_syntaxes();

// Where the reply's calls start: the text a reply begins its calls with (begin, else
// call_open); "" for a syntax whose calls are bare JSON at the start of the reply (Llama 3.x).
std::string tool_call_trigger(const ToolSyntax& syntax);

struct ToolCall {
  std::string name;
  std::string arguments;  // a JSON object's text
};
struct ParsedReply {
  std::string content;           // the text before the calls (all of it when there are none)
  std::vector<ToolCall> calls;
};

// Splits a reply into text and calls. A reply whose calls do not parse stays text, as
// llama-server does.
ParsedReply parse_tool_calls(const ToolSyntax& syntax, const std::string& text);

// GBNF for a reply that is only calls of `tools` (OpenAI function tools, already checked) in
// the syntax; `only`: the one function allowed ("" : any); `parallel`: one or more calls.
// Throws Error (a 400) for a parameters schema the grammar engine does not support.
std::string tool_call_grammar(const ToolSyntax& syntax, const nlohmann::ordered_json& tools, const std::string& only,
                              bool parallel);

// A system-prompt section describing the tools in Hermes's words (Qwen 2.5's), for templates
// that do not render `tools` themselves (no mention of them, or the ChatML fallback); with
// `hermes_format`, also how to write a call in Hermes's syntax (other families know their own).
std::string tools_system_prompt(const nlohmann::ordered_json& tools, bool hermes_format);

// Holds back a streamed reply's text from the trigger on (the calls arrive at the end, parsed),
// and the end of the text that could still become the trigger.
class ToolStreamFilter {
 public:
  explicit ToolStreamFilter(const ToolSyntax& syntax) : trigger_(tool_call_trigger(syntax)) {}
  // The part of the text so far that is certainly content and was not returned before.
  std::string push(const std::string& piece);

 private:
  std::string trigger_;
  std::string text_;
  size_t sent_ = 0;
  bool in_calls_ = false;
};

}  // namespace trident::server
