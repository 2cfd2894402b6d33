// POST /v1/embeddings: OpenAI's embeddings list. Each input's vector is the mean over its tokens
// of the model's final hidden state (the output norm's result), scaled to unit length: what
// llama-server returns for a model without a pooling layer run with --embeddings --pooling mean
// (its default normalization, embd_normalize 2, is the Euclidean norm).
#include <cmath>

#include "server/state.h"

namespace trident::server {
namespace {

using nlohmann::json;

std::vector<std::string> inputs(const json& body) {
  if (!body.is_object()) bad_field("request body", "a JSON object", body);
  const json* in = field(body, "input");
  if (!in) throw Error("'input': required, found nothing");
  if (in->is_string()) return {in->get<std::string>()};
  if (!in->is_array() || in->empty()) bad_field("input", "a string or a non-empty array of strings", *in);
  std::vector<std::string> out;
  for (const json& s : *in) {
    if (!s.is_string()) bad_field("input", "a string or a non-empty array of strings", *in);
    out.push_back(s.get<std::string>());
  }
  return out;
}

// The unit-length mean of the hidden rows of `tokens`, evaluated in a sequence of their own.
std::vector<float> embed(api::Context& ctx, const std::vector<int32_t>& tokens) {
  const api::SeqId seq = ctx.seq_create();
  struct RemoveSeq {
    api::Context& ctx;
    api::SeqId seq;
    ~RemoveSeq() { ctx.seq_remove(seq); }
  } remove{ctx, seq};
  api::Batch batch;
  for (size_t i = 0; i < tokens.size(); ++i) batch.add(seq, int64_t(i), tokens[i], true);
  std::vector<float> hidden;
  ctx.decode_hidden(batch, hidden);
  const size_t d = size_t(ctx.model().n_embd());
  std::vector<double> sum(d, 0.0);
  for (size_t r = 0; r < tokens.size(); ++r)
    for (size_t i = 0; i < d; ++i) sum[i] += hidden[r * d + i];
  double norm = 0;
  for (double& x : sum) {
    x /= double(tokens.size());
    norm += x * x;
  }
  norm = std::sqrt(norm);
  std::vector<float> out(d);
  for (size_t i = 0; i < d; ++i) out[i] = norm > 0 ? float(sum[i] / norm) : 0.0f;
  return out;
}

void embeddings(ServerState& s, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req);
  const json* format = field(body, "encoding_format");
  if (format && *format != "float") bad_field("encoding_format", "\"float\" (base64 is not served)", *format);
  std::vector<std::vector<int32_t>> prompts;
  int64_t n_tokens = 0;
  for (const std::string& text : inputs(body)) {
    prompts.push_back(s.model.tokenize(text, true));
    check_prompt(prompts.back(), s.ctx.n_ctx(), "input");
    n_tokens += int64_t(prompts.back().size());
  }
  json data = json::array();
  s.scheduler.run_exclusive([&](api::Context& ctx) {  // between two steps, in a free slot
    for (size_t i = 0; i < prompts.size(); ++i)
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", embed(ctx, prompts[i])}});
  });
  s.metrics.prompt_tokens += uint64_t(n_tokens);
  send_json(res, {{"object", "list"},
                  {"data", std::move(data)},
                  {"model", s.model_id},
                  {"usage", {{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}}}});
}

}  // namespace

void add_embeddings_routes(httplib::Server& http, ServerState& s) {
  http.Post("/v1/embeddings", [&s](const httplib::Request& req, httplib::Response& res) { embeddings(s, req, res); });
}

}  // namespace trident::server
