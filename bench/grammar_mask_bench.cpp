// Grammar token mask over Qwen2's 151,646-token vocabulary (../shared/models/qwen2-tokenizer):
// the time to compute which tokens may come next, per sampled token, at typical states of the
// any-JSON grammar (docs/grammar.md has the numbers), and the one-off trie build.
//   trident_microbench --benchmark_filter=GrammarMask
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "grammar/gbnf.h"
#include "grammar/json_schema.h"
#include "grammar/token_mask.h"
#include "qwen2_vocab.h"
#include "tokenizer/tokenizer.h"

namespace trident {
namespace {

const Tokenizer& qwen2() {
  static const Tokenizer tok(test::qwen2_vocab(std::string(TRIDENT_SHARED_DIR) + "/models/qwen2-tokenizer"));
  return tok;
}

const char* const kStates[] = {
    "",                       // 0: start: only "{" and space-free tokens starting an object
    "{\"name\": ",            // 1: a value: objects, arrays, strings, numbers, literals
    "{\"name\": \"Once up",   // 2: inside a string: nearly every token may follow
    "{\"n\": -12",            // 3: inside a number
};

void BM_GrammarMask(benchmark::State& state) {
  static const VocabTrie vocab(qwen2());
  GrammarMatcher m(std::make_shared<const Grammar>(parse_gbnf(json_object_gbnf())));
  m.accept(kStates[state.range(0)]);
  std::vector<float> logits(size_t(vocab.n_vocab()));
  size_t allowed = 0;
  for (auto _ : state) {
    std::fill(logits.begin(), logits.end(), 0.0f);
    allowed = apply_grammar(m, vocab, logits);
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["allowed"] = double(allowed);
}
BENCHMARK(BM_GrammarMask)->Name("GrammarMask/qwen2_json_state")->DenseRange(0, 3)->Unit(benchmark::kMillisecond);

// A generation inside a JSON string: each token leads back to the same state, so with the mask
// cache every mask after the first is a copy.
void BM_GrammarMaskInString(benchmark::State& state) {
  static const VocabTrie vocab(qwen2());
  GrammarMatcher m(std::make_shared<const Grammar>(parse_gbnf(json_object_gbnf())));
  m.accept("{\"story\": \"");
  const std::vector<int32_t> ids = qwen2().encode("Once upon a time there was a little girl who lived in a", false);
  std::vector<float> logits(size_t(vocab.n_vocab()));
  MaskCache cache;
  size_t i = 0;
  for (auto _ : state) {
    std::fill(logits.begin(), logits.end(), 0.0f);
    benchmark::DoNotOptimize(apply_grammar(m, vocab, logits, state.range(0) ? &cache : nullptr));
    state.PauseTiming();
    accept_token(m, vocab, ids[i++ % ids.size()]);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_GrammarMaskInString)->Name("GrammarMask/qwen2_in_string_cached")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_GrammarTrieBuild(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(VocabTrie(qwen2()).n_vocab());
}
BENCHMARK(BM_GrammarTrieBuild)->Name("GrammarMask/qwen2_trie_build")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace trident
