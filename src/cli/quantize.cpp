// `trident quantize IN -o OUT --type MIX`: weight matrices converted to a quantization mix,
// streamed row by row (model/quantize_rewrite).
#include <fmt/format.h>
#include <unistd.h>

#include <memory>

#include "cli/commands.h"
#include "format/error.h"
#include "convert/quantize_rewrite.h"

namespace trident::cli {
namespace {

struct QuantizeFlags {
  std::string input, output, type;
  bool force = false;
};

void run_quantize(const QuantizeFlags& f) {
  const auto mix = quant_mix_from_name(f.type);
  if (!mix) fail("--type: unknown type '{}' (valid: {})", f.type, quant_mix_names());
  auto in = GgufFile::open(f.input);
  const RewritePlan plan = plan_quantize(*in, *mix);
  GgufWriteOptions wo;
  wo.overwrite = f.force;
  if (::isatty(STDERR_FILENO) == 1)  // a live progress line only for a person watching
    wo.progress = [](size_t i, size_t n, uint64_t done, uint64_t total) {
      fmt::print(stderr, "\rquantize: tensor {}/{}, {:.1f}/{:.1f} MiB", i, n, double(done) / (1 << 20),
                 double(total) / (1 << 20));
      if (i == n) fmt::print(stderr, "\n");
    };
  write_rewrite(*in, plan, f.output, wo);
  fmt::print("{}: converted {} of {} tensors to the {} mix; wrote {}\n", f.input, plan.groups_rewritten,
             plan.tensors.size(), f.type, f.output);
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto f = std::make_shared<QuantizeFlags>();
  auto* cmd = app.add_subcommand("quantize", "convert a GGUF file's weight matrices to a quantization mix");
  cmd->add_option("input", f->input, "GGUF file to read (never modified)")->required();
  cmd->add_option("-o,--output", f->output, "GGUF file to write")->required();
  cmd->add_option("--type", f->type, "mix: " + quant_mix_names() + " (as llama-quantize, no importance matrix)")
      ->required();
  cmd->add_flag("--force", f->force, "overwrite an existing output file");
  cmd->callback([f] { run_quantize(*f); });
}

}  // namespace trident::cli
