// Final hidden states (Session::decode_hidden, Context::decode_hidden) and /v1/embeddings.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <trident/trident.h>

#include "runtime/batch.h"
#include "serve_util.h"

namespace trident {
namespace {

using nlohmann::json;

// The hidden rows are what the output projection reads: output.weight (F32 in stories260K)
// times a row gives that row's logits. The tolerance covers the matmul's summation order
// (64 products of magnitude < 4: float rounding well under 1e-4).
TEST(Embeddings, HiddenRowsAreWhatTheOutputProjectionReads) {
  auto model = Model::load(test::shared_dir() + "/models/stories260K.gguf", {});
  const std::vector<int32_t> ids = {1, 403, 407, 261, 378, 432};
  SessionOptions o;
  o.n_ctx = 64;
  o.n_threads = 1;
  std::vector<float> hidden, logits;
  {
    Session s(*model, o);
    s.seqs().create();
    std::vector<int64_t> pos(ids.size());
    std::vector<int32_t> seq(ids.size(), 0);
    std::vector<uint8_t> want(ids.size(), 1);
    for (size_t i = 0; i < ids.size(); ++i) pos[i] = int64_t(i);
    s.decode_hidden({ids, pos, seq, want}, hidden);
  }
  Session s(*model, o);
  s.eval(ids, true, logits);
  const int64_t d = model->hp().n_embd, nv = model->hp().n_vocab;
  ASSERT_EQ(hidden.size(), ids.size() * size_t(d));
  ASSERT_EQ(logits.size(), ids.size() * size_t(nv));
  const GgufTensorInfo* w = model->file().find_tensor("output.weight");
  ASSERT_TRUE(w);
  ASSERT_EQ(w->type, GgmlType::F32);
  const float* W = reinterpret_cast<const float*>(model->file().tensor_data(*w));
  for (size_t r = 0; r < ids.size(); ++r)
    for (int64_t v = 0; v < nv; ++v) {
      double dot = 0;
      for (int64_t i = 0; i < d; ++i) dot += double(W[v * d + i]) * hidden[r * size_t(d) + size_t(i)];
      ASSERT_NEAR(dot, logits[r * size_t(nv) + size_t(v)], 1e-4) << "row " << r << " token " << v;
    }
}

std::vector<float> unit_mean(const api::Model& model, const std::string& text) {
  api::ContextOptions co;
  co.n_ctx = 128;
  co.n_threads = 1;
  api::Context ctx(model, co);
  const std::vector<int32_t> ids = model.tokenize(text, true);
  const api::SeqId seq = ctx.seq_create();
  api::Batch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add(seq, int64_t(i), ids[i], true);
  std::vector<float> h;
  ctx.decode_hidden(b, h);
  const size_t d = size_t(model.n_embd());
  std::vector<double> m(d);
  double norm = 0;
  for (size_t i = 0; i < d; ++i) {
    for (size_t r = 0; r < ids.size(); ++r) m[i] += h[r * d + i];
    m[i] /= double(ids.size());
    norm += m[i] * m[i];
  }
  std::vector<float> out(d);
  for (size_t i = 0; i < d; ++i) out[i] = float(m[i] / std::sqrt(norm));
  return out;
}

TEST(Embeddings, ServeReturnsUnitMeanOfTheHiddenStates) {
  server::test_serve::RunningServer srv(server::test_serve::stories_options());
  const auto [status, reply] = srv.post("/v1/embeddings", json{{"input", {"Once upon a time", "The dog ran."}}, {"model", "x"}});
  ASSERT_EQ(status, 200) << reply.dump();
  EXPECT_EQ(reply["object"], "list");
  EXPECT_EQ(reply["model"], "stories260K.gguf");
  api::Model model(server::test_serve::stories());
  const int64_t n = int64_t(model.tokenize("Once upon a time", true).size() + model.tokenize("The dog ran.", true).size());
  EXPECT_EQ(reply["usage"], json({{"prompt_tokens", n}, {"total_tokens", n}}));
  ASSERT_EQ(reply["data"].size(), 2u);
  const char* texts[] = {"Once upon a time", "The dog ran."};
  for (size_t i = 0; i < 2; ++i) {
    const json& e = reply["data"][i];
    EXPECT_EQ(e["object"], "embedding");
    EXPECT_EQ(e["index"], i);
    const std::vector<float> v = e["embedding"];
    ASSERT_EQ(v.size(), 64u);
    double norm = 0;
    for (float x : v) norm += double(x) * x;
    EXPECT_NEAR(norm, 1.0, 1e-5);
    const std::vector<float> expected = unit_mean(model, texts[i]);
    for (size_t k = 0; k < v.size(); ++k) EXPECT_FLOAT_EQ(v[k], expected[k]) << k;
  }
  // One input alone gets the same vector as inside a list.
  const auto single = srv.post("/v1/embeddings", json{{"input", "The dog ran."}});
  EXPECT_EQ(single.second["data"][0]["embedding"], reply["data"][1]["embedding"]);

  auto error = [&](const json& body) { return srv.post("/v1/embeddings", body).second["error"]["message"]; };
  EXPECT_EQ(error(json{{"model", "x"}}), "'input': required, found nothing");
  EXPECT_EQ(error(json{{"input", 5}}), "'input': expected a string or a non-empty array of strings, found 5");
  EXPECT_EQ(error(json{{"input", "a"}, {"encoding_format", "base64"}}),
            "'encoding_format': expected \"float\" (base64 is not served), found \"base64\"");
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += " the dog";
  EXPECT_NE(error(json{{"input", long_text}}).get<std::string>().find("do not fit the context of 128 tokens"),
            std::string::npos);
}

}  // namespace
}  // namespace trident
