// Hostile clients against `trident serve` (issue 16's suite): malformed and deeply nested JSON,
// a 100 MB body (announced or chunked), negative max_tokens, logit_bias ids out of range, a
// grammar no text can complete, slow-drip clients, and clients that leave mid-stream or before
// the reply. After each, a good request must still succeed. Raw sockets where httplib's client
// would behave too well. `make test-sanitize` runs these under ASan+UBSan.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "serve_util.h"

namespace trident::server {
namespace {

using nlohmann::json;
using test_serve::RunningServer;
using Clock = std::chrono::steady_clock;

// A plain TCP connection to the server: what a misbehaving client can send.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }
  int native() const { return fd_; }
  // False once the server has closed (or reset) the connection.
  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(size_t(n));
    }
    return true;
  }
  bool readable(int timeout_ms) const {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, timeout_ms) > 0;
  }
  // Everything the server sends until it closes or goes quiet for timeout_ms.
  std::string read_reply(int timeout_ms = 5000) {
    std::string out;
    char buf[4096];
    while (readable(timeout_ms)) {
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, size_t(n));
      if (reply_complete(out)) break;
    }
    return out;
  }

 private:
  // A reply with Content-Length whose body has fully arrived.
  static bool reply_complete(const std::string& r) {
    const size_t head = r.find("\r\n\r\n");
    const size_t cl = r.find("Content-Length: ");
    if (head == std::string::npos || cl == std::string::npos || cl > head) return false;
    return r.size() >= head + 4 + std::stoul(r.substr(cl + 16));
  }
  int fd_ = -1;
  bool connected_ = false;
};

std::string post_head(const std::string& path, const std::string& extra_headers) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + extra_headers + "\r\n";
}

class ServeHostileTest : public test_serve::SharedServer<ServeHostileTest> {
 public:
  static ServerOptions options() {
    ServerOptions o = test_serve::stories_options();
    o.chat_template = test_serve::storyteller_template();
    return o;
  }

 protected:
  // A good request that must succeed after each hostile one.
  static void expect_server_answers() {
    const auto [status, reply] = srv->post("/v1/completions", json{{"prompt", "The dog"}, {"max_tokens", 3}});
    EXPECT_EQ(status, 200) << reply.dump();
    EXPECT_EQ(reply["usage"]["completion_tokens"], 3) << reply.dump();
  }
  static void expect_400(const std::string& path, const std::string& body, const std::string& message_start) {
    auto res = srv->client().Post(path.c_str(), body, "application/json");
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 400) << res->body;
    const json j = json::parse(res->body);
    const std::string message = path == "/v1/messages" ? j["error"]["message"] : j["error"]["message"];
    EXPECT_EQ(message.rfind(message_start, 0), 0u) << message;
    expect_server_answers();
  }
};

TEST_F(ServeHostileTest, MalformedJson) {
  for (const char* path : {"/v1/completions", "/v1/chat/completions", "/v1/messages"}) {
    expect_400(path, "{\"prompt\": \"a\",", "invalid JSON in the request body");
    expect_400(path, "{\"prompt\": \"\xff\xfe\"}", "invalid JSON in the request body");  // not UTF-8
    expect_400(path, "", "invalid JSON in the request body");
    expect_400(path, "[1, 2]", "'request body': expected a JSON object");
  }
  // 200,000 levels of arrays (400 KB) once overflowed a worker's stack when the error message
  // dumped them; now refused while parsing.
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  for (const char* path : {"/v1/completions", "/v1/chat/completions", "/v1/messages", "/tokenize", "/v1/embeddings"})
    expect_400(path, deep, "invalid JSON in the request body: nested deeper than 256 levels");
  const std::string in_field = R"({"prompt": "a", "stop": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_400("/v1/completions", in_field, "invalid JSON in the request body: nested deeper than 256 levels");
  // Deep JSON inside a message reaches the template's guard (128 levels).
  const std::string nested = R"({"messages": [{"role": "user", "content": "hi", "x": )" + std::string(200, '[') +
                             std::string(200, ']') + "}]}";
  expect_400("/v1/chat/completions", nested, "chat template: ");
}

TEST_F(ServeHostileTest, NegativeMaxTokens) {
  expect_400("/v1/completions", R"({"prompt": "a", "max_tokens": -5})", "'max_tokens': expected an integer >= 0");
  expect_400("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "a"}], "max_tokens": -1})",
             "'max_tokens': expected an integer >= 0");
  expect_400("/v1/chat/completions",
             R"({"messages": [{"role": "user", "content": "a"}], "max_completion_tokens": -9223372036854775808})",
             "'max_completion_tokens': expected an integer >= 0");
  expect_400("/v1/messages", R"({"messages": [{"role": "user", "content": "a"}], "max_tokens": -1})",
             "'max_tokens': expected an integer >= 1");
  // A number beyond double's range is the parser's out_of_range (it was a 500).
  expect_400("/v1/completions", R"({"prompt": "a", "max_tokens": 1e400})", "invalid JSON in the request body: ");
}

TEST_F(ServeHostileTest, LogitBiasIdsOutOfRange) {
  for (const char* id : {"512", "-1", "2147483648", "99999999999999999999999", "1e3", " 5", "0x10", ""}) {
    const json body = {{"prompt", "a"}, {"logit_bias", {{id, 1}}}};
    expect_400("/v1/completions", body.dump(), "'logit_bias': ");
  }
}

