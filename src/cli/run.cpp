#include "cli/commands.h"
namespace trident::cli {
void add_run_command(CLI::App& app) { app.add_subcommand("run", "generate text"); }
}
