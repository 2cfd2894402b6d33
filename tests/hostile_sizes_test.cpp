// Hostile sizes (issue 19): files claiming huge contexts, vocabularies, head counts, layer and
// expert counts or arrays, and flags asking for huge contexts, batches, generations or thread
// counts are each refused in one line with exit code 1, using under 200 MB while refusing
// (the child's peak RSS, from getrusage). A real 51 MB metadata array costs no more than its
// mapping.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "format/error.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "format/memory_budget.h"
#include "gguf_craft.h"
#include "test_util.h"

namespace trident {
namespace {

namespace fs = std::filesystem;
using test::le;

constexpr double kMaxRefusalMb = 200;

// The CLI's one-line refusal, within kMaxRefusalMb of peak memory.
void expect_refused(const std::string& args, const std::string& phrase) {
  const test::CommandResult r = test::expect_cli_error(args, phrase);
  // ASan's shadow memory and quarantine are not the program's: the bound holds for real builds.
  if (!test::sanitized()) {
    EXPECT_LT(r.max_rss_mb, kMaxRefusalMb) << args;
  }
}

// A copy of a golden model with metadata changed by `edit`; returns its path.
std::string rewritten(const std::string& golden, const std::function<void(GgufWriter&)>& edit) {
  auto f = GgufFile::open(test::golden_model(golden));
  GgufWriter w;
  w.copy_metadata(*f);
  edit(w);
  const GgufFile* fp = f.get();
  for (const GgufTensorInfo& t : f->tensors())
    w.add_tensor({t.name, t.type, std::vector<int64_t>(t.ne, t.ne + t.n_dims),
                  [fp, &t](const auto& emit) { emit(fp->tensor_data(t), t.n_bytes); }});
  const std::string path = test::temp_path("hostile.gguf");
  w.write(path);
  return path;
}

GgufValue u64(uint64_t v) { return GgufValue{GgufValueType::UINT64, v}; }

std::string with_key(const std::string& golden, const std::string& key, GgufValue v) {
  return rewritten(golden, [&](GgufWriter& w) { w.set(key, v); });
}

TEST(HostileSizes, FileClaimsHugeContext) {
  const std::string m = with_key("tiny-llama-q4_0.gguf", "llama.context_length", u64(uint64_t(1) << 40));
  expect_refused("logits -m " + m + " --tokens 1", "key 'llama.context_length': expected a context length from 0 to");
}

TEST(HostileSizes, FileClaimsHugeHeadCount) {
  const std::string m = rewritten("tiny-llama-q4_0.gguf", [](GgufWriter& w) {
    w.set("llama.attention.head_count", u64(uint64_t(1) << 31));
    w.set("llama.attention.head_count_kv", u64(uint64_t(1) << 31));
  });
  expect_refused("logits -m " + m + " --tokens 1",
                 "keys 'llama.attention.head_count' x 'llama.attention.key_length': 2147483648 x 64 = 137438953472 exceeds");
}

TEST(HostileSizes, FileClaimsHugeLayerCount) {
  const std::string m = with_key("tiny-llama-q4_0.gguf", "llama.block_count", u64(uint64_t(1) << 32));
  expect_refused("logits -m " + m + " --tokens 1", "key 'llama.block_count': 4294967296 layers, but the file holds only 21");
  const std::string m2 = with_key("tiny-llama-q4_0.gguf", "llama.block_count", u64(uint64_t(1) << 30));
  expect_refused("logits -m " + m2 + " --tokens 1", "key 'llama.block_count': 1073741824 layers, but the file holds only");
  // inspect prints what the file holds and says why there is no fusion plan.
  const test::CommandResult r = test::run_trident("inspect " + m2);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("fusion plan: not available: " + m2 + ": key 'llama.block_count': 1073741824 layers"),
            std::string::npos);
  if (!test::sanitized()) {
    EXPECT_LT(r.max_rss_mb, kMaxRefusalMb);
  }
}

TEST(HostileSizes, FileClaimsAMillionExperts) {
  const std::string m = with_key("tiny-qwen3moe-f32.gguf", "qwen3moe.expert_count", u64(1000000));
  expect_refused("logits -m " + m + " --tokens 1", "tensor 'blk.0.ffn_gate_inp.weight': expected shape");
}

TEST(HostileSizes, FileClaimsHugeVocabularyAndArrays) {
  test::GgufCraft c = test::minimal_gguf();
  c.kv("tokenizer.ggml.tokens", test::kArray, le<uint32_t>(test::kString) + le<uint64_t>(uint64_t(1) << 31));
  const std::string vocab = test::temp_path("vocab.gguf");
  test::write_bytes(vocab, c.build());
  expect_refused("inspect " + vocab, "key 'tokenizer.ggml.tokens': array of 2147483648 string elements does not fit");
  test::GgufCraft d = test::minimal_gguf();
  d.kv("big", test::kArray, le<uint32_t>(test::kU8) + le<uint64_t>(100000000) + std::string(1000, '\0'));
  const std::string arr = test::temp_path("array.gguf");
  test::write_bytes(arr, d.build());
  expect_refused("inspect " + arr, "key 'big': array of 100000000 uint8 elements does not fit");
}

// Issue 19, defect 8: a 51 MB uint8 array used to cost ~48 bytes per element (2.4 GB).
TEST(HostileSizes, LargeMetadataArrayCostsNoMoreThanItsBytes) {
  test::GgufCraft c = test::minimal_gguf();
  const uint64_t n = 51 << 20;
  c.kv("big", test::kArray, le<uint32_t>(test::kU8) + le<uint64_t>(n) + std::string(n, '\x07'));
  const std::string path = test::temp_path("big-array.gguf");
  test::write_bytes(path, c.build());
  const test::CommandResult r = test::run_trident("inspect " + path);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("[53477376 x uint8] 7, 7, 7, 7, ..."), std::string::npos) << r.out.substr(0, 2000);
  if (!test::sanitized()) {
    EXPECT_LT(r.max_rss_mb, 51 + kMaxRefusalMb);
  }
  fs::remove(path);
}

