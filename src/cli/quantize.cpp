// `trident quantize IN OUT TYPE [THREADS]` (llama-quantize's order) or `trident quantize IN -o
// OUT --type TYPE`: weight matrices converted to one of llama-quantize's mixes, tensor by tensor
// as llama-quantize chooses, streamed in batches of rows (convert/quantize_rewrite).
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "cli/progress.h"
#include "convert/quantize_rewrite.h"
#include "format/error.h"

namespace trident::cli {
namespace {

struct QuantizeFlags {
  std::string input, output, type, imatrix, output_type, embd_type;
  int64_t threads = 0;  // 0: every core
  bool force = false, allow_requantize = false, pure = false, leave_output = false;
};

bool is_float_type(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

std::optional<GgmlType> tensor_type_flag(const std::string& flag, const std::string& name) {
  if (name.empty()) return std::nullopt;
  const auto t = ggml_type_from_name(name);
  if (!t) fail("{}: unknown type '{}' (a ggml type name such as q8_0, q6_K, f16; any case)", flag, name);
  return t;
}

void run_quantize(const QuantizeFlags& f) {
  const auto mix = quant_mix_from_name(f.type);
  if (!mix) fail("--type: unknown type '{}' (valid: {}; any case)", f.type, quant_mix_names());
  if (f.threads < 0) fail("-t: expected a thread count >= 1, found {}", f.threads);
  QuantizeOptions o;
  o.mix = *mix;
  o.mix_options.pure = f.pure;
  o.mix_options.leave_output = f.leave_output;
  o.mix_options.output_type = tensor_type_flag("--output-tensor-type", f.output_type);
  o.mix_options.embd_type = tensor_type_flag("--token-embedding-type", f.embd_type);
  Imatrix imatrix;
  if (!f.imatrix.empty()) {
    imatrix = read_imatrix(f.imatrix);
    o.imatrix = &imatrix;
    o.imatrix_path = f.imatrix;
  }
  auto in = GgufFile::open(f.input);
  const RewritePlan plan = plan_quantize(*in, o);
  // As llama-quantize: converting quantized weights again compounds the error, so it is asked for.
  if (!f.allow_requantize)
    for (const RewriteTensor& t : plan.tensors)
      for (const RewritePiece& p : t.pieces)
        if (p.to != p.src->type && !is_float_type(p.src->type))
          fail("{}: already quantized (tensor '{}' is {}); quantizing it again loses quality: pass "
               "--allow-requantize to do it anyway",
               f.input, t.name, layout_of(p.src->type).name);
  for (const std::string& n : plan.notes) fmt::print("{}\n", n);
  GgufWriteOptions wo;
  wo.overwrite = f.force;
  wo.progress = progress_line("quantize");
  write_rewrite(*in, plan, f.output, wo, int(f.threads));
  fmt::print("{}: converted {} of {} tensors to the {} mix{}; wrote {}\n", f.input, plan.groups_rewritten,
             plan.tensors.size(), quant_mix_name(*mix), o.imatrix ? " with an importance matrix" : "", f.output);
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto f = std::make_shared<QuantizeFlags>();
  auto* cmd = app.add_subcommand("quantize", "convert a GGUF file's weight matrices to a quantization mix");
  add_model_path(cmd, f->input, "GGUF file to read, never modified (also -m MODEL)")->required();
  cmd->add_option("output,-o,--output", f->output, "GGUF file to write")->required();
  cmd->add_option("type,--type", f->type,
                  "llama-quantize's mix: " + quant_mix_names() + " (any case; q3_k, q4_k, q5_k and llama_ftype numbers too)")
      ->required();
  cmd->add_option("threads,-t,--threads", f->threads, "threads that quantize rows (default: every core; same bytes for any count)");
  cmd->add_option("--imatrix", f->imatrix, "importance matrix (llama-imatrix's GGUF or legacy .dat) for the quantizers");
  cmd->add_option("--output-tensor-type", f->output_type, "type of output.weight (a ggml type name)");
  cmd->add_option("--token-embedding-type", f->embd_type, "type of token_embd.weight (a ggml type name)");
  cmd->add_flag("--pure", f->pure, "every weight matrix in the mix's main type (no per-tensor rules)");
  cmd->add_flag("--leave-output-tensor", f->leave_output, "keep output.weight as it is");
  cmd->add_flag("--allow-requantize", f->allow_requantize, "quantize weights that are already quantized");
  cmd->add_flag("--force", f->force, "overwrite an existing output file");
  cmd->callback([f] { run_quantize(*f); });
}

}  // namespace trident::cli
