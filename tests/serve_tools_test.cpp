// Tool calls through `trident serve` on stories260K: with tool_choice required (or a named
// function) the grammar makes even this tiny model emit a call in the template's syntax, parsed
// back into OpenAI's tool_calls (and its stream chunks) or Anthropic's tool_use blocks, with
// arguments valid against the function's schema; tool results render; bad tool fields are 400s.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "json_schema_check.h"
#include "serve_util.h"
#include "server/generation.h"

namespace trident::server {
namespace {

using nlohmann::json;
using test_serve::RunningServer;

const json kWeatherParams = json::parse(R"({"type": "object",
    "properties": {"city": {"enum": ["Paris", "Rome"]}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
    "required": ["city", "days"], "additionalProperties": false})");

json tools() {
  json t = json::parse(R"([
      {"type": "function", "function": {"name": "get_weather", "description": "The weather"}},
      {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object",
          "properties": {"utc": {"type": "boolean"}}, "required": ["utc"]}}}])");
  t[0]["function"]["parameters"] = kWeatherParams;
  return t;
}

json request(const json& tool_choice) {
  json r = {{"messages", {{{"role", "user"}, {"content", "Weather in Paris?"}}}},
            {"tools", tools()},
            {"max_tokens", 120},
            {"temperature", 0}};
  if (!tool_choice.is_null()) r["tool_choice"] = tool_choice;
  return r;
}

void expect_valid_call(const json& call, const std::string& name) {
  EXPECT_EQ(call["type"], "function") << call.dump();
  EXPECT_EQ(call["id"].get<std::string>().rfind("call_", 0), 0u) << call.dump();
  EXPECT_EQ(call["function"]["name"], name) << call.dump();
  const json args = json::parse(call["function"]["arguments"].get<std::string>());
  const json schema = name == "get_weather" ? kWeatherParams : tools()[1]["function"]["parameters"];  // a copy: tools() is a temporary
  EXPECT_TRUE(test::valid(test::Json::parse(args.dump()), test::Json::parse(schema.dump()), test::Json::parse(schema.dump())))
      << args.dump();
}

class ServeToolsTest : public test_serve::SharedServer<ServeToolsTest> {
 public:
  static ServerOptions options() {
    ServerOptions o = test_serve::stories_options();
    o.n_ctx = 512;
    o.chat_template = test::source_dir() + "/tests/data/chat/chatml-tools.jinja";
    return o;
  }
};

TEST_F(ServeToolsTest, RequiredAndNamedToolChoiceGiveAValidCall) {
  const auto [status, reply] = srv->post("/v1/chat/completions", request("required"));
  ASSERT_EQ(status, 200) << reply.dump();
  const json& choice = reply["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls") << reply.dump();
  EXPECT_TRUE(choice["message"]["content"].is_null()) << reply.dump();
  ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u) << reply.dump();
  const json& call = choice["message"]["tool_calls"][0];
  expect_valid_call(call, call["function"]["name"]);

  const auto named = srv->post("/v1/chat/completions", request({{"type", "function"}, {"function", {{"name", "get_time"}}}}));
  ASSERT_EQ(named.first, 200) << named.second.dump();
  ASSERT_EQ(named.second["choices"][0]["message"]["tool_calls"].size(), 1u) << named.second.dump();
  expect_valid_call(named.second["choices"][0]["message"]["tool_calls"][0], "get_time");
}

