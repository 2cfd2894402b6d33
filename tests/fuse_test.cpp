// `trident fuse` / `unfuse`: the rewrite is lossless (fuse then unfuse gives back every tensor
// byte for byte), matches the independently generated fused twins, changes no logit bit, and
// reports what it leaves alone.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "format/error.h"
#include "format/gguf_writer.h"
#include "convert/fuse_rewrite.h"
#include "convert/synth_skeleton.h"
#include "model/model.h"
#include "runtime/session.h"
#include "tensor/types.h"
#include "gguf_craft.h"
#include "test_util.h"

namespace trident {
namespace {

namespace fs = std::filesystem;

const std::vector<int32_t> kPrompt = {1, 403, 407, 261, 378, 432, 383, 286};

struct TensorRecord {
  GgmlType type;
  std::vector<int64_t> ne;
  std::string bytes;
  bool operator==(const TensorRecord&) const = default;
};

std::map<std::string, TensorRecord> tensors_of(const GgufFile& f) {
  std::map<std::string, TensorRecord> m;
  for (const GgufTensorInfo& t : f.tensors())
    m[t.name] = {t.type, std::vector<int64_t>(t.ne, t.ne + t.n_dims),
                 std::string(reinterpret_cast<const char*>(f.tensor_data(t)), t.n_bytes)};
  return m;
}

bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.v.index() != b.v.index()) return false;
  const GgufArray *x = a.as_array(), *y = b.as_array();
  if (!x) {
    if (const std::string* s = a.as_string()) return *s == *b.as_string();
    if (auto* u = std::get_if<uint64_t>(&a.v)) return *u == std::get<uint64_t>(b.v);
    if (auto* i = std::get_if<int64_t>(&a.v)) return *i == std::get<int64_t>(b.v);
    if (auto* d = std::get_if<double>(&a.v)) return std::memcmp(d, &std::get<double>(b.v), sizeof(double)) == 0;
    return std::get<bool>(a.v) == std::get<bool>(b.v);
  }
  if (x->elem_type != y->elem_type || x->size() != y->size()) return false;
  for (auto i = x->begin(), j = y->begin(); i != x->end(); ++i, ++j)
    if (!same_value(*i, *j)) return false;
  return true;
}

void expect_same_metadata(const GgufFile& a, const GgufFile& b) {
  ASSERT_EQ(a.metadata().size(), b.metadata().size());
  for (size_t i = 0; i < a.metadata().size(); ++i) {
    EXPECT_EQ(a.metadata()[i].key, b.metadata()[i].key);
    EXPECT_TRUE(same_value(a.metadata()[i].value, b.metadata()[i].value)) << a.metadata()[i].key;
  }
}

std::string fuse_file(const std::string& in, const FuseOptions& opt, RewritePlan* plan_out = nullptr) {
  auto f = GgufFile::open(in);
  RewritePlan plan = plan_fuse(*f, opt);
  const std::string out = test::temp_path("fused.gguf");
  write_rewrite(*f, plan, out, {});
  if (plan_out) *plan_out = plan;
  return out;
}

std::string unfuse_file(const std::string& in) {
  auto f = GgufFile::open(in);
  const std::string out = test::temp_path("unfused.gguf");
  write_rewrite(*f, plan_unfuse(*f), out, {});
  return out;
}

std::vector<float> logits(const Model& m, FusionMode fuse) {
  return test::eval_logits(m, kPrompt, fuse, 1, 64);
}

struct RoundTripCase {
  const char* file;
  int qkv_fused;        // layers whose Q/K/V become attn_qkv
  int exps_fused;       // layers whose gate/up experts become ffn_gate_up_exps
  bool same_file;       // groups stored contiguously in part order: the bytes come back whole
};

const RoundTripCase kRoundTrips[] = {
    {"tiny-llama-f32.gguf", 2, 0, true},   {"tiny-llama-q8_0.gguf", 2, 0, false},
    {"tiny-llama-q4_0.gguf", 2, 0, false}, {"tiny-qwen2-f32.gguf", 2, 0, true},
    {"tiny-qwen3-q4_k_m.gguf", 1, 0, false}, {"tiny-qwen3moe-f32.gguf", 2, 2, true},
};

class FuseRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(FuseRoundTrip, UnfuseRestoresEveryTensorAndLogitsAreBitIdentical) {
  const RoundTripCase& c = GetParam();
  const std::string in = test::golden_model(c.file);
  RewritePlan plan;
  const std::string fused = fuse_file(in, {}, &plan);
  const std::string back = unfuse_file(fused);

  auto fi = GgufFile::open(in), ff = GgufFile::open(fused), fb = GgufFile::open(back);
  int qkv = 0, exps = 0;
  for (const auto& t : ff->tensors()) {
    qkv += t.name.ends_with("attn_qkv.weight");
    exps += t.name.ends_with("ffn_gate_up_exps.weight");
    EXPECT_FALSE(t.name.ends_with("attn_q.bias")) << t.name << ": biases fuse with their weights";
  }
  EXPECT_EQ(qkv, c.qkv_fused);
  EXPECT_EQ(exps, c.exps_fused);
  EXPECT_EQ(plan.groups_rewritten, c.qkv_fused + c.exps_fused);
  expect_same_metadata(*fi, *ff);
  expect_same_metadata(*fi, *fb);
  EXPECT_TRUE(tensors_of(*fi) == tensors_of(*fb)) << c.file << ": unfuse(fuse(x)) differs from x";
  if (c.same_file) {
    EXPECT_EQ(test::read_bytes(back), test::read_bytes(in)) << c.file;
  }

  auto mi = Model::load(in), mf = Model::load(fused);
  for (FusionMode mode : {FusionMode::On, FusionMode::Off})
    EXPECT_EQ(logits(*mi, mode), logits(*mf, mode)) << c.file << " --fuse-qkv " << fusion_mode_name(mode);
  for (const auto& p : {fused, back}) fs::remove(p);
}

INSTANTIATE_TEST_SUITE_P(Fuse, FuseRoundTrip, ::testing::ValuesIn(kRoundTrips),
                         [](const auto& info) {
                           std::string s = info.param.file;
                           s = s.substr(0, s.size() - 5);
                           for (char& ch : s)
                             if (!isalnum((unsigned char)ch)) ch = '_';
                           return s;
                         });

// The published *-fusedqkv-f32 twins were generated independently (same draws, concatenated):
// fusing the base file must give their tensors exactly, and unfusing them the base tensors.
TEST(Fuse, MatchesIndependentlyGeneratedFusedTwins) {
  for (const char* arch : {"llama", "qwen2", "qwen3"}) {
    const std::string base = test::golden_model(fmt::format("tiny-{}-f32.gguf", arch));
    const std::string twin = test::golden_model(fmt::format("tiny-{}-fusedqkv-f32.gguf", arch));
    FuseOptions opt;
    opt.gate_up = false;
    const std::string fused = fuse_file(base, opt);
    const std::string unfused = unfuse_file(twin);
    EXPECT_TRUE(tensors_of(*GgufFile::open(fused)) == tensors_of(*GgufFile::open(twin))) << arch;
    EXPECT_TRUE(tensors_of(*GgufFile::open(unfused)) == tensors_of(*GgufFile::open(base))) << arch;
    fs::remove(fused);
    fs::remove(unfused);
  }
}

// Per expert, the fused slice holds that expert's gate rows, then its up rows.
TEST(Fuse, GateUpExpertsAreGateRowsThenUpRowsPerExpert) {
  const std::string in = test::golden_model("tiny-qwen3moe-f32.gguf");
  FuseOptions opt;
  opt.qkv = false;
  const std::string out = fuse_file(in, opt);
  auto fi = GgufFile::open(in), fo = GgufFile::open(out);
  const GgufTensorInfo& gate = *fi->find_tensor("blk.1.ffn_gate_exps.weight");
  const GgufTensorInfo& up = *fi->find_tensor("blk.1.ffn_up_exps.weight");
  const GgufTensorInfo* gu = fo->find_tensor("blk.1.ffn_gate_up_exps.weight");
  ASSERT_NE(gu, nullptr);
  EXPECT_EQ(std::vector<int64_t>(gu->ne, gu->ne + 3), (std::vector<int64_t>{256, 512, 4}));
  EXPECT_NE(fo->find_tensor("blk.0.attn_q.weight"), nullptr) << "--gate-up alone leaves Q/K/V";
  const size_t slice = gate.n_bytes / 4;
  for (size_t e = 0; e < 4; ++e) {
    const uint8_t* f = fo->tensor_data(*gu) + e * 2 * slice;
    EXPECT_EQ(0, std::memcmp(f, fi->tensor_data(gate) + e * slice, slice)) << "expert " << e << " gate";
    EXPECT_EQ(0, std::memcmp(f + slice, fi->tensor_data(up) + e * slice, slice)) << "expert " << e << " up";
  }
  fs::remove(out);
}

