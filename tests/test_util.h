// Helpers shared by the tests: paths to shared data, golden JSON loading, running the CLI.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "model/model.h"
#include "runtime/session.h"

namespace trident::test {

inline std::string shared_dir() { return TRIDENT_SHARED_DIR; }
inline std::string source_dir() { return TRIDENT_SOURCE_DIR; }
inline std::string golden_model(const std::string& file) {
  if (file.rfind("tests/", 0) == 0) return source_dir() + "/" + file;
  return file == "stories260K.gguf" ? shared_dir() + "/models/" + file : shared_dir() + "/golden/models/" + file;
}

struct Golden {
  std::string model;       // path of the GGUF file
  std::vector<int32_t> prompt_ids;
  std::vector<std::vector<float>> prompt_logits;
  std::vector<int32_t> greedy_ids;
  std::vector<float> greedy_margin;
  std::vector<std::vector<float>> greedy_logits_first4;
};
// A name inside ../shared/golden/p1/, or a path starting with "tests/" (this repo's own
// references, whose model sits beside the JSON).
Golden load_golden(const std::string& json_name);

// Logits of every position of `ids`, evaluated from position 0 in micro-batches of `ubatch`
// with an F32 K/V cache of n_ctx, fused or not: [ids.size(), n_vocab].
std::vector<float> eval_logits(const Model& m, const std::vector<int32_t>& ids, FusionMode fuse, int threads,
                               int64_t n_ctx, int64_t ubatch = 512);

struct CommandResult {
  int exit_code = 0;
  std::string out, err;
  double max_rss_mb = 0;  // the child's peak resident memory (getrusage via wait4)
};
// Runs build/trident with the given arguments (shell-quoted here), capturing stdout/stderr.
CommandResult run_trident(const std::string& args);
// Runs a /bin/sh command line (pipes, cd, redirections; standard input as the line says).
CommandResult run_shell(const std::string& command_line);
inline std::string trident_binary() { return TRIDENT_BINARY; }

std::string temp_path(const std::string& name);  // unique path under the test temp dir

// The message of the trident::Error that f throws, or "(no error)".
std::string error_of(const std::function<void()>& f);

// Runs the CLI and expects the boundary's contract for bad input: exit code 1, exactly one
// stderr line "trident: error: ..." containing `phrase`, nothing on stdout. Returns the result.
CommandResult expect_cli_error(const std::string& args, const std::string& phrase);

// True under `make test-sanitize` (ASan + UBSan, 2-5x slower, larger RSS). A test that cannot
// run there says why: GTEST_SKIP() << kSanitizerSkip << "reason".
inline bool sanitized() { return std::getenv("TRIDENT_SANITIZED") != nullptr; }
inline constexpr const char* kSanitizerSkip = "skipped under ASan/UBSan: ";

}  // namespace trident::test