TEST_F(ServeToolsTest, StreamedCallArrivesAsDeltaToolCalls) {
  json r = request({{"type", "function"}, {"function", {{"name", "get_weather"}}}});
  r["stream"] = true;
  std::string text;
  json calls = json::array();
  json finish;
  for (const auto& e : test_serve::split_events(srv->post_stream("/v1/chat/completions", r))) {
    if (e.data == "[DONE]") continue;
    const json c = json::parse(e.data);
    const json& delta = c["choices"][0]["delta"];
    if (delta.contains("content")) text += delta["content"].get<std::string>();
    if (delta.contains("tool_calls")) calls.insert(calls.end(), delta["tool_calls"].begin(), delta["tool_calls"].end());
    if (!c["choices"][0]["finish_reason"].is_null()) finish = c["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(text, "");
  EXPECT_EQ(finish, "tool_calls");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["index"], 0);
  expect_valid_call(calls[0], "get_weather");
}

TEST_F(ServeToolsTest, AutoAndNoneRenderTheToolsOrNot) {
  json plain = request(nullptr);
  plain.erase("tools");
  const auto without = srv->post("/v1/chat/completions", plain);
  const auto none = srv->post("/v1/chat/completions", request("none"));
  const auto with = srv->post("/v1/chat/completions", request("auto"));
  ASSERT_EQ(without.first, 200);
  ASSERT_EQ(none.first, 200);
  ASSERT_EQ(with.first, 200) << with.second.dump();
  EXPECT_EQ(none.second["usage"]["prompt_tokens"], without.second["usage"]["prompt_tokens"]);
  EXPECT_GT(with.second["usage"]["prompt_tokens"], without.second["usage"]["prompt_tokens"]);
  // A story, no call: this model has never seen a tool.
  EXPECT_NE(with.second["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_TRUE(with.second["choices"][0]["message"]["content"].is_string());
}

TEST_F(ServeToolsTest, ToolResultsRender) {
  json r = request("auto");
  r["max_tokens"] = 4;
  r["messages"].push_back(json::parse(R"({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
      "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\", \"days\": 2}"}}]})"));
  r["messages"].push_back({{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "Sunny"}});
  const auto reply = srv->post("/v1/chat/completions", r);
  EXPECT_EQ(reply.first, 200) << reply.second.dump();

  json anthropic = json::parse(R"({"max_tokens": 4, "messages": [
      {"role": "user", "content": "Weather?"},
      {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                         "input": {"city": "Rome", "days": 2}}]},
      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}]}]})");
  anthropic["tools"] = {{{"name", "get_weather"}, {"input_schema", kWeatherParams}}};
  const auto a = srv->post("/v1/messages", anthropic);
  EXPECT_EQ(a.first, 200) << a.second.dump();
}

TEST_F(ServeToolsTest, AnthropicToolUse) {
  const json body = {{"max_tokens", 120},
                     {"temperature", 0},
                     {"tools", {{{"name", "get_weather"}, {"description", "The weather"}, {"input_schema", kWeatherParams}}}},
                     {"tool_choice", {{"type", "any"}}},
                     {"messages", {{{"role", "user"}, {"content", "Weather in Rome?"}}}}};
  const auto [status, reply] = srv->post("/v1/messages", body);
  ASSERT_EQ(status, 200) << reply.dump();
  EXPECT_EQ(reply["stop_reason"], "tool_use") << reply.dump();
  ASSERT_EQ(reply["content"].size(), 1u) << reply.dump();
  const json& block = reply["content"][0];
  EXPECT_EQ(block["type"], "tool_use");
  EXPECT_EQ(block["name"], "get_weather");
  EXPECT_EQ(block["id"].get<std::string>().rfind("toolu_", 0), 0u);
  EXPECT_TRUE(test::valid(test::Json::parse(block["input"].dump()), test::Json::parse(kWeatherParams.dump()),
                          test::Json::parse(kWeatherParams.dump())))
      << block.dump();

  json streamed = body;
  streamed["stream"] = true;
  std::string partial;
  json start;
  std::string stop;
  for (const auto& e : test_serve::split_events(srv->post_stream("/v1/messages", streamed))) {
    const json d = json::parse(e.data);
    if (e.name == "content_block_start" && d["content_block"]["type"] == "tool_use") start = d;
    if (e.name == "content_block_delta" && d["delta"]["type"] == "input_json_delta")
      partial += d["delta"]["partial_json"].get<std::string>();
    if (e.name == "message_delta") stop = d["delta"]["stop_reason"];
  }
  EXPECT_EQ(start["index"], 1);
  EXPECT_EQ(start["content_block"]["name"], "get_weather");
  EXPECT_EQ(json::parse(partial), block["input"]);
  EXPECT_EQ(stop, "tool_use");
}

TEST_F(ServeToolsTest, BadToolFieldsAre400s) {
  auto error = [](const std::pair<int, json>& r) {
    EXPECT_EQ(r.first, 400) << r.second.dump();
    return r.second["error"]["message"].get<std::string>();
  };
  json no_tools = request("required");
  no_tools.erase("tools");
  EXPECT_EQ(error(srv->post("/v1/chat/completions", no_tools)), "'tool_choice': requires 'tools', found none");
  EXPECT_EQ(error(srv->post("/v1/chat/completions", request({{"type", "function"}, {"function", {{"name", "nope"}}}}))),
            "'tool_choice.function.name': expected the name of one of 'tools', found \"nope\"");
  json bad = request("auto");
  bad["tools"][0] = {{"type", "retrieval"}};
  EXPECT_NE(error(srv->post("/v1/chat/completions", bad)).find("'tools[0]': expected"), std::string::npos);
  json both = request("required");
  both["response_format"] = {{"type", "json_object"}};
  EXPECT_NE(error(srv->post("/v1/chat/completions", both)).find("cannot be combined"), std::string::npos);
  json pattern = request("required");
  pattern["tools"][0]["function"]["parameters"] = {{"type", "string"}, {"pattern", "a"}};
  EXPECT_NE(error(srv->post("/v1/chat/completions", pattern)).find("unsupported keyword 'pattern'"), std::string::npos);
  EXPECT_EQ(error(srv->post("/v1/chat/completions", request("sometimes"))).rfind("'tool_choice': expected", 0), 0u);
  // The server still answers.
  EXPECT_EQ(srv->post("/v1/chat/completions", request("required")).first, 200);
}

}  // namespace
}  // namespace trident::server