// Q4_K_M stores blk.1.attn_v as q6_K: that layer is named on stderr and left unfused.
TEST(Fuse, MixedTypesAreReportedAndLeftUnfused) {
  const std::string out = test::temp_path("mixed.gguf");
  const auto r = test::run_trident("fuse " + test::golden_model("tiny-qwen3-q4_k_m.gguf") + " -o " + out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("blk.1: attn_q q4_K, attn_k q4_K, attn_v q6_K differ: left unfused (use --requant TYPE)\n"),
            std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("blk.0:"), std::string::npos) << r.err;
  auto f = GgufFile::open(out);
  EXPECT_NE(f->find_tensor("blk.0.attn_qkv.weight"), nullptr);
  EXPECT_EQ(f->find_tensor("blk.1.attn_qkv.weight"), nullptr);
  EXPECT_NE(f->find_tensor("blk.1.attn_v.weight"), nullptr);
  fs::remove(out);
}

// --requant q4_K fuses that layer too: V is dequantized and quantized with the reference
// quantizer, Q and K (already q4_K) keep their bytes, and the file loads and runs.
TEST(Fuse, RequantFusesMixedLayerAndTheFileRuns) {
  const std::string in = test::golden_model("tiny-qwen3-q4_k_m.gguf");
  FuseOptions opt;
  opt.requant = GgmlType::Q4_K;
  RewritePlan plan;
  const std::string out = fuse_file(in, opt, &plan);
  ASSERT_EQ(plan.notes.size(), 2u);
  EXPECT_EQ(plan.notes[0], "blk.1: attn_q q4_K, attn_k q4_K, attn_v q6_K differ: requantized attn_v to q4_K, fused");
  auto fi = GgufFile::open(in), fo = GgufFile::open(out);
  const GgufTensorInfo* qkv = fo->find_tensor("blk.1.attn_qkv.weight");
  ASSERT_NE(qkv, nullptr);
  EXPECT_EQ(qkv->type, GgmlType::Q4_K);
  const GgufTensorInfo& q = *fi->find_tensor("blk.1.attn_q.weight");
  const GgufTensorInfo& v = *fi->find_tensor("blk.1.attn_v.weight");
  EXPECT_EQ(0, std::memcmp(fo->tensor_data(*qkv), fi->tensor_data(q), q.n_bytes));
  std::vector<float> row(256);
  std::vector<uint8_t> want(row_bytes(GgmlType::Q4_K, 256));
  const size_t v_at = row_bytes(GgmlType::Q4_K, 256) * 384;  // after the Q and K rows
  type_traits(GgmlType::Q6_K)->dequantize_row(fi->tensor_data(v), row.data(), 256);
  type_traits(GgmlType::Q4_K)->quantize_row(row.data(), want.data(), 256);
  EXPECT_EQ(0, std::memcmp(fo->tensor_data(*qkv) + v_at, want.data(), want.size()));
  auto m = Model::load(out);
  const std::vector<float> l = logits(*m, FusionMode::On);
  for (float x : l) ASSERT_TRUE(std::isfinite(x));
  EXPECT_EQ(l, logits(*m, FusionMode::Off));
  fs::remove(out);
}

// phi3 stores Q/K/V fused natively; unfusing it splits them by the hyper-parameters, and the
// split file computes the same bits.
TEST(Fuse, UnfuseNativePhi3QkvKeepsLogits) {
  const std::string in = test::golden_model("tiny-phi3-f32.gguf");
  const std::string out = unfuse_file(in);
  auto f = GgufFile::open(out);
  EXPECT_EQ(f->find_tensor("blk.0.attn_qkv.weight"), nullptr);
  EXPECT_EQ(f->find_tensor("blk.0.attn_k.weight")->ne[1], 128);
  EXPECT_EQ(f->find_tensor("blk.0.ffn_up.weight")->ne[1], 1024) << "phi3's gate/up stays as llama.cpp reads it";
  auto mi = Model::load(in), mo = Model::load(out);
  EXPECT_EQ(logits(*mi, FusionMode::Off), logits(*mo, FusionMode::Off));
  fs::remove(out);
}