TEST_F(ServeHostileTest, HugeBodyIsRefusedUnread) {
  // 100 MB announced: the 413 comes after the headers, before the body is sent (or read).
  RawClient announced(srv->port);
  ASSERT_TRUE(announced.connected());
  ASSERT_TRUE(announced.send_all(post_head("/v1/completions", "Content-Length: 104857600\r\n")));
  announced.send_all(std::string(64 * 1024, ' '));
  const std::string reply = announced.read_reply();
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply.substr(0, 200);
  EXPECT_NE(reply.find("request body over the limit of 1048576 bytes"), std::string::npos) << reply.substr(0, 400);
  expect_server_answers();

  // Chunked, with no length to refuse up front: refused before any of it is read.
  RawClient chunked(srv->port);
  ASSERT_TRUE(chunked.connected());
  ASSERT_TRUE(chunked.send_all(post_head("/v1/completions", "Transfer-Encoding: chunked\r\n")));
  const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
  size_t sent = 0;
  while (sent < (100u << 20) && !chunked.readable(0) && chunked.send_all(chunk)) sent += 0x10000;
  const std::string refused = chunked.read_reply();
  EXPECT_LT(sent, 8u << 20) << "the server read " << sent << " bytes of a chunked body";
  EXPECT_EQ(refused.rfind("HTTP/1.1 411", 0), 0u) << refused.substr(0, 200);
  expect_server_answers();
}

// `root ::= "a" root` has no finite match: the text runs to max_tokens (or the context) and
// ends; a grammar no token can begin ends the reply with an error object, not a hang.
TEST_F(ServeHostileTest, GrammarThatMatchesNothing) {
  const auto endless = srv->post("/v1/completions", json{{"prompt", "Once"}, {"grammar", "root ::= \"a\" root"}, {"max_tokens", 12}});
  ASSERT_EQ(endless.first, 200) << endless.second.dump();
  EXPECT_EQ(endless.second["choices"][0]["text"], std::string(12, 'a'));
  EXPECT_EQ(endless.second["choices"][0]["finish_reason"], "length");
  const auto to_context = srv->post("/v1/completions", json{{"prompt", "Once"}, {"grammar", "root ::= \"a\" root"}});
  ASSERT_EQ(to_context.first, 200) << to_context.second.dump();
  EXPECT_EQ(to_context.second["choices"][0]["finish_reason"], "length");
  expect_server_answers();

  // A character class that excludes every character: no token can begin the text.
  const json unspellable = {{"prompt", "Once"}, {"grammar", "root ::= [^\\x00-\\U0010FFFF]"}, {"max_tokens", 5}};
  const auto t0 = Clock::now();
  const auto r = srv->post("/v1/completions", unspellable);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(r.first, 400) << r.second.dump();
  EXPECT_EQ(r.second["error"]["message"], "grammar: no token of the vocabulary can continue the grammar here");
  json streamed = unspellable;
  streamed["stream"] = true;
  auto res = srv->client().Post("/v1/completions", streamed.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("data: {\"error\":"), std::string::npos) << res->body;  // the stream ends with it
  expect_server_answers();
}

// Clients that send their request a byte every 50 ms hold a connection each, not the server:
// a request sent meanwhile is answered at once, and the drippers are answered in the end.
TEST_F(ServeHostileTest, SlowDripClientsDoNotStallOthers) {
  const std::string body = json{{"prompt", "The"}, {"max_tokens", 1}}.dump();
  const std::string request = post_head("/v1/completions", "Content-Length: " + std::to_string(body.size()) + "\r\n") + body;
  std::vector<std::thread> drippers;
  std::vector<std::string> replies(3);
  for (size_t d = 0; d < replies.size(); ++d)
    drippers.emplace_back([&, d] {
      RawClient c(srv->port);
      // The first one drips its headers, the others their body.
      const size_t from = d == 0 ? 0 : request.size() - body.size();
      if (!c.send_all(std::string_view(request).substr(0, from))) return;
      for (size_t i = from; i < request.size(); ++i) {
        if (!c.send_all(std::string_view(request).substr(i, 1))) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(request.size() - from > 60 ? 15 : 50));
      }
      replies[d] = c.read_reply();
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto t0 = Clock::now();
  expect_server_answers();
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1500)) << "a request waited for the slow clients";
  for (std::thread& t : drippers) t.join();
  for (const std::string& r : replies) EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r.substr(0, 200);
}

// Clients that leave mid-stream (chat and Anthropic) or right after sending: their sequences
// go back to the pool (-np 1: the next request would wait forever otherwise).
TEST_F(ServeHostileTest, DisconnectMidStreamAndBeforeTheReply) {
  const json chat = {{"messages", {{{"role", "user"}, {"content", "Tell me a story."}}}}, {"max_tokens", 100}, {"stream", true}};
  json messages = chat;
  for (const auto& [path, body] : {std::pair{"/v1/chat/completions", chat}, std::pair{"/v1/messages", messages}}) {
    RawClient c(srv->port);
    const std::string text = body.dump();
    ASSERT_TRUE(c.send_all(post_head(path, "Content-Length: " + std::to_string(text.size()) + "\r\n") + text));
    ASSERT_TRUE(c.readable(5000));
    char first[64];
    EXPECT_GT(recv(c.native(), first, sizeof first, 0), 0);
    // ~RawClient hangs up here, mid-stream.
  }
  {
    RawClient gone(srv->port);
    const std::string text = json{{"prompt", "Once upon a time"}, {"max_tokens", 100}}.dump();
    ASSERT_TRUE(gone.send_all(post_head("/v1/completions", "Content-Length: " + std::to_string(text.size()) + "\r\n") + text));
  }
  expect_server_answers();
  // Nothing is left running once the departed generations have noticed.
  for (int i = 0; i < 100; ++i) {
    auto m = srv->client().Get("/metrics");
    ASSERT_TRUE(m);
    if (m->body.find("trident_requests_processing 0\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_LT(i, 99) << m->body;
  }
}

}  // namespace
}  // namespace trident::server
