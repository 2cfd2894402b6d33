// The CLI boundary: every bad input or flag ends with exit code 1, exactly one stderr line
// "trident: error: ..." naming the problem, and nothing on stdout.
#include <gtest/gtest.h>

#include "test_util.h"

namespace trident {
namespace {

using test::expect_cli_error;

std::string stories() { return test::golden_model("stories260K.gguf"); }

TEST(CliErrors, UnreadableModelPath) {
  expect_cli_error("logits -m /nonexistent/model.gguf --tokens 1",
                   "/nonexistent/model.gguf: cannot open: No such file or directory");
  expect_cli_error("logits -m /tmp --tokens 1", "/tmp: not a regular file");
}

TEST(CliErrors, NotAGgufFile) {
  expect_cli_error("logits -m " + test::source_dir() + "/CMakeLists.txt --tokens 1",
                   "CMakeLists.txt: offset 0: not a GGUF file (expected magic 'GGUF', found bytes");
}

TEST(CliErrors, TokenIdOutsideVocabulary) {
  expect_cli_error("logits -m " + stories() + " --tokens 1,99999",
                   "token id 99999 at index 1 is outside the vocabulary (0..511)");
  expect_cli_error("logits -m " + stories() + " --tokens 1,-1", "token id -1 at index 1 is outside the vocabulary");
}

TEST(CliErrors, MalformedTokenList) {
  expect_cli_error("logits -m " + stories() + " --tokens 1,x,3", "--tokens: item 1 ('x') is not a token id");
}

TEST(CliErrors, PromptLongerThanContext) {
  expect_cli_error("logits -m " + stories() + " -c 4 --tokens 1,2,3,4,5,6,7,8",
                   "8 tokens after 0 already evaluated do not fit the context of 4 (use -c)");
}

TEST(CliErrors, ZeroThreads) {
  expect_cli_error("logits -m " + stories() + " -t 0 --tokens 1", "-t: expected a thread count >= 1, found 0");
}

TEST(CliErrors, BadFusionValue) {
  expect_cli_error("logits -m " + stories() + " --fuse-qkv maybe --tokens 1",
                   "--fuse-qkv: expected on, off or auto, found 'maybe'");
  expect_cli_error("logits -m " + stories() + " --fuse-gate-up 1 --tokens 1",
                   "--fuse-gate-up: expected on, off or auto, found '1'");
}

TEST(CliErrors, NegativeTokenCount) {
  expect_cli_error("run -m " + stories() + " -p hello -n -5",
                   "-n: expected a token count from 0 to 16777216, or -1 for until the end of text or context, found -5");
}

}  // namespace
}  // namespace trident
