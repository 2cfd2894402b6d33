// `trident logits`: one batched evaluation of the given ids, every position's logits as JSON.
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "format/error.h"

namespace trident::cli {

void add_logits_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("logits", "print the logits of every position of --tokens as JSON");
  auto flags = std::make_shared<ModelFlags>();
  auto tokens = std::make_shared<std::string>();
  add_model_flags(cmd, *flags);
  cmd->add_option("--tokens", *tokens, "comma-separated token ids, taken verbatim")->required();
  cmd->callback([flags, tokens] {
    const std::vector<int32_t> ids = parse_token_list(*tokens);
    SessionOptions opt = session_options(*flags);
    auto model = load_model(*flags);
    warn_context_above_trained(*flags, *model);
    if (opt.n_ctx == 0) opt.n_ctx = std::max<int64_t>(int64_t(ids.size()), std::min<int64_t>(model->hp().n_ctx_train, 4096));
    Session s(*model, opt);
    std::vector<float> logits;
    s.eval(ids, true, logits);
    const int64_t nv = model->hp().n_vocab;
    std::string out = "{\"tokens\":[";
    for (size_t i = 0; i < ids.size(); ++i) out += fmt::format("{}{}", i ? "," : "", ids[i]);
    out += "],\"logits\":[";
    for (size_t i = 0; i < ids.size(); ++i) {
      out += i ? ",[" : "[";
      for (int64_t j = 0; j < nv; ++j) out += fmt::format("{}{:.9g}", j ? "," : "", logits[i * size_t(nv) + size_t(j)]);
      out += "]";
    }
    out += "]}\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace trident::cli
