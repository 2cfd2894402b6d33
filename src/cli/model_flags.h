// Flags shared by every subcommand that runs a model (run, logits, bench).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"
#include "runtime/session.h"

namespace trident::cli {

// The model every command that runs one uses when none is given: found from the current
// directory (the repository's root) or, failing that, beside the binary (build/../models).
inline constexpr const char* kDefaultModel = "models/stories260K.gguf";

struct ModelFlags {
  std::string model = kDefaultModel;
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
// The model path as `trident CMD MODEL` or `trident CMD -m MODEL` (llama.cpp's spelling).
CLI::Option* add_model_path(CLI::App* cmd, std::string& path, const std::string& help);
// kDefaultModel resolved as said above; any other path as given.
std::string resolve_model_path(const std::string& path);
// A type name as the user typed it ("Q4_K_M", "q6_K"), in the lower case trident's tables use.
std::string lower_case(std::string s);
// Validates and converts; throws Error with the flag's name on bad values.
SessionOptions session_options(const ModelFlags& f);
FusionMode parse_fusion_mode(const std::string& flag, const std::string& value);
bool parse_on_off(const std::string& flag, const std::string& value);
KvType parse_kv_type(const std::string& flag, const std::string& value);  // f16 | f32
// Parses "1,2,3" (whitespace allowed; "[1, 2, 3]" as `tokenize --ids` prints it too); throws
// Error naming the bad item.
std::vector<int32_t> parse_token_list(const std::string& s);
// Loads the model; applies --isa; with --verbose prints what was loaded and fused to stderr.
std::unique_ptr<Model> load_model(const ModelFlags& f);
// One stderr line when -c asks for more context than the model was trained on.
void warn_context_above_trained(const ModelFlags& f, const Model& m);

}  // namespace trident::cli
