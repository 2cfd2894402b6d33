// Writers never destroy anything but their own target (issue 19, defects 4-7): the output may
// not be an input (via ./, symlinks, hard links), export-hf --force replaces only the files it
// writes and refuses a directory holding its input, --force refuses FIFOs and devices, and a
// writer (synth, quantize, fuse, unfuse, convert, export-hf) stopped by SIGINT / SIGTERM leaves
// neither target nor temporary file; after a SIGKILL the next run of a writer of the same target
// removes the stale temporary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "test_util.h"
#include "gguf_craft.h"

namespace trident {
namespace {

namespace fs = std::filesystem;

// Exit code 1 and the error as the last stderr line (notes on the plan may come before it).
void expect_refusal(const test::CommandResult& r, const std::string& phrase) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const size_t at = r.err.find("trident: error: ");
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n', at), r.err.size() - 1) << r.err;
  EXPECT_NE(r.err.find(phrase, at), std::string::npos) << "missing '" << phrase << "' in: " << r.err;
}

size_t entries(const std::string& dir) {
  size_t n = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

// A directory holding a copy of a golden GGUF, and that copy's path.
std::string copy_into_fresh_dir(const std::string& golden, const std::string& name) {
  const std::string dir = test::temp_path("w");
  fs::create_directories(dir);
  fs::copy_file(test::golden_model(golden), dir + "/" + name);
  return dir + "/" + name;
}

TEST(WriterSafety, GgufRewritersRefuseTheirInputByAnyPath) {
  const std::string in = copy_into_fresh_dir("tiny-llama-f32.gguf", "in.gguf");
  const std::string dir = fs::path(in).parent_path().string();
  const std::string before = test::read_bytes(in);
  fs::create_symlink(in, dir + "/link.gguf");
  fs::create_hard_link(in, dir + "/hard.gguf");
  for (const std::string& out : {dir + "/./in.gguf", dir + "/link.gguf", dir + "/hard.gguf"}) {
    expect_refusal(test::run_trident("fuse " + in + " -o " + out + " --force"), "output is the input file");
    expect_refusal(test::run_trident("quantize " + in + " -o " + out + " --type q8_0 --force"),
                   "output is the input file");
  }
  const std::string fused = copy_into_fresh_dir("tiny-llama-fusedqkv-f32.gguf", "fused.gguf");
  expect_refusal(test::run_trident("unfuse " + fused + " -o " + fs::path(fused).parent_path().string() + "/./fused.gguf --force"),
                 "output is the input file");
  EXPECT_EQ(test::read_bytes(in), before);
}

TEST(WriterSafety, ConvertRefusesToWriteOverItsInputDirectory) {
  const std::string in = copy_into_fresh_dir("stories260K.gguf", "m.gguf");
  const std::string hf = fs::path(in).parent_path().string() + "/hf";
  ASSERT_EQ(test::run_trident("export-hf " + in + " " + hf).exit_code, 0);
  const std::string weights = test::read_bytes(hf + "/model.safetensors");
  expect_refusal(test::run_trident("convert " + hf + " -o " + hf + "/model.safetensors --force"),
                 "output is the input file '" + hf + "/model.safetensors'");
  fs::create_symlink(hf + "/config.json", hf + "/../config-link.json");
  expect_refusal(test::run_trident("convert " + hf + " -o " + hf + "/../config-link.json --force"),
                 "output is the input file");
  EXPECT_EQ(test::read_bytes(hf + "/model.safetensors"), weights);
  // A new file beside the inputs is fine.
  EXPECT_EQ(test::run_trident("convert " + hf + " -o " + hf + "/model.gguf").exit_code, 0);
}

TEST(WriterSafety, ExportHfForceReplacesOnlyItsOwnFiles) {
  const std::string in = copy_into_fresh_dir("stories260K.gguf", "model.gguf");
  const std::string proj = fs::path(in).parent_path().string();
  test::write_bytes(proj + "/notes.txt", "mine");
  // The directory holding the input is refused, even with --force; nothing is deleted.
  expect_refusal(test::run_trident("export-hf " + in + " " + proj + " --force"),
                 "holds the input file '" + in + "' (export to another directory)");
  expect_refusal(test::run_trident("export-hf " + in + " " + proj + "/. --force"), "holds the input file");
  EXPECT_TRUE(fs::exists(in));
  EXPECT_EQ(test::read_bytes(proj + "/notes.txt"), "mine");
  // An existing export directory keeps unrelated files; the written ones are replaced.
  const std::string out = proj + "/hf";
  fs::create_directories(out);
  test::write_bytes(out + "/notes.txt", "keep");
  test::write_bytes(out + "/config.json", "old");
  const auto r = test::run_trident("export-hf " + in + " " + out + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::read_bytes(out + "/notes.txt"), "keep");
  EXPECT_NE(test::read_bytes(out + "/config.json"), "old");
  EXPECT_TRUE(fs::exists(out + "/model.safetensors"));
  EXPECT_EQ(entries(proj), 3u) << "model.gguf, notes.txt, hf: no temporary left";
}

TEST(WriterSafety, ForceRefusesFifosAndDevices) {
  const std::string dir = test::temp_path("special");
  fs::create_directories(dir);
  const std::string fifo = dir + "/fifo.gguf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  expect_refusal(test::run_trident("synth --shape llama-3.2-1b --type q4_0 --layers 1 --vocab 300 -o " + fifo + " --force"),
                 fifo + ": exists and is not a regular file (refusing to replace it, even with --force)");
  expect_refusal(test::run_trident("fuse " + test::golden_model("tiny-llama-f32.gguf") + " -o " + fifo + " --force"),
                 "exists and is not a regular file");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  // As root a device node can be made in a scratch directory (a copy of /dev/null's numbers).
  const std::string dev = dir + "/null.gguf";
  if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    expect_refusal(test::run_trident("synth --shape llama-3.2-1b --type q4_0 --layers 1 --vocab 300 -o " + dev + " --force"),
                   "exists and is not a regular file");
    ASSERT_EQ(::lstat(dev.c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
  }
  EXPECT_EQ(entries(dir), fs::exists(dev) ? 2u : 1u) << "no temporary left";
}

// Starts a writer that takes seconds, waits until its temporary file has data, sends `sig`.
// Returns the wait status.
int stop_writer_mid_write(const std::string& dir, const std::string& args, int sig) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = "exec " + std::string(TRIDENT_BINARY) + " " + args + " >/dev/null 2>&1 </dev/null";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto t0 = std::chrono::steady_clock::now();
  bool writing = false;
  while (!writing && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(dir, ec))
      if (e.path().filename().string().find(".tmp-") != std::string::npos &&
          (e.is_directory() || e.file_size() > (1 << 20)))
        writing = true;
    if (!writing) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(writing) << args;
  ::kill(pid, sig);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(WriterSafety, SignalsMidWriteLeaveNothing) {
  for (int sig : {SIGINT, SIGTERM}) {
    const std::string dir = test::temp_path("sig");
    fs::create_directories(dir);
    const int status = stop_writer_mid_write(
        dir, "synth --shape llama-3.2-1b --type f16 --layers 2 -o " + dir + "/big.gguf", sig);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "status " << status;
    EXPECT_EQ(entries(dir), 0u) << "signal " << sig << ": target or temporary left";
  }
}

// Every other writer, stopped by each signal once its temporary holds data: quantize, fuse,
// unfuse, convert and export-hf (whose temporary is a directory of files). The inputs are made
// large (about 500 MB) so that each writer is still writing when the signal arrives.
TEST(WriterSafety, EveryWriterStoppedBySigintOrSigtermLeavesNothing) {
  const std::string in_dir = test::temp_path("sigin");
  fs::create_directories(in_dir);
  const std::string big = in_dir + "/big.gguf", fused = in_dir + "/fused.gguf", hf = in_dir + "/hf";
  auto make = [](const std::string& args) {
    const auto r = test::run_trident(args);
    ASSERT_EQ(r.exit_code, 0) << args << ": " << r.err;
  };
  make("synth --shape qwen3-0.6b --type f16 --layers 16 --vocab 300 -o " + big);
  make("fuse " + big + " -o " + fused);
  make("export-hf " + big + " " + hf);
  const std::vector<std::pair<std::string, std::string>> writers = {
      {"quantize", "quantize " + big + " -o OUT/out.gguf --type q8_0"},
      {"fuse", "fuse " + big + " -o OUT/out.gguf"},
      {"unfuse", "unfuse " + fused + " -o OUT/out.gguf"},
      {"convert", "convert " + hf + " -o OUT/out.gguf"},
      {"export-hf", "export-hf " + big + " OUT/hf"},
  };
  for (const auto& [name, args] : writers) {
    for (int sig : {SIGINT, SIGTERM}) {
      const std::string out = test::temp_path("sigout");
      fs::create_directories(out);
      std::string cmd = args;
      cmd.replace(cmd.find("OUT"), 3, out);
      const int status = stop_writer_mid_write(out, cmd, sig);
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << name << ": status " << status;
      EXPECT_EQ(entries(out), 0u) << name << ", signal " << sig << ": target or temporary left";
      fs::remove_all(out);
    }
  }
  fs::remove_all(in_dir);
}

TEST(WriterSafety, StaleTemporaryOfAKilledWriterIsRemovedByTheNextRun) {
  const std::string dir = test::temp_path("kill");
  fs::create_directories(dir);
  const std::string target = dir + "/big.gguf";
  stop_writer_mid_write(dir, "synth --shape llama-3.2-1b --type f16 --layers 2 -o " + target, SIGKILL);
  ASSERT_EQ(entries(dir), 1u) << "SIGKILL leaves the temporary file";
  // Another writer's live temporary (this process's pid) is left alone.
  const std::string live = dir + "/.big.gguf.tmp-" + std::to_string(::getpid()) + "-abcdef";
  test::write_bytes(live, "in use");
  const auto r = test::run_trident("synth --shape llama-3.2-1b --type q4_0 --layers 1 --vocab 300 -o " + target);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(entries(dir), 2u) << "the target and the live temporary";
  EXPECT_TRUE(fs::exists(live));
}

}  // namespace
}  // namespace trident
