// Placeholder until the fuse command lands.
#include "cli/commands.h"

namespace trident::cli {
void add_fuse_commands(CLI::App&) {}
}  // namespace trident::cli
