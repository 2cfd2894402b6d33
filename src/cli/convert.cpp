// Placeholder until the convert command lands.
#include "cli/commands.h"

namespace trident::cli {
void add_convert_commands(CLI::App&) {}
}  // namespace trident::cli