namespace trident::server {
namespace {

// Without a template of its own (ChatML), the tools go into a Hermes system prompt and the
// reply is parsed as Hermes's <tool_call>.
TEST(ServeTools, TemplateWithoutToolsGetsAHermesSystemPrompt) {
  ServerOptions o = test_serve::stories_options();
  o.n_ctx = 1024;  // the Hermes prompt alone is ~650 of this model's tokens
  RunningServer srv(o);
  json r = request("required");
  r["messages"].insert(r["messages"].begin(), json{{"role", "system"}, {"content", "Be brief."}});
  const auto [status, reply] = srv.post("/v1/chat/completions", r);
  ASSERT_EQ(status, 200) << reply.dump();
  EXPECT_EQ(reply["choices"][0]["finish_reason"], "tool_calls") << reply.dump();
  const json& call = reply["choices"][0]["message"]["tool_calls"][0];
  expect_valid_call(call, call["function"]["name"]);
}

}  // namespace
}  // namespace trident::server

namespace trident::server {
namespace {

// tool_choice "auto" makes the calls' grammar lazy: sampling is free until the reply holds the
// trigger, then the grammar (fed the trigger's text and the rest of that token) masks every
// token. Driven with hand-made logits: the wanted token gets 10, a tempting one 20.
TEST(ServeTools, LazyGrammarWaitsForItsTrigger) {
  const api::Model model(test_serve::stories());
  const std::vector<int32_t> ids = model.tokenize("Hi <call>ab</call>", false);
  const int32_t upper = model.tokenize("X", false).back();  // the grammar refuses it after <call>
  ASSERT_EQ(model.token_piece(upper).find_first_of("abcdefghijklmnopqrstuvwxyz<>/"), std::string::npos);

  CompletionRequest req;
  req.sampling.temperature = 0;
  req.grammar = R"(root ::= "<call>" [a-z]+ "</call>")";
  req.grammar_trigger = "<call>";
  auto vocab = std::make_shared<const api::GrammarVocab>(model);
  req.matcher = std::make_shared<api::Grammar>(vocab, req.grammar);
  std::string sent;
  const OnText collect = [&](const std::string& text, const std::vector<TokenLogprobs>&) {
    sent += text;
    return true;
  };
  std::vector<float> logits(size_t(model.n_vocab()));
  auto row = [&](int32_t want, int32_t tempt) -> std::vector<float>& {
    std::fill(logits.begin(), logits.end(), 0.0f);
    logits[size_t(want)] = 10;
    if (tempt >= 0) logits[size_t(tempt)] = 20;
    return logits;
  };

  // Before the trigger nothing is masked (the grammar wants "<call>" first): the tempting token wins.
  {
    Generation free_text(model, req, collect);
    EXPECT_EQ(free_text.step(row(ids[0], upper)), upper);
  }
  // After it the grammar refuses the tempting token at every step; once the call is complete
  // the generation ends ("stop").
  Generation gen(model, req, collect);
  std::string pieces;
  for (const int32_t id : ids) {
    ASSERT_TRUE(gen.wants_token(1, 1000)) << pieces;
    const bool triggered = pieces.find("<call>") != std::string::npos;
    EXPECT_EQ(gen.step(row(id, triggered ? upper : -1)), id) << pieces;
    pieces += model.token_piece(id);
  }
  EXPECT_FALSE(gen.wants_token(1, 1000));
  const CompletionResult r = gen.finish();
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.text, pieces);  // the pieces as they come (a reply keeps a leading space after its prompt)

  // A trigger followed by text the grammar refuses (in the same token or later) leaves the
  // reply free text: no error, no mask.
  CompletionRequest bad = req;
  bad.grammar_trigger = "Hi";
  bad.matcher = std::make_shared<api::Grammar>(vocab, bad.grammar);
  Generation loose(model, bad, collect);
  for (const int32_t id : ids) EXPECT_EQ(loose.step(row(id, -1)), id);
  EXPECT_EQ(loose.step(row(ids[0], upper)), upper);
}

}  // namespace
}  // namespace trident::server