// phi3 is the one architecture whose llama.cpp loader reads dense gate/up fused (as a
// double-height ffn_up, gate rows first): a phi3 file with them apart fuses back to exactly
// the published file.
TEST(Fuse, Phi3SeparateGateUpFusesToDoubleHeightFfnUp) {
  const std::string in = test::golden_model("tiny-phi3-f32.gguf");
  auto f = GgufFile::open(in);
  GgufWriter w;
  w.copy_metadata(*f);
  const GgufFile* fp = f.get();
  for (const GgufTensorInfo& t : f->tensors()) {
    const GgufTensorInfo* tp = &t;
    if (!t.name.ends_with("ffn_up.weight")) {
      w.add_tensor({t.name, t.type, std::vector<int64_t>(t.ne, t.ne + t.n_dims),
                    [fp, tp](const auto& emit) { emit(fp->tensor_data(*tp), tp->n_bytes); }});
      continue;
    }
    const std::string layer = t.name.substr(0, t.name.size() - std::string("ffn_up.weight").size());
    for (int half = 0; half < 2; ++half)
      w.add_tensor({layer + (half ? "ffn_up.weight" : "ffn_gate.weight"), t.type, {t.ne[0], t.ne[1] / 2},
                    [fp, tp, half](const auto& emit) {
                      emit(fp->tensor_data(*tp) + half * tp->n_bytes / 2, tp->n_bytes / 2);
                    }});
  }
  const std::string split = test::temp_path("phi3-split.gguf");
  w.write(split);
  FuseOptions opt;
  opt.qkv = false;
  RewritePlan plan;
  const std::string fused = fuse_file(split, opt, &plan);
  EXPECT_EQ(plan.groups_rewritten, 2);
  EXPECT_TRUE(plan.notes.empty()) << plan.notes.front();
  EXPECT_EQ(test::read_bytes(fused), test::read_bytes(in));
  fs::remove(split);
  fs::remove(fused);
}

TEST(Fuse, CliReportsDenseGateUpAndWritesSummary) {
  const std::string out = test::temp_path("llama.gguf");
  const auto r = test::run_trident("fuse " + test::golden_model("tiny-llama-f32.gguf") + " -o " + out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("ffn_gate/ffn_up (2 layers): left unfused: llama.cpp has no fused dense gate/up tensor for 'llama'"),
            std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "no progress line when stderr is not a terminal";
  EXPECT_NE(r.out.find("fused 2 group(s)"), std::string::npos) << r.out;
  fs::remove(out);
}

TEST(Fuse, CliErrors) {
  const std::string llama = test::golden_model("tiny-llama-f32.gguf");
  // An existing output is refused without --force and left untouched; --force replaces it.
  const std::string out = test::temp_path("exists.gguf");
  test::write_bytes(out, "keep me");
  auto r = test::run_trident("fuse " + llama + " -o " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("trident: error: " + out + ": output exists (use --force to overwrite)"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_bytes(out), "keep me");
  r = test::run_trident("fuse " + llama + " -o " + out + " --force");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NO_THROW(Model::load(out));

  r = test::run_trident("fuse /nonexistent/in.gguf -o " + test::temp_path("x.gguf"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("trident: error: /nonexistent/in.gguf: cannot open: No such file or directory"), std::string::npos) << r.err;

  // phi3 has nothing separate to fuse; a plain llama file has nothing fused to split.
  const std::string none = test::temp_path("none.gguf");
  r = test::run_trident("fuse " + test::golden_model("tiny-phi3-f32.gguf") + " -o " + none);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tiny-phi3-f32.gguf: nothing to fuse (no layer stores Q/K/V or gate/up experts as separate tensors)"),
            std::string::npos) << r.err;
  r = test::run_trident("fuse " + llama + " --gate-up -o " + none);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nothing to fuse (2 group(s) left unfused, see above)"), std::string::npos) << r.err;
  r = test::run_trident("unfuse " + llama + " -o " + none);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nothing to unfuse"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(none));

  r = test::run_trident("fuse " + out + " -o " + out + " --force");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("output is the input file"), std::string::npos) << r.err;
  r = test::run_trident("fuse " + llama + " --requant q9_9 -o " + none);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--requant: unknown type 'q9_9'"), std::string::npos) << r.err;
  fs::remove(out);
}

// A fused tensor whose height disagrees with the hyper-parameters is refused by unfuse.
TEST(Fuse, UnfuseRejectsQkvWiderThanHyperParameters) {
  const std::string in = test::golden_model("tiny-llama-fusedqkv-f32.gguf");
  auto f = GgufFile::open(in);
  GgufWriter w;
  w.copy_metadata(*f);
  w.set_u32("llama.attention.head_count_kv", 1);
  const GgufFile* fp = f.get();
  for (const GgufTensorInfo& t : f->tensors())
    w.add_tensor({t.name, t.type, std::vector<int64_t>(t.ne, t.ne + t.n_dims),
                  [fp, &t](const auto& emit) { emit(fp->tensor_data(t), t.n_bytes); }});
  const std::string bad = test::temp_path("badqkv.gguf");
  w.write(bad);
  auto fb = GgufFile::open(bad);
  try {
    plan_unfuse(*fb);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'blk.0.attn_qkv.weight': expected 384 rows (n_q 256 + 2 x n_kv 64 "
                                         "from the hyper-parameters), found 512"),
              std::string::npos) << e.what();
  }
  fs::remove(bad);
}

