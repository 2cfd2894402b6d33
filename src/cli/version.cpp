#include "cli/version.h"

#include <fmt/format.h>

#include "kernels/dispatch.h"
#include "trident_version.h"

namespace trident::cli {

const char* build_commit() { return TRIDENT_BUILD_COMMIT; }
const char* build_flags() { return TRIDENT_BUILD_FLAGS; }

std::string version_text() {
  return fmt::format("trident {}\nbuild: {}\nkernels: {} (chosen at run time for this CPU)\n", build_commit(),
                     build_flags(), kernel_table().isa);
}

}  // namespace trident::cli
