// `trident serve`: the HTTP server of src/server/ (docs/serve.md) on a model file.
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"
#include "server/server.h"

namespace trident::cli {

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "HTTP server: OpenAI /v1/chat/completions and /v1/completions, Anthropic /v1/messages (docs/serve.md)");
  auto opt = std::make_shared<server::ServerOptions>();
  cmd->add_option("-m,--model", opt->model_path, "GGUF model file")->required();
  cmd->add_option("--host", opt->host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", opt->port, "port to listen on; 0: any free port")->capture_default_str();
  cmd->add_option("-c,--ctx-size", opt->n_ctx, "context size shared by the slots; 0: the training context per slot")
      ->capture_default_str();
  cmd->add_option("--parallel", opt->n_parallel, "slots (sequences) of the context; also -np")->capture_default_str();
  cmd->add_option("-t,--threads", opt->n_threads, "threads; 0: every core")->capture_default_str();
  cmd->add_option("--api-key", opt->api_key, "require 'Authorization: Bearer KEY' (all but /health)");
  cmd->add_option("--max-body", opt->max_body, "largest request body in bytes (413 above)")->capture_default_str();
  cmd->add_option("--chat-template,--chat-template-file", opt->chat_template,
                  "Jinja chat template file (or its text, or chatml) instead of the model's tokenizer.chat_template");
  cmd->callback([opt] {
    server::Server srv(*opt);
    const int port = srv.bind();
    // The one line a script waits for before sending requests.
    fmt::print(stderr, "trident: listening on http://{}:{}\n", opt->host, port);
    std::fflush(stderr);
    srv.run();
  });
}

}  // namespace trident::cli
