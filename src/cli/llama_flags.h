// llama.cpp's spellings on trident's command line. llama.cpp names many flags with one dash and
// several letters (-ngl, -ctk, -cnv); CLI11 would read "-ngl 99" as -n -g -l, so every word
// after the command's name passes through here before CLI11 sees it:
//   * llama.cpp spellings of trident's own flags are renamed (-ub -> --ubatch-size);
//   * llama.cpp flags trident does not have are dropped where they change nothing on a CPU
//     (-ngl 0, -fa off, --mlock, -b 512) and refused with one line naming the flag otherwise;
//   * any other unknown flag is an error that names the closest real flag.
#pragma once
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace trident::cli {

// args: the words after the command's name. Returns what CLI11 should parse. Throws Error.
std::vector<std::string> translate_llama_flags(const CLI::App& cmd, const std::vector<std::string>& args);

// The candidate closest to `typed` (optimal string alignment distance: a swap of two neighbours
// counts once), when it is close enough to be a typo of it.
std::optional<std::string> closest_name(const std::string& typed, const std::vector<std::string>& candidates);

}  // namespace trident::cli
