// `trident quantize IN OUT TYPE [THREADS]` (llama-quantize's order) or `trident quantize IN -o
// OUT --type TYPE`: weight matrices converted to a quantization mix, streamed row by row
// (model/quantize_rewrite).
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "cli/progress.h"
#include "format/error.h"
#include "convert/quantize_rewrite.h"

namespace trident::cli {
namespace {

struct QuantizeFlags {
  std::string input, output, type;
  int64_t threads = 0;  // 0: every core
  bool force = false, allow_requantize = false;
};

bool is_float_type(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

void run_quantize(const QuantizeFlags& f) {
  const auto mix = quant_mix_from_name(lower_case(f.type));
  if (!mix) fail("--type: unknown type '{}' (valid: {}; any case)", f.type, quant_mix_names());
  if (f.threads < 0) fail("-t: expected a thread count >= 1, found {}", f.threads);
  auto in = GgufFile::open(f.input);
  const RewritePlan plan = plan_quantize(*in, *mix);
  // As llama-quantize: converting quantized weights again compounds the error, so it is asked for.
  if (!f.allow_requantize)
    for (const RewriteTensor& t : plan.tensors)
      for (const RewritePiece& p : t.pieces)
        if (p.to != p.src->type && !is_float_type(p.src->type))
          fail("{}: already quantized (tensor '{}' is {}); quantizing it again loses quality: pass "
               "--allow-requantize to do it anyway",
               f.input, t.name, layout_of(p.src->type).name);
  GgufWriteOptions wo;
  wo.overwrite = f.force;
  wo.progress = progress_line("quantize");
  write_rewrite(*in, plan, f.output, wo);
  fmt::print("{}: converted {} of {} tensors to the {} mix; wrote {}\n", f.input, plan.groups_rewritten,
             plan.tensors.size(), quant_mix_name(*mix), f.output);
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto f = std::make_shared<QuantizeFlags>();
  auto* cmd = app.add_subcommand("quantize", "convert a GGUF file's weight matrices to a quantization mix");
  add_model_path(cmd, f->input, "GGUF file to read, never modified (also -m MODEL)")->required();
  cmd->add_option("output,-o,--output", f->output, "GGUF file to write")->required();
  cmd->add_option("type,--type", f->type,
                  "mix: " + quant_mix_names() + " in any case (as llama-quantize, no importance matrix)")
      ->required();
  cmd->add_option("threads,-t,--threads", f->threads, "threads, as llama-quantize takes them (accepted; the rewrite streams rows on one thread)");
  cmd->add_flag("--allow-requantize", f->allow_requantize, "quantize weights that are already quantized");
  cmd->add_flag("--force", f->force, "overwrite an existing output file");
  cmd->callback([f] { run_quantize(*f); });
}

}  // namespace trident::cli
