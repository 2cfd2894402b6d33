// convert / export-hf round trips: GGUF -> HF directory -> GGUF must give back byte-identical
// tensors and identical logits (F32 KV cache), for every architecture the converters support,
// with and without --fuse-qkv. Fused golden twins check the fused layout byte for byte.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "format/error.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "convert/hf_convert.h"
#include "convert/hf_export.h"
#include "model/model.h"
#include "runtime/session.h"
#include "gguf_compare.h"
#include "test_util.h"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace trident {
namespace {

namespace fs = std::filesystem;
using test::expect_same_tensors;
using test::tensor_bytes;

const std::vector<int32_t> kP1 = {1, 403, 407, 261, 378, 432, 383, 286};

std::vector<std::string> split_on(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t at; (at = s.find(sep, pos)) != std::string::npos; pos = at + sep.size()) out.push_back(s.substr(pos, at - pos));
  out.push_back(s.substr(pos));
  return out;
}

// llama.cpp's tokenizer test vectors (tokenizer-tests/NAME.inp / .out): count of lines that
// encode to the expected ids.
size_t matching_vectors(const Tokenizer& tok, const std::string& name) {
  const std::string base = test::shared_dir() + "/models/tokenizer-tests/" + name;
  std::ifstream inp(base + ".inp"), out(base + ".out");
  std::stringstream a, b;
  a << inp.rdbuf();
  b << out.rdbuf();
  const auto inputs = split_on(a.str(), "\n__ggml_vocab_test__\n");
  const auto lines = split_on(b.str(), "\n");
  size_t ok = 0;
  for (size_t i = 0; i < inputs.size() && i < lines.size(); ++i) {
    std::vector<int32_t> want;
    std::istringstream ls(lines[i]);
    for (int32_t id; ls >> id;) want.push_back(id);
    ok += tok.encode(inputs[i], false) == want;
  }
  return ok;
}

std::vector<float> logits(const std::string& path, FusionMode fuse = FusionMode::Off) {
  auto m = Model::load(path);
  SessionOptions o;
  o.n_ctx = 64;
  o.n_threads = 1;
  o.k_type = o.v_type = KvType::F32;
  o.fuse_qkv = o.fuse_gate_up = fuse;
  Session s(*m, o);
  std::vector<float> out;
  s.eval(kP1, true, out);
  return out;
}


void expect_same_vocab(const std::string& want_path, const std::string& got_path) {
  const VocabData a = vocab_from_gguf(*GgufFile::open(want_path));
  const VocabData b = vocab_from_gguf(*GgufFile::open(got_path));
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.scores, b.scores);
  EXPECT_EQ(a.token_types, b.token_types);
  EXPECT_EQ(a.merges, b.merges);
  EXPECT_EQ(a.bos, b.bos);
  EXPECT_EQ(a.eos, b.eos);
  EXPECT_EQ(a.unk, b.unk);
  EXPECT_EQ(a.add_bos, b.add_bos);
  EXPECT_EQ(a.add_space_prefix, b.add_space_prefix);
}

std::string convert(const std::string& dir, const std::string& name, ConvertOptions o = {}) {
  const std::string out = test::temp_path(name);
  convert_hf_to_gguf(dir, out, o);
  return out;
}

ConvertOptions f32(bool fuse_qkv = false, bool fuse_gate_up = false) {
  ConvertOptions o;
  o.outtype = GgmlType::F32;
  o.fuse_qkv = fuse_qkv;
  o.fuse_gate_up = fuse_gate_up;
  return o;
}

struct RoundTripCase {
  const char* model;
  const char* fused_twin;  // golden file with attn_qkv, or nullptr
};

class ConvertRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(ConvertRoundTrip, TensorsVocabAndLogitsSurvive) {
  const std::string src = test::golden_model(GetParam().model);
  const std::string dir = test::temp_path("hf");
  export_gguf_to_hf(src, dir, {});
  const std::string back = convert(dir, "back.gguf", f32());
  expect_same_tensors(src, back);
  expect_same_vocab(src, back);
  const std::vector<float> base = logits(src);
  EXPECT_EQ(logits(back), base);

