// One test per bad-file class (../shared/notes/reliability-anchors.md §5.1): each crafted file
// is refused with one line naming the file, the offset / key / tensor, expected and found.
// Then the model loader's semantic checks, and a seeded mutation run over a real model.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <typeinfo>

#include "format/error.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "gguf_craft.h"
#include "model/model.h"
#include "runtime/session.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace trident {
namespace {

namespace fs = std::filesystem;
using test::GgufCraft;
using test::le;

// Writes `bytes` to a fresh file, opens it, and checks the refusal: one line that starts with
// the file's path and contains every phrase.
void expect_refused(const std::string& bytes, const std::vector<std::string>& phrases) {
  const std::string path = test::temp_path("bad.gguf");
  test::write_bytes(path, bytes);
  std::string msg;
  try {
    GgufFile::open(path);
  } catch (const Error& e) {
    msg = e.what();
  }
  fs::remove(path);
  ASSERT_FALSE(msg.empty()) << "opened without error; expected: " << phrases.front();
  EXPECT_EQ(msg.rfind(path + ":", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  for (const std::string& p : phrases) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
}

void expect_opens(const std::string& bytes) {
  const std::string path = test::temp_path("ok.gguf");
  test::write_bytes(path, bytes);
  EXPECT_NO_THROW(GgufFile::open(path));
  fs::remove(path);
}

std::string nested_array(int depth) {
  std::string v = test::gguf_array(test::kU8, 1, le<uint8_t>(7));
  for (int i = 1; i < depth; ++i) v = test::gguf_array(test::kArray, 1, v);
  return v;
}

TEST(GgufBadInput, MinimalCraftedFileIsValid) {
  expect_opens(test::minimal_gguf().build());
  GgufCraft c = test::minimal_gguf();
  c.version = 2;
  expect_opens(c.build());
}

TEST(GgufBadInput, HeaderClasses) {
  expect_refused("", {"offset 0: not a GGUF file (expected magic 'GGUF', found an empty file)"});
  expect_refused("GG", {"offset 0: not a GGUF file", "found bytes 4747"});
  GgufCraft c = test::minimal_gguf();
  c.magic = "GGUX";
  expect_refused(c.build(), {"offset 0: not a GGUF file (expected magic 'GGUF', found bytes 47475558)"});
  for (uint32_t v : {1u, 99u}) {
    c = test::minimal_gguf();
    c.version = v;
    expect_refused(c.build(), {fmt::format("offset 4: unsupported GGUF version {} (expected 2 or 3)", v)});
  }
  const std::string full = test::minimal_gguf().build();
  expect_refused(full.substr(0, 12), {"offset 8: truncated while reading tensor count (need 8 bytes, 4 left)"});
  expect_refused(full.substr(0, 20), {"offset 16: truncated while reading metadata count"});
  c = test::minimal_gguf();
  c.n_kv = uint64_t(1) << 60;
  expect_refused(c.build(), {"offset 16: metadata count 1152921504606846976 cannot fit in a"});
  c = test::minimal_gguf();
  c.n_tensors = ~uint64_t(0);
  expect_refused(c.build(), {"offset 8: tensor count 18446744073709551615 cannot fit in a"});
}

TEST(GgufBadInput, MetadataClasses) {
  test::CraftLayout lay;
  const std::string full = test::minimal_gguf().build(&lay);
  // Cut inside the float value of the 4th key (after its 8 + 20 key bytes and 4 type bytes).
  const size_t value_at = lay.kv_at[3] + 8 + 20 + 4;
  expect_refused(full.substr(0, value_at + 2),
                 {fmt::format("offset {}: truncated while reading llama.rope.freq_base (need 4 bytes, 2 left)", value_at)});
  // Cut inside a key's length prefix.
  expect_refused(full.substr(0, lay.kv_at[2] + 3), {fmt::format("offset {}: truncated while reading metadata key", lay.kv_at[2])});

  GgufCraft c = test::minimal_gguf();
  c.kv("general.name2", test::kString, le<uint64_t>(1000000) + "short");
  expect_refused(c.build(), {"general.name2 has length 1000000 but only", "bytes remain"});
  c = test::minimal_gguf();
  c.kv("general.name2", test::kString, le<uint64_t>(~uint64_t(0)));
  expect_refused(c.build(), {"general.name2 has length 18446744073709551615"});

  c = test::minimal_gguf();
  c.kv("tokenizer.ggml.token_type", test::kArray, test::gguf_array(test::kU32, uint64_t(1) << 40, le<uint32_t>(1)));
  expect_refused(c.build(), {"key 'tokenizer.ggml.token_type': array of 1099511627776 uint32 elements does not fit in the"});
  c = test::minimal_gguf();
  c.kv("x.arr", test::kArray, test::gguf_array(13, 1, le<uint32_t>(1)));
  expect_refused(c.build(), {"x.arr has unknown value type 13 (expected 0..12)"});
  c = test::minimal_gguf();
  c.kv("x.bad_type", 13, le<uint32_t>(1));
  expect_refused(c.build(), {"type of key 'x.bad_type' has unknown value type 13 (expected 0..12)"});
  c = test::minimal_gguf();
  c.kv("x.flag", test::kBool, le<uint8_t>(2));
  expect_refused(c.build(), {"key 'x.flag': bool value 2 (expected 0 or 1)"});

  // Eight levels of nesting are accepted, nine are not.
  c = test::minimal_gguf();
  c.kv("x.nested", test::kArray, nested_array(8));
  expect_opens(c.build());
  c = test::minimal_gguf();
  c.kv("x.nested", test::kArray, nested_array(9));
  expect_refused(c.build(), {"key 'x.nested': arrays nested deeper than 8"});

  c = test::minimal_gguf();
  c.kv_string("general.na\nme", "x");
  expect_refused(c.build(), {"metadata key contains control byte 0x0a at position 10 (expected printable text)"});
  c = test::minimal_gguf();
  c.kv_string("", "x");
  expect_refused(c.build(), {"empty metadata key"});

  c = test::minimal_gguf();
  c.kv_string("general.name", "again");
  expect_refused(c.build(), {"duplicate metadata key 'general.name'"});

  for (const auto& [type, value, found] : std::vector<std::tuple<uint32_t, std::string, std::string>>{
           {test::kU32, le<uint32_t>(48), "found 48"},
           {test::kU32, le<uint32_t>(0), "found 0"},
           {test::kI32, le<int32_t>(-32), "found -32"},
           {test::kString, test::gguf_str("32"), "found string"}}) {
    c = test::minimal_gguf();
    c.kv("general.alignment", type, value);
    expect_refused(c.build(), {"key 'general.alignment': expected a power of two up to 1048576, " + found});
  }
  c = test::minimal_gguf();
  c.kv_u32("general.alignment", 64);
  c.alignment = 64;
  expect_opens(c.build());
}

TEST(GgufBadInput, TensorInfoClasses) {
  test::CraftLayout lay;
  const std::string full = test::minimal_gguf().build(&lay);
  // Inside the second tensor's shape: its name is 18 bytes, then n_dims, then ne[0].
  const size_t at = lay.tensor_info_at[1];
  expect_refused(full.substr(0, at + 8 + 18 + 4 + 3),
                 {fmt::format("offset {}: truncated while reading tensor 'output_norm.weight' (need 8 bytes, 3 left)",
                              at + 8 + 18 + 4)});
  expect_refused(full.substr(0, at + 5), {fmt::format("offset {}: truncated while reading tensor name", at)});

  auto with = [](test::CraftTensor t) {
    GgufCraft c = test::minimal_gguf();
    c.tensor(std::move(t));
    return c.build();
  };
  expect_refused(with({"output_norm.weight", {32}, 0, {}, {}}), {"duplicate tensor name 'output_norm.weight'"});
  expect_refused(with({std::string("a\0b", 3), {32}, 0, {}, {}}), {"tensor name contains control byte 0x00 at position 1"});
  expect_refused(with({"", {32}, 0, {}, {}}), {"empty tensor name"});
  expect_refused(with({std::string(64, 'n'), {32}, 0, {}, {}}), {"tensor name of 64 bytes (at most 63 allowed)"});
  expect_opens(with({std::string(63, 'n'), {32}, 0, {}, {}}));
  expect_refused(with({"t5", {32, 1, 1, 1, 1}, 0, {}, {}}), {"tensor 't5'", "5 dimensions (at most 4)"});
  expect_refused(with({"t0", {32, 0}, 0, {}, {}}), {"tensor 't0'", "dimension 1 is 0 (must be > 0)"});
  expect_refused(with({"tn", {-32, 4}, 0, {}, {}}), {"tensor 'tn'", "dimension 0 is -32 (must be > 0)"});
  expect_refused(with({"big", {int64_t(1) << 62, 8}, 0, {}, {}}),
                 {"tensor 'big' element count: size overflow (4611686018427387904 * 8)"});
  expect_refused(with({"big", {int64_t(1) << 62, 2}, 0, {}, {}}), {"tensor 'big'", "element count 9223372036854775808 too large"});
  expect_refused(with({"t99", {32}, 99, {}, {}}), {"tensor 't99'", "unknown tensor type 99"});
  expect_refused(with({"t4", {32}, 4, {}, {}}), {"tensor 't4'", "unknown tensor type 4"});  // removed q4_2
  expect_refused(with({"q", {48, 2}, 2, {}, {}}), {"tensor 'q': row length 48 is not a multiple of the q4_0 block size 32"});
}

TEST(GgufBadInput, DataSectionClasses) {
  auto with = [](test::CraftTensor t, std::optional<uint64_t> data_bytes = {}) {
    GgufCraft c = test::minimal_gguf();
    c.tensor(std::move(t));
    c.data_bytes = data_bytes;
    return c.build();
  };
  expect_refused(with({"t", {8}, 0, 4, {}}), {"tensor 't': data offset 4 is not a multiple of the alignment 32"});
  expect_refused(with({"t", {8}, 0, 1 << 20, {}}, 1024), {"tensor 't' data [", "runs past the end of the file"});
  expect_refused(with({"t", {8}, 0, ~uint64_t(31), {}}), {"tensor 't' end: size overflow"});
  test::CraftLayout lay;
  const std::string overlap = with({"t", {8}, 0, 0, {}});
  test::minimal_gguf().tensor({"t", {8}, 0, 0, {}}).build(&lay);
  expect_refused(overlap, {fmt::format("tensor 'token_embd.weight' data [{}, {}) overlaps tensor 't' data [{}, {})",
                                       lay.data_at, lay.data_at + 512, lay.data_at, lay.data_at + 32)});
  // The data section itself cut short, and missing altogether.
  const std::string full = test::minimal_gguf().build(&lay);
  expect_refused(full.substr(0, full.size() - 1), {"tensor 'output_norm.weight' data [", "runs past the end of the file"});
  expect_refused(full.substr(0, lay.data_at - 4), {fmt::format("data section starts at {} but the file has only {} bytes",
                                                               lay.data_at, lay.data_at - 4)});
}

// stories260K stores unset separator / padding ids as 4294967295 (uint32 -1); they are not
// errors anywhere on the load path.
TEST(GgufBadInput, UnsetSpecialIdsAreAccepted) {
  const std::string path = test::golden_model("stories260K.gguf");
  auto f = GgufFile::open(path);
  EXPECT_EQ(f->get_int("tokenizer.ggml.padding_token_id"), 4294967295);
  EXPECT_EQ(f->get_int("tokenizer.ggml.seperator_token_id"), 4294967295);
  auto m = Model::load(path);
  Tokenizer tok(vocab_from_gguf(m->file()));
  EXPECT_FALSE(tok.encode("Once upon a time", true).empty());
  GgufCraft c = test::minimal_gguf();
  c.kv_u32("tokenizer.ggml.padding_token_id", 4294967295u);
  expect_opens(c.build());
}

// --- Model loader: semantic checks on an otherwise valid file ---------------------------

// Rewrites tiny-llama-q4_0 with metadata / tensors changed and returns the loader's error.
std::string load_error(const std::function<void(GgufWriter&, const GgufFile&)>& edit_kv,
                       const std::function<bool(GgufWriter&, const GgufFile&, const GgufTensorInfo&)>& edit_tensor) {
  auto f = GgufFile::open(test::golden_model("tiny-llama-q4_0.gguf"));
  GgufWriter w;
  edit_kv(w, *f);
  const GgufFile* fp = f.get();
  for (const GgufTensorInfo& t : f->tensors()) {
    if (edit_tensor && edit_tensor(w, *f, t)) continue;
    w.add_tensor({t.name, t.type, std::vector<int64_t>(t.ne, t.ne + t.n_dims),
                  [fp, &t](const auto& emit) { emit(fp->tensor_data(t), t.n_bytes); }});
  }
  const std::string path = test::temp_path("model.gguf");
  w.write(path);
  std::string msg;
  try {
    Model::load(path);
  } catch (const Error& e) {
    msg = e.what();
  }
  fs::remove(path);
  EXPECT_EQ(msg.rfind(path + ":", 0), 0u) << msg;
  return msg;
}

void copy_except(GgufWriter& w, const GgufFile& f, const std::string& skip) {
  for (const GgufKv& kv : f.metadata())
    if (kv.key != skip) w.set(kv.key, kv.value);
}

TEST(GgufBadInput, LoaderRefusesUnsupportedArchitecture) {
  const std::string msg = load_error([](GgufWriter& w, const GgufFile& f) {
    w.copy_metadata(f);
    w.set_string("general.architecture", "mamba9");
  }, nullptr);
  EXPECT_NE(msg.find("key 'general.architecture': unsupported architecture 'mamba9' (supported: llama, qwen2, qwen3"),
            std::string::npos) << msg;
}

TEST(GgufBadInput, LoaderRefusesMissingKey) {
  const std::string msg = load_error([](GgufWriter& w, const GgufFile& f) { copy_except(w, f, "llama.embedding_length"); }, nullptr);
  EXPECT_NE(msg.find("missing required key 'llama.embedding_length'"), std::string::npos) << msg;
}

TEST(GgufBadInput, LoaderRefusesMissingTensor) {
  const std::string msg = load_error([](GgufWriter& w, const GgufFile& f) { w.copy_metadata(f); },
                                     [](GgufWriter&, const GgufFile&, const GgufTensorInfo& t) {
                                       return t.name == "blk.1.ffn_down.weight";
                                     });
  EXPECT_NE(msg.find("missing tensor 'blk.1.ffn_down.weight' (required by architecture llama)"), std::string::npos) << msg;
}

TEST(GgufBadInput, LoaderRefusesWrongTensorShape) {
  const std::string msg = load_error([](GgufWriter& w, const GgufFile& f) { w.copy_metadata(f); },
                                     [](GgufWriter& w, const GgufFile& f, const GgufTensorInfo& t) {
                                       if (t.name != "blk.0.attn_k.weight") return false;
                                       const GgufFile* fp = &f;
                                       const GgufTensorInfo* tp = &t;
                                       w.add_tensor({t.name, t.type, {256, 64}, [fp, tp](const auto& emit) {
                                                       emit(fp->tensor_data(*tp), tp->n_bytes / 2);
                                                     }});
                                       return true;
                                     });
  EXPECT_NE(msg.find("tensor 'blk.0.attn_k.weight': expected shape [256, 128], found [256, 64]"), std::string::npos) << msg;
}

// --- Hostile hyper-parameters (issue 19, defects 2, 3, 11, 14) ---------------------------

GgufValue u64_value(uint64_t v) { return GgufValue{GgufValueType::UINT64, v}; }
GgufValue f32_value(double v) { return GgufValue{GgufValueType::FLOAT32, v}; }

// The loader's error for tiny-llama-q4_0 with `key` set to `value`.
std::string load_error_with(const std::string& key, GgufValue value) {
  return load_error([&](GgufWriter& w, const GgufFile& f) {
    w.copy_metadata(f);
    w.set(key, value);
  }, nullptr);
}

TEST(GgufBadInput, HeadCountTimesKeyLengthOverflowIsRefused) {
  const std::string msg = load_error([](GgufWriter& w, const GgufFile& f) {
    w.copy_metadata(f);
    w.set("llama.attention.head_count", u64_value(uint64_t(1) << 31));
    w.set("llama.attention.head_count_kv", u64_value(uint64_t(1) << 31));
    w.set("llama.attention.key_length", u64_value(uint64_t(1) << 32));
    w.set("llama.attention.value_length", u64_value(uint64_t(1) << 32));
  }, nullptr);
  EXPECT_NE(msg.find("keys 'llama.attention.head_count' x 'llama.attention.key_length': 2147483648 x 4294967296 = "
                     "9223372036854775808 exceeds the largest supported width 2147483648"),
            std::string::npos) << msg;
}

TEST(GgufBadInput, BlockCountBeyondTheTensorsIsRefusedBeforeAllocating) {
  const std::string msg = load_error_with("llama.block_count", u64_value(uint64_t(1) << 24));
  EXPECT_NE(msg.find("key 'llama.block_count': 16777216 layers, but the file holds only"), std::string::npos) << msg;
  EXPECT_NE(load_error_with("llama.block_count", u64_value(uint64_t(1) << 32)).find("key 'llama.block_count'"),
            std::string::npos);
}

TEST(GgufBadInput, BadFloatHyperParametersNameTheirKey) {
  for (double bad : {std::nan(""), -1e-5, 1.0}) {
    const std::string msg = load_error_with("llama.attention.layer_norm_rms_epsilon", f32_value(bad));
    EXPECT_NE(msg.find("key 'llama.attention.layer_norm_rms_epsilon': expected a finite non-negative number below 1"),
              std::string::npos) << msg;
  }
  for (double bad : {std::nan(""), 0.0}) {
    const std::string msg = load_error_with("llama.rope.freq_base", f32_value(bad));
    EXPECT_NE(msg.find("key 'llama.rope.freq_base': expected a finite positive number"), std::string::npos) << msg;
  }
}

TEST(GgufBadInput, BadContextLengthNamesItsOwnKey) {
  std::string msg = load_error_with("llama.context_length", GgufValue{GgufValueType::INT32, int64_t(-5)});
  EXPECT_NE(msg.find("key 'llama.context_length': expected a context length from 0 to 4294967296, found -5"),
            std::string::npos) << msg;
  msg = load_error_with("llama.context_length", u64_value(uint64_t(1) << 40));
  EXPECT_NE(msg.find("key 'llama.context_length'"), std::string::npos) << msg;
  // A rope dimension beyond int is refused, not truncated to a valid one.
  msg = load_error_with("llama.rope.dimension_count", u64_value((uint64_t(1) << 32) + 2));
  EXPECT_NE(msg.find("key 'llama.rope.dimension_count': expected an even count"), std::string::npos) << msg;
}

TEST(GgufBadInput, StringsFromTheFileAreEscapedInMessages) {
  const std::string msg = load_error_with("general.architecture", GgufValue{GgufValueType::STRING, std::string("x\ny\x01")});
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_NE(msg.find("unsupported architecture 'x\\ny\\x01'"), std::string::npos) << msg;
}

// --- Seeded mutations of a real model ---------------------------------------------------

// Each mutant either loads and evaluates three tokens, or throws trident::Error; anything else
// (another exception type, a crash, a hang) fails. Set TRIDENT_FUZZ_TRACE=1 to print every
// mutation before it runs (to find a crashing one).
TEST(GgufBadInput, RandomMutationsLoadOrFailCleanly) {
  const std::string src = test::golden_model("stories260K.gguf");
  test::FileMutator mut(src, test::temp_path("mutant.gguf"), GgufFile::open(src)->data_offset(), 20261123);
  const bool trace = std::getenv("TRIDENT_FUZZ_TRACE") != nullptr;
  SessionOptions so;
  so.n_ctx = 16;
  so.n_threads = 1;
  const std::vector<int32_t> tokens = {1, 2, 3};
  int loaded = 0, refused = 0;
  const auto t0 = std::chrono::steady_clock::now();
  // Under ASan/UBSan a third of the mutants (each load is 3-5x slower there; the fuzz corpora
  // replayed by ctest cover the reader too).
  const int iterations = test::sanitized() ? 1000 : 3000;
  for (int iter = 0; iter < iterations; ++iter) {
    const std::string what = mut.next();
    if (trace) fprintf(stderr, "mutation %d: %s\n", iter, what.c_str());
    try {
      auto m = Model::load(mut.path());
      Session s(*m, so);
      std::vector<float> logits;
      s.eval(tokens, false, logits);
      ++loaded;
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "mutation " << iter << " " << what << ": " << typeid(e).name() << ": " << e.what();
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("loaded", loaded);
  RecordProperty("refused", refused);
  // Both outcomes must occur, or the mutations are not exercising the reader. The run is
  // bounded by its iterations, not by a time budget: a sanitizer build is 2-5x slower.
  RecordProperty("seconds", int(secs));
  EXPECT_GT(loaded, 100 * iterations / 3000);
  EXPECT_GT(refused, 500 * iterations / 3000);
}

}  // namespace
}  // namespace trident