std::string stories() { return test::golden_model("stories260K.gguf"); }

TEST(HostileSizes, HugeFlagsAreRefused) {
  expect_refused("logits -m " + stories() + " -c 1000000000 --tokens 1",
                 "-c: expected a context size from 1 to 16777216, found 1000000000");
  expect_refused("logits -m " + stories() + " -ub 1000000000 --tokens 1",
                 "-ub: expected a micro-batch size from 1 to 16777216, found 1000000000");
  expect_refused("run -m " + stories() + " -p hi -n 1000000000", "-n: expected a token count from 0 to 16777216");
  expect_refused("logits -m " + stories() + " -t 10000 --tokens 1", "-t: expected at most");
  expect_refused("run -m " + stories() + " -p hi -t 10000", "-t: expected at most");
}

TEST(HostileSizes, AllocationsAreCheckedAgainstMemory) {
  expect_refused("logits -m " + stories() + " -c 16777216 -ub 16777216 --mem-limit 1G --tokens 1",
                 "-c 16777216 -ub 16777216: the KV cache and buffers needs");
  expect_refused("logits -m " + stories() + " -c 16777216 --mem-limit 1G --tokens 1",
                 "GiB, the limit (--mem-limit) is 1.0 GiB");
  expect_refused("logits -m " + stories() + " --mem-limit 12Q --tokens 1",
                 "--mem-limit: expected a size in bytes such as 8G, 512M or 1000000, found '12Q'");
  // Without --mem-limit the machine's physical memory is the bound.
  set_memory_limit(0);
  try {
    check_memory(physical_memory_bytes() + 1, "a test allocation");
    ADD_FAILURE() << "not refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a test allocation needs "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(" GiB, the machine has "), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace trident