  const std::string fused = convert(dir, "fused.gguf", f32(true, true));
  EXPECT_EQ(logits(fused), base) << "--fuse-qkv --fuse-gate-up";
  EXPECT_EQ(logits(fused, FusionMode::On), base) << "fused file, fused matmuls";
  auto ff = GgufFile::open(fused);
  EXPECT_NE(ff->find_tensor("blk.0.attn_qkv.weight"), nullptr);
  EXPECT_EQ(ff->find_tensor("blk.0.attn_q.weight"), nullptr);
  if (const char* twin = GetParam().fused_twin) expect_same_tensors(test::golden_model(twin), fused);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Convert, ConvertRoundTrip,
    ::testing::Values(RoundTripCase{"stories260K.gguf", nullptr},
                      RoundTripCase{"tiny-llama-f32.gguf", "tiny-llama-fusedqkv-f32.gguf"},
                      RoundTripCase{"tiny-qwen2-f32.gguf", "tiny-qwen2-fusedqkv-f32.gguf"},
                      RoundTripCase{"tiny-qwen3-f32.gguf", "tiny-qwen3-fusedqkv-f32.gguf"},
                      RoundTripCase{"tiny-qwen3moe-f32.gguf", nullptr}, RoundTripCase{"tiny-gemma3-f32.gguf", nullptr},
                      RoundTripCase{"tiny-phi3-f32.gguf", nullptr}),
    [](const auto& info) {
      std::string s = info.param.model;
      s = s.substr(0, s.size() - 5);
      for (char& c : s)
        if (!isalnum((unsigned char)c)) c = '_';
      return s;
    });

// A fused golden twin exports to HF's separate projections and converts back to the unfused
// base file, byte for byte.
TEST(ConvertFusedTwin, ExportUnfusesQkvAndBias) {
  const std::string dir = test::temp_path("hf-twin");
  export_gguf_to_hf(test::golden_model("tiny-qwen2-fusedqkv-f32.gguf"), dir, {});
  auto st = SafetensorsModel::open_dir(dir);
  EXPECT_NE(st->find("model.layers.0.self_attn.k_proj.bias"), nullptr);
  EXPECT_EQ(st->find("model.layers.0.self_attn.qkv_proj.weight"), nullptr);
  expect_same_tensors(test::golden_model("tiny-qwen2-f32.gguf"), convert(dir, "twin.gguf", f32()));
  fs::remove_all(dir);
}

TEST(ConvertMoe, FuseGateUpWritesExpertInterleavedRows) {
  const std::string src = test::golden_model("tiny-qwen3moe-f32.gguf");
  const std::string dir = test::temp_path("hf-moe");
  export_gguf_to_hf(src, dir, {});
  auto in = GgufFile::open(src);
  auto out = GgufFile::open(convert(dir, "moe-fused.gguf", f32(false, true)));
  const GgufTensorInfo* gu = out->find_tensor("blk.1.ffn_gate_up_exps.weight");
  ASSERT_NE(gu, nullptr);
  EXPECT_EQ(out->find_tensor("blk.1.ffn_gate_exps.weight"), nullptr);
  const GgufTensorInfo& gate = *in->find_tensor("blk.1.ffn_gate_exps.weight");
  const GgufTensorInfo& up = *in->find_tensor("blk.1.ffn_up_exps.weight");
  const size_t per = gate.n_bytes / 4;  // one expert's rows
  for (size_t e = 0; e < 4; ++e) {
    EXPECT_EQ(std::memcmp(out->tensor_data(*gu) + 2 * e * per, in->tensor_data(gate) + e * per, per), 0) << e;
    EXPECT_EQ(std::memcmp(out->tensor_data(*gu) + (2 * e + 1) * per, in->tensor_data(up) + e * per, per), 0) << e;
  }
  fs::remove_all(dir);
}

