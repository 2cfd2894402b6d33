// trident/grammar.h used through the public headers only: constrained generations with
// stories260K (a GBNF grammar; JSON schemas whose outputs must validate), and the errors a
// caller sees.
#include <gtest/gtest.h>
#include <trident/trident.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../json_schema_check.h"
#include "api_test_util.h"

namespace api = trident::api;
using api_test::error_of;

namespace {

const api::Model& stories() {
  static const api::Model model(std::string(TRIDENT_SHARED_DIR) + "/models/stories260K.gguf");
  return model;
}

const std::shared_ptr<const api::GrammarVocab>& stories_vocab() {
  static const auto vocab = std::make_shared<const api::GrammarVocab>(stories());
  return vocab;
}

// Generates after "Once upon a time" under g until the grammar is finished or an end token is
// sampled (greedy when temperature is 0); leaves in `logits` the row after the last token.
std::string generate(api::Grammar& g, float temperature, uint64_t seed, std::vector<float>& logits) {
  const api::Model& model = stories();
  api::ContextOptions opt;
  opt.n_ctx = 512;
  api::Context ctx(model, opt);
  const api::SeqId s = ctx.seq_create();
  std::vector<int32_t> history = model.tokenize("Once upon a time");
  api::Batch batch;
  batch.add_tokens(s, 0, history);
  ctx.decode(batch, logits);
  api::SamplingParams sp;
  sp.temperature = temperature;
  sp.seed = seed;
  api::Sampler sampler(sp, model.n_vocab());
  api::Detokenizer detok(model);
  std::string text;
  while (int64_t(history.size()) < ctx.n_ctx() && !g.finished()) {
    g.apply(logits);
    const int32_t id = sampler.sample(logits, history);
    if (model.is_eog(id)) break;
    g.accept(id);
    text += detok.push(id);
    batch.clear();
    batch.add(s, int64_t(history.size()), id, true);
    history.push_back(id);
    ctx.decode(batch, logits);
  }
  EXPECT_TRUE(g.can_end()) << "generation stopped by the context: " << text;
  return text + detok.flush();
}

TEST(ApiGrammar, GreedyGenerationFollowsTheGrammar) {
  const api::Model& model = stories();
  EXPECT_EQ(stories_vocab()->n_vocab(), model.n_vocab());
  api::Grammar g(stories_vocab(), "root ::= \" The \" (\"cat\" | \"dog\" | \"girl\") \" was \" [a-z]{2,8} \".\"");
  std::vector<float> logits;
  const std::string text = generate(g, 0.0f, 0, logits);
  EXPECT_TRUE(g.finished());
  EXPECT_TRUE(text.rfind(" The ", 0) == 0 && text.back() == '.') << text;

  // After the end only end-of-generation tokens remain; other tokens are refused.
  g.apply(logits);
  for (int32_t id = 0; id < int32_t(logits.size()); ++id) EXPECT_EQ(std::isinf(logits[size_t(id)]), !model.is_eog(id)) << id;
  const int32_t a = model.tokenize("a", false).at(0);
  EXPECT_EQ(error_of([&] { g.accept(a); }), "grammar: token " + std::to_string(a) + " does not continue the grammar");
  g.reset();
  EXPECT_FALSE(g.can_end());
  std::vector<float> short_row(10);
  EXPECT_EQ(error_of([&] { g.apply(short_row); }), "grammar: logits row of 10 values, expected the model's 512");
}

// Text generated before a grammar applied (a lazy grammar's trigger) is fed as bytes, possibly
// ending mid-token; text the grammar refuses changes nothing.
TEST(ApiGrammar, AcceptTextAdvancesByBytes) {
  api::Grammar g(stories_vocab(), "root ::= \"<call>\" [a-z]+ \"</call>\"");
  EXPECT_EQ(error_of([&] { g.accept_text("<cal!"); }), "grammar: the text does not continue the grammar");
  g.accept_text("<ca");
  g.accept_text("ll>ab</call");
  EXPECT_FALSE(g.can_end());
  g.accept_text(">");
  EXPECT_TRUE(g.finished());
}

// Every output, greedy and sampled, parses as JSON and validates against its schema.
TEST(ApiGrammar, Stories260KGeneratesSchemaValidJson) {
  const char* schemas[] = {
      R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": false})",
      R"({"type": "array", "items": {"enum": ["red", "green", 3, null]}, "minItems": 1, "maxItems": 4})",
      R"({"anyOf": [{"type": "string", "maxLength": 5}, {"type": "boolean"}, {"type": "null"}]})",
      R"({"type": "object", "properties": {"year": {"type": "integer", "minimum": 1900, "maximum": 2100},
          "delta": {"type": "integer", "exclusiveMinimum": -10, "maximum": -2}}, "required": ["year", "delta"]})",
      R"({"type": "object", "properties": {"kind": {"const": "point"}, "x": {"type": "number"},
          "label": {"type": "string", "minLength": 1, "maxLength": 6}, "ok": {"type": "boolean"}},
          "required": ["kind", "x"]})",
      R"({"$defs": {"leaf": {"type": "object", "properties": {"id": {"type": "integer"}, "tags": {"type": "array",
          "items": {"type": "string", "maxLength": 4}, "maxItems": 2}}, "required": ["id", "tags"]}},
          "type": "array", "items": {"$ref": "#/$defs/leaf"}, "minItems": 2, "maxItems": 2})",
  };
  for (const char* text : schemas) {
    const auto schema = trident::test::Json::parse(text);
    const std::string gbnf = api::json_schema_to_grammar(text);
    for (const auto& [temperature, seed] : {std::pair{0.0f, 0}, std::pair{1.0f, 7}, std::pair{1.5f, 11}}) {
      api::Grammar g(stories_vocab(), gbnf);
      std::vector<float> logits;
      const std::string out = generate(g, temperature, uint64_t(seed), logits);
      trident::test::Json value;
      ASSERT_NO_THROW(value = trident::test::Json::parse(out)) << out;
      EXPECT_TRUE(trident::test::valid(value, schema, schema)) << "schema " << text << "\noutput " << out;
    }
  }
}

TEST(ApiGrammar, Errors) {
  EXPECT_EQ(error_of([&] { api::Grammar(stories_vocab(), "root ::= [a-"); }),
            "grammar: line 1, column 13: expected ']' closing the character class, found the end of the grammar");
  EXPECT_EQ(error_of([&] { api::Grammar(stories_vocab(), "start ::= \"a\""); }), "grammar: no rule named 'root' (the start rule)");
  EXPECT_EQ(error_of([&] { api::Grammar(nullptr, "root ::= \"a\""); }), "grammar: no vocabulary given");
  EXPECT_EQ(error_of([&] { (void)api::json_schema_to_grammar(R"({"type": "string", "format": "email", "pattern": "@"})"); }),
            "json schema: unsupported keyword 'pattern' at #");
  EXPECT_NE(api::json_object_grammar().find("root ::= object"), std::string::npos);
}

}  // namespace
