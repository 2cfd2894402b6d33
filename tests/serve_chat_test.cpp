// `trident serve`'s chat endpoints against stories260K (no template of its own): OpenAI's
// /v1/chat/completions and Anthropic's /v1/messages, their exact reply and stream shapes, greedy
// text equal to `trident run --temp 0` on the rendered prompt, and their 4xx errors; /metrics.
#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>
#include <nlohmann/json.hpp>
#include <trident/trident.h>

#include "serve_util.h"

namespace trident::server {
namespace {

using nlohmann::json;
using test_serve::RunningServer;
using test_serve::stories;

// What tests/data/chat/chatml-storyteller.jinja renders for one user message; `escaped` has
// the newlines as \n for `trident run -p` (which processes escapes).
std::string storyteller_prompt(const std::string& user, bool escaped) {
  const std::string nl = escaped ? "\\n" : "\n";
  return "<|im_start|>system" + nl + "You are a storyteller.<|im_end|>" + nl + "<|im_start|>user" + nl + user +
         "<|im_end|>" + nl + "<|im_start|>assistant" + nl;
}

std::string greedy_run(const std::string& escaped_prompt, int n) {
  const auto run = test::run_trident("run -m " + stories() + " -p '" + escaped_prompt + "' --temp 0 -n " +
                                     std::to_string(n) + " --json");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  return json::parse(run.out)["text"];
}

class ServeChatTest : public test_serve::SharedServer<ServeChatTest> {
 public:
  static ServerOptions options() {
    ServerOptions o = test_serve::stories_options();
    o.chat_template = test_serve::storyteller_template();
    return o;
  }
};

const json kStoryRequest = {{"messages", {{{"role", "user"}, {"content", "Tell me a story."}}}},
                            {"max_tokens", 24},
                            {"temperature", 0}};

TEST_F(ServeChatTest, ChatCompletionEqualsRunOnTheRenderedPrompt) {
  const std::string expected = greedy_run(storyteller_prompt("Tell me a story.", true), 24);
  api::Model model(stories());
  const int64_t n_prompt = int64_t(model.tokenize(storyteller_prompt("Tell me a story.", false), true).size());

  const auto [status, reply] = srv->post("/v1/chat/completions", kStoryRequest);
  ASSERT_EQ(status, 200) << reply.dump();
  EXPECT_EQ(reply["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(reply["object"], "chat.completion");
  EXPECT_TRUE(reply["created"].is_number_integer());
  EXPECT_EQ(reply["model"], "stories260K.gguf");
  ASSERT_EQ(reply["choices"].size(), 1u);
  EXPECT_EQ(reply["choices"][0], json({{"index", 0},
                                       {"message", {{"role", "assistant"}, {"content", expected}}},
                                       {"logprobs", nullptr},
                                       {"finish_reason", "length"}}));
  auto usage = [&](int64_t cached) {
    return json({{"prompt_tokens", n_prompt}, {"completion_tokens", 24}, {"total_tokens", n_prompt + 24},
                 {"prompt_tokens_details", {{"cached_tokens", cached}}}});
  };
  EXPECT_EQ(reply["usage"], usage(0));
  EXPECT_EQ(reply.size(), 6u) << reply.dump();

  json stream_req = kStoryRequest;
  stream_req["stream"] = true;
  const auto events = test_serve::split_events(srv->post_stream("/v1/chat/completions", stream_req));
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back().data, "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json c = json::parse(events[i].data);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    EXPECT_EQ(c["id"], json::parse(events[0].data)["id"]);
    const json& choice = c["choices"][0];
    if (i == 0) {
      EXPECT_EQ(choice["delta"], json({{"role", "assistant"}, {"content", ""}}));
    }
    if (i + 2 < events.size()) {
      EXPECT_TRUE(choice["finish_reason"].is_null());
      if (i > 0) text += choice["delta"]["content"].get<std::string>();
    } else {
      EXPECT_EQ(choice["delta"], json::object());
      EXPECT_EQ(choice["finish_reason"], "length");
      EXPECT_EQ(c["usage"], usage(n_prompt - 1));  // the same prompt again: all but its last token cached
    }
  }
  EXPECT_EQ(text, expected);
}

TEST_F(ServeChatTest, ContentPartsMaxCompletionTokensAndStop) {
  json req = kStoryRequest;
  req["messages"][0]["content"] = {{{"type", "text"}, {"text", "Tell me"}}, {{"type", "text"}, {"text", "a story."}}};
  req["max_completion_tokens"] = 8;
  const auto [status, reply] = srv->post("/v1/chat/completions", req);
  ASSERT_EQ(status, 200) << reply.dump();
  EXPECT_EQ(reply["usage"]["completion_tokens"], 8);  // max_completion_tokens wins over max_tokens
  EXPECT_EQ(reply["choices"][0]["message"]["content"], greedy_run(storyteller_prompt("Tell me\\na story.", true), 8));

  const std::string full = srv->post("/v1/chat/completions", kStoryRequest).second["choices"][0]["message"]["content"];
  ASSERT_GE(full.size(), 12u);
  json stop_req = kStoryRequest;
  stop_req["stop"] = {full.substr(8, 4)};
  const auto stopped = srv->post("/v1/chat/completions", stop_req).second;
  EXPECT_EQ(stopped["choices"][0]["message"]["content"], full.substr(0, full.find(full.substr(8, 4))));
  EXPECT_EQ(stopped["choices"][0]["finish_reason"], "stop");
}

TEST_F(ServeChatTest, LogprobsAreTheModelsSoftmax) {
  json req = kStoryRequest;
  req["max_tokens"] = 3;
  req["logprobs"] = true;
  req["top_logprobs"] = 2;
  const auto [status, reply] = srv->post("/v1/chat/completions", req);
  ASSERT_EQ(status, 200) << reply.dump();
  const json& content = reply["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 3u) << reply.dump();
  std::string joined;
  for (const json& t : content) {
    ASSERT_EQ(t["top_logprobs"].size(), 2u);
    // Greedy: the chosen token is the most probable one.
    EXPECT_EQ(t["token"], t["top_logprobs"][0]["token"]);
    EXPECT_EQ(t["logprob"], t["top_logprobs"][0]["logprob"]);
    EXPECT_LE(t["logprob"].get<double>(), 0.0);
    EXPECT_GE(t["logprob"].get<double>(), t["top_logprobs"][1]["logprob"].get<double>());
    std::string bytes;
    for (const json& b : t["bytes"]) bytes += char(b.get<int>());
    EXPECT_EQ(bytes, t["token"]);
    joined += bytes;
  }
  EXPECT_EQ(joined, reply["choices"][0]["message"]["content"]);

  // The first token's logprob is log softmax of the prompt's last logits row.
  api::Model model(stories());
  api::ContextOptions co;
  co.n_ctx = 128;
  co.n_threads = 1;
  api::Context ctx(model, co);
  api::Batch batch;
  batch.add_tokens(ctx.seq_create(), 0, model.tokenize(storyteller_prompt("Tell me a story.", false), true));
  const std::vector<float> logits = ctx.decode(batch);
  EXPECT_FLOAT_EQ(content[0]["logprob"].get<float>(), api::logprob(logits, api::argmax(logits)));
}

TEST_F(ServeChatTest, SeedAndLogitBias) {
  json req = kStoryRequest;
  req["temperature"] = 1.0;
  req["seed"] = 7;
  req["max_tokens"] = 12;
  const auto a = srv->post("/v1/chat/completions", req), b = srv->post("/v1/chat/completions", req);
  EXPECT_EQ(a.second["choices"][0]["message"], b.second["choices"][0]["message"]);

  // Banning the greedy first token changes it.
  json greedy = kStoryRequest;
  greedy["max_tokens"] = 1;
  greedy["logprobs"] = true;
  const json first = srv->post("/v1/chat/completions", greedy).second["choices"][0]["logprobs"]["content"][0];
  api::Model model(stories());
  const auto id = model.find_token(first["token"].get<std::string>());
  ASSERT_TRUE(id) << first.dump();
  greedy["logit_bias"] = {{std::to_string(*id), -100}};
  const json banned = srv->post("/v1/chat/completions", greedy).second["choices"][0]["logprobs"]["content"][0];
  EXPECT_NE(banned["token"], first["token"]);
}

void expect_openai_error(const std::pair<int, json>& reply, const std::string& message) {
  EXPECT_EQ(reply.first, 400);
  EXPECT_EQ(reply.second, json({{"error", {{"message", message}, {"type", "invalid_request_error"}, {"code", 400}}}}));
}

TEST_F(ServeChatTest, BadChatRequestsAreOpenAIErrors) {
  const std::string path = "/v1/chat/completions";
  auto with = [](const char* name, const json& value) {
    json r = kStoryRequest;
    r[name] = value;
    return r;
  };
  expect_openai_error(srv->post(path, json{{"max_tokens", 3}}), "'messages': required, found nothing");
  expect_openai_error(srv->post(path, with("messages", json::array())),
                      "'messages': expected a non-empty array of messages, found []");
  expect_openai_error(srv->post(path, with("messages", {{{"content", "hi"}}})),
                      "'messages[0].role': expected a string, found {\"content\":\"hi\"}");
  expect_openai_error(srv->post(path, with("messages", {{{"role", "user"}, {"content", 5}}})),
                      "'messages[0].content': expected a string or an array of text parts, found 5");
  expect_openai_error(
      srv->post(path, with("messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}})),
      "'messages[0].content[0]': expected a text part {\"type\": \"text\", \"text\": ...} (only text is served), found "
      "{\"type\":\"image_url\"}");
  expect_openai_error(srv->post(path, with("n", 2)),
                      "'n': only one choice per request is served (n = 1; send several requests for more), found 2");
  expect_openai_error(srv->post(path, with("logit_bias", {{"512", 1}})),
                      "'logit_bias': token id 512 is outside the vocabulary (0 to 511)");
  expect_openai_error(srv->post(path, with("logit_bias", {{"-1", 1}})),
                      "'logit_bias': token id -1 is outside the vocabulary (0 to 511)");
  expect_openai_error(srv->post(path, with("logit_bias", {{"x", 1}})), "'logit_bias': expected token ids as keys, found \"x\"");
  expect_openai_error(srv->post(path, with("max_tokens", -1)), "'max_tokens': expected an integer >= 0, found -1");
  expect_openai_error(srv->post(path, with("max_completion_tokens", -5)),
                      "'max_completion_tokens': expected an integer >= 0, found -5");
  expect_openai_error(srv->post(path, with("top_logprobs", 3)), "'top_logprobs': needs \"logprobs\": true");
  expect_openai_error(srv->post(path, with("logprobs", 3)), "'logprobs': expected true or false, found 3");
  json many = kStoryRequest;
  many["logprobs"] = true;
  many["top_logprobs"] = 21;
  expect_openai_error(srv->post(path, many), "'top_logprobs': expected an integer from 0 to 20, found 21");
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += " the dog";
  const auto too_long = srv->post(path, with("messages", {{{"role", "user"}, {"content", long_text}}}));
  EXPECT_EQ(too_long.first, 400);
  EXPECT_NE(too_long.second["error"]["message"].get<std::string>().find("'messages': "), std::string::npos);
  EXPECT_EQ(srv->post(path, kStoryRequest).first, 200);  // and the server goes on
}

// Constrained text (llama-server's fields): OpenAI's response_format, json_schema and grammar.
TEST_F(ServeChatTest, ResponseFormatJsonSchemaAndGrammarConstrainTheText) {
  const std::string path = "/v1/chat/completions";
  auto with = [](const char* name, const json& value) {
    json r = kStoryRequest;
    r["max_tokens"] = 40;
    r["temperature"] = 1.0;
    r["seed"] = 11;
    r[name] = value;
    return r;
  };
  auto content = [](const std::pair<int, json>& reply) {
    EXPECT_EQ(reply.first, 200) << reply.second.dump();
    EXPECT_EQ(reply.second["choices"][0]["finish_reason"], "stop") << reply.second.dump();
    return reply.second["choices"][0]["message"]["content"].get<std::string>();
  };
  const json object_schema = {{"type", "object"},
                              {"properties", {{"n", {{"type", "integer"}, {"minimum", 0}, {"maximum", 99}}}}},
                              {"required", {"n"}},
                              {"additionalProperties", false}};
  const json n = json::parse(content(srv->post(
      path, with("response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "n"}, {"schema", object_schema}}}}))));
  ASSERT_TRUE(n.is_object()) << n.dump();
  EXPECT_EQ(n.size(), 1u);
  EXPECT_TRUE(n["n"].is_number_integer() && n["n"] >= 0 && n["n"] <= 99) << n.dump();

  const std::string pet = content(srv->post(path, with("json_schema", {{"enum", {"cat", "dog"}}})));
  EXPECT_TRUE(pet == "\"cat\"" || pet == "\"dog\"") << pet;
  const std::string yes_no = content(srv->post(path, with("grammar", "root ::= \"yes\" | \"no\"")));
  EXPECT_TRUE(yes_no == "yes" || yes_no == "no") << yes_no;
  const auto completion = srv->post("/v1/completions", json{{"prompt", "Once"}, {"grammar", "root ::= [0-9]{3}"}, {"seed", 3}});
  ASSERT_EQ(completion.first, 200) << completion.second.dump();
  const std::string three = completion.second["choices"][0]["text"];
  EXPECT_TRUE(three.size() == 3 && std::all_of(three.begin(), three.end(), ::isdigit)) << three;

  // The stream carries the same constrained text.
  json greedy = with("response_format", {{"type", "json_object"}});
  greedy["temperature"] = 0;
  const auto whole = srv->post(path, greedy);
  ASSERT_EQ(whole.first, 200);
  greedy["stream"] = true;
  std::string streamed;
  for (const auto& e : test_serve::split_events(srv->post_stream(path, greedy))) {
    if (e.data == "[DONE]") continue;
    const json chunk = json::parse(e.data);
    const json& delta = chunk.at("choices").at(0).at("delta");
    if (delta.contains("content")) streamed += delta["content"].get<std::string>();
  }
  EXPECT_EQ(streamed, whole.second["choices"][0]["message"]["content"]);
  EXPECT_EQ(streamed.rfind("{", 0), 0u) << streamed;

  expect_openai_error(srv->post(path, with("response_format", {{"type", "xml"}})),
                      "'response_format.type': expected \"text\", \"json_object\" or \"json_schema\", found \"xml\"");
  expect_openai_error(srv->post(path, with("response_format", {{"type", "json_schema"}})),
                      "'response_format.json_schema': expected {\"schema\": {...}} (a JSON schema object), found null");
  json both = with("grammar", "root ::= \"a\"");
  both["json_schema"] = {{"type", "string"}};
  expect_openai_error(srv->post(path, both), "'grammar', 'json_schema' and 'response_format': expected at most one of them");
  const auto bad_gbnf = srv->post(path, with("grammar", "root ::= (\"a\""));
  EXPECT_EQ(bad_gbnf.first, 400);
  EXPECT_EQ(bad_gbnf.second["error"]["message"].get<std::string>().rfind("grammar: line 1, column ", 0), 0u)
      << bad_gbnf.second.dump();
  json bad_stream = with("grammar", "root ::= undefined-rule");
  bad_stream["stream"] = true;
  EXPECT_EQ(srv->post(path, bad_stream).first, 400);  // before the stream's 200
  const auto unsupported = srv->post(path, with("json_schema", {{"type", "string"}, {"pattern", "^a+$"}}));
  EXPECT_EQ(unsupported.first, 400);
  EXPECT_NE(unsupported.second["error"]["message"].get<std::string>().find("unsupported keyword 'pattern'"),
            std::string::npos)
      << unsupported.second.dump();
}

// The Anthropic reply, its stream, its errors.
TEST_F(ServeChatTest, AnthropicMessages) {
  const std::string expected = greedy_run(storyteller_prompt("Tell me a story.", true), 24);
  const json req = {{"model", "any"},
                    {"max_tokens", 24},
                    {"temperature", 0},
                    {"messages", {{{"role", "user"}, {"content", {{{"type", "text"}, {"text", "Tell me a story."}}}}}}}};
  const auto [status, reply] = srv->post("/v1/messages", req);
  ASSERT_EQ(status, 200) << reply.dump();
  api::Model model(stories());
  const int64_t n_prompt = int64_t(model.tokenize(storyteller_prompt("Tell me a story.", false), true).size());
  EXPECT_EQ(reply["id"].get<std::string>().rfind("msg_", 0), 0u);
  json expected_reply = {{"id", reply["id"]},
                         {"type", "message"},
                         {"role", "assistant"},
                         {"model", "stories260K.gguf"},
                         {"content", {{{"type", "text"}, {"text", expected}}}},
                         {"stop_reason", "max_tokens"},
                         {"stop_sequence", nullptr},
                         {"usage", {{"input_tokens", n_prompt}, {"output_tokens", 24}}}};
  EXPECT_EQ(reply, expected_reply);

  json stream_req = req;
  stream_req["stream"] = true;
  const auto events = test_serve::split_events(srv->post_stream("/v1/messages", stream_req));
  ASSERT_GE(events.size(), 6u);
  EXPECT_EQ(events[0].name, "message_start");
  json start = expected_reply;
  start["id"] = json::parse(events[0].data)["message"]["id"];
  EXPECT_NE(start["id"], reply["id"]);
  start["content"] = json::array();
  start["stop_reason"] = nullptr;
  start["usage"]["output_tokens"] = 0;
  EXPECT_EQ(json::parse(events[0].data), json({{"type", "message_start"}, {"message", start}}));
  EXPECT_EQ(events[1].name, "content_block_start");
  EXPECT_EQ(json::parse(events[1].data),
            json({{"type", "content_block_start"}, {"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}}));
  std::string text;
  size_t i = 2;
  for (; i < events.size() && events[i].name == "content_block_delta"; ++i) {
    const json d = json::parse(events[i].data);
    EXPECT_EQ(d["type"], "content_block_delta");
    EXPECT_EQ(d["index"], 0);
    EXPECT_EQ(d["delta"]["type"], "text_delta");
    text += d["delta"]["text"].get<std::string>();
  }
  EXPECT_EQ(text, expected);
  ASSERT_EQ(events.size(), i + 3);
  EXPECT_EQ(events[i].name, "content_block_stop");
  EXPECT_EQ(json::parse(events[i].data), json({{"type", "content_block_stop"}, {"index", 0}}));
  EXPECT_EQ(events[i + 1].name, "message_delta");
  EXPECT_EQ(json::parse(events[i + 1].data),
            json({{"type", "message_delta"},
                  {"delta", {{"stop_reason", "max_tokens"}, {"stop_sequence", nullptr}}},
                  {"usage", {{"output_tokens", 24}}}}));
  EXPECT_EQ(events[i + 2].name, "message_stop");
  EXPECT_EQ(json::parse(events[i + 2].data), json({{"type", "message_stop"}}));

  // A system prompt replaces the template's default one; stop_sequences name the one that hit.
  json sys = req;
  sys["system"] = "You are a storyteller.";
  EXPECT_EQ(srv->post("/v1/messages", sys).second["content"][0]["text"], expected);
  json stop = req;
  stop["stop_sequences"] = {"zzz", expected.substr(6, 3)};
  const json stopped = srv->post("/v1/messages", stop).second;
  EXPECT_EQ(stopped["content"][0]["text"], expected.substr(0, expected.find(expected.substr(6, 3))));
  EXPECT_EQ(stopped["stop_reason"], "stop_sequence");
  EXPECT_EQ(stopped["stop_sequence"], expected.substr(6, 3));
}

void expect_anthropic_error(const std::pair<int, json>& reply, int status, const std::string& type,
                            const std::string& message) {
  EXPECT_EQ(reply.first, status);
  EXPECT_EQ(reply.second, json({{"type", "error"}, {"error", {{"type", type}, {"message", message}}}}));
}

TEST_F(ServeChatTest, BadMessagesAreAnthropicErrors) {
  const json msgs = {{{"role", "user"}, {"content", "hi"}}};
  expect_anthropic_error(srv->post("/v1/messages", json{{"messages", msgs}}), 400, "invalid_request_error",
                         "'max_tokens': required, found nothing");
  expect_anthropic_error(srv->post("/v1/messages", json{{"messages", msgs}, {"max_tokens", 0}}), 400,
                         "invalid_request_error", "'max_tokens': expected an integer >= 1, found 0");
  expect_anthropic_error(srv->post("/v1/messages", json{{"messages", {{{"role", "system"}, {"content", "x"}}}},
                                                         {"max_tokens", 4}}),
                         400, "invalid_request_error",
                         "'messages[0].role': expected \"user\" or \"assistant\", found \"system\"");
  expect_anthropic_error(srv->post("/v1/messages", json{{"messages", msgs}, {"max_tokens", 4}, {"system", 3}}), 400,
                         "invalid_request_error", "'system': expected a string or an array of text blocks, found 3");
  expect_anthropic_error(srv->post("/v1/messages", std::string("{")), 400, "invalid_request_error",
                         "invalid JSON in the request body: [json.exception.parse_error.101] parse error at line 1, "
                         "column 2: syntax error while parsing object key - unexpected end of input; expected string "
                         "literal");
}

// Anthropic's clients send x-api-key; a refusal on /v1/messages has Anthropic's shape.
TEST(ServeChat, AnthropicKeyHeader) {
  ServerOptions o = test_serve::stories_options();
  o.api_key = "sekret";
  test_serve::RunningServer srv(o);
  const std::string body = json{{"max_tokens", 2}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}}.dump();
  auto res = srv.client().Post("/v1/messages", body, "application/json");
  ASSERT_TRUE(res);
  expect_anthropic_error({res->status, json::parse(res->body)}, 401, "authentication_error",
                         "invalid or missing API key (send the header 'Authorization: Bearer KEY' or 'x-api-key: KEY')");
  res = srv.client().Post("/v1/messages", {{"x-api-key", "sekret"}}, body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = srv.client().Post("/v1/chat/completions", {{"x-api-key", "wrong"}}, body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(json::parse(res->body)["error"]["type"], "authentication_error");
}

TEST(ServeChat, NoTemplateFallsBackToChatMLAndMetricsCount) {
  test_serve::RunningServer srv(test_serve::stories_options());
  const json req = {{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 5}, {"temperature", 0}};
  const auto [status, reply] = srv.post("/v1/chat/completions", req);
  ASSERT_EQ(status, 200) << reply.dump();
  // llama.cpp's ChatML fallback: no system message of its own.
  EXPECT_EQ(reply["choices"][0]["message"]["content"],
            greedy_run("<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n", 5));
  api::Model model(stories());
  const int64_t n_prompt = reply["usage"]["prompt_tokens"];
  EXPECT_EQ(n_prompt, int64_t(model.tokenize("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", true).size()));
  srv.post("/v1/chat/completions", json{{"n", 3}, {"messages", req["messages"]}});  // an error

  auto metrics = srv.client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  const std::string& m = metrics->body;
  auto value = [&](const std::string& name) {
    const std::string line = "\ntrident_" + name + " ";
    const size_t at = m.find(line);
    EXPECT_NE(at, std::string::npos) << name << " missing in\n" << m;
    return at == std::string::npos ? -1.0 : std::stod(m.substr(at + line.size()));
  };
  EXPECT_EQ(value("requests_total"), 3);  // counted on arrival: this /metrics request too
  EXPECT_EQ(value("request_errors_total"), 1);
  EXPECT_EQ(value("generations_total"), 1);
  EXPECT_EQ(value("prompt_tokens_total"), double(n_prompt));
  EXPECT_EQ(value("generated_tokens_total"), 5);
  EXPECT_GT(value("prompt_seconds_total"), 0);
  EXPECT_GT(value("generation_seconds_total"), 0);
  EXPECT_EQ(value("requests_processing"), 0);
  EXPECT_NE(m.find("# TYPE trident_requests_total counter\n"), std::string::npos);
  EXPECT_NE(m.find("# TYPE trident_requests_processing gauge\n"), std::string::npos);
}

TEST(ServeChat, UnreadableTemplateFileIsAnError) {
  const std::string none = test::temp_path("none.jinja");
  test::expect_cli_error("serve -m " + stories() + " --chat-template " + none, "--chat-template " + none + ": cannot read the file");
  const std::string bad = test::temp_path("bad.jinja");
  test::run_shell("printf '{%% if %%}' > " + bad);
  ServerOptions o = test_serve::stories_options();
  o.chat_template = bad;
  test_serve::RunningServer srv(o);
  const auto reply = srv.post("/v1/chat/completions", json{{"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(reply.first, 400);
  EXPECT_EQ(reply.second["error"]["message"].get<std::string>().rfind("chat template: ", 0), 0u) << reply.second.dump();
}

}  // namespace
}  // namespace trident::server