// llama's Q/K rows are stored rotate-half in HF: the export must actually permute them (a
// round trip alone would also pass with no permutation at all).
TEST(ConvertPermutation, LlamaQRowsAreRotateHalfInHf) {
  const std::string src = test::golden_model("tiny-llama-f32.gguf");
  const std::string dir = test::temp_path("hf-perm");
  export_gguf_to_hf(src, dir, {});
  auto g = GgufFile::open(src);
  auto st = SafetensorsModel::open_dir(dir);
  const StTensor* q = st->find("model.layers.0.self_attn.q_proj.weight");
  ASSERT_NE(q, nullptr);
  const GgufTensorInfo& gq = *g->find_tensor("blk.0.attn_q.weight");
  const size_t row = 256 * 4;
  std::vector<char> hf_row(row);
  // GGUF row 1 (pair 0, second element) is HF row head_dim/2 = 32 of head 0.
  st->read(*q, 32 * row, hf_row.data(), row);
  EXPECT_EQ(std::memcmp(hf_row.data(), g->tensor_data(gq) + 1 * row, row), 0);
  st->read(*q, 1 * row, hf_row.data(), row);
  EXPECT_EQ(std::memcmp(hf_row.data(), g->tensor_data(gq) + 2 * row, row), 0);
  fs::remove_all(dir);
}

TEST(ConvertOuttype, QuantizedFollowsLlamaCppTypeChoices) {
  const std::string dir = test::temp_path("hf-q");
  export_gguf_to_hf(test::golden_model("tiny-qwen3-f32.gguf"), dir, {});
  ConvertOptions o;
  o.outtype = GgmlType::Q8_0;
  auto q8 = GgufFile::open(convert(dir, "q8.gguf", o));
  EXPECT_EQ(q8->find_tensor("blk.0.attn_q.weight")->type, GgmlType::Q8_0);
  EXPECT_EQ(q8->find_tensor("token_embd.weight")->type, GgmlType::Q8_0);
  EXPECT_EQ(q8->find_tensor("blk.0.attn_q_norm.weight")->type, GgmlType::F32);
  EXPECT_EQ(q8->get_int("general.file_type"), 7);
  // The golden Q8_0 file was made by llama-quantize from the same F32 weights: same bits.
  auto ref = GgufFile::open(test::golden_model("tiny-qwen3-q8_0.gguf"));
  for (const char* n : {"blk.0.attn_q.weight", "blk.1.ffn_down.weight", "token_embd.weight"})
    EXPECT_TRUE(tensor_bytes(*ref, *ref->find_tensor(n)) == tensor_bytes(*q8, *q8->find_tensor(n))) << n;
  o.outtype = GgmlType::Q4_0;
  auto q4 = GgufFile::open(convert(dir, "q4.gguf", o));
  EXPECT_EQ(q4->find_tensor("blk.0.ffn_up.weight")->type, GgmlType::Q4_0);
  EXPECT_EQ(q4->find_tensor("token_embd.weight")->type, GgmlType::Q6_K);  // tied output, as llama-quantize
  auto ref4 = GgufFile::open(test::golden_model("tiny-qwen3-q4_0.gguf"));
  for (const char* n : {"blk.0.attn_k.weight", "token_embd.weight"})
    EXPECT_TRUE(tensor_bytes(*ref4, *ref4->find_tensor(n)) == tensor_bytes(*q4, *q4->find_tensor(n))) << n;
  o.outtype = GgmlType::BF16;
  auto bf = GgufFile::open(convert(dir, "bf16.gguf", o));
  EXPECT_EQ(bf->find_tensor("blk.0.attn_v.weight")->type, GgmlType::BF16);
  EXPECT_EQ(bf->find_tensor("output_norm.weight")->type, GgmlType::F32);
  fs::remove_all(dir);

  // stories260K's n_ff of 172 is no multiple of 32: those rows fall back to F16.
  const std::string sdir = test::temp_path("hf-q-st");
  export_gguf_to_hf(test::golden_model("stories260K.gguf"), sdir, {});
  o.outtype = GgmlType::Q8_0;
  const std::string sq = convert(sdir, "st-q8.gguf", o);
  auto s8 = GgufFile::open(sq);
  EXPECT_EQ(s8->find_tensor("blk.0.ffn_down.weight")->type, GgmlType::F16);
  EXPECT_EQ(s8->find_tensor("blk.0.ffn_up.weight")->type, GgmlType::Q8_0);
  EXPECT_NO_THROW(logits(sq));
  fs::remove_all(sdir);
}

