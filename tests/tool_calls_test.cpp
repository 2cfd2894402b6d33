// Tool calls (src/server/tool_calls.h): the syntax chosen from template text, each family's
// reply parsed back into calls, and for every syntax a reply forced by its grammar (random
// logits on stories260K's vocabulary) that parses into a call whose arguments fit the schema.
#include "server/tool_calls.h"

#include <gtest/gtest.h>
#include <trident/trident.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "json_schema_check.h"
#include "server/chat_request.h"
#include "serve_util.h"

namespace trident::server {
namespace {

using nlohmann::ordered_json;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string syntax_of(const std::string& template_text) { return tool_syntax_for(template_text).name; }

TEST(ToolCalls, SyntaxFromTemplateText) {
  EXPECT_STREQ(tool_syntax_for("{{ '<tool_call>' }}").name, "hermes");
  EXPECT_EQ(syntax_of("{{ messages }}"), "hermes");  // the fallback
  EXPECT_EQ(syntax_of("<|start_header_id|>ipython<|end_header_id|>"), "llama3");
  EXPECT_EQ(syntax_of("[TOOL_CALLS] [AVAILABLE_TOOLS]"), "mistral");
  EXPECT_EQ(syntax_of("[TOOL_CALLS]{{ name }}[ARGS]"), "mistral-args");
  EXPECT_EQ(syntax_of("<|start|>assistant<|channel|>final<|message|>"), "gpt-oss");
  EXPECT_EQ(syntax_of("<\uFF5Ctool\u2581calls\u2581begin\uFF5C> ```json"), "deepseek-r1");
  EXPECT_EQ(syntax_of("<\uFF5Ctool\u2581calls\u2581begin\uFF5C><\uFF5Ctool\u2581sep\uFF5C>"), "deepseek-v3.1");
  EXPECT_EQ(syntax_of("<tool_call>{{ name }}<arg_key>"), "glm-4.5");
  EXPECT_EQ(syntax_of("<|tool|>{{ tools }}<|/tool|> <|tool_call|>"), "phi-4");
  EXPECT_EQ(syntax_of("<|tool_call|>"), "granite");
  EXPECT_EQ(syntax_of("{{- '<|tool_call>call:' + function['name'] + '{' -}}"), "gemma4");
}

// The real templates of tests/data/chat_templates/ (each model's published template) select
// their family's row.
TEST(ToolCalls, RealTemplatesSelectTheirSyntax) {
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"HuggingFaceTB-SmolLM3-3B", "hermes"},
      {"Qwen-Qwen2.5-7B-Instruct", "hermes"},
      {"Qwen-Qwen3-0.6B", "hermes"},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "deepseek-r1"},
      {"deepseek-ai-DeepSeek-V3.1", "deepseek-v3.1"},
      {"google-gemma-3-it", "hermes"},
      {"google-gemma-4-31B-it", "gemma4"},
      {"ibm-granite-granite-3.3-2B-Instruct", "granite"},
      {"meta-llama-Llama-3.1-8B-Instruct", "llama3"},
      {"meta-llama-Llama-3.3-70B-Instruct", "llama3"},
      {"mistralai-Mistral-Nemo-Instruct-2407", "mistral"},
      {"mistralai-Mistral-Small-3.2-24B-Instruct-2506", "mistral-args"},
      {"mistralai-Ministral-3-14B-Reasoning-2512", "mistral-args"},
      {"openai-gpt-oss-120b", "gpt-oss"},
      {"zai-org-GLM-4.6", "glm-4.5"},
  };
  for (const auto& [file, syntax] : expected)
    EXPECT_EQ(syntax_of(read_text(test::source_dir() + "/tests/data/chat_templates/" + file + ".jinja")), syntax)
        << file;
}

const ToolSyntax& named(const std::string& name) {
  for (const ToolSyntax& s : tool_syntaxes())
    if (s.name == name) return s;
  throw std::runtime_error("no syntax " + name);
}

void expect_calls(const std::string& syntax, const std::string& text, const std::string& content,
                  const std::vector<std::pair<std::string, std::string>>& calls) {
  const ParsedReply r = parse_tool_calls(named(syntax), text);
  EXPECT_EQ(r.content, content) << syntax;
  ASSERT_EQ(r.calls.size(), calls.size()) << syntax << ": " << text;
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(r.calls[i].name, calls[i].first) << syntax;
    EXPECT_EQ(r.calls[i].arguments, calls[i].second) << syntax;
  }
}

