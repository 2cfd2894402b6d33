// Continuous batching in `trident serve` (-np N): requests served together give the text of the
// same request served alone (a row's logits do not depend on the batch), streamed or not, with
// sampling seeds too; requests beyond the slots wait and complete; a client leaving mid-stream
// frees its slot, and /metrics returns to idle; a prompt sharing a prefix with a finished
// request's sequence evaluates only the rest, with the same bits.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "serve_util.h"

namespace trident::server {
namespace {

using nlohmann::json;
using test_serve::RunningServer;

// -np n_parallel, each slot with the 128 positions of stories_options' single slot.
ServerOptions slots(int64_t n_parallel) {
  ServerOptions o = test_serve::stories_options();
  o.n_ctx = 128 * n_parallel;
  o.n_parallel = n_parallel;
  return o;
}

const char* const kPrompts[] = {"Once upon a time", "The little dog", "Lily and Ben went to the park",
                                "One day, a big bird", "Tom had a red ball", "The sun was hot"};

json request(int i, bool stream) {
  json r = {{"prompt", kPrompts[i % 6]}, {"max_tokens", 40 + 7 * (i % 3)}, {"temperature", 0}, {"stream", stream}};
  if (!stream) r["logprobs"] = 2;  // the logits' bits show through the log-probabilities
  return r;
}

// The text (and for a whole reply its logprobs and finish_reason) of a /v1/completions request.
json complete(const RunningServer& srv, const json& body) {
  if (!body.value("stream", false)) {
    const auto [status, reply] = srv.post("/v1/completions", body);
    EXPECT_EQ(status, 200) << reply.dump();
    return {{"text", reply["choices"][0]["text"]},
            {"logprobs", reply["choices"][0]["logprobs"]},
            {"finish_reason", reply["choices"][0]["finish_reason"]}};
  }
  std::string text;
  json finish;
  for (const test_serve::Event& e : test_serve::split_events(srv.post_stream("/v1/completions", body))) {
    if (e.data == "[DONE]") break;
    const json chunk = json::parse(e.data);
    text += chunk["choices"][0]["text"].get<std::string>();
    finish = chunk["choices"][0]["finish_reason"];
  }
  return {{"text", text}, {"logprobs", nullptr}, {"finish_reason", finish}};
}

// bodies[i] sent by one thread each, all at once; the replies in order.
std::vector<json> concurrently(const RunningServer& srv, const std::vector<json>& bodies) {
  std::vector<json> out(bodies.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < bodies.size(); ++i) threads.emplace_back([&, i] { out[i] = complete(srv, bodies[i]); });
  for (std::thread& t : threads) t.join();
  return out;
}

// A gauge or counter of /metrics.
double metric(const RunningServer& srv, const std::string& name) {
  auto res = srv.client().Get("/metrics");
  EXPECT_TRUE(res);
  if (!res) return -1;
  const std::string key = "\ntrident_" + name + " ";
  const size_t at = res->body.find(key);
  EXPECT_NE(at, std::string::npos) << name;
  return at == std::string::npos ? -1 : std::stod(res->body.substr(at + key.size()));
}

// The gauges once the server is idle (a cancelled slot is freed at the scheduler's next step).
void expect_idle(const RunningServer& srv) {
  for (int i = 0; i < 200 && metric(srv, "slots_busy") != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(metric(srv, "slots_busy"), 0);
  EXPECT_EQ(metric(srv, "requests_deferred"), 0);
  EXPECT_EQ(metric(srv, "requests_processing"), 0);
}

TEST(ServeBatch, ConcurrentGreedyRequestsEqualSoloOnes) {
  std::vector<json> bodies, solo;
  for (int i = 0; i < 4; ++i) bodies.push_back(request(i, i % 2 == 0));
  {
    RunningServer one(slots(1));
    for (const json& b : bodies) solo.push_back(complete(one, b));
  }
  RunningServer four(slots(4));
  const std::vector<json> together = concurrently(four, bodies);
  for (size_t i = 0; i < bodies.size(); ++i) {
    EXPECT_FALSE(solo[i]["text"].get<std::string>().empty());
    EXPECT_EQ(together[i], solo[i]) << "request " << i;
  }
  // The same prompts the other way round: streamed where they were whole.
  for (size_t i = 0; i < bodies.size(); ++i) bodies[i] = request(int(i), !bodies[i]["stream"].get<bool>());
  const std::vector<json> swapped = concurrently(four, bodies);
  for (size_t i = 0; i < bodies.size(); ++i) EXPECT_EQ(swapped[i]["text"], solo[i]["text"]) << "request " << i;
  expect_idle(four);
  EXPECT_EQ(metric(four, "generations_total"), 8);
}

TEST(ServeBatch, RequestsBeyondTheSlotsWaitAndComplete) {
  RunningServer two(slots(2));
  std::vector<json> bodies, solo;
  for (int i = 0; i < 6; ++i) bodies.push_back(request(i, i % 3 == 0));
  for (const json& b : bodies) solo.push_back(complete(two, b));
  const std::vector<json> together = concurrently(two, bodies);
  for (size_t i = 0; i < bodies.size(); ++i) EXPECT_EQ(together[i], solo[i]) << "request " << i;
  expect_idle(two);
}

// Each slot samples with its own sampler and grammar matcher: a seeded request and a grammar-
// constrained one give the same text alone and among others.
TEST(ServeBatch, SeededSamplingAndGrammarsAreTheSameUnderConcurrency) {
  RunningServer three(slots(3));
  const json seeded = {{"prompt", "Once upon a time"}, {"max_tokens", 48}, {"temperature", 0.9}, {"seed", 1234}};
  const json constrained = {{"prompt", "The cat"}, {"max_tokens", 24}, {"temperature", 0.7}, {"seed", 7},
                            {"grammar", "root ::= (\" \" [a-z]+)+ \".\""}};
  const json alone = complete(three, seeded), constrained_alone = complete(three, constrained);
  EXPECT_NE(constrained_alone["text"].get<std::string>().find_first_of("abcdefghijklmnopqrstuvwxyz"), std::string::npos);
  json seeded_stream = seeded;
  seeded_stream["stream"] = true;
  const std::vector<json> bodies = {seeded, request(1, true), constrained, seeded_stream, request(2, false)};
  const std::vector<json> together = concurrently(three, bodies);
  EXPECT_EQ(together[0], alone);
  EXPECT_EQ(together[2], constrained_alone);
  EXPECT_EQ(together[3]["text"], alone["text"]);
  expect_idle(three);
}

// A client hangs up after its first event while others generate: its slot is freed (the gauges
// go back to 0) and the requests queued behind it run.
TEST(ServeBatch, ClientLeavingMidStreamFreesItsSlot) {
  RunningServer two(slots(2));
  std::vector<json> solo;
  for (int i = 0; i < 3; ++i) solo.push_back(complete(two, request(i, false)));
  std::thread leaver([&] {
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.set_header("Content-Type", "application/json");
    req.body = json{{"prompt", "Once upon a time"}, {"stream", true}}.dump();  // until the context is full
    req.content_receiver = [](const char*, size_t, uint64_t, uint64_t) { return false; };
    httplib::Client client = two.client();
    EXPECT_FALSE(client.send(req));
  });
  const std::vector<json> others = concurrently(two, {request(0, false), request(1, false), request(2, false)});
  leaver.join();
  for (size_t i = 0; i < others.size(); ++i) EXPECT_EQ(others[i], solo[i]) << "request " << i;
  expect_idle(two);
  // Embeddings share the slots: they run between steps while generations go on.
  std::thread generating([&] { EXPECT_EQ(complete(two, request(3, true))["text"], complete(two, request(3, false))["text"]); });
  const auto [status, reply] = two.post("/v1/embeddings", json{{"input", "hello"}});
  generating.join();
  EXPECT_EQ(status, 200) << reply.dump();
  expect_idle(two);
}

// A finished request's sequence stays cached: the same prompt again, or a longer one that starts
// with it (the next turn of a chat), evaluates only what is new, and the reply has the bits of a
// server that evaluated everything.
TEST(ServeBatch, PrefixReuseSkipsTheSharedPromptAndChangesNoBit) {
  RunningServer two(slots(2));
  auto complete_fresh = [](const json& body) {  // what a server without a cache answers
    RunningServer fresh(slots(1));
    const auto [status, reply] = fresh.post("/v1/completions", body);
    EXPECT_EQ(status, 200);
    EXPECT_EQ(reply["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    return reply["choices"][0];
  };
  auto usage = [&](const json& body) {
    const auto [status, reply] = two.post("/v1/completions", body);
    EXPECT_EQ(status, 200) << reply.dump();
    return std::pair{reply["choices"][0], reply["usage"]};
  };
  const json first = request(0, false);
  const auto [reply1, usage1] = usage(first);
  EXPECT_EQ(usage1["prompt_tokens_details"]["cached_tokens"], 0);
  const auto [reply2, usage2] = usage(first);
  EXPECT_EQ(reply2, reply1);
  const int64_t n1 = usage1["prompt_tokens"];
  EXPECT_EQ(usage2["prompt_tokens_details"]["cached_tokens"], n1 - 1);  // all but the last prompt token

  json next = first;
  next["prompt"] = first["prompt"].get<std::string>() + reply1["text"].get<std::string>() + " Then";
  const auto [reply3, usage3] = usage(next);
  EXPECT_GE(usage3["prompt_tokens_details"]["cached_tokens"].get<int64_t>(), n1);
  EXPECT_EQ(reply3, complete_fresh(next));
  json uncached = next;
  uncached["cache_prompt"] = false;  // llama-server's switch: the whole prompt is evaluated
  const auto [reply4, usage4] = usage(uncached);
  EXPECT_EQ(usage4["prompt_tokens_details"]["cached_tokens"], 0);
  EXPECT_EQ(reply4, reply3);
  uncached["cache_prompt"] = "no";
  EXPECT_EQ(two.post("/v1/completions", uncached).first, 400);

  // Unrelated prompts share at most the BOS token; the pool stays at two sequences, and what was
  // reused adds up in /metrics.
  int64_t reused = usage2["prompt_tokens_details"]["cached_tokens"].get<int64_t>() +
                   usage3["prompt_tokens_details"]["cached_tokens"].get<int64_t>();
  for (int i = 1; i < 4; ++i) {
    const auto [reply, u] = usage(request(i, false));
    EXPECT_LE(u["prompt_tokens_details"]["cached_tokens"], 1);
    reused += u["prompt_tokens_details"]["cached_tokens"].get<int64_t>();
    EXPECT_EQ(reply, complete_fresh(request(i, false)));
  }
  expect_idle(two);
  EXPECT_EQ(metric(two, "sequences_cached"), 2);
  EXPECT_EQ(metric(two, "prompt_tokens_cached_total"), double(reused));
}

}  // namespace
}  // namespace trident::server
