// One file per subcommand; each registers itself on the top-level app.
#pragma once
#include <CLI/CLI.hpp>

namespace trident::cli {

void add_run_command(CLI::App& app);
void add_logits_command(CLI::App& app);
void add_inspect_command(CLI::App& app);

}  // namespace trident::cli
