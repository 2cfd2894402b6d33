// One file per subcommand; each registers itself on the top-level app.
#pragma once
#include <CLI/CLI.hpp>

namespace trident::cli {

void add_run_command(CLI::App& app);
void add_logits_command(CLI::App& app);
void add_tokenize_commands(CLI::App& app);  // tokenize, detokenize (tokenize.cpp)
void add_inspect_command(CLI::App& app);
void add_fuse_commands(CLI::App& app);     // fuse, unfuse   (fuse.cpp)
void add_convert_commands(CLI::App& app);  // convert, export-hf (convert.cpp)
void add_bench_command(CLI::App& app);     // bench.cpp
void add_synth_command(CLI::App& app);     // synth.cpp
void add_quantize_command(CLI::App& app);  // quantize.cpp
void add_imatrix_command(CLI::App& app);   // imatrix.cpp
void add_chat_template_command(CLI::App& app);  // chat_template.cpp
void add_serve_command(CLI::App& app);     // serve.cpp
void add_chat_command(CLI::App& app);      // chat.cpp (and run -cnv)

}  // namespace trident::cli
