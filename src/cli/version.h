// What build this binary is: the git commit and compiler flags it was built from (written at
// build time by scripts/version.cmake), for `trident --version` and bench's build_commit.
#pragma once
#include <string>

namespace trident::cli {

const char* build_commit();  // short hash, or "unknown" outside a git checkout
const char* build_flags();   // "Release, GNU 12.2.0, -O2 -DNDEBUG -ffp-contract=off"
// "trident <commit>\nbuild: <flags>\nkernels: <best ISA of this CPU>\n"
std::string version_text();

}  // namespace trident::cli
