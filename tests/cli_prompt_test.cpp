// Prompts and generation as llama.cpp's tools take them (-f, -p -, escapes, -r, --ignore-eos,
// -n -1, --n-probs, the seed and stop reason in --json), tokenize/detokenize, quantize in
// llama-quantize's form, and bench's llama-bench formats, ranges and depth.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace trident {
namespace {

const std::string kStories = test::source_dir() + "/models/stories260K.gguf";

nlohmann::json run_json(const std::string& flags) {
  const auto r = test::run_trident("run -m " + kStories + " --temp 0 --json " + flags);
  EXPECT_EQ(r.exit_code, 0) << flags << "\n" << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = test::temp_path(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(CliPrompt, FileStdinAndTextGiveTheSamePrompt) {
  const auto by_text = run_json("-p 'Once upon a time' -n 4");
  const std::string file = write_temp("prompt.txt", "Once upon a time\n");  // the editor's newline is dropped
  EXPECT_EQ(run_json("-f " + file + " -n 4")["prompt_ids"], by_text["prompt_ids"]);
  const auto r = test::run_shell("echo 'Once upon a time' | " + test::trident_binary() + " run -m " + kStories +
                                 " -p - -n 4 --temp 0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["prompt_ids"], by_text["prompt_ids"]);
  EXPECT_EQ(nlohmann::json::parse(r.out)["generated_ids"], by_text["generated_ids"]);
  std::filesystem::remove(file);
}

TEST(CliPrompt, EscapesAreProcessedUnlessNoEscape) {
  const auto tok = [](const std::string& flags) {
    const auto r = test::run_trident("tokenize -m " + kStories + " --ids " + flags);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  const std::string newline = tok("-p \"$(printf 'a\\nb')\"");
  EXPECT_EQ(tok("-p 'a\\nb'"), newline);
  EXPECT_EQ(tok("-p 'a\\x0ab'"), newline);
  EXPECT_EQ(tok("-p 'a\\nb' -e"), newline);
  EXPECT_NE(tok("-p 'a\\nb' --no-escape"), newline);
}

TEST(CliPrompt, JsonCarriesSeedStopReasonAndTimings) {
  const auto j = run_json("--tokens 1 -n 3 -s 42");
  EXPECT_EQ(j["seed"], 42);
  EXPECT_EQ(j["stop_reason"], "length");
  for (const char* k : {"prompt_n", "prompt_ms", "prompt_tps", "gen_n", "gen_ms", "gen_tps"})
    EXPECT_TRUE(j["timings"].contains(k)) << k;
  EXPECT_EQ(j["timings"]["gen_n"], 3);
  const auto r = test::run_trident("run -m " + kStories + " --tokens 1 -n 1 -s 7");
  EXPECT_NE(r.err.find("seed: 7\n"), std::string::npos) << r.err;
}

TEST(CliPrompt, StopStringsEndGeneration) {
  const auto j = run_json("-p 'Once upon a time' -n 64 -r Lily -r 'never there'");
  EXPECT_EQ(j["stop_reason"], "stop_string");
  const std::string text = j["text"];
  EXPECT_EQ(text.size() - text.rfind("Lily"), 4u) << text;  // stops on the token that completes it
  const auto r = test::run_trident("run -m " + kStories + " -p 'Once upon a time' -n 64 --temp 0 -r Lily");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Once upon a time, there was a little girl named Lily\n");
  EXPECT_NE(r.err.find("stopped by a stop string (-r)"), std::string::npos) << r.err;
  const auto quiet = test::run_trident("run -m " + kStories + " -p 'Once upon a time' -n 64 --temp 0 -r Lily --no-display-prompt");
  EXPECT_EQ(quiet.out, ", there was a little girl named Lily\n");
}

TEST(CliPrompt, MinusOneGeneratesUntilTheContextIsFull) {
  const auto j = run_json("--tokens 1 -n -1 -c 24");
  EXPECT_EQ(j["stop_reason"], "context");
  EXPECT_EQ(j["generated_ids"].size(), 24u);  // the last token is sampled, never evaluated
}

TEST(CliPrompt, NProbsListsTheTopTokensAndIgnoreEosMasksTheEnd) {
  const auto j = run_json("--tokens 1 -n 2 --n-probs 3");
  ASSERT_EQ(j["probs"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& top = j["probs"][i]["top"];
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0]["id"], j["generated_ids"][i]);  // greedy takes the most probable
    EXPECT_GE(top[0]["p"].get<double>(), top[1]["p"].get<double>());
    EXPECT_GE(top[1]["p"].get<double>(), top[2]["p"].get<double>());
  }
  EXPECT_EQ(j["probs"][0]["top"][0]["piece"], " Once");
  auto eos_p = [](const nlohmann::json& all) {
    for (const auto& t : all["probs"][0]["top"])
      if (t["id"] == 2) return t["p"].get<double>();
    return -1.0;
  };
  EXPECT_GT(eos_p(run_json("--tokens 1 -n 1 --n-probs 512")), 0.0);
  EXPECT_EQ(eos_p(run_json("--tokens 1 -n 1 --n-probs 512 --ignore-eos")), 0.0);
}

TEST(CliPrompt, ContextAboveTheTrainedOneWarns) {
  const auto r = test::run_trident("run -m " + kStories + " --tokens 1 -n 1 -c 4096");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.rfind("trident: warning: -c 4096 is above the 2048 tokens the model was trained on", 0), 0u) << r.err;
}

TEST(CliTokenize, LlamaTokenizeOutputAndRoundTrip) {
  auto r = test::run_trident("tokenize -m " + kStories + " -p 'Once upon a time'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "     1 -> '<s>'\n   403 -> ' Once'\n   407 -> ' upon'\n   261 -> ' a'\n   378 -> ' time'\n");
  r = test::run_trident("tokenize " + kStories + " -p 'Once upon a time' --ids --show-count");
  EXPECT_EQ(r.out, "[1, 403, 407, 261, 378]\nTotal number of tokens: 5\n");
  r = test::run_trident("tokenize " + kStories + " -p 'Once upon a time' --ids --no-bos");
  EXPECT_EQ(r.out, "[403, 407, 261, 378]\n");
  r = test::run_shell("echo 'Once upon' | " + test::trident_binary() + " tokenize -m " + kStories +
                      " --stdin --ids --no-bos | " + test::trident_binary() + " detokenize -m " + kStories + " --tokens -");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Once upon\n");
  r = test::run_trident("detokenize -m " + kStories + " --tokens 403,407,261,378");
  EXPECT_EQ(r.out, "Once upon a time\n");
}

TEST(CliTokenize, BadInput) {
  auto r = test::run_trident("detokenize -m " + kStories + " --tokens 1,99999");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "trident: error: --tokens: token id 99999 at index 1 is outside the vocabulary (0..511)\n");
  r = test::run_trident("detokenize -m " + kStories + " --tokens 1,x");
  EXPECT_EQ(r.err, "trident: error: --tokens: item 1 ('x') is not a token id\n");
  r = test::run_trident("tokenize -m " + kStories);
  EXPECT_EQ(r.err, "trident: error: no text: give -p TEXT, -f FILE or --stdin\n");
  EXPECT_EQ(r.exit_code, 1);
}

TEST(CliQuantize, LlamaQuantizeFormAnyCaseAndRequantizeGuard) {
  const std::string q8 = test::temp_path("q8.gguf"), q4 = test::temp_path("q4.gguf");
  auto r = test::run_trident("quantize " + kStories + " " + q8 + " Q8_0 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("to the q8_0 mix"), std::string::npos) << r.out;
  r = test::run_trident("quantize " + q8 + " " + q4 + " q4_0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "trident: error: " + q8 + ": already quantized (tensor 'token_embd.weight' is q8_0); quantizing it "
                   "again loses quality: pass --allow-requantize to do it anyway\n");
  EXPECT_FALSE(std::filesystem::exists(q4));
  r = test::run_trident("quantize -m " + q8 + " -o " + q4 + " --type Q4_0 --allow-requantize");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = test::run_trident("quantize " + kStories + " " + q4 + " q3_x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("trident: error: --type: unknown type 'q3_x' (valid: q1_0, q2_0, q4_0, q4_1, mxfp4_moe, ", 0), 0u) << r.err;
  r = test::run_trident("synth --shape qwen3-0.6b --type Q4_0 --layers 1 --vocab 300 -o " + test::temp_path("s.gguf"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::filesystem::remove(q8);
  std::filesystem::remove(q4);
}

TEST(CliProgress, ATerminalGetsALiveLineWithEtaALogGetsNoneForAShortRun) {
  if (test::run_shell("command -v script").exit_code != 0) GTEST_SKIP() << "needs script(1) for a terminal";
  const std::string q = test::temp_path("q.gguf"), s = test::temp_path("s.gguf");
  // script(1) gives the command a pseudo-terminal; its output (stdout and stderr) is ours.
  auto tty = test::run_shell("script -qec '" + test::trident_binary() + " quantize " + kStories + " " + q + " q8_0' /dev/null");
  ASSERT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_NE(tty.out.find("\r\033[Kquantize: tensor 1/48, "), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("MiB/s, ETA 0s"), std::string::npos) << tty.out;
  tty = test::run_shell("script -qec '" + test::trident_binary() +
                        " synth --shape qwen3-0.6b --type q4_0 --layers 1 --vocab 300 -o " + s + "' /dev/null");
  ASSERT_EQ(tty.exit_code, 0) << tty.out;
  EXPECT_NE(tty.out.find("\r\033[Ksynth: tensor 1/"), std::string::npos) << tty.out;
  std::filesystem::remove(q);
  const auto log = test::run_trident("quantize " + kStories + " " + q + " q8_0");  // well under the 5 s between lines
  ASSERT_EQ(log.exit_code, 0) << log.err;
  EXPECT_EQ(log.err, "");
  std::filesystem::remove(q);
  std::filesystem::remove(s);
}

const std::string kBench = "bench -m " + kStories + " -r 1 -t 1 ";

TEST(CliBench, LlamaBenchFormatsCarryTheCommit) {
  const std::string commit = [] {
    const auto v = test::run_trident("--version");
    return v.out.substr(8, v.out.find('\n') - 8);
  }();
  auto r = test::run_trident(kBench + "-p 4 -n 2 -o jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) EXPECT_EQ(nlohmann::json::parse(line)["build_commit"], commit);
  EXPECT_EQ(n, 2);
  r = test::run_trident(kBench + "-p 4 -n 0 -o json");
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["build_commit"], commit);
  r = test::run_trident(kBench + "-p 4 -n 2 -o sql");
  EXPECT_EQ(r.out.rfind("CREATE TABLE IF NOT EXISTS test (\n  model_filename TEXT,", 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), ';'), 3) << r.out;
  EXPECT_NE(r.out.find("INSERT INTO test (model_filename,"), std::string::npos) << r.out;
  r = test::run_trident(kBench + "-p 4 -n 0");
  EXPECT_NE(r.out.find("\nbuild: " + commit + "\n"), std::string::npos) << r.out;
  r = test::run_trident(kBench + "-o xml");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "trident: error: -o: expected md, csv, json, jsonl or sql, found 'xml'\n");
}

TEST(CliBench, RangesDepthAndProgress) {
  auto r = test::run_trident(kBench + "-p 2-8*2 -n 0 -d 0,4 -o json --no-warmup --progress");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 6u);  // pp2, pp4, pp8 at depth 0 and 4
  std::vector<std::pair<int, int>> seen;
  for (const auto& row : j) seen.emplace_back(row["n_prompt"], row["n_depth"]);
  EXPECT_EQ(seen, (std::vector<std::pair<int, int>>{{2, 0}, {4, 0}, {8, 0}, {2, 4}, {4, 4}, {8, 4}}));
  EXPECT_NE(r.err.find("bench: model 1/1, cases 1-1/6: pp2 t=1 ub=512, run 1/1\n"), std::string::npos) << r.err;
  r = test::run_trident(kBench + "-p 4 -n 0 -d 8");
  EXPECT_NE(r.out.find("pp4 @ d8"), std::string::npos) << r.out;
  r = test::run_trident(kBench + "-p 1-3+1 -n 0 -o csv");
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4) << r.out;
  r = test::run_trident(kBench + "-p 8-4");
  EXPECT_EQ(r.err, "trident: error: -p: range '8-4' ends before it starts\n");
  r = test::run_trident(kBench + "-p 1-9999999");
  EXPECT_EQ(r.err, "trident: error: -p: range '1-9999999' has more than 4096 values\n");
}

TEST(CliBench, PlotPathIsCheckedBeforeRunning) {
  const auto r = test::run_trident(kBench + "-p 4 -n 0 --plot /nonexistent/dir/plot.svg");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "trident: error: --plot /nonexistent/dir/plot.svg: cannot write: No such file or directory\n");
  EXPECT_EQ(r.out, "");  // nothing was measured
}

}  // namespace
}  // namespace trident
