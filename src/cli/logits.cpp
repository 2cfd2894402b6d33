// `trident logits`: one batched evaluation of the given ids, every position's logits as JSON.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <span>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "format/error.h"

namespace trident::cli {

void add_logits_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("logits", "print the logits of every position of --tokens as JSON");
  auto flags = std::make_shared<ModelFlags>();
  auto tokens = std::make_shared<std::string>();
  auto greedy = std::make_shared<int64_t>(0);
  add_model_flags(cmd, *flags);
  cmd->add_option("--tokens", *tokens, "comma-separated token ids, taken verbatim")->required();
  // For comparing decoding with llama.cpp on files without a tokenizer (llama.cpp's random
  // test models): the steps evaluate one token each, as a generation loop does.
  cmd->add_option("--greedy", *greedy, "then N greedy steps of one token each; their ids as \"generated\"")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([flags, tokens, greedy] {
    const std::vector<int32_t> ids = parse_token_list(*tokens);
    SessionOptions opt = session_options(*flags);
    auto model = load_model(*flags);
    warn_context_above_trained(*flags, *model);
    if (opt.n_ctx == 0) opt.n_ctx = std::max<int64_t>(int64_t(ids.size()), std::min<int64_t>(model->hp().n_ctx_train, 4096));
    Session s(*model, opt);
    // Evaluated one micro-batch at a time and printed as it goes: memory holds one
    // micro-batch of logits, not ids x vocabulary.
    const int64_t nv = model->hp().n_vocab;
    const size_t step = size_t(s.options().n_ubatch);
    // Checked for the whole list up front, as one eval would, so a bad id or an overfull
    // context is refused before any output is written.
    for (size_t i = 0; i < ids.size(); ++i)
      if (ids[i] < 0 || ids[i] >= nv) fail("token id {} at index {} is outside the vocabulary (0..{})", ids[i], i, nv - 1);
    if (int64_t(ids.size()) + *greedy > s.options().n_ctx)
      fail("{} tokens after 0 already evaluated do not fit the context of {} (use -c)", int64_t(ids.size()) + *greedy,
           s.options().n_ctx);
    std::string out = "{\"tokens\":[";
    for (size_t i = 0; i < ids.size(); ++i) fmt::format_to(std::back_inserter(out), "{}{}", i ? "," : "", ids[i]);
    out += "],\"logits\":[";
    std::vector<float> logits;
    for (size_t i0 = 0; i0 < ids.size(); i0 += step) {
      const size_t n = std::min(step, ids.size() - i0);
      s.eval(std::span<const int32_t>(ids).subspan(i0, n), true, logits);
      for (size_t i = 0; i < n; ++i) {
        out += i0 + i ? ",[" : "[";
        for (int64_t j = 0; j < nv; ++j)
          fmt::format_to(std::back_inserter(out), "{}{:.9g}", j ? "," : "", logits[i * size_t(nv) + size_t(j)]);
        out += "]";
        std::fwrite(out.data(), 1, out.size(), stdout);
        out.clear();
      }
    }
    out += "]";
    if (*greedy > 0) {
      out += ",\"generated\":[";
      for (int64_t k = 0; k < *greedy; ++k) {
        // The first of the largest logits, as llama.cpp's greedy sampler.
        const float* row = logits.data() + logits.size() - size_t(nv);
        const int32_t next = int32_t(std::max_element(row, row + nv) - row);
        fmt::format_to(std::back_inserter(out), "{}{}", k ? "," : "", next);
        s.eval(std::span<const int32_t>(&next, 1), false, logits);
      }
      out += "]";
    }
    out += "}\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

}  // namespace trident::cli