// An F16 / BF16 HF checkpoint converts to the same type without touching the bits, and export
// keeps the type.
TEST(ConvertOuttype, HalfTypesStayBitExactThroughExport) {
  const std::string dir = test::temp_path("hf-half");
  export_gguf_to_hf(test::golden_model("tiny-llama-f32.gguf"), dir, {});
  for (const auto& [type, dtype] : {std::pair{GgmlType::F16, StDtype::F16}, std::pair{GgmlType::BF16, StDtype::BF16}}) {
    ConvertOptions o;
    o.outtype = type;
    const std::string half = convert(dir, "half.gguf", o);
    const std::string dir2 = test::temp_path("hf-half2");
    export_gguf_to_hf(half, dir2, {});
    EXPECT_EQ(SafetensorsModel::open_dir(dir2)->find("model.layers.0.mlp.up_proj.weight")->dtype, dtype);
    expect_same_tensors(half, convert(dir2, "half-again.gguf", o));
    fs::remove_all(dir2);
  }
  fs::remove_all(dir);
}

// Llama 3 rope scaling becomes rope_freqs.weight (one factor per frequency), as llama.cpp's
// converter generates it; linear scaling becomes the rope.scaling keys.
TEST(ConvertRopeScaling, Llama3FactorsAndLinearKeys) {
  const std::string dir = test::temp_path("hf-rope");
  export_gguf_to_hf(test::golden_model("stories260K.gguf"), dir, {});
  auto edit = [&](const nlohmann::json& rope) {
    std::ifstream in(dir + "/config.json");
    nlohmann::json c = nlohmann::json::parse(in);
    c["rope_scaling"] = rope;
    std::ofstream(dir + "/config.json") << c.dump();
  };
  edit({{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
        {"original_max_position_embeddings", 8192}});
  const std::string l3 = convert(dir, "llama3.gguf", f32());
  auto f = GgufFile::open(l3);
  const GgufTensorInfo* rf = f->find_tensor("rope_freqs.weight");
  ASSERT_NE(rf, nullptr);
  ASSERT_EQ(rf->ne[0], 4);  // head_dim 8: four frequencies
  const float* v = reinterpret_cast<const float*>(f->tensor_data(*rf));
  EXPECT_EQ(v[0], 1.0f);  // wavelength 2*pi: far below 8192 / 4
  EXPECT_NEAR(v[3], 1.0 / ((1 - (8192.0 / (2 * M_PI * 1000) - 1) / 3) / 8 + (8192.0 / (2 * M_PI * 1000) - 1) / 3), 1e-5);
  EXPECT_NO_THROW(logits(l3));
  edit({{"type", "linear"}, {"factor", 2.0}});
  auto lin = GgufFile::open(convert(dir, "linear.gguf", f32()));
  EXPECT_EQ(lin->get_string("llama.rope.scaling.type"), "linear");
  EXPECT_EQ(lin->get_float("llama.rope.scaling.factor"), 2.0);
  edit({{"rope_type", "longrope"}, {"long_factor", {1.0}}});
  EXPECT_THROW(convert(dir, "longrope.gguf", f32()), Error);
  fs::remove_all(dir);
}

// Gemma 3's multimodal checkpoint: text_config, the decoder under model.language_model., and
// vision tensors that the text model leaves out.
TEST(ConvertGemma3, ConditionalGenerationLayout) {
  const std::string src = test::golden_model("tiny-gemma3-f32.gguf");
  const std::string dir = test::temp_path("hf-gemma-mm");
  export_gguf_to_hf(src, dir, {});
  {
    std::ifstream in(dir + "/config.json");
    const nlohmann::json text = nlohmann::json::parse(in);
    std::ofstream(dir + "/config.json")
        << nlohmann::json{{"architectures", {"Gemma3ForConditionalGeneration"}}, {"model_type", "gemma3"},
                          {"text_config", text}, {"vision_config", {{"hidden_size", 8}}}}
               .dump();
    auto st = SafetensorsModel::open_dir(dir);
    std::vector<StWriteTensor> ts;
    for (const StTensor* t : st->tensors()) {
      std::string name = t->name;
      if (name.starts_with("model.")) name = "model.language_model." + name.substr(6);
      ts.push_back({name, t->dtype, t->shape, [&st, t](const auto& emit) {
                      std::vector<char> b(t->n_bytes);
                      st->read(*t, 0, b.data(), b.size());
                      emit(b.data(), b.size());
                    }});
    }
    ts.push_back({"model.vision_tower.patch.weight", StDtype::F32, {2}, [](const auto& emit) {
                    const float v[2] = {1, 2};
                    emit(v, sizeof v);
                  }});
    StWriteOptions wo;
    wo.overwrite = true;
    write_safetensors(dir + "/model.safetensors", ts, wo);
  }
  expect_same_tensors(src, convert(dir, "gemma-mm.gguf", f32()));
  fs::remove_all(dir);
}

// A checkpoint split into shards with model.safetensors.index.json converts like one file.
TEST(ConvertSharded, IndexWithTwoShards) {
  const std::string src = test::golden_model("tiny-qwen2-f32.gguf");
  const std::string dir = test::temp_path("hf-shards");
  export_gguf_to_hf(src, dir, {});
  {
    auto st = SafetensorsModel::open_dir(dir);
    std::vector<StWriteTensor> shard[2];
    nlohmann::json map = nlohmann::json::object();
    size_t i = 0;
    for (const StTensor* t : st->tensors()) {
      const int k = i++ % 2;
      const std::string file = fmt::format("model-0000{}-of-00002.safetensors", k + 1);
      map[t->name] = file;
      shard[k].push_back({t->name, t->dtype, t->shape, [&st, t](const auto& emit) {
                            std::vector<char> b(t->n_bytes);
                            st->read(*t, 0, b.data(), b.size());
                            emit(b.data(), b.size());
                          }});
    }
    for (int k = 0; k < 2; ++k) write_safetensors(fmt::format("{}/model-0000{}-of-00002.safetensors", dir, k + 1), shard[k]);
    std::ofstream(dir + "/model.safetensors.index.json") << nlohmann::json{{"metadata", {}}, {"weight_map", map}}.dump();
  }
  fs::remove(dir + "/model.safetensors");
  EXPECT_EQ(SafetensorsModel::open_dir(dir)->n_files(), 2u);
  expect_same_tensors(src, convert(dir, "sharded.gguf", f32()));
  fs::remove_all(dir);
}

// The real Qwen2 vocabulary (151k tokens, byte-level BPE) survives tokenizer.json both ways,
// and the pre-tokenizer is recognised by its regex.
TEST(ConvertTokenizer, Qwen2ByteLevelBpeRoundTrip) {
  const std::string base = test::shared_dir() + "/models/qwen2-tokenizer/";
  std::ifstream vin(base + "vocab.json"), min(base + "merges.txt");
  ASSERT_TRUE(vin && min);
  const nlohmann::json vj = nlohmann::json::parse(vin);
  VocabData v;
  v.kind = TokenizerKind::Bpe;
  v.pre = "qwen2";
  v.tokens.resize(vj.size());
  for (auto it = vj.begin(); it != vj.end(); ++it) v.tokens[it->get<size_t>()] = it.key();
  v.token_types.assign(v.tokens.size(), int32_t(TokenType::Normal));
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
    v.tokens.push_back(special);
    v.token_types.push_back(int32_t(TokenType::Control));
  }
  v.tokens.push_back("[PAD" + std::to_string(v.tokens.size()) + "]");
  v.token_types.push_back(int32_t(TokenType::Unused));
  std::string line;
  while (std::getline(min, line))
    if (!line.empty() && line[0] != '#') v.merges.push_back(line);
  v.eos = int32_t(vj.size()) + 2;
  v.add_bos = false;

  const std::string dir = test::temp_path("hf-tok");
  fs::create_directories(dir);
  const HfTokenizerFiles files = make_hf_tokenizer_files(v, "{{ messages }}", 4096);
  EXPECT_TRUE(files.tokenizer_model.empty());
  std::ofstream(dir + "/tokenizer.json") << files.tokenizer_json;
  std::ofstream(dir + "/tokenizer_config.json") << files.tokenizer_config_json;
  std::ofstream(dir + "/config.json") << R"({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"})";
  const HfTokenizer t = read_hf_tokenizer(read_hf_model_config(dir), int64_t(v.tokens.size()));
  EXPECT_EQ(t.vocab.pre, "qwen2");
  EXPECT_EQ(t.vocab.tokens, v.tokens);
  EXPECT_EQ(t.vocab.token_types, v.token_types);
  EXPECT_EQ(t.vocab.merges, v.merges);
  EXPECT_EQ(t.vocab.eos, v.eos);
  EXPECT_EQ(t.chat_template, "{{ messages }}");
  const Tokenizer tok(t.vocab);
  EXPECT_EQ(matching_vectors(tok, "ggml-vocab-qwen2.gguf"), 47u);
  fs::remove_all(dir);
}

