// Several sequences in one forward pass (runtime/seq_pool.h, Session::decode): every row's
// logits must have exactly the bits the same sequence gets evaluated alone with the
// single-sequence path, whatever the batch mixes (prompt chunks and decode steps of other
// sequences, rows interleaved, micro-batch boundaries anywhere), fused or not, 1 or 2 threads.
// Also prefix reuse, truncation, slot reuse and sequence files.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "format/error.h"
#include "model/model.h"
#include "runtime/session.h"
#include "test_util.h"

namespace trident {
namespace {

using test::error_of;

struct BatchCase {
  std::string model;  // test::golden_model name
  FusionMode fuse;
  int threads;
  bool repack = true;  // off: every tile packed on the fly
};

// gtest would print the struct's bytes, padding included.
void PrintTo(const BatchCase& c, std::ostream* os) {
  *os << c.model << (c.fuse == FusionMode::On ? " fused" : " unfused") << " t" << c.threads << (c.repack ? "" : " no-repack");
}

std::string case_name(const ::testing::TestParamInfo<BatchCase>& info) {
  std::string s = info.param.model.substr(info.param.model.rfind('/') + 1);
  s = s.substr(0, s.find(".gguf"));
  s += info.param.fuse == FusionMode::On ? "_fused" : "_unfused";
  s += "_t" + std::to_string(info.param.threads);
  if (!info.param.repack) s += "_norepack";
  for (char& c : s)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

SessionOptions session_opts(FusionMode fuse, int threads, int64_t n_seq_max, int64_t ubatch) {
  SessionOptions o;
  o.n_ctx = 160;
  o.n_seq_max = n_seq_max;
  o.n_ubatch = ubatch;
  o.n_threads = threads;
  o.fuse_qkv = fuse;
  o.fuse_gate_up = fuse;
  return o;
}

// Token ids of 8 sequences: prompts of different lengths, then the decode tokens that follow.
std::vector<std::vector<int32_t>> eight_sequences(int64_t n_vocab) {
  const int lengths[8] = {3, 17, 40, 1, 9, 70, 25, 66};
  std::mt19937 rng(42);
  std::vector<std::vector<int32_t>> seqs(8);
  for (int s = 0; s < 8; ++s)
    for (int i = 0; i < lengths[s] + 6; ++i) seqs[size_t(s)].push_back(int32_t(rng() % uint32_t(n_vocab)));
  return seqs;
}

int64_t prompt_length(const std::vector<int32_t>& seq) { return int64_t(seq.size()) - 6; }

class MultiSequence : public ::testing::TestWithParam<BatchCase> {};

TEST_P(MultiSequence, EightSequencesInMixedBatchesEqualTheirSoloLogits) {
  const BatchCase& c = GetParam();
  LoadOptions lo;
  lo.repack = c.repack;
  const auto model = Model::load(test::golden_model(c.model), lo);
  const int64_t nv = model->hp().n_vocab;
  const auto seqs = eight_sequences(nv);

  // Alone: each sequence through the single-sequence path, every position's logits.
  std::vector<std::vector<float>> solo;
  for (const auto& ids : seqs) {
    Session s(*model, session_opts(c.fuse, c.threads, 1, 512));
    std::vector<float> logits;
    s.eval(std::span<const int32_t>(ids).first(size_t(prompt_length(ids))), true, logits);
    for (size_t i = size_t(prompt_length(ids)); i < ids.size(); ++i) {
      std::vector<float> one;
      s.eval(std::span<const int32_t>(&ids[i], 1), true, one);
      logits.insert(logits.end(), one.begin(), one.end());
    }
    solo.push_back(std::move(logits));
  }

  // Together: sequences join at different steps; each step every running sequence adds a
  // prompt chunk of a varying size or one decode token, rows of different sequences
  // interleaved, micro-batches of 24 rows cutting through sequences.
  Session s(*model, session_opts(c.fuse, c.threads, 8, 24));
  std::vector<int64_t> done(8, 0);
  int64_t rows_checked = 0, max_rows = 0;
  for (int step = 0; rows_checked < int64_t(8 * 6 + 231); ++step) {
    std::vector<std::vector<int32_t>> parts(8);
    for (int q = 0; q < 8; ++q) {
      if (step < q / 2 || done[size_t(q)] == int64_t(seqs[size_t(q)].size())) continue;
      if (done[size_t(q)] == 0 && step == q / 2) s.seqs().ensure(q);
      const int64_t left_prompt = prompt_length(seqs[size_t(q)]) - done[size_t(q)];
      const int64_t n = left_prompt > 0 ? std::min<int64_t>(left_prompt, 1 + (step * 7 + q * 3) % 13) : 1;
      for (int64_t i = 0; i < n; ++i) parts[size_t(q)].push_back(seqs[size_t(q)][size_t(done[size_t(q)] + i)]);
    }
    // Interleave: round-robin over sequences, one row each, so a sequence's rows are split by
    // other sequences' rows (each sequence's own order kept).
    std::vector<int32_t> tok, seq;
    std::vector<int64_t> pos;
    for (size_t r = 0;; ++r) {
      bool any = false;
      for (int q = 0; q < 8; ++q)
        if (r < parts[size_t(q)].size()) {
          tok.push_back(parts[size_t(q)][r]);
          seq.push_back(q);
          pos.push_back(done[size_t(q)] + int64_t(r));
          any = true;
        }
      if (!any) break;
    }
    if (step % 3 == 0) {  // and sometimes each sequence's rows together
      tok.clear(), seq.clear(), pos.clear();
      for (int q = 0; q < 8; ++q)
        for (size_t r = 0; r < parts[size_t(q)].size(); ++r) {
          tok.push_back(parts[size_t(q)][r]);
          seq.push_back(q);
          pos.push_back(done[size_t(q)] + int64_t(r));
        }
    }
    ASSERT_FALSE(tok.empty());
    const std::vector<uint8_t> want(tok.size(), 1);
    std::vector<float> logits;
    s.decode({tok, pos, seq, want}, logits);
    ASSERT_EQ(logits.size(), tok.size() * size_t(nv));
    for (size_t r = 0; r < tok.size(); ++r) {
      const float* want_row = solo[size_t(seq[r])].data() + pos[r] * nv;
      ASSERT_EQ(std::memcmp(logits.data() + r * size_t(nv), want_row, size_t(nv) * 4), 0)
          << "step " << step << " row " << r << ": sequence " << seq[r] << " position " << pos[r];
    }
    for (int q = 0; q < 8; ++q) done[size_t(q)] += int64_t(parts[size_t(q)].size());
    rows_checked += int64_t(tok.size());
    max_rows = std::max<int64_t>(max_rows, int64_t(tok.size()));
  }
  for (int q = 0; q < 8; ++q) EXPECT_EQ(s.seqs().length(q), int64_t(seqs[size_t(q)].size()));
  EXPECT_GT(max_rows, 24) << "some batch should span several micro-batches";
}

INSTANTIATE_TEST_SUITE_P(
    Models, MultiSequence,
    ::testing::Values(BatchCase{"stories260K.gguf", FusionMode::On, 1}, BatchCase{"stories260K.gguf", FusionMode::Off, 2},
                      BatchCase{"stories260K.gguf", FusionMode::On, 2}, BatchCase{"stories260K.gguf", FusionMode::Off, 1},
                      BatchCase{"tests/data/tiny-starcoder2-f32.gguf", FusionMode::On, 1},
                      BatchCase{"tests/data/tiny-starcoder2-f32.gguf", FusionMode::Off, 2},
                      BatchCase{"tiny-qwen3-q4_k_m.gguf", FusionMode::On, 2},
                      BatchCase{"tiny-qwen3-q4_k_m.gguf", FusionMode::Off, 1},
                      BatchCase{"tiny-llama-q4_0.gguf", FusionMode::On, 2},
                      BatchCase{"tiny-llama-q4_0.gguf", FusionMode::On, 2, false},
                      BatchCase{"tiny-qwen3-q6_k.gguf", FusionMode::Off, 2, false},
                      BatchCase{"tiny-gemma3-f32.gguf", FusionMode::On, 2},
                      BatchCase{"tiny-qwen3moe-f32.gguf", FusionMode::On, 2},
                      BatchCase{"tiny-qwen3moe-f32.gguf", FusionMode::Off, 1}),
    case_name);

std::vector<float> last_row(const std::vector<float>& logits, int64_t nv) {
  return std::vector<float>(logits.end() - nv, logits.end());
}

TEST(MultiSequence, PrefixReuseEqualsFullEvaluation) {
  const auto model = Model::load(test::golden_model("stories260K.gguf"));
  const int64_t nv = model->hp().n_vocab;
  const std::vector<int32_t> a = {1, 403, 407, 261, 378, 288, 1485 % 512, 90, 77, 61};
  std::vector<int32_t> b(a.begin(), a.begin() + 7);
  b.insert(b.end(), {33, 44, 55});
  Session s(*model, session_opts(FusionMode::On, 1, 4, 512));
  std::vector<float> logits;
  s.eval(a, false, logits);  // sequence 0
  const PrefixMatch m = s.seqs().longest_prefix(b);
  EXPECT_EQ(m.seq, 0);
  EXPECT_EQ(m.n, 7);
  const int32_t c = s.seqs().copy_prefix(m.seq, m.n);
  std::vector<int64_t> pos;
  std::vector<int32_t> seq;
  for (int64_t p = m.n; p < int64_t(b.size()); ++p) pos.push_back(p), seq.push_back(c);
  const std::vector<uint8_t> want = {0, 0, 1};
  std::vector<float> reused;
  s.decode({std::span<const int32_t>(b).subspan(size_t(m.n)), pos, seq, want}, reused);

  Session full(*model, session_opts(FusionMode::On, 1, 1, 512));
  std::vector<float> ref;
  full.eval(b, false, ref);
  EXPECT_EQ(reused, ref);

  // Truncating sequence 0 to the shared prefix and continuing it the same way gives the same.
  s.seqs().truncate(0, m.n);
  std::vector<int32_t> seq0(3, 0);
  std::vector<float> again;
  s.decode({std::span<const int32_t>(b).subspan(size_t(m.n)), pos, seq0, want}, again);
  EXPECT_EQ(again, ref);
  EXPECT_EQ(last_row(ref, nv).size(), size_t(nv));

  // Copying the prefix over an existing sequence does too.
  const int32_t d = s.seqs().create();
  s.seqs().copy_prefix(0, m.n, d);
  std::vector<int32_t> seq_d(3, d);
  std::vector<float> onto;
  s.decode({std::span<const int32_t>(b).subspan(size_t(m.n)), pos, seq_d, want}, onto);
  EXPECT_EQ(onto, ref);
  EXPECT_EQ(error_of([&] { s.seqs().copy_prefix(d, 1, d); }), "sequence 2: cannot copy onto itself (truncate it instead)");

  // A removed sequence's slot comes back empty and computes as new.
  s.seqs().remove(c);
  EXPECT_EQ(s.seqs().create(), c);
  EXPECT_EQ(s.seqs().length(c), 0);
  std::vector<int64_t> pos_b(b.size());
  for (size_t i = 0; i < b.size(); ++i) pos_b[i] = int64_t(i);
  std::vector<int32_t> seq_c(b.size(), c);
  std::vector<uint8_t> want_last(b.size(), 0);
  want_last.back() = 1;
  std::vector<float> fresh;
  s.decode({b, pos_b, seq_c, want_last}, fresh);
  EXPECT_EQ(fresh, ref);
}

TEST(MultiSequence, SaveRestoreContinueEqualsUninterrupted) {
  const auto model = Model::load(test::golden_model("tiny-qwen3-q4_k_m.gguf"));
  const std::vector<int32_t> first = {1, 17, 42, 99, 5, 64, 23, 120, 7, 88}, rest = {31, 2, 77, 54};
  std::vector<int32_t> all = first;
  all.insert(all.end(), rest.begin(), rest.end());
  Session ref(*model, session_opts(FusionMode::On, 2, 1, 512));
  std::vector<float> want;
  ref.eval(all, true, want);

  const std::string path = test::temp_path("seq.tseq");
  {
    Session s(*model, session_opts(FusionMode::On, 2, 2, 512));
    std::vector<float> logits;
    s.eval(first, false, logits);
    s.save_sequence(0, path);
  }
  Session s(*model, session_opts(FusionMode::On, 2, 2, 512));
  s.seqs().create();  // id 0 in use: the restore gets id 1
  const int32_t id = s.restore_sequence(path);
  EXPECT_EQ(id, 1);
  EXPECT_EQ(std::vector<int32_t>(s.seqs().tokens(id).begin(), s.seqs().tokens(id).end()), first);
  std::vector<int64_t> pos;
  for (size_t i = 0; i < rest.size(); ++i) pos.push_back(int64_t(first.size() + i));
  const std::vector<int32_t> seq(rest.size(), id);
  const std::vector<uint8_t> all_rows(rest.size(), 1);
  std::vector<float> got;
  s.decode({rest, pos, seq, all_rows}, got);
  const int64_t nv = model->hp().n_vocab;
  EXPECT_EQ(got, std::vector<float>(want.end() - int64_t(rest.size()) * nv, want.end()));
  std::filesystem::remove(path);
}

TEST(MultiSequence, SequenceFileErrors) {
  const auto model = Model::load(test::golden_model("stories260K.gguf"));
  const std::vector<int32_t> ids = {1, 5, 6, 7, 8, 9};
  Session s(*model, session_opts(FusionMode::On, 1, 2, 512));
  std::vector<float> logits;
  s.eval(ids, false, logits);
  const std::string path = test::temp_path("good.tseq");
  s.save_sequence(0, path);
  const auto size = std::filesystem::file_size(path);
  EXPECT_EQ(size, 48 + 6 * 4 + 5 * 2 * 6 * 32 * 2u);  // header, tokens, 5 layers x K,V x 6 rows x 32 f16

  const std::string bad = test::temp_path("bad.tseq");
  std::ofstream(bad) << "hello, not a sequence file at all; long enough to hold a header.....";
  EXPECT_EQ(error_of([&] { s.restore_sequence(bad); }), bad + ": not a trident sequence file (expected the magic TRIDSEQ1)");
  std::filesystem::copy_file(path, bad, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(bad, size - 1);
  EXPECT_EQ(error_of([&] { s.restore_sequence(bad); }),
            bad + ": " + std::to_string(size - 1) + " bytes, expected " + std::to_string(size) + " for 6 tokens");
  EXPECT_EQ(error_of([&] { s.restore_sequence(test::temp_path("absent.tseq")); }).find("cannot open"),
            test::temp_path("absent.tseq").size() + 2);

  SessionOptions f32 = session_opts(FusionMode::On, 1, 2, 512);
  f32.k_type = KvType::F32;
  Session other_types(*model, f32);
  EXPECT_EQ(error_of([&] { other_types.restore_sequence(path); }),
            path + ": K/V types f16/f16 differ from this context's f32/f16");
  SessionOptions small = session_opts(FusionMode::On, 1, 2, 512);
  small.n_ctx = 4;
  Session short_ctx(*model, small);
  EXPECT_EQ(error_of([&] { short_ctx.restore_sequence(path); }), path + ": 6 tokens do not fit the context of 4");

  const auto other = Model::load(test::golden_model("tests/data/tiny-starcoder2-f32.gguf"));
  Session foreign(*other, session_opts(FusionMode::On, 1, 2, 512));
  EXPECT_EQ(error_of([&] { foreign.restore_sequence(path); }),
            path + ": saved from a different model than " + other->file().path());
  EXPECT_EQ(error_of([&] { s.save_sequence(1, path); }), "sequence 1 does not exist");
  // A full pool refuses the restore; nothing partial remains.
  s.seqs().create();
  EXPECT_EQ(error_of([&] { s.restore_sequence(path); }),
            "no free sequence: all 2 are in use (raise the sequence count or remove one)");
  std::filesystem::remove(path);
  std::filesystem::remove(bad);
}

TEST(MultiSequence, PoolBounds) {
  const auto model = Model::load(test::golden_model("stories260K.gguf"));
  EXPECT_EQ(error_of([&] { Session(*model, session_opts(FusionMode::On, 1, 1025, 512)); }),
            "invalid sequence count 1025 (expected 1..1024)");
  Session s(*model, session_opts(FusionMode::On, 1, 3, 512));
  EXPECT_EQ(error_of([&] { s.seqs().ensure(3); }), "sequence id 3 is outside 0..2");
  EXPECT_EQ(error_of([&] { s.seqs().copy_prefix(0, 0); }), "sequence 0 does not exist");
  s.seqs().create();
  EXPECT_EQ(error_of([&] { s.seqs().copy_prefix(0, 1); }), "sequence 0: cannot copy 1 positions of 0");
  // The single-sequence wrapper keeps its messages.
  std::vector<float> logits;
  std::vector<int32_t> big(161, 5);
  EXPECT_EQ(error_of([&] { s.eval(big, false, logits); }),
            "161 tokens after 0 already evaluated do not fit the context of 160 (use -c)");
}

}  // namespace
}  // namespace trident
