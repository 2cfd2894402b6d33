// trident: one binary, one subcommand per file in this folder. This file is the one error path:
// whatever goes wrong -- a flag CLI11 cannot parse, a bad value, a bad file, an exception from
// the engine -- ends as one line "trident: error: ..." on stderr and exit code 1. Help and
// --version exit 0. No other exit code exists.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <regex>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/llama_flags.h"
#include "cli/version.h"
#include "format/error.h"
#include "runtime/fusion_cache.h"

namespace trident::cli {
namespace {

// llama.cpp lets a repeated flag override the earlier one; CLI11 would refuse the second.
// Options that collect lists (bench's -p 16,32, run's -r) keep every value.
void last_one_wins(CLI::App& app) {
  for (CLI::App* cmd : app.get_subcommands([](CLI::App*) { return true; }))
    for (CLI::Option* o : cmd->get_options([](CLI::Option*) { return true; }))
      if (o->get_expected_max() == 1 && o->get_type_size_max() <= 1)
        o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

CLI::App* find_command(CLI::App& app, const std::string& name) {
  for (CLI::App* cmd : app.get_subcommands([](CLI::App*) { return true; }))
    if (cmd->get_name() == name) return cmd;
  return nullptr;
}

[[noreturn]] void unknown_command(CLI::App& app, const std::string& name) {
  std::vector<std::string> names;
  for (CLI::App* cmd : app.get_subcommands([](CLI::App*) { return true; })) names.push_back(cmd->get_name());
  if (auto near = closest_name(name, names)) fail("unknown command '{}' (did you mean '{}'?)", name, *near);
  fail("unknown command '{}' (trident help lists the commands)", name);
}

// CLI11's texts, reworded the way trident's own errors read ("FLAG: expected ..., found ...").
std::string parse_error_text(const CLI::ParseError& e, const std::string& command) {
  std::string s = e.what();
  static const std::regex kConversion("^Could not convert: (\\S+) = (.*)$");
  static const std::regex kRequired("^(\\S+) is required$");
  static const std::regex kExtra("^The following arguments? (was|were) not expected: (.*)$");
  std::smatch m;
  if (std::regex_match(s, m, kConversion)) return fmt::format("{}: expected a number, found '{}'", m[1].str(), m[2].str());
  if (std::regex_match(s, m, kRequired))
    return fmt::format("{} is required (see trident {} --help)", m[1].str(), command);
  if (std::regex_match(s, m, kExtra))
    return fmt::format("unexpected argument '{}' for 'trident {}' (see trident {} --help)", m[2].str(), command, command);
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

int run_cli(int argc, char** argv) {
  CLI::App app{"trident: LLM inference on the CPU with fused projections", "trident"};
  set_calibration_build_id(build_commit());  // `auto` fusion verdicts hold for this build only
  app.footer("Run `trident COMMAND --help` for a command's flags; `trident --version` for the build.");
  add_run_command(app);
  add_logits_command(app);
  add_tokenize_commands(app);
  add_inspect_command(app);
  add_fuse_commands(app);
  add_convert_commands(app);
  add_bench_command(app);
  add_synth_command(app);
  add_quantize_command(app);
  add_imatrix_command(app);
  add_chat_template_command(app);
  add_serve_command(app);
  add_chat_command(app);
  last_one_wins(app);

  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty() || words[0] == "help" || words[0] == "-h" || words[0] == "--help") {
    if (words.size() >= 2 && words[0] == "help") {
      CLI::App* cmd = find_command(app, words[1]);
      if (!cmd) unknown_command(app, words[1]);
      std::fputs(cmd->help("trident").c_str(), stdout);
    } else {
      std::fputs(app.help().c_str(), stdout);
    }
    return 0;
  }
  if (words[0] == "--version") {
    std::fputs(version_text().c_str(), stdout);
    return 0;
  }
  // llama.cpp's conversation mode of its main program is trident's chat command.
  if (words[0] == "run" && std::any_of(words.begin() + 1, words.end(), [](const std::string& w) {
        return w == "-cnv" || w == "--conversation";
      }))
    words[0] = "chat";
  if (words[0][0] == '-') fail("expected a command before '{}' (trident help lists the commands)", words[0]);
  CLI::App* cmd = find_command(app, words[0]);
  if (!cmd) unknown_command(app, words[0]);

  std::vector<std::string> args = translate_llama_flags(*cmd, {words.begin() + 1, words.end()});
  args.insert(args.begin(), words[0]);
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::fputs(cmd->help("trident").c_str(), stdout);
  } catch (const CLI::ParseError& e) {
    fail("{}", parse_error_text(e, cmd->get_name()));
  }
  return 0;
}

}  // namespace
}  // namespace trident::cli

int main(int argc, char** argv) {
  try {
    return trident::cli::run_cli(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fputs("trident: error: out of memory\n", stderr);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (char& c : msg)
      if (c == '\n') c = ' ';  // one line, whatever the source of the text
    std::fprintf(stderr, "trident: error: %s\n", msg.c_str());
  } catch (...) {
    std::fputs("trident: error: unexpected failure\n", stderr);
  }
  return 1;
}
