// `trident convert` (Hugging Face directory -> GGUF) and `trident export-hf` (GGUF -> Hugging
// Face directory). The work lives in model/hf_convert and model/hf_export; this file maps flags
// to options and draws the progress line (cli/progress).
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "cli/progress.h"
#include "convert/hf_convert.h"
#include "convert/hf_export.h"

namespace trident::cli {
namespace {

void print_note(const std::string& s) { fmt::print(stderr, "{}\n", s); }

}  // namespace

void add_convert_commands(CLI::App& app) {
  struct ConvertFlags {
    std::string dir, out, outtype = "f16";
    bool fuse_qkv = false, fuse_gate_up = false, force = false;
  };
  auto cf = std::make_shared<ConvertFlags>();
  CLI::App* conv = app.add_subcommand("convert", "convert a Hugging Face model directory (safetensors) to GGUF");
  conv->add_option("model_dir", cf->dir, "directory with config.json, *.safetensors and tokenizer files")->required();
  conv->add_option("-o,--output", cf->out, "GGUF file to write")->required();
  conv->add_option("--outtype", cf->outtype, "f32, f16 (default), bf16, q8_0 or q4_0 for 2-D weights");
  conv->add_flag("--fuse-qkv", cf->fuse_qkv, "store each layer's Q/K/V as one attn_qkv tensor");
  conv->add_flag("--fuse-gate-up", cf->fuse_gate_up, "store MoE gate/up experts as one ffn_gate_up_exps tensor");
  conv->add_flag("--force", cf->force, "overwrite an existing output file");
  conv->callback([cf] {
    ConvertOptions o;
    o.outtype = parse_outtype(lower_case(cf->outtype));
    o.fuse_qkv = cf->fuse_qkv;
    o.fuse_gate_up = cf->fuse_gate_up;
    o.overwrite = cf->force;
    o.progress = progress_line("convert");
    o.note = print_note;
    const ConvertResult r = convert_hf_to_gguf(cf->dir, cf->out, o);
    fmt::print("{}: {} ({}) -> {}: {} tensors, {:.1f} MiB of tensor data, {}\n", cf->dir, r.hf_class, r.arch, cf->out,
               r.n_tensors, double(r.n_bytes) / (1 << 20), cf->outtype);
  });

  struct ExportFlags {
    std::string model, out;
    bool force = false;
  };
  auto ef = std::make_shared<ExportFlags>();
  CLI::App* exp = app.add_subcommand("export-hf", "write an unquantized GGUF as a Hugging Face model directory");
  add_model_path(exp, ef->model, "GGUF file (F32, F16 or BF16 tensors; also -m MODEL)")->required();
  exp->add_option("outdir", ef->out, "directory to create")->required();
  exp->add_flag("--force", ef->force, "replace an existing output directory");
  exp->callback([ef] {
    ExportOptions o;
    o.overwrite = ef->force;
    o.progress = progress_line("export-hf");
    o.note = print_note;
    const ExportResult r = export_gguf_to_hf(ef->model, ef->out, o);
    fmt::print("{}: {} -> {} ({}): {} tensors, {:.1f} MiB\n", ef->model, r.arch, ef->out, r.hf_class, r.n_tensors,
               double(r.n_bytes) / (1 << 20));
  });
}

}  // namespace trident::cli
