// The command line as a llama.cpp user types it: llama.cpp's flags (accepted where they change
// nothing on a CPU, refused in one line otherwise), typos, bad values, missing files and
// repeated flags. Every case asserts the exit code (0 or 1, never another) and the one line.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace trident {
namespace {

const std::string kStories = test::source_dir() + "/models/stories260K.gguf";

// Exit 1, one stderr line "trident: error: <message>" (exactly), nothing on stdout.
void expect_error_line(const std::string& args, const std::string& message) {
  const test::CommandResult r = test::run_trident(args);
  EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
  EXPECT_EQ(r.err, "trident: error: " + message + "\n") << args;
  EXPECT_EQ(r.out, "") << args;
}

// Exit 0 with a short greedy generation from BOS: the flags changed nothing.
void expect_runs(const std::string& flags) {
  const test::CommandResult r = test::run_trident("run -m " + kStories + " --tokens 1 -n 2 --temp 0 --json " + flags);
  EXPECT_EQ(r.exit_code, 0) << flags << "\n" << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["generated_ids"], nlohmann::json::parse("[403, 407]")) << flags;
}

TEST(CliFlags, GpuFlagsThatChangeNothingOnACpuAreAccepted) {
  for (const char* f : {"-ngl 0", "--n-gpu-layers 0", "--gpu-layers 0", "-fa off", "-fa auto", "-fa 0",
                        "--flash-attn off", "-mg 0", "-sm none", "-dev none", "-nkvo", "--no-kv-offload", "--mlock",
                        "--no-mmap", "-b 512", "--batch-size 64", "-tb 2", "-np 1", "-cb", "-nocb",
                        "--numa distribute", "-no-cnv", "--no-conversation", "--no-warmup", "-fa=off", "-ngl=0"})
    expect_runs(f);
}

TEST(CliFlags, GpuFlagsThatWouldChangeSomethingAreRefusedNamingTheFlag) {
  const std::string run = "run -m " + kStories + " --tokens 1 ";
  const std::string cpu = ": not supported: trident runs on the CPU";
  expect_error_line(run + "-ngl 99", "-ngl 99" + cpu + " (-ngl 0 is accepted)");
  expect_error_line(run + "--n-gpu-layers 33", "--n-gpu-layers 33" + cpu + " (-ngl 0 is accepted)");
  expect_error_line(run + "-fa on", "-fa on" + cpu + " (-fa off is accepted)");
  expect_error_line(run + "-fa -n 2", "-fa on" + cpu + " (-fa off is accepted)");  // old spelling without value
  expect_error_line(run + "-mg 1", "-mg 1" + cpu + " (-mg 0 is accepted)");
  expect_error_line(run + "-sm row", "-sm row" + cpu + " (-sm none is accepted)");
  expect_error_line(run + "-dev CUDA0", "-dev CUDA0" + cpu + " (-dev none is accepted)");
  expect_error_line(run + "-ts 3,1", "-ts" + cpu);
  expect_error_line(run + "-ot exps=CPU", "-ot" + cpu);
  expect_error_line(run + "-np 4", "-np 4: not supported: trident runs one sequence (-np 1 is accepted)");
  expect_error_line(run + "-b 0", "-b: expected a batch size >= 1, found '0'");
  expect_error_line(run + "-tb x", "-tb: expected a thread count >= 1, found 'x'");
  expect_error_line("bench -m " + kStories + " -ngl 99", "-ngl 99" + cpu + " (-ngl 0 is accepted)");
  expect_error_line("logits -m " + kStories + " --tokens 1 -ngl 1", "-ngl 1" + cpu + " (-ngl 0 is accepted)");
}

TEST(CliFlags, ChatFlagsAreRefusedOutsideAConversation) {
  const std::string chat = ": only in a conversation: use trident chat (or trident run -cnv)";
  for (const char* f : {"-i", "--interactive", "-if", "-mli"})
    expect_error_line("run -m " + kStories + " " + f, std::string(f) + chat);
  expect_error_line("run -m " + kStories + " -sys 'be nice'", "-sys" + chat);
  expect_error_line("run -m " + kStories + " --system-prompt x", "--system-prompt" + chat);
}

