// Placeholder until the quantize command lands.
#include "cli/commands.h"

namespace trident::cli {
void add_quantize_command(CLI::App&) {}
}  // namespace trident::cli
