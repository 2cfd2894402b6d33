#include "test_util.h"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "format/error.h"
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace trident::test {

Golden load_golden(const std::string& json_name) {
  const bool own = json_name.rfind("tests/", 0) == 0;
  std::ifstream in(own ? source_dir() + "/" + json_name : shared_dir() + "/golden/p1/" + json_name);
  if (!in) throw std::runtime_error("cannot open golden " + json_name);
  nlohmann::json j = nlohmann::json::parse(in);
  Golden g;
  g.model = j["model"].get<std::string>();
  if (own) g.model = json_name.substr(0, json_name.rfind('/') + 1) + g.model;
  g.prompt_ids = j["prompt_ids"].get<std::vector<int32_t>>();
  // Parse floats as float32 (they were printed with %.9g from float32).
  auto rows = [](const nlohmann::json& a) {
    std::vector<std::vector<float>> r;
    for (const auto& row : a) {
      std::vector<float> v;
      for (const auto& x : row) v.push_back(float(x.get<double>()));
      r.push_back(std::move(v));
    }
    return r;
  };
  g.prompt_logits = rows(j["prompt_logits"]);
  g.greedy_ids = j["greedy_ids"].get<std::vector<int32_t>>();
  for (const auto& x : j["greedy_top2_margin"]) g.greedy_margin.push_back(float(x.get<double>()));
  g.greedy_logits_first4 = rows(j["greedy_logits_first4"]);
  return g;
}

namespace {
// This process's scratch folder; removed with everything in it when the process exits, so
// ctest's one process per test leaves nothing behind in /tmp.
struct ScratchDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("trident-test-" + std::to_string(getpid()));
  ScratchDir() { std::filesystem::create_directories(path); }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
}  // namespace

std::string temp_path(const std::string& name) {
  static std::atomic<int> counter{0};
  static ScratchDir dir;
  std::filesystem::create_directories(dir.path);  // a test may have removed it
  return (dir.path / (std::to_string(counter++) + "-" + name)).string();
}

namespace {

CommandResult run_command(const std::string& command_line, bool exec) {
  const std::string out = temp_path("stdout"), err = temp_path("stderr");
  // A command run directly ("exec") is the shell's own process, so wait4's peak memory is its.
  const std::string cmd = (exec ? "exec " + command_line : "{ " + command_line + " ; }") + " >" + out + " 2>" + err;
  // fork + wait4 rather than system(): the child's own peak memory is part of the result.
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  struct rusage ru {};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  CommandResult r;
  r.max_rss_mb = double(ru.ru_maxrss) / 1024.0;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

}  // namespace

CommandResult run_trident(const std::string& args) {
  return run_command(trident_binary() + " " + args + " </dev/null", true);
}

CommandResult run_shell(const std::string& command_line) { return run_command(command_line, false); }

std::vector<float> eval_logits(const Model& m, const std::vector<int32_t>& ids, FusionMode fuse, int threads,
                               int64_t n_ctx, int64_t ubatch) {
  SessionOptions o;
  o.n_ctx = n_ctx;
  o.n_ubatch = ubatch;
  o.n_threads = threads;
  o.k_type = o.v_type = KvType::F32;
  o.fuse_qkv = o.fuse_gate_up = fuse;
  Session s(m, o);
  std::vector<float> out;
  s.eval(ids, true, out);
  return out;
}

CommandResult expect_cli_error(const std::string& args, const std::string& phrase) {
  CommandResult r = run_trident(args);
  EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("trident: error: ", 0), 0u) << args << "\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": expected one line, got:\n" << r.err;
  EXPECT_NE(r.err.find(phrase), std::string::npos) << args << ": missing '" << phrase << "' in:\n" << r.err;
  EXPECT_EQ(r.out, "") << args;
  return r;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace trident::test