TEST(ToolCalls, ParsesEachFamilysSyntax) {
  const std::string paris = R"({"city":"Paris"})";
  expect_calls("hermes", "Let me look.\n<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
               "Let me look.\n", {{"weather", paris}});
  expect_calls("hermes",
               "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", "
               "\"arguments\": \"{\\\"x\\\": 1}\"}\n</tool_call>",
               "", {{"a", "{}"}, {"b", R"({"x":1})"}});
  expect_calls("llama3", R"({"name": "weather", "parameters": {"city": "Paris"}})", "", {{"weather", paris}});
  expect_calls("llama3", R"(<|python_tag|>{"type": "function", "name": "weather", "parameters": {"city": "Paris"}})", "",
               {{"weather", paris}});
  expect_calls("mistral", R"([TOOL_CALLS][{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {}}])", "",
               {{"a", R"({"x":1})"}, {"b", "{}"}});
  expect_calls("mistral-args", R"([TOOL_CALLS]weather[ARGS]{"city": "Paris"})", "", {{"weather", paris}});
  expect_calls("gpt-oss",
               "<|channel|>commentary to=functions.weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>", "",
               {{"weather", paris}});
  expect_calls("gpt-oss", "<|channel|>commentary to=functions.weather<|message|>{\"city\":\"Paris\"}<|call|>", "",
               {{"weather", paris}});
  expect_calls("deepseek-r1",
               "Sure.<\uFF5Ctool\u2581calls\u2581begin\uFF5C><\uFF5Ctool\u2581call\u2581begin\uFF5C>function<\uFF5Ctool"
               "\u2581sep\uFF5C>weather\n```json\n{\"city\": \"Paris\"}\n```<\uFF5Ctool\u2581call\u2581end\uFF5C><\uFF5Ctool"
               "\u2581calls\u2581end\uFF5C>",
               "Sure.", {{"weather", paris}});
  expect_calls("deepseek-v3.1",
               "<\uFF5Ctool\u2581calls\u2581begin\uFF5C><\uFF5Ctool\u2581call\u2581begin\uFF5C>weather<\uFF5Ctool\u2581sep"
               "\uFF5C>{\"city\": \"Paris\"}<\uFF5Ctool\u2581call\u2581end\uFF5C><\uFF5Ctool\u2581calls\u2581end\uFF5C>",
               "", {{"weather", paris}});
  expect_calls("glm-4.5",
               "<tool_call>weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n<arg_key>days</arg_key>\n"
               "<arg_value>3</arg_value>\n</tool_call>",
               "", {{"weather", R"({"city":"Paris","days":3})"}});
  expect_calls("phi-4", R"(<|tool_call|>[{"name": "weather", "arguments": {"city": "Paris"}}]<|/tool_call|>)", "",
               {{"weather", paris}});
  expect_calls("granite", R"(<|tool_call|>[{"name": "weather", "arguments": {"city": "Paris"}}])", "",
               {{"weather", paris}});
  expect_calls("gemma4", "<|tool_call>call:weather{city:<|\"|>Paris<|\"|>,days:3,opts:{deep:true,tags:[<|\"|>a,b<|\"|>]}}<tool_call|>",
               "", {{"weather", R"({"city":"Paris","days":3,"opts":{"deep":true,"tags":["a,b"]}})"}});
}

TEST(ToolCalls, TextThatIsNoCallStaysText) {
  expect_calls("hermes", "Just text.", "Just text.", {});
  expect_calls("hermes", "<tool_call>\n{\"name\": \"a\", \"argu", "<tool_call>\n{\"name\": \"a\", \"argu", {});
  expect_calls("llama3", "Braces {like this} in text", "Braces {like this} in text", {});
  expect_calls("llama3", R"({"no": "name"})", R"({"no": "name"})", {});
  expect_calls("mistral", "[TOOL_CALLS]not json", "[TOOL_CALLS]not json", {});
}

TEST(ToolCalls, StreamFilterHoldsTheCallsBack) {
  ToolStreamFilter hermes(named("hermes"));
  std::string out;
  for (const char* piece : {"Hel", "lo <", "tool", "_call>\n{\"name\"", ": 1}"}) out += hermes.push(piece);
  EXPECT_EQ(out, "Hello ");
  ToolStreamFilter held(named("hermes"));
  EXPECT_EQ(held.push("a <to"), "a ");
  EXPECT_EQ(held.push("y>"), "<toy>");  // no call after all
  ToolStreamFilter llama(named("llama3"));
  EXPECT_EQ(llama.push("  "), "");
  EXPECT_EQ(llama.push("{\"name\""), "");
  ToolStreamFilter text(named("llama3"));
  EXPECT_EQ(text.push(" Once"), " Once");
}

