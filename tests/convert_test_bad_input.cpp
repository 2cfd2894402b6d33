// convert / export-hf on bad input: each case is refused with one line naming the file and
// what was expected vs found, and leaves no output (nor temporary files) behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/error.h"
#include "format/safetensors.h"
#include "format/safetensors_writer.h"
#include "convert/hf_convert.h"
#include "convert/hf_export.h"
#include "test_util.h"
#include "tokenizer/hf_tokenizer_spm.h"

namespace trident {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void spit(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// A fresh HF directory exported from stories260K, in its own parent directory so that leftover
// temporary files would be visible.
std::string fresh_hf_dir() {
  const std::string parent = test::temp_path("bad");
  fs::create_directories(parent);
  const std::string dir = parent + "/hf";
  export_gguf_to_hf(test::golden_model("stories260K.gguf"), dir, {});
  return dir;
}

// Rewrites the safetensors header through `edit`, keeping the data section as it was.
void edit_header(const std::string& path, const std::function<void(json&)>& edit) {
  const std::string bytes = slurp(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  json h = json::parse(bytes.substr(8, n));
  edit(h);
  const std::string text = h.dump();
  const uint64_t m = text.size();
  spit(path, std::string(reinterpret_cast<const char*>(&m), 8) + text + bytes.substr(8 + n));
}

size_t entries(const std::string& dir) {
  size_t n = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

// Converts `dir` and expects a refusal containing every phrase, in one line, with no output.
void expect_convert_fails(const std::string& dir, const std::vector<std::string>& phrases) {
  const std::string out_dir = test::temp_path("out");
  fs::create_directories(out_dir);
  const std::string out = out_dir + "/m.gguf";
  std::string msg;
  try {
    ConvertOptions o;
    o.outtype = GgmlType::F32;
    convert_hf_to_gguf(dir, out, o);
  } catch (const Error& e) {
    msg = e.what();
  }
  ASSERT_FALSE(msg.empty()) << "converted without error; expected: " << phrases.front();
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  for (const std::string& p : phrases) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
  EXPECT_EQ(entries(out_dir), 0u) << "output left behind";
}

TEST(ConvertBadInput, MissingConfig) {
  const std::string dir = fresh_hf_dir();
  fs::remove(dir + "/config.json");
  expect_convert_fails(dir, {dir + "/config.json", "missing"});
}

TEST(ConvertBadInput, MalformedConfig) {
  const std::string dir = fresh_hf_dir();
  spit(dir + "/config.json", R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64,)");
  expect_convert_fails(dir, {"config.json", "not well-formed JSON"});
  spit(dir + "/config.json", R"({"architectures": ["LlamaForCausalLM"], "hidden_size": "64"})");
  expect_convert_fails(dir, {"config.json: key 'num_hidden_layers'", "missing"});
}

TEST(ConvertBadInput, WrongTypeInConfig) {
  const std::string dir = fresh_hf_dir();
  json c = json::parse(slurp(dir + "/config.json"));
  c["hidden_size"] = "sixty-four";
  spit(dir + "/config.json", c.dump());
  expect_convert_fails(dir, {"config.json: key 'hidden_size'", "expected an integer", "\"sixty-four\""});
}

TEST(ConvertBadInput, UnsupportedArchitectureListsSupportedOnes) {
  const std::string dir = fresh_hf_dir();
  json c = json::parse(slurp(dir + "/config.json"));
  c["architectures"] = {"GPTNeoXForCausalLM"};
  spit(dir + "/config.json", c.dump());
  expect_convert_fails(dir, {"'GPTNeoXForCausalLM' is not supported", "LlamaForCausalLM, MistralForCausalLM (llama)",
                             "Qwen2ForCausalLM (qwen2)", "Qwen3MoeForCausalLM (qwen3moe)", "Phi3ForCausalLM (phi3)"});
}

// Issue 19, defect 1: nlohmann's dump and copy recurse once per nesting level, so a 200 KB
// config.json nested 100,000 deep crashed convert in the error message's snippet.
TEST(ConvertBadInput, DeeplyNestedJsonIsRefusedNotDumped) {
  const std::string dir = fresh_hf_dir();
  json c = json::parse(slurp(dir + "/config.json"));
  std::string text = c.dump();
  const std::string deep = std::string(100000, '[') + "1" + std::string(100000, ']');
  const std::string hs = "\"hidden_size\":64";
  ASSERT_NE(text.find(hs), std::string::npos);
  spit(dir + "/config.json", std::string(text).replace(text.find(hs), hs.size(), "\"hidden_size\":" + deep));
  expect_convert_fails(dir, {dir + "/config.json", "JSON nested deeper than 64 levels"});
  // Within the bound, the snippet shows the start of the value only.
  const std::string shallow = std::string(60, '[') + "1" + std::string(60, ']');
  spit(dir + "/config.json", std::string(text).replace(text.find(hs), hs.size(), "\"hidden_size\":" + shallow));
  expect_convert_fails(dir, {"config.json: key 'hidden_size': expected an integer, found [[[[...]]]]"});
  // text_config is merged over the top level (moved, not copied), then read the same way.
  spit(dir + "/config.json", text.substr(0, text.size() - 1) + ",\"text_config\":{\"hidden_size\":" + shallow + "}}");
  expect_convert_fails(dir, {"config.json: key 'hidden_size': expected an integer, found [[[[...]]]]"});
}

// Found by fuzz/safetensors_header: a number beyond double's range makes nlohmann throw
// out_of_range (not parse_error), which escaped as an uncaught exception.
TEST(ConvertBadInput, NumberOverflowInJsonIsRefused) {
  const std::string dir = fresh_hf_dir();
  json c = json::parse(slurp(dir + "/config.json"));
  std::string text = c.dump();
  text.insert(1, "\"big\":1e999,");
  spit(dir + "/config.json", text);
  expect_convert_fails(dir, {dir + "/config.json: not well-formed JSON", "number overflow parsing '1e999'"});
}

TEST(ConvertBadInput, DeeplyNestedSafetensorsHeaderAndTokenizer) {
  const std::string dir = fresh_hf_dir();
  const std::string st = dir + "/model.safetensors";
  const std::string bytes = slurp(st);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  const std::string deep = "{\"__metadata__\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  const uint64_t m = deep.size();
  spit(st, std::string(reinterpret_cast<const char*>(&m), 8) + deep + bytes.substr(8 + n));
  expect_convert_fails(dir, {st, "header is JSON nested deeper than 64 levels"});
  const std::string dir2 = fresh_hf_dir();
  fs::remove(dir2 + "/tokenizer.model");
  spit(dir2 + "/tokenizer.json", "{\"model\":" + std::string(100000, '[') + std::string(100000, ']') + "}");
  expect_convert_fails(dir2, {dir2 + "/tokenizer.json", "JSON nested deeper than 64 levels"});
}

TEST(ConvertBadInput, TruncatedSafetensors) {
  const std::string dir = fresh_hf_dir();
  const std::string st = dir + "/model.safetensors";
  fs::resize_file(st, fs::file_size(st) - 100);
  expect_convert_fails(dir, {st, "extend past", "truncated"});
  fs::resize_file(st, 6);
  expect_convert_fails(dir, {st, "file is 6 bytes"});
}

TEST(ConvertBadInput, HeaderLengthBeyondFile) {
  const std::string dir = fresh_hf_dir();
  const std::string st = dir + "/model.safetensors";
  std::string b = slurp(st);
  const uint64_t huge = uint64_t(1) << 40;
  std::memcpy(b.data(), &huge, 8);
  spit(st, b);
  expect_convert_fails(dir, {st, "header length 1099511627776 exceeds"});
}

TEST(ConvertBadInput, MalformedSafetensorsHeader) {
  const std::string dir = fresh_hf_dir();
  const std::string st = dir + "/model.safetensors";
  std::string b = slurp(st);
  b[8 + 3] = '\x01';  // a control character inside the JSON text
  spit(st, b);
  expect_convert_fails(dir, {st, "header is not well-formed JSON"});
}

TEST(ConvertBadInput, OverlappingSafetensors) {
  const std::string dir = fresh_hf_dir();
  const std::string st = dir + "/model.safetensors";
  edit_header(st, [](json& h) {
    auto& a = h["model.layers.0.self_attn.k_proj.weight"]["data_offsets"];
    const uint64_t b0 = a[0].get<uint64_t>() - 512, len = a[1].get<uint64_t>() - a[0].get<uint64_t>();
    a = {b0, b0 + len};
  });
  expect_convert_fails(dir, {st, "overlap"});
}

TEST(ConvertBadInput, SizeDisagreesWithShapeAndDtype) {
  const std::string dir = fresh_hf_dir();
  const std::string st = dir + "/model.safetensors";
  edit_header(st, [](json& h) { h["model.norm.weight"]["dtype"] = "F16"; });
  expect_convert_fails(dir, {st, "tensor 'model.norm.weight'", "shape [64] x F16 needs 128 bytes", "hold 256"});
  edit_header(st, [](json& h) { h["model.norm.weight"]["dtype"] = "Q4"; });
  expect_convert_fails(dir, {st, "unknown dtype 'Q4'"});
}

TEST(ConvertBadInput, IntegerWeightsRefused) {
  const std::string dir = fresh_hf_dir();
  const std::string st = dir + "/model.safetensors";
  edit_header(st, [](json& h) { h["model.norm.weight"]["dtype"] = "I32"; });
  expect_convert_fails(dir, {st, "tensor 'model.norm.weight' has dtype I32", "must be F32, F16 or BF16"});
}

TEST(ConvertBadInput, WrongShapeForConfig) {
  const std::string dir = fresh_hf_dir();
  json c = json::parse(slurp(dir + "/config.json"));
  c["intermediate_size"] = 176;
  spit(dir + "/config.json", c.dump());
  expect_convert_fails(dir, {"model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight'",
                             "expected shape [176, 64] (from config.json), found [172, 64]"});
}

TEST(ConvertBadInput, MissingTensor) {
  const std::string dir = fresh_hf_dir();
  edit_header(dir + "/model.safetensors", [](json& h) {
    h["model.layers.3.self_attn.q_proj.renamed"] = h["model.layers.3.self_attn.q_proj.weight"];
    h.erase("model.layers.3.self_attn.q_proj.weight");
  });
  expect_convert_fails(dir, {"missing tensor 'model.layers.3.self_attn.q_proj.weight'", "LlamaForCausalLM"});
}

TEST(ConvertBadInput, UnexpectedTensor) {
  const std::string dir = fresh_hf_dir();
  // An empty tensor at the end keeps the data section contiguous; only its name is wrong.
  edit_header(dir + "/model.safetensors", [](json& h) {
    uint64_t end = 0;
    for (auto& [k, v] : h.items())
      if (k != "__metadata__") end = std::max(end, v["data_offsets"][1].get<uint64_t>());
    h["model.layers.0.extra.weight"] = {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {end, end}}};
  });
  expect_convert_fails(dir, {"unexpected tensor 'model.layers.0.extra.weight' with shape [0]", "LlamaForCausalLM"});
}

TEST(ConvertBadInput, UnreadableTokenizer) {
  const std::string dir = fresh_hf_dir();
  fs::remove(dir + "/tokenizer.model");
  spit(dir + "/tokenizer.json", "{\"model\": ");
  expect_convert_fails(dir, {dir + "/tokenizer.json", "not well-formed JSON"});
  fs::remove(dir + "/tokenizer.json");
  expect_convert_fails(dir, {"no tokenizer.model or tokenizer.json"});
  spit(dir + "/tokenizer.model", std::string("\x0a\xff\xff\xff\x0f", 5));
  expect_convert_fails(dir, {dir + "/tokenizer.model", "runs past the end"});
}

TEST(ConvertBadInput, ShardIndexNamesMissingTensor) {
  const std::string dir = fresh_hf_dir();
  fs::rename(dir + "/model.safetensors", dir + "/model-00001-of-00001.safetensors");
  json idx = {{"metadata", json::object()},
              {"weight_map", {{"model.embed_tokens.weight", "model-00001-of-00001.safetensors"},
                              {"model.ghost.weight", "model-00001-of-00001.safetensors"}}}};
  spit(dir + "/model.safetensors.index.json", idx.dump());
  expect_convert_fails(dir, {"model.safetensors.index.json", "lists tensor 'model.ghost.weight'"});
  idx["weight_map"] = {{"x", "../etc/passwd"}};
  spit(dir + "/model.safetensors.index.json", idx.dump());
  expect_convert_fails(dir, {"'../etc/passwd' is not a plain file name"});
}

// A write that fails half way (here: the file size limit, as a full disk would) leaves
// neither the output nor the temporary file.
TEST(ConvertBadInput, DiskFullLeavesNothing) {
  const std::string dir = fresh_hf_dir();
  const std::string out_dir = test::temp_path("full");
  fs::create_directories(out_dir);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);  // so write() fails with EFBIG instead of killing us
    struct rlimit lim = {200 * 1024, 200 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    std::string msg = "no error";
    try {
      ConvertOptions o;
      o.outtype = GgmlType::F32;
      convert_hf_to_gguf(dir, out_dir + "/m.gguf", o);
    } catch (const std::exception& e) {
      msg = e.what();
    }
    (void)!::write(fds[1], msg.data(), msg.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_NE(msg.find(out_dir + "/m.gguf: write failed: File too large"), std::string::npos) << msg;
  EXPECT_EQ(entries(out_dir), 0u);
}

TEST(ConvertBadInput, ExistingOutputNeedsForce) {
  const std::string dir = fresh_hf_dir();
  const std::string out = test::temp_path("exists.gguf");
  spit(out, "keep me");
  ConvertOptions o;
  o.outtype = GgmlType::F32;
  try {
    convert_hf_to_gguf(dir, out, o);
    ADD_FAILURE() << "overwrote without --force";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("output exists (use --force to overwrite)"), std::string::npos);
  }
  EXPECT_EQ(slurp(out), "keep me");
  o.overwrite = true;
  convert_hf_to_gguf(dir, out, o);
  EXPECT_NE(slurp(out), "keep me");
}

TEST(ConvertBadInput, ExportRefusesQuantizedAndLeavesNothing) {
  const std::string parent = test::temp_path("exq");
  fs::create_directories(parent);
  try {
    export_gguf_to_hf(test::golden_model("tiny-llama-q8_0.gguf"), parent + "/hf", {});
    ADD_FAILURE() << "exported a quantized file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'output.weight' has type q8_0; export-hf writes only F32, F16 "
                                         "and BF16"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(entries(parent), 0u);
}

TEST(ConvertBadInput, ExportReplacesDirectoryOnlyWithForce) {
  const std::string dir = fresh_hf_dir();
  try {
    export_gguf_to_hf(test::golden_model("tiny-qwen3-f32.gguf"), dir, {});
    ADD_FAILURE() << "replaced without --force";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("output exists"), std::string::npos);
  }
  ExportOptions o;
  o.overwrite = true;
  export_gguf_to_hf(test::golden_model("tiny-qwen3-f32.gguf"), dir, o);
  EXPECT_NE(slurp(dir + "/config.json").find("Qwen3ForCausalLM"), std::string::npos);
  EXPECT_EQ(entries(fs::path(dir).parent_path().string()), 1u) << "old directory or temporaries left";
}

// Seeded mutations of a small valid safetensors file and of a real tokenizer.model: each is
// either accepted or refused with an Error, never a crash or another exception type.
TEST(ConvertBadInput, MutatedHeadersAreRefusedCleanly) {
  const std::string path = test::temp_path("small.safetensors");
  std::vector<StWriteTensor> ts;
  for (const char* n : {"a.weight", "b.bias", "c"})
    ts.push_back({n, StDtype::F16, {2, 3}, [](const auto& emit) {
                    const uint16_t v[6] = {1, 2, 3, 4, 5, 6};
                    emit(v, sizeof v);
                  }});
  write_safetensors(path, ts);
  const std::string good = slurp(path);
  const std::string spm = slurp(test::source_dir() + "/tests/convert_test_spm.model");
  std::mt19937 rng(1234);
  size_t refused = 0, spm_refused = 0;
  for (int i = 0; i < 600; ++i) {
    std::string b = good;
    const int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] = char(rng());
    if (rng() % 4 == 0) b.resize(rng() % b.size());
    spit(path, b);
    try {
      SafetensorsFile::open(path);
    } catch (const Error&) {
      ++refused;
    }
    std::string m = spm;
    for (int k = 0; k < flips; ++k) m[rng() % m.size()] = char(rng());
    if (rng() % 4 == 0) m.resize(rng() % m.size());
    try {
      parse_spm_model(m, "mutated.model");
    } catch (const Error&) {
      ++spm_refused;
    }
  }
  EXPECT_GT(refused, 300u);
  EXPECT_GT(spm_refused, 10u);
}

// At the CLI boundary an error is one line on stderr and exit status 1.
TEST(ConvertBadInput, CliPrintsOneLine) {
  const std::string dir = fresh_hf_dir();
  fs::remove(dir + "/config.json");
  const auto r = test::run_trident("convert " + dir + " -o " + test::temp_path("cli.gguf") + " --outtype f32");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "trident: error: " + dir + "/config.json: missing (required file)\n");
  const auto r2 = test::run_trident("convert " + dir + " -o x.gguf --outtype q5_k");
  EXPECT_EQ(r2.exit_code, 1);
  EXPECT_NE(r2.err.find("--outtype 'q5_k': expected one of f32, f16, bf16, q8_0, q4_0"), std::string::npos) << r2.err;
}

}  // namespace
}  // namespace trident
