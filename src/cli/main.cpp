// trident: one binary, one subcommand per file in this folder.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include <exception>

#include "cli/commands.h"
#include "format/error.h"

namespace {

// llama.cpp spells some flags as one dash and several letters (-ub, -ctk); CLI11 reserves a
// single dash for one-letter names, so those spellings are mapped to their long names.
std::vector<std::string> normalize_args(int argc, char** argv) {
  static const std::pair<const char*, const char*> kAliases[] = {
      {"-ub", "--ubatch-size"}, {"-ctk", "--cache-type-k"}, {"-ctv", "--cache-type-v"},
      {"-pg", "--prompt-gen"}, {"-fa", "--flash-attn"}};
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    for (const auto& [shortname, longname] : kAliases)
      if (a == shortname) a = longname;
      else if (a.rfind(std::string(shortname) + "=", 0) == 0) a = longname + a.substr(std::strlen(shortname));
    args.push_back(std::move(a));
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"trident: LLM inference on the CPU with fused projections"};
  app.require_subcommand(1);
  trident::cli::add_run_command(app);
  trident::cli::add_logits_command(app);
  trident::cli::add_inspect_command(app);
  trident::cli::add_fuse_commands(app);
  trident::cli::add_convert_commands(app);
  trident::cli::add_bench_command(app);
  trident::cli::add_synth_command(app);
  trident::cli::add_quantize_command(app);
  try {
    std::vector<std::string> args = normalize_args(argc, argv);
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trident: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
