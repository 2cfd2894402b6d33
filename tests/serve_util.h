// Shared by the server tests: a server in-process on an ephemeral port of 127.0.0.1, and JSON
// requests against it.
#pragma once
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>

#include "server/server.h"
#include "test_util.h"

namespace trident::server::test_serve {

inline std::string stories() { return test::shared_dir() + "/models/stories260K.gguf"; }
inline std::string storyteller_template() { return test::source_dir() + "/tests/data/chat/chatml-storyteller.jinja"; }

// A server on a free port of 127.0.0.1, serving on its own thread until destroyed.
struct RunningServer {
  Server server;
  int port = 0;
  std::thread thread;
  explicit RunningServer(ServerOptions o) : server((o.port = 0, o)) {
    port = server.bind();
    thread = std::thread([this] { server.run(); });
  }
  ~RunningServer() {
    server.stop();
    thread.join();
  }
  httplib::Client client() const { return httplib::Client("127.0.0.1", port); }

  // POSTs JSON text and returns (status, parsed body).
  std::pair<int, nlohmann::json> post(const std::string& path, const std::string& body) const {
    auto res = client().Post(path.c_str(), body, "application/json");
    EXPECT_TRUE(res) << "no reply from " << path;
    if (!res) return {0, nlohmann::json()};
    return {res->status, nlohmann::json::parse(res->body)};
  }
  std::pair<int, nlohmann::json> post(const std::string& path, const nlohmann::json& body) const {
    return post(path, body.dump());
  }
  // POSTs and returns the raw body of a streamed reply ("" when there is no reply).
  std::string post_stream(const std::string& path, const nlohmann::json& body) const {
    auto res = client().Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res) << "no reply from " << path;
    if (!res) return "";
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
    return res->body;
  }
};

inline ServerOptions stories_options() {
  ServerOptions o;
  o.model_path = stories();
  o.n_ctx = 128;
  o.n_threads = 1;
  return o;
}

// A suite sharing one server for all its tests, made from Suite::options() (CRTP):
//   class ServeChatTest : public test_serve::SharedServer<ServeChatTest> {
//    public: static ServerOptions options() { ... } };
template <class Suite>
class SharedServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { srv = new RunningServer(Suite::options()); }
  static void TearDownTestSuite() {
    delete srv;
    srv = nullptr;
  }
  static inline RunningServer* srv = nullptr;
};

// One server-sent event: its `event:` name ("" when none) and `data:` text.
struct Event {
  std::string name, data;
};
inline std::vector<Event> split_events(const std::string& body) {
  std::vector<Event> out;
  size_t at = 0;
  while (at < body.size()) {
    const size_t end = body.find("\n\n", at);
    EXPECT_NE(end, std::string::npos) << "unterminated event";
    if (end == std::string::npos) break;
    std::string event = body.substr(at, end - at);
    at = end + 2;
    Event e;
    if (event.rfind("event: ", 0) == 0) {
      const size_t nl = event.find('\n');
      e.name = event.substr(7, nl - 7);
      event = event.substr(nl + 1);
    }
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    e.data = event.substr(6);
    out.push_back(e);
  }
  return out;
}

}  // namespace trident::server::test_serve
