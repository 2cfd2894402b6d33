// Placeholder until the synth command lands.
#include "cli/commands.h"

namespace trident::cli {
void add_synth_command(CLI::App&) {}
}  // namespace trident::cli
