// `trident chat` (and `trident run -cnv`, llama.cpp's spelling): a conversation in the terminal,
// on the public API of include/trident/ only. Reads one user message per line from stdin (a
// pipe works as well as a terminal), renders the whole conversation through the chat template,
// evaluates only the tokens the cached sequence does not already hold, and streams the reply.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <trident/trident.h>

#include "cli/commands.h"

namespace trident::cli {
namespace chat_cmd {

struct ChatFlags {
  std::string model;
  std::string system;         // -sys: the system message
  std::string first_message;  // -p: the first user message, before stdin's
  std::string chat_template;  // a file, template text or "chatml"; "": the model's
  int64_t n_predict = -1;     // per reply; -1: until end of turn or a full context
  int64_t n_ctx = 0;
  int threads = 0;
  api::SamplingParams sampling;
  int64_t seed = -1;
  bool conversation = false;  // -cnv: accepted, changes nothing
};

// SIGINT: during a reply it ends the reply; at the prompt it ends the conversation.
std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

void install_sigint_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a read at the prompt returns, and the loop ends
  sigaction(SIGINT, &sa, nullptr);
}

// Written to a temporary file and renamed: an existing file is replaced whole or not at all.
void save_conversation(const nlohmann::ordered_json& messages, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << nlohmann::ordered_json{{"messages", messages}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    if (!out.good()) {
      std::remove(tmp.c_str());
      throw Error("/save " + path + ": cannot write the file");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("/save " + path + ": cannot write the file");
  }
}

class Conversation {
 public:
  Conversation(const ChatFlags& f, const api::Model& model, api::Context& ctx)
      : f_(f), model_(model), ctx_(ctx), tmpl_(model, api::chat_template_source(f.chat_template)),
        sampler_(f.sampling, model.n_vocab()), seq_(ctx.seq_create()) {
    if (tmpl_.is_fallback())
      fmt::print(stderr, "trident: {} has no chat template; using ChatML (as llama.cpp does)\n", f.model);
    clear();
  }

  void clear() {
    messages_ = nlohmann::ordered_json::array();
    if (!f_.system.empty()) messages_.push_back({{"role", "system"}, {"content", f_.system}});
  }
  const nlohmann::ordered_json& messages() const { return messages_; }

  // Adds the user's message, streams the reply to stdout and adds it to the conversation.
  void reply(const std::string& user) {
    messages_.push_back({{"role", "user"}, {"content", user}});
    const std::vector<int32_t> tokens = model_.tokenize(tmpl_.apply(messages_.dump(), true), true, true);
    if (int64_t(tokens.size()) >= ctx_.n_ctx()) {
      messages_.erase(messages_.size() - 1);
      fmt::print(stderr, "trident: the conversation ({} tokens) does not fit the context of {}; /clear starts over\n",
                 tokens.size(), ctx_.n_ctx());
      return;
    }
    // Prefix reuse: keep the cached positions that match, evaluate the rest (at least the last
    // token, whose logits start the reply).
    const std::vector<int32_t> cached = ctx_.seq_tokens(seq_);
    size_t keep = 0;
    while (keep < cached.size() && keep + 1 < tokens.size() && cached[keep] == tokens[keep]) ++keep;
    if (!ctx_.seq_can_keep(seq_, int64_t(keep))) keep = 0;  // a recurrent state cannot go back: start over
    ctx_.seq_truncate(seq_, int64_t(keep));
    api::Batch batch;
    batch.add_tokens(seq_, int64_t(keep), std::span(tokens).subspan(keep));

    using Clock = std::chrono::steady_clock;
    const Clock::time_point t0 = Clock::now();
    Clock::time_point t_first = t0;
    api::Detokenizer detok(model_);
    std::string text;
    std::vector<float> logits;
    std::vector<int32_t> history = tokens;  // for the penalties
    int64_t n_generated = 0;
    g_interrupted = false;
    bool full = false;
    while (!g_interrupted && (f_.n_predict < 0 || n_generated < f_.n_predict)) {
      if (ctx_.seq_length(seq_) >= ctx_.n_ctx()) {
        full = true;
        break;
      }
      ctx_.decode(batch, logits);
      if (n_generated == 0) t_first = Clock::now();
      const int32_t id = sampler_.sample(logits, history);
      if (model_.is_eog(id)) break;
      ++n_generated;
      history.push_back(id);
      emit(text, detok.push(id));
      batch.clear();
      batch.add(seq_, ctx_.seq_length(seq_), id, true);
    }
    emit(text, detok.flush());
    std::fputs("\n", stdout);
    std::fflush(stdout);
    messages_.push_back({{"role", "assistant"}, {"content", text}});
    const double prompt_s = std::chrono::duration<double>(t_first - t0).count();
    const double gen_s = std::chrono::duration<double>(Clock::now() - t_first).count();
    fmt::print(stderr, "[prompt: {} new of {} tokens, {:.3f} s | reply: {} tokens, {:.1f} tok/s{}]\n",
               tokens.size() - keep, tokens.size(), prompt_s, n_generated, gen_s > 0 ? double(n_generated) / gen_s : 0.0,
               g_interrupted ? ", stopped" : full ? ", context full" : "");
  }

 private:
  static void emit(std::string& text, const std::string& piece) {
    text += piece;
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  }

  const ChatFlags& f_;
  const api::Model& model_;
  api::Context& ctx_;
  api::ChatTemplate tmpl_;
  api::Sampler sampler_;
  api::SeqId seq_;
  nlohmann::ordered_json messages_;
};

void chat(ChatFlags f) {
  if (f.n_predict < -1) throw Error("-n: expected a token count >= 0, or -1 for until the end of the turn, found " +
                                    std::to_string(f.n_predict));
  f.sampling.seed = f.seed >= 0 ? uint64_t(f.seed)
                                : uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) & INT64_MAX;
  api::Model model(f.model);
  api::ContextOptions co;
  co.n_ctx = f.n_ctx;
  co.n_threads = f.threads;
  api::Context ctx(model, co);
  Conversation conv(f, model, ctx);
  const bool terminal = isatty(STDIN_FILENO) != 0;
  if (terminal)
    fmt::print(stderr, "trident chat: /clear starts over, /save FILE writes the conversation, /exit or Ctrl-D quits; "
                       "Ctrl-C stops a reply, at the prompt it quits\n");
  install_sigint_handler();
  if (!f.first_message.empty()) conv.reply(f.first_message);
  std::string line;
  while (true) {
    if (terminal) {
      std::fputs("> ", stdout);
      std::fflush(stdout);
    }
    g_interrupted = false;
    if (!std::getline(std::cin, line) || g_interrupted) break;  // EOF, or Ctrl-C at the prompt
    if (line.empty()) continue;
    if (line == "/exit") break;
    if (line == "/clear") {
      conv.clear();
      fmt::print(stderr, "[conversation cleared]\n");
    } else if (line.rfind("/save", 0) == 0 && (line.size() == 5 || line[5] == ' ')) {
      const std::string path = line.size() > 6 ? line.substr(6) : "";
      if (path.empty()) fmt::print(stderr, "trident: /save FILE: give a file name\n");
      else {
        save_conversation(conv.messages(), path);
        fmt::print(stderr, "[saved {} messages to {}]\n", conv.messages().size(), path);
      }
    } else {
      conv.reply(line);
    }
  }
  if (terminal) std::fputs("\n", stdout);
}

}  // namespace chat_cmd

