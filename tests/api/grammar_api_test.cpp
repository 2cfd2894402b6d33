// trident/grammar.h used through the public headers only: a constrained greedy generation with
// stories260K, and the errors a caller sees.
#include <gtest/gtest.h>
#include <trident/trident.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace api = trident::api;

namespace {

const std::string kModel = std::string(TRIDENT_SHARED_DIR) + "/models/stories260K.gguf";

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const trident::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ApiGrammar, GreedyGenerationFollowsTheGrammar) {
  const api::Model model(kModel);
  const auto vocab = std::make_shared<const api::GrammarVocab>(model);
  EXPECT_EQ(vocab->n_vocab(), model.n_vocab());
  api::ContextOptions opt;
  opt.n_ctx = 128;
  api::Context ctx(model, opt);
  const api::SeqId s = ctx.seq_create();
  std::vector<int32_t> ids = model.tokenize("Once upon a time");
  api::Batch batch;
  batch.add_tokens(s, 0, ids);
  std::vector<float> logits = ctx.decode(batch);
  api::Grammar g(vocab, "root ::= \" The \" (\"cat\" | \"dog\" | \"girl\") \" was \" [a-z]{2,8} \".\"");
  api::Detokenizer detok(model);
  std::string text;
  while (!g.finished()) {
    g.apply(logits);
    const int32_t id = api::argmax(logits);
    ASSERT_FALSE(model.is_eog(id));
    g.accept(id);
    text += detok.push(id);
    batch.clear();
    batch.add(s, int64_t(ids.size()), id, true);
    ids.push_back(id);
    ctx.decode(batch, logits);
  }
  text += detok.flush();
  EXPECT_TRUE(g.can_end());
  EXPECT_TRUE(text.rfind(" The ", 0) == 0 && text.back() == '.') << text;

  // After the end only end-of-generation tokens remain; other tokens are refused.
  g.apply(logits);
  for (int32_t id = 0; id < int32_t(logits.size()); ++id) EXPECT_EQ(std::isinf(logits[size_t(id)]), !model.is_eog(id)) << id;
  EXPECT_EQ(error_of([&] { g.accept(model.tokenize("a", false).at(0)); }),
            "grammar: token " + std::to_string(model.tokenize("a", false).at(0)) + " does not continue the grammar");
  g.reset();
  EXPECT_FALSE(g.can_end());
  std::vector<float> short_row(10);
  EXPECT_EQ(error_of([&] { g.apply(short_row); }), "grammar: logits row of 10 values, expected the model's 512");
}

TEST(ApiGrammar, Errors) {
  const api::Model model(kModel);
  const auto vocab = std::make_shared<const api::GrammarVocab>(model);
  EXPECT_EQ(error_of([&] { api::Grammar(vocab, "root ::= [a-"); }),
            "grammar: line 1, column 13: expected ']' closing the character class, found the end of the grammar");
  EXPECT_EQ(error_of([&] { api::Grammar(vocab, "start ::= \"a\""); }), "grammar: no rule named 'root' (the start rule)");
  EXPECT_EQ(error_of([&] { (void)api::json_schema_to_grammar(R"({"type": "string", "format": "email", "pattern": "@"})"); }),
            "json schema: unsupported keyword 'pattern' at #");
  EXPECT_NE(api::json_object_grammar().find("root ::= object"), std::string::npos);
}

}  // namespace