// A tokenizer.model written by the sentencepiece trainer (BPE, byte fallback, no dummy prefix,
// a user-defined symbol; tests/convert_test_spm.model) is read field for field, and tokenizes
// as sentencepiece itself did when the file was made.
TEST(ConvertTokenizer, RealSentencePieceModelFile) {
  const std::string dir = test::temp_path("hf-spm-real");
  fs::create_directories(dir);
  fs::copy_file(test::source_dir() + "/tests/convert_test_spm.model", dir + "/tokenizer.model");
  std::ofstream(dir + "/config.json") << R"({"architectures": ["LlamaForCausalLM"]})";
  const HfTokenizer t = read_hf_tokenizer(read_hf_model_config(dir), 400);
  ASSERT_EQ(t.vocab.tokens.size(), 400u);
  EXPECT_EQ(t.vocab.tokens[300], "\xe2\x96\x81");
  EXPECT_EQ(t.vocab.scores[300], -39.0f);
  EXPECT_EQ(t.vocab.token_types[0], int32_t(TokenType::Unknown));
  EXPECT_EQ(t.vocab.token_types[3], int32_t(TokenType::Control));
  EXPECT_EQ(t.vocab.token_types[4], int32_t(TokenType::UserDefined));
  EXPECT_EQ(t.vocab.token_types[5], int32_t(TokenType::Byte));
  EXPECT_EQ(t.vocab.pad, 3);
  EXPECT_EQ(t.add_space_prefix, false);
  const Tokenizer tok(t.vocab);
  EXPECT_EQ(tok.encode("Once upon a time, the logits", false),
            (std::vector<int32_t>{363, 307, 315, 301, 300, 321, 317, 304, 307, 263, 261, 306, 311, 301, 333, 270, 300, 289,
                                  319, 271, 305}));
  EXPECT_EQ(tok.encode("quantized files (llama.cpp) <|user|> ok", false),
            (std::vector<int32_t>{337, 321, 303, 307, 288, 360, 267, 272, 306, 310, 278, 281, 298, 314, 315, 317, 317,
                                  340, 300, 4, 273, 338}));
  fs::remove_all(dir);
}

// Without tokenizer.model the SentencePiece vocabulary comes from tokenizer.json alone, whose
// merges stand in for the scores: the Llama 2 vocabulary must still tokenize as llama.cpp does.
TEST(ConvertTokenizer, SentencePieceFromTokenizerJsonOnly) {
  const std::string src = test::shared_dir() + "/models/llama-2-tiny-random.gguf";
  const std::string dir = test::temp_path("hf-spm");
  export_gguf_to_hf(src, dir, {});
  fs::remove(dir + "/tokenizer.model");
  const std::string back = convert(dir, "spm-json.gguf", ConvertOptions{});
  const VocabData a = vocab_from_gguf(*GgufFile::open(src)), b = vocab_from_gguf(*GgufFile::open(back));
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.token_types, b.token_types);
  EXPECT_EQ(matching_vectors(Tokenizer(b), "ggml-vocab-llama-spm.gguf"), 47u);
  expect_same_tensors(src, back);  // F16 in, F16 out
  fs::remove_all(dir);
}

}  // namespace
}  // namespace trident
