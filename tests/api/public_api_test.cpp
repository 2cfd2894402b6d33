// The public API, used exactly as a program outside the repository would: this file is built
// with include/ as its only include path (CMake target trident_api), so it can name nothing
// internal.
#include <gtest/gtest.h>
#include <trident/trident.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "api_test_util.h"

namespace api = trident::api;

namespace {

const std::string kStories = std::string(TRIDENT_SHARED_DIR) + "/models/stories260K.gguf";

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("trident-api-" + std::to_string(getpid()) + "-" + name)).string();
}

using api_test::error_of;

api::ContextOptions options(int64_t n_seq_max, int threads = 1) {
  api::ContextOptions o;
  o.n_ctx = 128;
  o.n_seq_max = n_seq_max;
  o.n_threads = threads;
  o.fuse_qkv = api::Fusion::On;
  o.fuse_gate_up = api::Fusion::On;
  return o;
}

// Logits of the last token of `ids` evaluated alone in a fresh context.
std::vector<float> solo_last_logits(const api::Model& m, const std::vector<int32_t>& ids) {
  api::Context ctx(m, options(1));
  api::Batch b;
  b.add_tokens(ctx.seq_create(), 0, ids);
  return ctx.decode(b);
}

TEST(PublicApi, ModelMetadataAndVocabulary) {
  const api::Model m(kStories);
  EXPECT_EQ(m.architecture(), "llama");
  EXPECT_EQ(m.n_vocab(), 512);
  EXPECT_EQ(m.n_head(), 8);
  EXPECT_EQ(m.n_head_kv(), 4);
  EXPECT_EQ(m.bos(), 1);
  EXPECT_EQ(m.eos(), 2);
  EXPECT_TRUE(m.is_eog(2));
  EXPECT_FALSE(m.is_eog(100));
  EXPECT_FALSE(m.is_eog(-1));
  EXPECT_TRUE(m.is_control(1));
  EXPECT_EQ(m.meta("general.architecture"), "llama");
  EXPECT_EQ(m.meta("llama.context_length"), "2048");
  EXPECT_EQ(m.meta("tokenizer.ggml.tokens"), "[512 x string]");
  EXPECT_EQ(m.meta("no.such.key"), std::nullopt);
  EXPECT_EQ(m.chat_template(), std::nullopt);
  EXPECT_EQ(m.meta_keys().size(), 19u);
  EXPECT_EQ(m.find_token("<s>"), 1);
}

TEST(PublicApi, TokenizeDetokenizeAndStream) {
  const api::Model m(kStories);
  const std::vector<int32_t> ids = m.tokenize("Once upon a time");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], m.bos());
  EXPECT_EQ(m.detokenize(ids), " Once upon a time");  // BOS absorbs the leading-space removal
  const std::vector<int32_t> plain = m.tokenize("Once upon a time", false);
  EXPECT_EQ(m.detokenize(plain), "Once upon a time");
  api::Detokenizer d(m);
  std::string streamed;
  for (int32_t id : ids) streamed += d.push(id);
  streamed += d.flush();
  EXPECT_EQ(streamed, " Once upon a time");
  EXPECT_NE(error_of([&] { m.token_piece(512); }).find("512"), std::string::npos);
  EXPECT_NE(error_of([&] { d.push(-3); }), "(no error)");
}

TEST(PublicApi, TwoSequencesInOneBatchEqualTheirSoloLogits) {
  const api::Model m(kStories);
  const std::vector<int32_t> a = m.tokenize("Once upon a time, there was"), b = m.tokenize("The cat sat");
  api::Context ctx(m, options(2, 2));
  const api::SeqId sa = ctx.seq_create(), sb = ctx.seq_create();
  EXPECT_EQ(sa, 0);
  EXPECT_EQ(sb, 1);
  api::Batch batch;
  batch.add_tokens(sa, 0, a);
  batch.add_tokens(sb, 0, b);
  const std::vector<float> got = ctx.decode(batch);
  ASSERT_EQ(got.size(), size_t(2 * m.n_vocab()));
  const std::vector<float> want_a = solo_last_logits(m, a), want_b = solo_last_logits(m, b);
  EXPECT_EQ(std::memcmp(got.data(), want_a.data(), want_a.size() * 4), 0);
  EXPECT_EQ(std::memcmp(got.data() + m.n_vocab(), want_b.data(), want_b.size() * 4), 0);
  EXPECT_EQ(ctx.seq_length(sa), int64_t(a.size()));
  EXPECT_EQ(ctx.seq_tokens(sb), b);
  EXPECT_EQ(ctx.n_seq_active(), 2);
}

