// `trident chat` through a pipe: each reply equals `trident run --temp 0` on the prompt the
// template renders for the conversation so far (later turns reuse the cached prefix, which must
// not change a bit), /clear, /save, /exit, -sys, -p, `run -cnv`, and the one-line errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace trident {
namespace {

using nlohmann::json;

std::string stories() { return test::shared_dir() + "/models/stories260K.gguf"; }
std::string storyteller() { return test::source_dir() + "/tests/data/chat/chatml-storyteller.jinja"; }

// Greedy text of `trident run` on a prompt whose newlines are written \n (run processes escapes).
std::string greedy_run(const std::string& escaped_prompt, int n) {
  const auto run = test::run_trident("run -m " + stories() + " -p '" + escaped_prompt + "' --temp 0 -n " +
                                     std::to_string(n) + " --json");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  return json::parse(run.out)["text"];
}

std::string turn(const std::string& role, const std::string& content) {
  return "<|im_start|>" + role + "\\n" + content + "<|im_end|>\\n";
}
const std::string kSystem = turn("system", "You are a storyteller.");
const std::string kAssistant = "<|im_start|>assistant\\n";

// Runs chat with the lines on stdin; returns (stdout, stderr).
test::CommandResult chat(const std::string& lines, const std::string& flags) {
  const std::string input = test::temp_path("chat-input.txt");
  std::ofstream(input) << lines;
  return test::run_shell(test::trident_binary() + " " + flags + " < " + input);
}

std::string chat_flags(int n) {
  return "chat -m " + stories() + " --chat-template " + storyteller() + " --temp 0 -c 256 -t 1 -n " + std::to_string(n);
}

TEST(CliChat, RepliesEqualRunOnTheRenderedConversation) {
  const auto r = chat("Tell me a story.\nWhat happened next?\n", chat_flags(16));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string first = greedy_run(kSystem + turn("user", "Tell me a story.") + kAssistant, 16);
  // The second prompt holds the first reply; its tokens up to the reply come from the cache.
  const std::string second = greedy_run(kSystem + turn("user", "Tell me a story.") + turn("assistant", first) +
                                            turn("user", "What happened next?") + kAssistant,
                                        16);
  EXPECT_EQ(r.out, first + "\n" + second + "\n");
  // Two statistics lines on stderr; the second turn evaluated fewer tokens than its prompt.
  const size_t second_stats = r.err.find("[prompt: ", r.err.find("[prompt: ") + 1);
  ASSERT_NE(second_stats, std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" tok/s]"), std::string::npos) << r.err;
  std::istringstream stats(r.err.substr(second_stats + 9));
  int64_t fresh = 0, total = 0;
  std::string new_of;
  stats >> fresh >> new_of >> new_of >> total;
  EXPECT_GT(fresh, 0);
  EXPECT_LT(fresh, total / 2) << r.err;
}

TEST(CliChat, ClearSaveExitSystemPromptAndRunCnv) {
  const std::string saved = test::temp_path("conversation.json");
  const auto r = chat("Hi\n/clear\n\nHi\n/save " + saved + "\n/exit\nnever read\n",
                      chat_flags(6) + " -sys 'You tell tales.'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string reply = greedy_run(turn("system", "You tell tales.") + turn("user", "Hi") + kAssistant, 6);
  EXPECT_EQ(r.out, reply + "\n" + reply + "\n");  // /clear: the same answer again
  EXPECT_NE(r.err.find("[conversation cleared]"), std::string::npos) << r.err;
  std::ifstream in(saved);
  ASSERT_TRUE(in) << saved;
  EXPECT_EQ(json::parse(in), json({{"messages",
                                    {{{"role", "system"}, {"content", "You tell tales."}},
                                     {{"role", "user"}, {"content", "Hi"}},
                                     {{"role", "assistant"}, {"content", reply}}}}}));

  // llama.cpp's spellings: run -cnv, -sys, -p as the first message.
  const auto cnv = chat("", "run -cnv -m " + stories() + " --chat-template " + storyteller() +
                                " --temp 0 -c 256 -t 1 -n 6 -sys 'You tell tales.' -p Hi");
  ASSERT_EQ(cnv.exit_code, 0) << cnv.err;
  EXPECT_EQ(cnv.out, reply + "\n");
}

TEST(CliChat, WithoutATemplateChatMLIsUsedAndSaid) {
  const auto r = chat("Hi\n", "chat -m " + stories() + " --temp 0 -c 256 -t 1 -n 6");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, greedy_run(turn("user", "Hi") + kAssistant, 6) + "\n");
  EXPECT_NE(r.err.find("has no chat template; using ChatML (as llama.cpp does)"), std::string::npos) << r.err;
}

// Ctrl-C during a reply ends that reply (stories260K never ends a ChatML turn, so without it the
// reply would fill the 4096-token context); a second one at the prompt ends the program, exit 0.
TEST(CliChat, SigintStopsTheReplyThenQuitsAtThePrompt) {
  const std::string out = test::temp_path("sigint.out"), err = test::temp_path("sigint.err");
  const std::string fifo = test::temp_path("sigint.fifo");
  // The shell holds the fifo open (fd 3), so chat's stdin stays open with no helper process.
  const std::string script =
      "mkfifo " + fifo + "; " + test::trident_binary() + " chat -m " + stories() +
      " -c 4096 -t 1 --temp 1.5 --top-k 0 --min-p 0 -s 3 < " + fifo + " > " + out + " 2> " + err + " & pid=$!; "
      "exec 3> " + fifo + "; echo 'Tell me a long story.' >&3; "
      "i=0; while [ ! -s " + out + " ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; kill -INT $pid; "
      "i=0; while ! grep -q 'reply:' " + err + " && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; kill -INT $pid; "
      "wait $pid; echo $?; exec 3>&-";
  const auto r = test::run_shell(script);
  EXPECT_EQ(r.out, "0\n") << r.err;
  std::ifstream e(err);
  const std::string stderr_text((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  EXPECT_NE(stderr_text.find(", stopped]"), std::string::npos) << stderr_text;
  std::ifstream o(out);
  const std::string reply((std::istreambuf_iterator<char>(o)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(reply.empty());
  EXPECT_EQ(reply.back(), '\n');
}

TEST(CliChat, BadInputIsOneLine) {
  test::expect_cli_error("chat -m " + test::temp_path("missing.gguf"), "missing.gguf");
  const std::string none = test::temp_path("none.jinja");
  test::expect_cli_error("chat -m " + stories() + " --chat-template " + none, "--chat-template " + none + ": cannot read the file");
  test::expect_cli_error("chat -m " + stories() + " -n -5", "-n: expected a token count >= 0");
  test::expect_cli_error("chat -m " + stories() + " --temp -1", "temp");
  test::expect_cli_error("run -m " + stories() + " -cnv --json", "unknown flag '--json' for 'trident chat'");
}

}  // namespace
}  // namespace trident