TEST(CliFlags, LlamaCppSpellingsOfTridentsFlags) {
  expect_runs("-ub 1 -ctk f32 -ctv f32");
  expect_runs("-ctk F16 -ctv F32");  // type names in any case
  expect_runs("--ubatch-size 2 --cache-type-k f16");
  expect_runs("-v");  // --verbose
  expect_error_line("run -m " + kStories + " --tokens 1 -ub 0", "-ub: expected a micro-batch size from 1 to 16777216, found 0");
  expect_error_line("run -m " + kStories + " --tokens 1 -ctk q8_0", "-ctk: expected f16 or f32, found 'q8_0'");
}

TEST(CliFlags, FlagsOfOtherCommandsAreUnknownHere) {
  expect_error_line("inspect " + kStories + " -ngl 0", "unknown flag '-ngl' for 'trident inspect' (see trident inspect --help)");
  expect_error_line("run -m " + kStories + " -pg 4,2", "unknown flag '-pg' for 'trident run' (did you mean '-p'?)");
  expect_error_line("quantize " + kStories + " x.gguf q8_0 --mlock",
                    "unknown flag '--mlock' for 'trident quantize' (see trident quantize --help)");
}

TEST(CliFlags, TyposNameTheClosestFlag) {
  expect_error_line("run --tmep 0", "unknown flag '--tmep' for 'trident run' (did you mean '--temp'?)");
  expect_error_line("run --n-predcit 4", "unknown flag '--n-predcit' for 'trident run' (did you mean '--n-predict'?)");
  expect_error_line("run -nlg 0", "unknown flag '-nlg' for 'trident run' (did you mean '-ngl'?)");
  expect_error_line("bench --no-wramup", "unknown flag '--no-wramup' for 'trident bench' (did you mean '--no-warmup'?)");
  expect_error_line("run --frobnicate", "unknown flag '--frobnicate' for 'trident run' (see trident run --help)");
}

TEST(CliFlags, BadValuesAndMissingValues) {
  const std::string run = "run -m " + kStories + " --tokens 1 ";
  expect_error_line(run + "-c nv", "--ctx-size: expected a number, found 'nv'");
  expect_error_line(run + "-t many", "--threads: expected a number, found 'many'");
  expect_error_line(run + "--temp hot", "--temp: expected a number, found 'hot'");
  expect_error_line(run + "-n 1.5", "--n-predict: expected a number, found '1.5'");
  expect_error_line(run + "-n -2", "-n: expected a token count from 0 to 16777216, or -1 for until the end of text or context, found -2");
  expect_error_line(run + "--n-probs -1", "--n-probs: expected a count >= 0, found -1");
  expect_error_line(run + "--n-probs 3", "--n-probs: the probabilities are part of the --json output; add --json");
  expect_error_line(run + "--repack maybe", "--repack: expected on or off, found 'maybe'");
  expect_error_line("run -m " + kStories + " -p", "-p: expected a value");
  expect_error_line("run -m " + kStories + " -ngl", "-ngl: expected a value");
  expect_error_line("fuse " + kStories, "--output is required (see trident fuse --help)");
  expect_error_line("inspect", "--model is required (see trident inspect --help)");
  expect_error_line("export-hf " + kStories, "outdir is required (see trident export-hf --help)");
  expect_error_line("run -m " + kStories + " hello", "unexpected argument 'hello' for 'trident run' (see trident run --help)");
}

TEST(CliFlags, MissingFiles) {
  expect_error_line("run -m /nonexistent/m.gguf -p hi", "/nonexistent/m.gguf: cannot open: No such file or directory");
  expect_error_line("run -m " + kStories + " -f /nonexistent/prompt.txt",
                    "-f /nonexistent/prompt.txt: cannot read: No such file or directory");
  expect_error_line("inspect /nonexistent/m.gguf", "/nonexistent/m.gguf: cannot open: No such file or directory");
  expect_error_line("tokenize -m /nonexistent/m.gguf -p hi", "/nonexistent/m.gguf: cannot open: No such file or directory");
  expect_error_line("run -m " + kStories + " -p hi -f /etc/hostname",
                    "-p and -f are mutually exclusive: give the prompt once");
}