// The rewriter trusts only what the reader validated: on mutants of a real file, fuse and
// unfuse either write a file that opens again or throw trident::Error.
TEST(Fuse, MutantsRewriteOrFailCleanly) {
  const std::string src = test::golden_model("tiny-qwen3-q4_k_m.gguf");
  test::FileMutator mut(src, test::temp_path("mutant.gguf"), GgufFile::open(src)->data_offset(), 7);
  const std::string out = test::temp_path("mutant-out.gguf");
  GgufWriteOptions wo;
  wo.overwrite = true;
  int written = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const std::string what = mut.next();
    for (bool fuse : {true, false}) {
      try {
        auto f = GgufFile::open(mut.path());
        FuseOptions opt;
        opt.requant = GgmlType::Q4_K;
        write_rewrite(*f, fuse ? plan_fuse(*f, opt) : plan_unfuse(*f), out, wo);
        GgufFile::open(out);
        ++written;
      } catch (const Error&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << "mutation " << iter << " " << what << ": " << e.what();
      }
    }
  }
  EXPECT_GT(written, 30);
  fs::remove(out);
}

}  // namespace
}  // namespace trident

namespace trident {
namespace {

// Without --gate-up, fuse keeps the output loadable by llama.cpp, whose qwen3moe loader (at the
// golden commit) reads only separate expert gate/up tensors; with it, experts are fused.
TEST(FuseCli, ExpertGateUpFusedOnlyWhenAskedForArchsLlamaCppCannotRead) {
  const std::string in = test::golden_model("tiny-qwen3moe-f32.gguf");
  const std::string a = test::temp_path("moe-default.gguf"), b = test::temp_path("moe-gate-up.gguf");
  auto r = test::run_trident("fuse " + in + " -o " + a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("does not read ffn_gate_up_exps for 'qwen3moe' (pass --gate-up"), std::string::npos) << r.err;
  auto fa = GgufFile::open(a);
  EXPECT_NE(fa->find_tensor("blk.0.attn_qkv.weight"), nullptr);
  EXPECT_NE(fa->find_tensor("blk.0.ffn_gate_exps.weight"), nullptr);
  EXPECT_EQ(fa->find_tensor("blk.0.ffn_gate_up_exps.weight"), nullptr);
  r = test::run_trident("fuse " + in + " --qkv --gate-up -o " + b);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto fb = GgufFile::open(b);
  EXPECT_NE(fb->find_tensor("blk.0.ffn_gate_up_exps.weight"), nullptr);
}

// Per-tensor weight scales (`blk.N.<proj>.scale`, which llama.cpp's build_lora_mm multiplies a
// projection's output by). The test-llama-archs fixtures draw every scale at random, so Q, K
// and V, and each expert's gate and up, have different ones. The model gives llama.cpp's logits
// (F32 weights) with the groups fused at load and unfused, bit for bit; `trident fuse` keeps one
// scale per part ([3] for Q/K/V, [n_expert, 2] for gate/up experts) and the fused file gives the
// same bits; `unfuse` gives back every tensor. The same with the Q/K/V and gate/up weights in
// NVFP4 and MXFP4, the types whose checkpoints carry such scales (issue 15).
struct ScaleCase {
  const char* fixture;
  GgmlType type;  // of the Q/K/V and gate/up weights
};

class PerPartScales : public ::testing::TestWithParam<ScaleCase> {};

float first_value(const GgufFile& f, const std::string& name) {
  const GgufTensorInfo* t = f.find_tensor(name);
  EXPECT_NE(t, nullptr) << name;
  float v = 0;
  if (t) std::memcpy(&v, f.tensor_data(*t), sizeof v);
  return v;
}

// `in` with the weights of the fusable groups quantized to `type`, row by row.
std::string with_group_weights_in(const std::string& in, GgmlType type) {
  auto f = GgufFile::open(in);
  GgufWriter w;
  w.copy_metadata(*f);
  for (const GgufTensorInfo& t : f->tensors()) {
    const std::vector<int64_t> ne(t.ne, t.ne + t.n_dims);
    bool group = false;
    for (const char* part : {".attn_q.weight", ".attn_k.weight", ".attn_v.weight", ".ffn_gate.weight", ".ffn_up.weight",
                             ".ffn_gate_exps.weight", ".ffn_up_exps.weight"})
      group |= t.name.ends_with(part);
    const GgufFile* fp = f.get();
    const GgufTensorInfo* tp = &t;
    if (!group) {
      w.add_tensor({t.name, t.type, ne, [fp, tp](const auto& emit) { emit(fp->tensor_data(*tp), tp->n_bytes); }});
      continue;
    }
    w.add_tensor({t.name, type, ne, [fp, tp, type](const auto& emit) {
                    const int64_t n = tp->ne[0];
                    std::vector<uint8_t> q(row_bytes(type, n));
                    const auto* src = reinterpret_cast<const float*>(fp->tensor_data(*tp));
                    for (int64_t r = 0; r < tp->rows(); ++r) {
                      type_traits(type)->quantize_row(src + r * n, q.data(), n);
                      emit(q.data(), q.size());
                    }
                  }});
  }
  const std::string out = test::temp_path("group-weights.gguf");
  w.write(out);
  return out;
}

TEST_P(PerPartScales, FusedAtLoadOnDiskAndUnfusedGiveTheSameBits) {
  const ScaleCase c = GetParam();
  const std::string name = c.fixture, dir = test::source_dir() + "/tests/data/archs/";
  std::ifstream in(dir + name + ".json");
  const auto ref = nlohmann::json::parse(in);
  std::string model = test::temp_path(name + "-scales.gguf");
  synth_from_skeleton(dir + name + ".skel.gguf", ref.at("seed").get<uint64_t>(), model, false);
  if (c.type != GgmlType::F32) {
    const std::string quantized = with_group_weights_in(model, c.type);
    fs::remove(model);
    model = quantized;
  }
  auto f = GgufFile::open(model);
  EXPECT_EQ(f->find_tensor("blk.0.attn_q.weight")->type, c.type);
  const bool moe = f->find_tensor("blk.0.ffn_gate_exps.scale") != nullptr;
  const float q = first_value(*f, "blk.0.attn_q.scale"), k = first_value(*f, "blk.0.attn_k.scale"),
              v = first_value(*f, "blk.0.attn_v.scale");
  EXPECT_TRUE(q != k && k != v && q != v) << q << " " << k << " " << v;

  const auto ids = ref.at("prompt_ids").get<std::vector<int32_t>>();
  auto m = Model::load(model);
  const std::vector<float> got = test::eval_logits(*m, ids, FusionMode::On, 1, 512);
  if (c.type == GgmlType::F32) {  // llama.cpp's logits are for these exact F32 bytes
    const auto want = ref.at("prompt_logits").get<std::vector<std::vector<float>>>();
    ASSERT_EQ(got.size(), want.size() * want[0].size());
    double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double a = want[i / want[0].size()][i % want[0].size()];
      num += (a - got[i]) * (a - got[i]);
      den += a * a;
    }
    EXPECT_LE(num / den, 1e-11) << name << ": against llama.cpp";
  }
  EXPECT_EQ(test::eval_logits(*m, ids, FusionMode::Off, 1, 512), got) << name << ": fused vs unfused at load";

