// Placeholder until the bench command lands.
#include "cli/commands.h"

namespace trident::cli {
void add_bench_command(CLI::App&) {}
}  // namespace trident::cli