// Random logits under the grammar until it is complete: what even a model that knows nothing
// of tools emits when its reply is constrained.
std::string forced_reply(const api::Model& model, const std::shared_ptr<const api::GrammarVocab>& vocab,
                         const std::string& gbnf, uint32_t seed) {
  api::Grammar g(vocab, gbnf);
  api::Detokenizer detok(model);
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise;
  std::vector<float> logits(size_t(model.n_vocab()));
  std::string text;
  for (int step = 0; step < 2000 && !g.finished(); ++step) {
    for (float& l : logits) l = noise(rng);
    g.apply(logits);
    int32_t best = 0;
    for (int32_t i = 1; i < int32_t(logits.size()); ++i)
      if (logits[size_t(i)] > logits[size_t(best)]) best = i;
    if (model.is_eog(best)) break;
    g.accept(best);
    text += detok.push(best);
  }
  EXPECT_TRUE(g.can_end()) << text;
  return text + detok.flush();
}

TEST(ToolCalls, GrammarForcesAValidCallInEverySyntax) {
  const api::Model model(test_serve::stories());
  const auto vocab = std::make_shared<const api::GrammarVocab>(model);
  const ordered_json weather_params = ordered_json::parse(R"({"type": "object",
      "properties": {"city": {"enum": ["Paris", "Rome"]}, "days": {"type": "integer", "minimum": 1, "maximum": 7},
                     "metric": {"type": "boolean"}},
      "required": ["city", "days"], "additionalProperties": false})");
  ordered_json tools = ordered_json::parse(R"([
      {"type": "function", "function": {"name": "get_weather"}},
      {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object",
          "properties": {"zone": {"enum": ["utc"]}}, "required": ["zone"], "additionalProperties": false}}}])");
  tools[0]["function"]["parameters"] = weather_params;
  for (const ToolSyntax& s : tool_syntaxes()) {
    for (const std::string only : {"", "get_weather"}) {
      const std::string reply = forced_reply(model, vocab, tool_call_grammar(s, tools, only, false), 7);
      const ParsedReply parsed = parse_tool_calls(s, reply);
      ASSERT_EQ(parsed.calls.size(), 1u) << s.name << ": " << reply;
      EXPECT_EQ(parsed.content, "") << s.name;
      const ToolCall& call = parsed.calls[0];
      if (!only.empty()) {
        EXPECT_EQ(call.name, only) << s.name;
      }
      const ordered_json& params = call.name == "get_weather" ? weather_params : tools[1]["function"]["parameters"];
      const ordered_json args = ordered_json::parse(call.arguments);
      EXPECT_TRUE(test::valid(args, params, params)) << s.name << ": " << reply;
    }
  }
  // Several calls when parallel calls are allowed.
  const std::string two = forced_reply(model, vocab, tool_call_grammar(named("hermes"), tools, "", true), 3);
  EXPECT_GE(parse_tool_calls(named("hermes"), two).calls.size(), 1u) << two;
}

TEST(ToolCalls, UnsupportedParameterSchemaIsAnError) {
  const ordered_json tools = ordered_json::parse(
      R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "string", "pattern": "a+"}}}])");
  EXPECT_THROW(tool_call_grammar(named("hermes"), tools, "", false), Error);
}

}  // namespace
}  // namespace trident::server

namespace trident::server {
namespace {

// A conversation with tools, a call and its result through parse_chat_request on every real
// template: each renders (arguments as objects or strings, or without tool roles, as the
// template takes them) and shows the function, the call's argument and the result.
TEST(ToolCalls, RealTemplatesRenderToolConversations) {
  const api::Model model(test_serve::stories());
  const nlohmann::json body = nlohmann::json::parse(R"({
    "messages": [
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": "", "tool_calls": [{"id": "abcDEF123", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "abcDEF123", "name": "get_weather", "content": "Sunny"}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "The weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "max_tokens": 1})");
  const ordered_json ordered = ordered_json::parse(body.dump());
  for (const auto& entry : std::filesystem::directory_iterator(test::source_dir() + "/tests/data/chat_templates")) {
    if (entry.path().extension() != ".jinja") continue;
    const std::string name = entry.path().stem().string();
    const api::ChatTemplate tmpl(model, read_text(entry.path().string()));
    try {
      const CompletionRequest r = parse_chat_request(body, ordered, model, tmpl, 1 << 20);
      const std::string prompt = model.detokenize(r.prompt);
      for (const char* part : {"get_weather", "Paris", "Sunny", "Weather in Paris?"})
        EXPECT_NE(prompt.find(part), std::string::npos) << name << " lacks " << part << ":\n" << prompt;
      ASSERT_NE(r.tool_syntax, nullptr) << name;
    } catch (const Error& e) {
      ADD_FAILURE() << name << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace trident::server
