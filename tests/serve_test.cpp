// `trident serve`'s endpoints, in-process on ephemeral ports against stories260K: the exact
// reply shapes, greedy text equal to `trident run --temp 0`, streaming equal to the whole reply,
// and every error's status and message.
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <trident/trident.h>

#include "serve_util.h"

namespace trident::server {
namespace {

using nlohmann::json;

using test_serve::RunningServer;
using test_serve::stories;

class ServeTest : public test_serve::SharedServer<ServeTest> {
 public:
  static ServerOptions options() { return test_serve::stories_options(); }

 protected:
  // POSTs JSON text and returns (status, parsed body).
  static std::pair<int, json> post(const std::string& path, const std::string& body) { return srv->post(path, body); }
  static std::pair<int, json> post(const std::string& path, const json& body) { return srv->post(path, body); }

  static void expect_error(const std::pair<int, json>& reply, int status, const std::string& message,
                           const std::string& type = "invalid_request_error") {
    EXPECT_EQ(reply.first, status);
    EXPECT_EQ(reply.second["error"]["message"], message) << reply.second.dump();
    EXPECT_EQ(reply.second["error"]["type"], type);
    EXPECT_EQ(reply.second["error"]["code"], status);
  }
};

// The text of every `data: {...}` event, the finish chunk and whether [DONE] ended the stream.
struct Stream {
  std::string text;
  json last;
  bool done = false;
  size_t chunks = 0;
};
Stream read_stream(const std::string& body) {
  Stream s;
  size_t at = 0;
  while (at < body.size()) {
    const size_t end = body.find("\n\n", at);
    EXPECT_NE(end, std::string::npos) << "unterminated event";
    if (end == std::string::npos) break;
    const std::string event = body.substr(at, end - at);
    at = end + 2;
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    EXPECT_FALSE(s.done) << "event after [DONE]";
    if (event == "data: [DONE]") {
      s.done = true;
      continue;
    }
    s.last = json::parse(event.substr(6));
    s.text += s.last["choices"][0]["text"].get<std::string>();
    ++s.chunks;
  }
  return s;
}

TEST_F(ServeTest, HealthModelsTokenize) {
  auto health = srv->client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body), json({{"status", "ok"}}));

  auto models = srv->client().Get("/v1/models");
  ASSERT_TRUE(models);
  const json m = json::parse(models->body);
  EXPECT_EQ(m["object"], "list");
  ASSERT_EQ(m["data"].size(), 1u);
  EXPECT_EQ(m["data"][0]["id"], "stories260K.gguf");
  EXPECT_EQ(m["data"][0]["object"], "model");

  api::Model model(stories());
  const auto tok = post("/tokenize", json{{"content", "Once upon a time"}});
  EXPECT_EQ(tok.first, 200);
  EXPECT_EQ(tok.second, json({{"tokens", model.tokenize("Once upon a time", false)}}));
  const auto detok = post("/detokenize", json{{"tokens", tok.second["tokens"]}});
  EXPECT_EQ(detok.first, 200);
  EXPECT_EQ(detok.second, json({{"content", "Once upon a time"}}));
}

