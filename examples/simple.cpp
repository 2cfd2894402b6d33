// The smallest use of trident's public API: load a model, tokenize two prompts, and greedily
// generate N tokens for both sequences, one batch per step (both prompts in the first batch,
// then one decode row per sequence).
//
//   simple MODEL.gguf [N] [PROMPT_A] [PROMPT_B]
#include <trident/trident.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace api = trident::api;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf [N] [PROMPT_A] [PROMPT_B]\n", argv[0]);
    return 2;
  }
  try {
    const int n_predict = argc > 2 ? std::atoi(argv[2]) : 16;
    const std::string prompts[2] = {argc > 3 ? argv[3] : "Once upon a time", argc > 4 ? argv[4] : "The little dog"};

    api::Model model(argv[1]);
    api::ContextOptions opt;
    opt.n_ctx = 256;
    opt.n_seq_max = 2;
    api::Context ctx(model, opt);

    api::Batch batch;
    api::SeqId seq[2];
    std::string text[2];
    std::vector<api::Detokenizer> detok;
    for (int i = 0; i < 2; ++i) {
      seq[i] = ctx.seq_create();
      const std::vector<int32_t> ids = model.tokenize(prompts[i]);
      batch.add_tokens(seq[i], 0, ids);  // logits for the last prompt token only
      text[i] = prompts[i];
      detok.emplace_back(model);
    }
    std::vector<float> logits;
    bool done[2] = {false, false};
    for (int step = 0; step < n_predict; ++step) {
      ctx.decode(batch, logits);  // one row of logits per sequence still running, in batch order
      const api::Batch asked = batch;
      batch.clear();
      size_t row = 0;
      for (size_t r = 0; r < asked.size(); ++r) {
        if (!asked.logits[r]) continue;
        const api::SeqId s = asked.seq[r];
        const std::span<const float> l(logits.data() + row++ * size_t(ctx.n_vocab()), size_t(ctx.n_vocab()));
        const int32_t next = api::argmax(l);
        if (model.is_eog(next) || ctx.seq_length(s) >= ctx.n_ctx()) {
          done[s] = true;
          continue;
        }
        text[s] += detok[size_t(s)].push(next);
        batch.add(s, ctx.seq_length(s), next, true);
      }
      if (batch.empty()) break;
    }
    for (int i = 0; i < 2; ++i) {
      text[i] += detok[size_t(i)].flush();
      std::printf("[%d] %s%s\n", i, text[i].c_str(), done[i] ? " <end>" : "");
    }
  } catch (const trident::Error& e) {
    std::fprintf(stderr, "trident: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