void add_chat_command(CLI::App& app) {
  auto f = std::make_shared<chat_cmd::ChatFlags>();
  auto* cmd = app.add_subcommand("chat", "interactive conversation through the model's chat template (docs/cli.md)");
  cmd->add_option("-m,--model", f->model, "GGUF model file")->required();
  cmd->add_option("--system-prompt", f->system, "system message (also -sys)");
  cmd->add_option("-p,--prompt", f->first_message, "first user message, answered before stdin is read");
  cmd->add_option("--chat-template,--chat-template-file", f->chat_template,
                  "Jinja template file (or its text, or chatml) instead of the model's tokenizer.chat_template");
  cmd->add_option("-n,--n-predict", f->n_predict, "most tokens per reply; -1: until the end of the turn")->capture_default_str();
  cmd->add_option("-c,--ctx-size", f->n_ctx, "context size; 0: the training context, at most 4096")->capture_default_str();
  cmd->add_option("-t,--threads", f->threads, "threads; 0: every core")->capture_default_str();
  cmd->add_option("--temp", f->sampling.temperature, "temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", f->sampling.top_k, "top-k; 0 = off")->capture_default_str();
  cmd->add_option("--top-p", f->sampling.top_p, "top-p; 1 = off")->capture_default_str();
  cmd->add_option("--min-p", f->sampling.min_p, "min-p; 0 = off")->capture_default_str();
  cmd->add_option("--repeat-penalty", f->sampling.repeat_penalty, "repetition penalty; 1 = off")->capture_default_str();
  cmd->add_option("-s,--seed", f->seed, "random seed (default: from the clock)");
  cmd->add_flag("--conversation", f->conversation, "conversation mode (what chat always is; run -cnv comes here)");
  cmd->callback([f] { chat_cmd::chat(*f); });
}

}  // namespace trident::cli
