// `trident tokenize` (llama-tokenize's job and output) and `trident detokenize` (its inverse).
// Both read only the file's vocabulary: no weights are loaded.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "cli/prompt_text.h"
#include "format/error.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer.h"

namespace trident::cli {
namespace {

Tokenizer open_tokenizer(const std::string& model) {
  auto f = GgufFile::open(resolve_model_path(model));
  return Tokenizer(vocab_from_gguf(*f));
}

struct TokenizeFlags {
  std::string model = kDefaultModel;
  PromptFlags prompt;
  bool stdin_text = false, ids = false, show_count = false, no_bos = false, no_parse_special = false;
};

void tokenize(const TokenizeFlags& f) {
  PromptFlags p = f.prompt;
  if (f.stdin_text) {
    if (p.given()) fail("--stdin and -p/-f are mutually exclusive: give the text once");
    p.text = "-";
  }
  if (!p.given()) fail("no text: give -p TEXT, -f FILE or --stdin");
  const std::string text = read_prompt(p);
  const Tokenizer tok = open_tokenizer(f.model);
  const std::vector<int32_t> ids = tok.encode(text, !f.no_bos, !f.no_parse_special);
  std::string out;
  if (f.ids) {
    out = "[";
    for (size_t i = 0; i < ids.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", ids[i]);
    out += "]\n";
  } else {
    for (int32_t id : ids) out += fmt::format("{:6d} -> '{}'\n", id, tok.token_to_piece(id, true));
  }
  if (f.show_count) out += fmt::format("Total number of tokens: {}\n", ids.size());
  std::fwrite(out.data(), 1, out.size(), stdout);
}

struct DetokenizeFlags {
  std::string model = kDefaultModel;
  std::string tokens;
  bool show_special = false;
};

void detokenize(const DetokenizeFlags& f) {
  std::string list = f.tokens;
  if (list == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    list = ss.str();
  }
  const std::vector<int32_t> ids = parse_token_list(list);
  const Tokenizer tok = open_tokenizer(f.model);
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= tok.n_vocab())
      fail("--tokens: token id {} at index {} is outside the vocabulary (0..{})", ids[i], i, tok.n_vocab() - 1);
  fmt::print("{}\n", tok.decode(ids, f.show_special));
}

}  // namespace

void add_tokenize_commands(CLI::App& app) {
  auto tf = std::make_shared<TokenizeFlags>();
  auto* tcmd = app.add_subcommand("tokenize", "print the token ids of a text, as llama-tokenize does");
  add_model_path(tcmd, tf->model, "GGUF file (only its vocabulary is read; also -m MODEL)")->capture_default_str();
  add_prompt_flags(tcmd, tf->prompt);
  tcmd->add_flag("--stdin", tf->stdin_text, "read the text from standard input");
  tcmd->add_flag("--ids", tf->ids, "print only the ids, as [1, 2, 3]");
  tcmd->add_flag("--show-count", tf->show_count, "print the number of tokens at the end");
  tcmd->add_flag("--no-bos", tf->no_bos, "never add a BOS token, even where the model wants one");
  tcmd->add_flag("--no-parse-special", tf->no_parse_special, "read special-token texts such as <s> as plain text");
  tcmd->callback([tf] { tokenize(*tf); });

  auto df = std::make_shared<DetokenizeFlags>();
  auto* dcmd = app.add_subcommand("detokenize", "print the text of a list of token ids");
  add_model_path(dcmd, df->model, "GGUF file (only its vocabulary is read; also -m MODEL)")->capture_default_str();
  dcmd->add_option("--tokens", df->tokens, "ids as 1,2,3 or [1, 2, 3] (tokenize --ids); - reads standard input")
      ->required();
  dcmd->add_flag("--special", df->show_special, "print special/control tokens");
  dcmd->callback([df] { detokenize(*df); });
}

}  // namespace trident::cli