  RewritePlan plan;
  const std::string fused = fuse_file(model, {}, &plan);
  auto ff = GgufFile::open(fused);
  const GgufTensorInfo* qkv_scale = ff->find_tensor("blk.0.attn_qkv.scale");
  ASSERT_NE(qkv_scale, nullptr);
  EXPECT_EQ(qkv_scale->ne[0], 3);
  EXPECT_EQ(ff->find_tensor("blk.0.attn_qkv.weight")->type, c.type);
  if (moe) {
    const GgufTensorInfo* gu_scale = ff->find_tensor("blk.0.ffn_gate_up_exps.scale");
    ASSERT_NE(gu_scale, nullptr);
    EXPECT_EQ(gu_scale->ne[1], 2);
  }
  bool noted = false;
  for (const auto& n : plan.notes) noted |= n.rfind("blk.0: the Q/K/V scales differ: blk.0.attn_qkv.scale holds one per part", 0) == 0;
  EXPECT_TRUE(noted);
  auto mf = Model::load(fused);
  for (FusionMode mode : {FusionMode::On, FusionMode::Off})
    EXPECT_EQ(test::eval_logits(*mf, ids, mode, 1, 512), got) << name << ": fused file, " << fusion_mode_name(mode);
  const std::string back = unfuse_file(fused);
  EXPECT_TRUE(tensors_of(*f) == tensors_of(*GgufFile::open(back))) << name << ": unfuse(fuse(x)) differs from x";
  for (const auto& p : {fused, back, model}) fs::remove(p);
}

INSTANTIATE_TEST_SUITE_P(Fuse, PerPartScales,
                         ::testing::Values(ScaleCase{"llama-dense", GgmlType::F32}, ScaleCase{"llama-moe", GgmlType::F32},
                                           ScaleCase{"llama-dense", GgmlType::NVFP4},
                                           ScaleCase{"llama-moe", GgmlType::NVFP4},
                                           ScaleCase{"llama-dense", GgmlType::MXFP4},
                                           ScaleCase{"llama-moe", GgmlType::MXFP4}),
                         [](const auto& info) {
                           std::string s = info.param.fixture;
                           s = s.substr(6) + "_" + std::string(layout_of(info.param.type).name);
                           return s;
                         });

// Equal Q/K/V scales fuse to one [1] scale, the form llama.cpp reads.
TEST(Fuse, EqualScalesFuseToOneScale) {
  const std::string dir = test::source_dir() + "/tests/data/archs/";
  const std::string model = test::temp_path("equal-scales.gguf");
  synth_from_skeleton(dir + "llama-dense.skel.gguf", 7, model, false);
  {
    // Copy Q's scale over K's and V's in place.
    auto f = GgufFile::open(model);
    const float q = first_value(*f, "blk.0.attn_q.scale");
    std::fstream io(model, std::ios::in | std::ios::out | std::ios::binary);
    for (const char* n : {"blk.0.attn_k.scale", "blk.0.attn_v.scale"}) {
      io.seekp(std::streamoff(f->data_offset() + f->find_tensor(n)->offset));
      io.write(reinterpret_cast<const char*>(&q), sizeof q);
    }
  }
  const std::string fused = fuse_file(model, {});
  auto ff = GgufFile::open(fused);
  const GgufTensorInfo* s0 = ff->find_tensor("blk.0.attn_qkv.scale");
  const GgufTensorInfo* s1 = ff->find_tensor("blk.1.attn_qkv.scale");
  ASSERT_TRUE(s0 && s1);
  EXPECT_EQ(s0->ne[0], 1);
  EXPECT_EQ(s1->ne[0], 3);  // layer 1 keeps its random, different scales
  const std::vector<int32_t> ids = {1, 17, 42, 99, 5};
  EXPECT_EQ(test::eval_logits(*Model::load(fused), ids, FusionMode::Off, 1, 64),
            test::eval_logits(*Model::load(model), ids, FusionMode::On, 1, 64));
  const std::string back = unfuse_file(fused);
  EXPECT_TRUE(tensors_of(*GgufFile::open(model)) == tensors_of(*GgufFile::open(back)));
  for (const auto& p : {fused, back, model}) fs::remove(p);
}

}  // namespace
}  // namespace trident