TEST(PublicApi, BatchErrorsChangeNothing) {
  const api::Model m(kStories);
  api::Context ctx(m, options(2));
  const api::SeqId s = ctx.seq_create();
  api::Batch b;
  b.add(s, 0, 5, true);
  b.add(s, 1, 600, true);
  EXPECT_EQ(error_of([&] { ctx.decode(b); }), "batch row 1: token id 600 is outside the vocabulary (0..511)");
  EXPECT_EQ(ctx.seq_length(s), 0);
  b.clear();
  b.add(s, 1, 5, true);
  EXPECT_EQ(error_of([&] { ctx.decode(b); }),
            "batch row 0: sequence 0 continues at position 0, found 1 (a sequence's rows must follow its cache in order)");
  b.clear();
  b.add(1, 0, 5, true);
  EXPECT_EQ(error_of([&] { ctx.decode(b); }), "batch row 0: sequence 1 does not exist");
  b.logits.pop_back();
  EXPECT_EQ(error_of([&] { ctx.decode(b); }), "batch: token, pos, seq and logits have different lengths (1, 1, 1, 0)");
  ctx.seq_create();
  EXPECT_EQ(error_of([&] { ctx.seq_create(); }), "no free sequence: all 2 are in use (raise the sequence count or remove one)");
  EXPECT_EQ(error_of([&] { ctx.seq_remove(7); }), "sequence 7 does not exist");
  EXPECT_EQ(error_of([&] { ctx.seq_truncate(s, 3); }), "sequence 0: cannot keep 3 positions of 0");
  api::ContextOptions bad = options(0);
  EXPECT_EQ(error_of([&] { api::Context c(m, bad); }), "invalid sequence count 0 (expected 1..1024)");
  EXPECT_EQ(error_of([&] { api::Model x("/nonexistent/model.gguf"); }).find("/nonexistent/model.gguf"), 0u);
}

TEST(PublicApi, FullSequenceIsAnError) {
  const api::Model m(kStories);
  api::ContextOptions o = options(1);
  o.n_ctx = 4;
  api::Context ctx(m, o);
  const api::SeqId s = ctx.seq_create();
  api::Batch b;
  b.add_tokens(s, 0, std::vector<int32_t>{1, 5, 6, 7, 8});
  EXPECT_EQ(error_of([&] { ctx.decode(b); }), "batch row 4: sequence 0 is full (context of 4 tokens)");
}

TEST(PublicApi, PrefixReuseAndSaveRestore) {
  const api::Model m(kStories);
  const std::vector<int32_t> ids = m.tokenize("Once upon a time, there was a little girl");
  api::Context ctx(m, options(4));
  const api::SeqId s = ctx.seq_create();
  api::Batch b;
  b.add_tokens(s, 0, ids);
  ctx.decode(b);
  // A request sharing the first 6 tokens, then differing.
  std::vector<int32_t> other(ids.begin(), ids.begin() + 6);
  other.push_back(42);
  other.push_back(77);
  const api::PrefixMatch match = ctx.seq_longest_prefix(other);
  EXPECT_EQ(match.seq, s);
  EXPECT_EQ(match.n_tokens, 6);
  const api::SeqId c = ctx.seq_copy_prefix(match.seq, match.n_tokens);
  b.clear();
  b.add_tokens(c, match.n_tokens, std::vector<int32_t>(other.begin() + 6, other.end()));
  const std::vector<float> reused = ctx.decode(b);
  const std::vector<float> full = solo_last_logits(m, other);
  EXPECT_EQ(std::memcmp(reused.data(), full.data(), full.size() * 4), 0);

  const std::string path = temp_file("seq.bin");
  ctx.seq_save(c, path);
  const api::SeqId r = ctx.seq_restore(path);
  EXPECT_EQ(ctx.seq_tokens(r), other);
  b.clear();
  b.add(c, ctx.seq_length(c), 9, true);
  b.add(r, ctx.seq_length(r), 9, true);
  const std::vector<float> both = ctx.decode(b);
  EXPECT_EQ(std::memcmp(both.data(), both.data() + m.n_vocab(), size_t(m.n_vocab()) * 4), 0);
  std::filesystem::remove(path);
}

