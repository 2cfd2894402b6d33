// `trident synth`: writes a GGUF file with a real model's shapes and seeded random weights.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "cli/progress.h"
#include "format/error.h"
#include "convert/synth.h"
#include "convert/synth_skeleton.h"
#include "model/arch.h"

namespace trident::cli {
namespace {

struct SynthFlags {
  std::string arch, shape, type, out, skeleton_of, from_skeleton;
  int64_t seed = 0, vocab = 0, layers = 0, experts = 0;
  bool force = false;
};

void run_synth(const SynthFlags& f) {
  if (!f.skeleton_of.empty()) {
    write_skeleton(f.skeleton_of, f.out, f.force);
    fmt::print("{}: skeleton of {}\n", f.out, f.skeleton_of);
    return;
  }
  if (!f.from_skeleton.empty()) {
    if (f.seed < 0) fail("--seed: expected a seed >= 0, found {}", f.seed);
    synth_from_skeleton(f.from_skeleton, uint64_t(f.seed), f.out, f.force);
    fmt::print("{}: {} filled with seed {}\n", f.out, f.from_skeleton, f.seed);
    return;
  }
  if (f.shape.empty() || f.type.empty()) fail("synth: --shape and --type are required (or --skeleton-of / --from-skeleton)");
  SynthOptions o;
  o.shape = f.shape;
  o.arch = f.arch;
  const auto type = synth_type_from_name(lower_case(f.type));
  if (!type) fail("--type: unknown type '{}' (valid: {})", f.type, synth_type_names());
  o.type = *type;
  if (f.seed < 0) fail("--seed: expected a seed >= 0, found {}", f.seed);
  o.seed = uint64_t(f.seed);
  if (f.vocab < 0) fail("--vocab: expected a token count >= 259, found {}", f.vocab);
  if (f.layers < 0) fail("--layers: expected a layer count >= 1, found {}", f.layers);
  o.n_vocab = f.vocab;
  o.n_layer = f.layers;
  o.n_expert = f.experts;
  o.overwrite = f.force;
  o.progress = progress_line("synth");
  const auto t0 = std::chrono::steady_clock::now();
  const SynthSummary s = synth_model(o, f.out);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("{}: {} {} ({}), {} tensors, {:.2f} M params, {:.1f} MiB in {:.1f} s ({:.0f} MB/s)\n", f.out,
             f.shape, synth_type_name(o.type), s.arch, s.n_tensors, s.n_params / 1e6, s.bytes / 1048576.0,
             secs, secs > 0 ? s.bytes / secs / 1e6 : 0.0);
}

}  // namespace

void add_synth_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("synth", "write a GGUF with a real model's shapes and seeded random weights");
  auto f = std::make_shared<SynthFlags>();
  cmd->add_option("--shape", f->shape, "model shape: " + synth_shape_names());
  cmd->add_option("--type", f->type, "weight type: " + synth_type_names());
  cmd->add_option("--skeleton-of", f->skeleton_of,
                  "write MODEL's metadata and tensor table without its weights (a test fixture)");
  cmd->add_option("--from-skeleton", f->from_skeleton,
                  "write a skeleton's model with seeded weights (normal, std 0.01, as test-llama-archs)");
  cmd->add_option("-o,--output", f->out, "output GGUF file")->required();
  cmd->add_option("--arch", f->arch, "architecture (default: the shape's): " + synth_arch_names());
  cmd->add_option("--seed", f->seed, "random seed")->capture_default_str();
  cmd->add_option("--vocab", f->vocab, "vocabulary size (default: the model's; >= 259)");
  cmd->add_option("--layers", f->layers, "layer count (default: the model's)");
  cmd->add_option("--experts", f->experts, "routed experts per MoE layer (default: the model's; a reduced copy)");
  cmd->add_flag("--force", f->force, "overwrite an existing output file");
  cmd->callback([f] { run_synth(*f); });
}

}  // namespace trident::cli
