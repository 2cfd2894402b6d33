// `trident fuse` / `trident unfuse`: lossless offline rewrite between separate and fused
// Q/K/V and gate/up storage. The planning and the streaming live in model/fuse_rewrite.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "cli/progress.h"
#include "format/error.h"
#include "convert/fuse_rewrite.h"

namespace trident::cli {
namespace {

struct RewriteFlags {
  std::string input, output, requant;
  bool qkv = false, gate_up = false, force = false;
};

void run_rewrite(const RewriteFlags& f, bool fuse) {
  auto in = GgufFile::open(f.input);
  RewritePlan plan;
  if (fuse) {
    FuseOptions opt;
    // Neither flag means both.
    opt.qkv = f.qkv || !f.gate_up;
    opt.gate_up = f.gate_up || !f.qkv;
    opt.llama_cpp_loadable = !f.gate_up;  // explicit --gate-up may write a trident-only file
    if (!f.requant.empty()) {
      opt.requant = ggml_type_from_name(f.requant);  // any case: "Q4_K" or "q4_k"
      if (!opt.requant) fail("--requant: unknown type '{}'", f.requant);
    }
    plan = plan_fuse(*in, opt);
  } else {
    plan = plan_unfuse(*in);
  }
  for (const std::string& note : plan.notes) fmt::print(stderr, "{}\n", note);

  GgufWriteOptions wo;
  wo.overwrite = f.force;
  wo.progress = progress_line(fuse ? "fuse" : "unfuse");
  write_rewrite(*in, plan, f.output, wo);
  fmt::print("{}: {} {} group(s), {} left as they were; wrote {} tensors to {}\n", f.input,
             fuse ? "fused" : "unfused", plan.groups_rewritten, plan.groups_left,
             plan.tensors.size(), f.output);
}

void add_common(CLI::App* cmd, RewriteFlags& f) {
  add_model_path(cmd, f.input, "GGUF file to read, never modified (also -m MODEL)")->required();
  cmd->add_option("-o,--output", f.output, "GGUF file to write")->required();
  cmd->add_flag("--force", f.force, "overwrite an existing output file");
}

}  // namespace

void add_fuse_commands(CLI::App& app) {
  auto fuse_flags = std::make_shared<RewriteFlags>();
  auto* fuse = app.add_subcommand("fuse", "store Q/K/V and gate/up experts as fused tensors (lossless)");
  add_common(fuse, *fuse_flags);
  fuse->add_flag("--qkv", fuse_flags->qkv, "fuse attn_q/k/v into attn_qkv (default: both kinds)");
  fuse->add_flag("--gate-up", fuse_flags->gate_up,
                 "fuse ffn_gate_exps + ffn_up_exps into ffn_gate_up_exps (default: both kinds)");
  fuse->add_option("--requant", fuse_flags->requant,
                   "quantize groups whose parts differ in type to TYPE (e.g. q4_K) and fuse them");
  fuse->callback([fuse_flags] { run_rewrite(*fuse_flags, true); });

  auto unfuse_flags = std::make_shared<RewriteFlags>();
  auto* unfuse = app.add_subcommand("unfuse", "split fused Q/K/V and gate/up tensors into their parts");
  add_common(unfuse, *unfuse_flags);
  unfuse->callback([unfuse_flags] { run_rewrite(*unfuse_flags, false); });
}

}  // namespace trident::cli