TEST(PublicApi, SamplerGreedyBiasAndPenalties) {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f};
  EXPECT_EQ(api::argmax(logits), 1);  // ties to the lowest id
  api::SamplingParams p;
  p.temperature = 0;
  p.logit_bias = {{1, -std::numeric_limits<float>::infinity()}};
  EXPECT_EQ(api::Sampler(p, 4).sample(logits, {}), 3);
  p.logit_bias.clear();
  p.presence_penalty = 0.5f;
  const std::vector<int32_t> hist = {1};
  EXPECT_EQ(api::Sampler(p, 4).sample(logits, hist), 3);  // 3 - 0.5 < 3
  p.presence_penalty = 0;
  p.frequency_penalty = 0.8f;
  const std::vector<int32_t> hist2 = {1, 1, 3};
  EXPECT_EQ(api::Sampler(p, 4).sample(logits, hist2), 3);  // 1: 3 - 2 x 0.8, 3: 3 - 0.8, 2: 2
  p.logit_bias = {{4, 1.0f}};
  EXPECT_EQ(error_of([&] { api::Sampler(p, 4); }), "logit bias: token id 4 is outside the vocabulary (0..3)");
  p.logit_bias.clear();
  EXPECT_EQ(error_of([&] { api::Sampler(p, 4).sample(std::vector<float>(3), {}); }),
            "sample: 3 logits, expected one row of 4 (the vocabulary)");
  // Log-probabilities.
  const std::vector<float> two = {0.0f, 0.0f};
  EXPECT_EQ(api::logprob(two, 1), float(-std::log(2.0)));
  const std::vector<api::TokenLogprob> top = api::top_logprobs(logits, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].id, 1);
  EXPECT_EQ(top[1].id, 3);
  EXPECT_EQ(top[2].id, 2);
  EXPECT_EQ(top[0].logprob, top[1].logprob);
  EXPECT_EQ(top[2].logprob, api::logprob(logits, 2));
  EXPECT_EQ(api::top_logprobs(logits, 10).size(), 4u);
  EXPECT_EQ(error_of([&] { api::logprob(logits, 4); }), "logprobs: token id 4 is outside the row (0..3)");
  const float ninf = -std::numeric_limits<float>::infinity();
  EXPECT_EQ(error_of([&] { api::top_logprobs(std::vector<float>{ninf, ninf}, 1); }), "logprobs: every logit is -inf");
  EXPECT_EQ(api::logprob(std::vector<float>{0.0f, ninf}, 1), ninf);
  // Seeded draws repeat.
  api::SamplingParams s;
  s.seed = 1234;
  s.top_k = 0;
  s.top_p = 1;
  s.min_p = 0;
  s.temperature = 1.0f;
  api::Sampler x(s, 4), y(s, 4);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(x.sample(logits, {}), y.sample(logits, {}));
}

TEST(PublicApi, ChatTemplateFallsBackToChatMLAndRendersOverrides) {
  api::Model model(kStories);
  const std::string conv = R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])";
  const api::ChatTemplate chatml(model);  // stories260K has no tokenizer.chat_template
  EXPECT_TRUE(chatml.is_fallback());
  EXPECT_EQ(chatml.apply(conv), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(chatml.apply(conv, false), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");

  // bos_token is the vocabulary's; the BOS text the template writes first is dropped because
  // tokenize adds BOS itself (as llama.cpp does).
  const api::ChatTemplate own(model, "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{{ eos_token }}");
  EXPECT_FALSE(own.is_fallback());
  ASSERT_TRUE(model.add_bos());
  EXPECT_EQ(own.apply(conv), "[system:Be brief.][user:Hi]" + model.token_piece(model.eos(), true));
  EXPECT_EQ(own.apply(R"([{"role": "user", "content": "x"}])", true, R"({"bos_token": "B"})"), "B[user:x]" + model.token_piece(model.eos(), true));

  EXPECT_EQ(error_of([&] { chatml.apply("{"); }).rfind("chat template: messages: not valid JSON", 0), 0u);
  EXPECT_EQ(error_of([&] { chatml.apply(R"({"role": "user"})"); }), "chat template: messages must be a JSON array");
  EXPECT_EQ(error_of([&] { api::ChatTemplate(model, "{{ raise_exception('no system role') }}").apply(conv); }),
            "chat template: line 1: the template raised an exception: no system role");
  EXPECT_EQ(api::chat_template_source("{{ x }}"), "{{ x }}");
  EXPECT_EQ(error_of([] { api::chat_template_source("/nonexistent/t.jinja"); }),
            "--chat-template /nonexistent/t.jinja: cannot read the file");
}

}  // namespace
