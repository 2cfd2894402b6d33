// `trident serve`'s HTTP server: llama-server's and OpenAI's endpoints over the public API
// (include/trident/ only). Up to n_parallel requests generate together, batched by one scheduler
// thread (scheduler.h, docs/serve.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace trident::server {

struct ServerOptions {
  std::string model_path;
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0: any free port (bind() says which)
  int64_t n_ctx = 0;               // total context, split over n_parallel as llama-server's -c
  int64_t n_parallel = 1;          // sequences of the context (slots)
  int n_threads = 0;               // 0: every core
  std::string api_key;             // non-empty: every endpoint but /health wants "Bearer KEY"
  size_t max_body = 1 << 20;       // request bodies above this get 413
  std::string chat_template;       // --chat-template: a file, template text, "chatml", or "" (the model's)
};

class Server {
 public:
  // Loads the model and makes the context. Throws trident::Error (bad file, options).
  explicit Server(const ServerOptions& opt);
  ~Server();
  // Binds the listening socket and returns its port. Throws trident::Error when it cannot.
  int bind();
  // Serves until stop() (from another thread). bind() first.
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trident::server