TEST(CliFlags, ARepeatedFlagLetsTheLastOneWin) {
  const auto r = test::run_trident("run -m /nonexistent.gguf -m " + kStories + " --tokens 1 -n 9 -n 3 --temp 1 --temp 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["generated_ids"], nlohmann::json::parse("[403, 407, 261]"));
  expect_runs("-t 1 -t 2 -c 8 -c 16 -ub 3 -ub 4 --fuse-qkv off --fuse-qkv on");
}

TEST(CliFlags, AValueThatStartsWithADashIsAValue) {
  const auto r = test::run_trident("tokenize -m " + kStories + " -p -hello --ids --no-bos");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto d = test::run_trident("detokenize -m " + kStories + " --tokens '" + r.out.substr(0, r.out.size() - 1) + "'");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, "-hello\n");
}

TEST(CliCommands, HelpVersionAndUnknownCommands) {
  for (const char* a : {"", "help", "--help", "-h"}) {
    const auto r = test::run_trident(a);
    EXPECT_EQ(r.exit_code, 0) << a;
    EXPECT_NE(r.out.find("Subcommands:"), std::string::npos) << a << "\n" << r.out;
    EXPECT_NE(r.out.find("tokenize"), std::string::npos) << a;
    EXPECT_EQ(r.err, "") << a;
  }
  for (const char* a : {"help run", "run --help", "run -h"}) {
    const auto r = test::run_trident(a);
    EXPECT_EQ(r.exit_code, 0) << a;
    EXPECT_NE(r.out.find("Usage: trident run"), std::string::npos) << a << "\n" << r.out;
    EXPECT_NE(r.out.find("--reverse-prompt"), std::string::npos) << a;
  }
  expect_error_line("rnu", "unknown command 'rnu' (did you mean 'run'?)");
  expect_error_line("benhc", "unknown command 'benhc' (did you mean 'bench'?)");
  expect_error_line("quantise", "unknown command 'quantise' (did you mean 'quantize'?)");
  expect_error_line("frobnicate", "unknown command 'frobnicate' (trident help lists the commands)");
  expect_error_line("help rnu", "unknown command 'rnu' (did you mean 'run'?)");
  expect_error_line("-m x.gguf", "expected a command before '-m' (trident help lists the commands)");
}

TEST(CliCommands, VersionPrintsTheCommitAndBuildFlags) {
  const auto r = test::run_trident("--version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto head = test::run_shell("git -C " + test::source_dir() + " rev-parse --short=12 HEAD");
  ASSERT_EQ(r.out.rfind("trident ", 0), 0u) << r.out;
  const std::string commit = r.out.substr(8, r.out.find('\n') - 8);
  if (head.exit_code == 0) {
    EXPECT_EQ(commit.size(), 12u) << r.out;  // a git checkout names its commit
  }
  EXPECT_NE(r.out.find("\nbuild: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nkernels: "), std::string::npos) << r.out;
}

TEST(CliModelPath, PositionalAndDashMEverywhere) {
  for (const std::string& cmd : {"inspect " + kStories, "inspect -m " + kStories, "tokenize " + kStories + " -p hi",
                                 "logits " + kStories + " --tokens 1", "logits --model " + kStories + " --tokens 1",
                                 "run " + kStories + " --tokens 1 -n 1"}) {
    const auto r = test::run_trident(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
  }
  const std::string out = test::temp_path("unfused.gguf");
  const auto f = test::run_trident("fuse -m " + test::golden_model("tiny-llama-f32.gguf") + " -o " + out);
  EXPECT_EQ(f.exit_code, 0) << f.err;
  const std::string hf = test::temp_path("hf");
  const auto e = test::run_trident("export-hf -m " + test::golden_model("tiny-llama-f32.gguf") + " " + hf);
  EXPECT_EQ(e.exit_code, 0) << e.err;
  std::filesystem::remove(out);
  std::filesystem::remove_all(hf);
}

TEST(CliModelPath, DefaultModelIsFoundFromAnyDirectory) {
  const auto r = test::run_shell("cd / && " + test::trident_binary() + " run --tokens 1 -n 2 --temp 0 --json </dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["generated_ids"], nlohmann::json::parse("[403, 407]"));
  const auto b = test::run_shell("cd / && " + test::trident_binary() + " bench -p 4 -n 0 -r 1 -t 1 -o jsonl </dev/null");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.out.find("models/stories260K.gguf"), std::string::npos) << b.out;
}

}  // namespace
}  // namespace trident