TEST_F(ServeTest, GreedyCompletionEqualsRun) {
  const auto run = test::run_trident("run -m " + stories() + " -p 'Once upon a time' --temp 0 -n 24 --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string expected = json::parse(run.out)["text"];

  const json req = {{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"temperature", 0}};
  const auto [status, reply] = post("/v1/completions", req);
  ASSERT_EQ(status, 200) << reply.dump();
  EXPECT_EQ(reply["object"], "text_completion");
  EXPECT_EQ(reply["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(reply["model"], "stories260K.gguf");
  EXPECT_TRUE(reply["created"].is_number_integer());
  ASSERT_EQ(reply["choices"].size(), 1u);
  EXPECT_EQ(reply["choices"][0]["text"], expected);
  EXPECT_EQ(reply["choices"][0]["index"], 0);
  EXPECT_TRUE(reply["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(reply["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(reply["usage"], json({{"prompt_tokens", 5}, {"completion_tokens", 24}, {"total_tokens", 29},
                                  {"prompt_tokens_details", {{"cached_tokens", 0}}}}));

  json stream_req = req;
  stream_req["stream"] = true;
  auto res = srv->client().Post("/v1/completions", stream_req.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  const Stream s = read_stream(res->body);
  EXPECT_TRUE(s.done);
  EXPECT_GT(s.chunks, 10u);
  EXPECT_EQ(s.text, expected);
  EXPECT_EQ(s.last["choices"][0]["finish_reason"], "length");
  json cached = reply["usage"];
  cached["prompt_tokens_details"]["cached_tokens"] = 4;  // the same prompt again: all but its last token
  EXPECT_EQ(s.last["usage"], cached);
}

TEST_F(ServeTest, StopStringsEndTheTextBeforeThem) {
  const json req = {{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"temperature", 0}};
  const std::string full = post("/v1/completions", req).second["choices"][0]["text"];
  const size_t at = full.find("girl");
  ASSERT_NE(at, std::string::npos) << full;
  for (const json& stop : {json("girl"), json({"zzz", "girl", "irl named"})}) {
    json r = req;
    r["stop"] = stop;
    const auto [status, reply] = post("/v1/completions", r);
    EXPECT_EQ(status, 200);
    EXPECT_EQ(reply["choices"][0]["text"], full.substr(0, at));
    EXPECT_EQ(reply["choices"][0]["finish_reason"], "stop");
    r["stream"] = true;
    auto res = srv->client().Post("/v1/completions", r.dump(), "application/json");
    ASSERT_TRUE(res);
    const Stream s = read_stream(res->body);
    EXPECT_EQ(s.text, full.substr(0, at));
    EXPECT_EQ(s.last["choices"][0]["finish_reason"], "stop");
  }
}

TEST_F(ServeTest, SeededSamplingRepeats) {
  const json req = {{"prompt", "The dog"}, {"max_tokens", 16}, {"temperature", 1.0}, {"top_k", 20},
                    {"top_p", 0.9}, {"seed", 42}};
  const auto a = post("/v1/completions", req), b = post("/v1/completions", req);
  EXPECT_EQ(a.first, 200);
  EXPECT_EQ(a.second["choices"][0]["text"], b.second["choices"][0]["text"]);
  EXPECT_EQ(a.second["usage"]["completion_tokens"], 16);
}

TEST_F(ServeTest, BadRequestsGet400AndTheServerGoesOn) {
  expect_error(post("/v1/completions", std::string("{\"prompt\": ")), 400,
               "invalid JSON in the request body: [json.exception.parse_error.101] parse error at line 1, column 12: "
               "syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal");
  expect_error(post("/v1/completions", json{{"prompt", 5}}), 400, "'prompt': expected a string, found 5");
  expect_error(post("/v1/completions", json{{"max_tokens", 5}}), 400, "'prompt': required, found nothing");
  expect_error(post("/v1/completions", json{{"prompt", "a"}, {"max_tokens", -1}}), 400,
               "'max_tokens': expected an integer >= 0, found -1");
  expect_error(post("/v1/completions", json{{"prompt", "a"}, {"max_tokens", 1.5}}), 400,
               "'max_tokens': expected an integer, found 1.5");
  expect_error(post("/v1/completions", json{{"prompt", "a"}, {"temperature", "hot"}}), 400,
               "'temperature': expected a number, found \"hot\"");
  expect_error(post("/v1/completions", json{{"prompt", "a"}, {"temperature", -1}}), 400,
               "'temperature': expected a number >= 0, found -1.0");
  // Beyond float's range: converting it would be undefined (found by fuzz/server_request).
  expect_error(post("/v1/completions", json{{"prompt", "a"}, {"temperature", 1e300}}), 400,
               "'temperature': expected a number, found 1e+300");
  expect_error(post("/v1/completions", json{{"prompt", "a"}, {"logit_bias", {{"5", -1e300}}}}), 400,
               "'logit_bias': expected a number or false for token 5, found -1e+300");
  expect_error(post("/v1/completions", json{{"prompt", "a"}, {"top_p", 3}}), 400,
               "'top_p': expected 0 < top_p <= 1, found 3.0");
  expect_error(post("/v1/completions", json{{"prompt", "a"}, {"top_k", -2}}), 400,
               "'top_k': expected an integer >= 0 (0: off), found -2");
  expect_error(post("/v1/completions", json{{"prompt", "a"}, {"stop", {"x", 1}}}), 400,
               "'stop': expected a string or an array of strings, found [\"x\",1]");
  expect_error(post("/v1/completions", json{{"prompt", "a"}, {"stream", "yes"}}), 400,
               "'stream': expected true or false, found \"yes\"");
  std::string long_prompt;
  for (int i = 0; i < 200; ++i) long_prompt += " the dog";
  const auto too_long = post("/v1/completions", json{{"prompt", long_prompt}});
  EXPECT_EQ(too_long.first, 400);
  EXPECT_NE(too_long.second["error"]["message"].get<std::string>().find("do not fit the context of 128 tokens"),
            std::string::npos)
      << too_long.second.dump();
  expect_error(post("/tokenize", json{{"content", 3}}), 400, "'content': expected a string");
  expect_error(post("/detokenize", json{{"tokens", {1, 999999}}}), 400,
               "'tokens': expected token ids from 0 to 511, found 999999");

  auto missing = srv->client().Get("/v1/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["error"]["message"], "no endpoint GET /v1/nothing");
  EXPECT_EQ(json::parse(missing->body)["error"]["type"], "not_found_error");

  auto health = srv->client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// The one sequence (-np 1) goes back to the pool when the client leaves mid-stream: the next
// request gets it.
TEST_F(ServeTest, ClientLeavingMidStreamFreesTheSequence) {
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.set_header("Content-Type", "application/json");
  req.body = json{{"prompt", "Once upon a time"}, {"max_tokens", 100}, {"stream", true}}.dump();
  std::string received;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    received.append(data, n);
    return false;  // hang up after the first bytes
  };
  httplib::Client client = srv->client();
  auto res = client.send(req);
  EXPECT_FALSE(res);
  EXPECT_EQ(received.rfind("data: {", 0), 0u) << received;
  const auto [status, reply] = post("/v1/completions", json{{"prompt", "The dog"}, {"max_tokens", 4}});
  EXPECT_EQ(status, 200) << reply.dump();
  EXPECT_EQ(reply["usage"]["completion_tokens"], 4);
}

TEST(ServeAuth, ApiKeyAndBodyLimit) {
  ServerOptions o = test_serve::stories_options();
  o.api_key = "sekret";
  o.max_body = 4096;
  RunningServer srv(o);
  httplib::Client c = srv.client();
  const std::string body = json{{"content", "hello"}}.dump();
  const std::string no_key =
      "invalid or missing API key (send the header 'Authorization: Bearer KEY' or 'x-api-key: KEY')";

  auto res = c.Post("/tokenize", body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(json::parse(res->body), json({{"error", {{"message", no_key}, {"type", "authentication_error"}, {"code", 401}}}}));

  res = c.Post("/tokenize", {{"Authorization", "Bearer wrong"}}, body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);

  res = c.Get("/health");  // a load balancer's probe needs no key
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  res = c.Post("/tokenize", {{"Authorization", "Bearer sekret"}}, body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  res = c.Post("/tokenize", {{"Authorization", "Bearer sekret"}}, std::string(8000, ' '), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(json::parse(res->body)["error"]["message"], "request body over the limit of 4096 bytes (--max-body)");
}

}  // namespace
}  // namespace trident::server

namespace trident::server {
namespace {

TEST(ServeCli, BadFlagsAreOneLineErrors) {
  test::expect_cli_error("serve -m " + test::temp_path("missing.gguf"), "missing.gguf");
  test::expect_cli_error("serve -m " + stories() + " --port 99999", "--port: expected 0 to 65535, found 99999");
  test::expect_cli_error("serve -m " + stories() + " -np 0", "-np: expected a slot count >= 1, found 0");
  test::expect_cli_error("serve -m " + stories() + " -c 3 -np 4",
                         "-c: a context of 3 tokens leaves nothing for each of 4 slots");
}

}  // namespace
}  // namespace trident::server
