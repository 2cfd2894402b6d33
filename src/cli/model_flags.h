// Flags shared by every subcommand that runs a model (run, logits, bench).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"
#include "runtime/session.h"

namespace trident::cli {

struct ModelFlags {
  std::string model = "models/stories260K.gguf";
  int threads = -1;  // -1: not given (every core)
  int64_t ctx = 0;
  int64_t ubatch = 512;
  std::string cache_k = "f16", cache_v = "f16";
  std::string fuse_qkv = "auto", fuse_gate_up = "auto";
  std::string isa;  // force a kernel table (testing)
  bool verbose = false;
  std::string repack = "on";
  std::string mem_limit;  // --mem-limit: empty = the machine's physical memory
};

// Upper bounds on flags (a larger value is a typo or an attack, refused in one line):
// contexts and micro-batches up to 2^24 tokens, threads up to 4 per core (at most 1024).
constexpr int64_t kMaxContextFlag = int64_t(1) << 24;
int max_threads_flag();

void add_model_flags(CLI::App* cmd, ModelFlags& f);
// Validates and converts; throws Error with the flag's name on bad values.
SessionOptions session_options(const ModelFlags& f);
FusionMode parse_fusion_mode(const std::string& flag, const std::string& value);
bool parse_on_off(const std::string& flag, const std::string& value);
KvType parse_kv_type(const std::string& flag, const std::string& value);  // f16 | f32
// Parses "1,2,3" (whitespace allowed); throws Error naming the bad item.
std::vector<int32_t> parse_token_list(const std::string& s);
// Loads the model; applies --isa; with --verbose prints what was loaded and fused to stderr.
std::unique_ptr<Model> load_model(const ModelFlags& f);

}  // namespace trident::cli
