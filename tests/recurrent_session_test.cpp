// Sessions over models with recurrent layers (runtime/recurrent_layers.cpp): each sequence's
// state carries the prefix, so a prompt in one batch, the same tokens one at a time, several
// sequences interleaved in one batch, a copied sequence and a saved / restored one all continue
// with the same bits; prefixes shorter than a sequence cannot be kept or copied.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "convert/synth_skeleton.h"
#include "gguf_edit.h"
#include "model/model.h"
#include "runtime/session.h"
#include "test_util.h"

namespace trident {
namespace {

const std::vector<int32_t> kPrompt = {1, 17, 42, 99, 5, 64, 23, 120, 7, 88, 31, 2, 77, 54, 13, 101};

// A fixture's model (tests/data/archs), built once per family.
const Model& family(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Model>> models;
  auto& m = models[name];
  if (!m) {
    const std::string path = test::temp_path(name + ".gguf");
    synth_from_skeleton(test::source_dir() + "/tests/data/archs/" + name + ".skel.gguf", 7, path, false);
    m = Model::load(path);
  }
  return *m;
}

SessionOptions options(int threads, int64_t n_seq = 1) {
  SessionOptions o;
  o.n_ctx = 64;
  o.n_seq_max = n_seq;
  o.n_threads = threads;
  o.k_type = o.v_type = KvType::F32;
  return o;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Every row's logits of `tokens` on sequence `seq`, rows evaluated `step` at a time.
std::vector<float> run(Session& s, int32_t seq, const std::vector<int32_t>& tokens, size_t step) {
  std::vector<float> all, part;
  for (size_t i = 0; i < tokens.size(); i += step) {
    const size_t n = std::min(step, tokens.size() - i);
    std::vector<int64_t> pos(n);
    std::vector<int32_t> seqs(n, seq);
    std::vector<uint8_t> want(n, 1);
    for (size_t j = 0; j < n; ++j) pos[j] = s.seqs().length(seq) + int64_t(j);
    s.decode({std::span(tokens).subspan(i, n), pos, seqs, want}, part);
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

class RecurrentSession : public ::testing::TestWithParam<std::string> {};

TEST_P(RecurrentSession, BatchEqualsTokenByTokenAndThreadsAgree) {
  const Model& m = family(GetParam());
  ASSERT_TRUE(m.hp().recurrent());
  Session one(m, options(1)), each(m, options(1)), two(m, options(2));
  for (Session* s : {&one, &each, &two}) s->seqs().ensure(0);
  const std::vector<float> batch = run(one, 0, kPrompt, kPrompt.size());
  EXPECT_TRUE(same_bits(batch, run(each, 0, kPrompt, 1))) << "one batch vs one token at a time";
  EXPECT_TRUE(same_bits(batch, run(two, 0, kPrompt, 5))) << "1 thread vs 2, batches of 5";
}

TEST_P(RecurrentSession, InterleavedSequencesKeepTheirOwnState) {
  const Model& m = family(GetParam());
  const std::vector<int32_t> other = {5, 6, 7, 8, 9, 10, 11, 12};
  Session alone(m, options(1));
  alone.seqs().ensure(0);
  const std::vector<float> want0 = run(alone, 0, kPrompt, 4);
  alone.seqs().truncate(0, 0);  // a fresh state
  const std::vector<float> want1 = run(alone, 0, other, 3);

  Session mixed(m, options(2, 2));
  mixed.seqs().ensure(0);
  mixed.seqs().ensure(1);
  // Rows alternate between the sequences, each in its own position order.
  std::vector<int32_t> tok, seq;
  std::vector<int64_t> pos;
  for (size_t i = 0; i < kPrompt.size(); ++i) {
    tok.push_back(kPrompt[i]), seq.push_back(0), pos.push_back(int64_t(i));
    if (i < other.size()) tok.push_back(other[i]), seq.push_back(1), pos.push_back(int64_t(i));
  }
  std::vector<uint8_t> want(tok.size(), 1);
  std::vector<float> got;
  mixed.decode({tok, pos, seq, want}, got);
  const int64_t nv = m.hp().n_vocab;
  size_t r0 = 0, r1 = 0;
  for (size_t r = 0; r < tok.size(); ++r) {
    const std::vector<float>& ref = seq[r] == 0 ? want0 : want1;
    const size_t k = seq[r] == 0 ? r0++ : r1++;
    EXPECT_EQ(0, std::memcmp(got.data() + r * size_t(nv), ref.data() + k * size_t(nv), size_t(nv) * 4)) << "row " << r;
  }
}

TEST_P(RecurrentSession, PrefixesAreKeptWholeOrNotAtAll) {
  const Model& m = family(GetParam());
  Session s(m, options(1, 3));
  s.seqs().ensure(0);
  run(s, 0, std::vector<int32_t>(kPrompt.begin(), kPrompt.begin() + 8), 8);
  EXPECT_EQ(test::error_of([&] { s.seqs().truncate(0, 5); }),
            "sequence 0: cannot keep 5 positions of 8: a recurrent model's state holds the whole sequence (keep all or "
            "none)");
  EXPECT_NE(test::error_of([&] { s.seqs().copy_prefix(0, 5); }), "(no error)");
  // Only a cached sequence that is itself a prefix of the tokens is offered.
  EXPECT_EQ(s.seqs().longest_prefix(kPrompt).n, 8);
  std::vector<int32_t> diverging(kPrompt.begin(), kPrompt.begin() + 6);
  diverging.push_back(3);
  EXPECT_EQ(s.seqs().longest_prefix(diverging).seq, -1);
  // A whole copy continues as the original does.
  const int32_t c = s.seqs().copy_prefix(0, 8);
  const std::vector<int32_t> rest(kPrompt.begin() + 8, kPrompt.end());
  const std::vector<float> a = run(s, 0, rest, 8), b = run(s, c, rest, 8);
  EXPECT_TRUE(same_bits(a, b));
  // Truncating to 0 starts over from a zero state.
  s.seqs().truncate(c, 0);
  const std::vector<float> again = run(s, c, kPrompt, 16);
  Session fresh(m, options(1));
  fresh.seqs().ensure(0);
  EXPECT_TRUE(same_bits(again, run(fresh, 0, kPrompt, 16)));
}

TEST_P(RecurrentSession, SavedSequenceContinuesWithTheSameBits) {
  const Model& m = family(GetParam());
  Session s(m, options(1));
  s.seqs().ensure(0);
  const std::vector<int32_t> head(kPrompt.begin(), kPrompt.begin() + 10), tail(kPrompt.begin() + 10, kPrompt.end());
  run(s, 0, head, 10);
  const std::string path = test::temp_path("recurrent.seq");
  s.save_sequence(0, path);
  const std::vector<float> want = run(s, 0, tail, 1);
  Session t(m, options(1));
  const int32_t id = t.restore_sequence(path);
  EXPECT_TRUE(same_bits(want, run(t, id, tail, 6)));
  // A file cut short is refused, the new sequence removed.
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 4);
  Session u(m, options(1));
  EXPECT_NE(test::error_of([&] { u.restore_sequence(path); }), "(no error)");
  EXPECT_EQ(u.seqs().n_active(), 0);
}

// llama.cpp's plamo2 loader reads attn_qkv only: unfuse leaves it fused, saying why.
TEST(RecurrentFamilies, UnfuseLeavesPlamo2QkvFused) {
  const std::string path = test::temp_path("plamo2-unfuse.gguf");
  synth_from_skeleton(test::source_dir() + "/tests/data/archs/plamo2-dense.skel.gguf", 7, path, false);
  const auto r = test::run_trident("unfuse " + path + " -o " + test::temp_path("plamo2-unfused.gguf"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("reads only attn_qkv for 'plamo2'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing to unfuse (1 group(s) left fused"), std::string::npos) << r.err;
  std::filesystem::remove(path);
}

// nemotron_h: a moe_latent_size other than n_embd needs both latent projections around the
// experts (llama.cpp's graph could not run without them); refused naming the missing one.
TEST(RecurrentFamilies, NemotronHLatentSizeWithoutItsProjectionsIsRefused) {
  const std::string path = test::temp_path("nemotron_h-experts.gguf");
  synth_from_skeleton(test::source_dir() + "/tests/data/archs/nemotron_h-experts.skel.gguf", 7, path, false);
  const std::string bad = test::with_keys(
      path, {{"nemotron_h.moe_latent_size", GgufValue{GgufValueType::UINT32, uint64_t(128)}}}, "nemotron_h-lat.gguf");
  test::expect_cli_error("logits -m " + bad + " --tokens 1,2", "missing tensor 'blk.2.ffn_latent_down.weight'");
  std::filesystem::remove(bad);
  std::filesystem::remove(path);
}

// Every fixture whose model has recurrent layers.
std::vector<std::string> recurrent_fixtures() {
  std::vector<std::string> names;
  for (const char* n : {"lfm2-dense", "lfm2moe-moe", "mamba-dense", "mamba2-dense", "jamba-dense", "granitehybrid-dense",
                        "nemotron_h-dense", "nemotron_h_moe-dense", "nemotron_h-experts", "nemotron_h_moe-latent",
                        "falcon-h1-dense", "plamo2-dense", "qwen35-vheads4", "qwen35moe-moe", "qwen3next-ssmin-vheads4",
                        "jamba-moe", "kimi-linear-moe", "kimi-linear-heads2"})
    if (std::filesystem::exists(test::source_dir() + "/tests/data/archs/" + n + ".skel.gguf")) names.push_back(n);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Families, RecurrentSession, ::testing::ValuesIn(recurrent_fixtures()),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

}  // namespace
}  // namespace trident
