// `trident inspect MODEL`: metadata, tensor table, totals, and per-layer fusion plan.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "format/error.h"
#include "format/gguf.h"
#include "model/model.h"

namespace trident::cli {
namespace {

std::string gguf_value_text(const GgufValue& v) {
  if (const GgufArray* a = v.as_array()) {
    std::string s = fmt::format("[{} x {}]", a->size(), gguf_value_type_name(a->elem_type));
    if (!a->empty() && a->elem_type != GgufValueType::ARRAY) {
      s += " ";
      for (uint64_t i = 0; i < std::min<uint64_t>(a->size(), 4); ++i) s += (i ? ", " : "") + gguf_value_text(a->at(i));
      if (a->size() > 4) s += ", ...";
    }
    return s;
  }
  if (const std::string* s = v.as_string()) {
    std::string t = s->size() > 80 ? s->substr(0, 77) + "..." : *s;
    for (char& c : t)
      if (c == '\n' || c == '\r') c = ' ';
    return "\"" + t + "\"";
  }
  if (auto b = v.as_bool()) return *b ? "true" : "false";
  if (v.is_float()) return fmt::format("{:g}", *v.as_float());
  if (auto* u = std::get_if<uint64_t>(&v.v)) return std::to_string(*u);
  if (auto* i = std::get_if<int64_t>(&v.v)) return std::to_string(*i);
  return "?";
}

std::string human_bytes(uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.2f} GiB", double(b) / double(1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.2f} MiB", double(b) / double(1ull << 20));
  if (b >= 1024) return fmt::format("{:.1f} KiB", double(b) / 1024.0);
  return fmt::format("{} B", b);
}

std::string group_text(const ProjectionGroup& g) {
  if (g.parts.empty()) return "none (the layer has no such projections)";  // deci's attention- or FFN-free layers
  std::string types;
  for (const RowSegment& s : g.fused.segments) types += (types.empty() ? "" : "+") + std::string(layout_of(s.type).name);
  if (!g.fusable) return fmt::format("not fusable ({})", g.why_not);
  if (g.from_fused_tensor) return fmt::format("fused in file ({})", types);
  return fmt::format("fusable at load, {} segments ({}{})", g.fused.segments.size(), types,
                     g.mixed_types() ? ", mixed types: one segmented matmul" : "");
}

void print_fusion(const Model& m) {
  fmt::print("\nfusion plan ({} layers):\n", m.layers().size());
  for (size_t l = 0; l < m.layers().size(); ++l) {
    const LayerWeights& L = m.layers()[l];
    if (L.delta.present())  // the delta net's qkv, z, beta and alpha projections
      fmt::print("  blk.{:<3} delta-net input: {}\n", l, group_text(L.delta.in));
    else if (L.kda.present())  // Kimi delta attention's q, k, v, f_a, g_a and beta projections
      fmt::print("  blk.{:<3} kda input: {}\n", l, group_text(L.kda.in));
    else
      fmt::print("  blk.{:<3} qkv: {}\n", l, group_text(L.qkv));
    if (!L.expert_gate_up.empty())
      fmt::print("  blk.{:<3} gate/up: {} experts, each {}\n", l, L.expert_gate_up.size(), group_text(L.expert_gate_up[0]));
    else
      fmt::print("  blk.{:<3} gate/up: {}\n", l, group_text(L.gate_up));
  }
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "print a GGUF file's metadata, tensors and fusion plan");
  auto path = std::make_shared<std::string>();
  add_model_path(cmd, *path, "GGUF file (also -m MODEL)")->required();
  cmd->callback([path] {
    auto f = GgufFile::open(*path);
    fmt::print("file: {}\nGGUF version {}, {} metadata keys, {} tensors, alignment {}, data at offset {}\n\n",
               *path, f->version(), f->metadata().size(), f->tensors().size(), f->alignment(), f->data_offset());
    fmt::print("metadata:\n");
    for (const GgufKv& kv : f->metadata())
      fmt::print("  {:<44} {:<8} {}\n", kv.key, gguf_value_type_name(kv.value.type), gguf_value_text(kv.value));
    fmt::print("\ntensors:\n  {:<36} {:<8} {:<24} {:>12} {:>12}\n", "name", "type", "shape", "bytes", "offset");
    uint64_t bytes = 0, params = 0;
    for (const GgufTensorInfo& t : f->tensors()) {
      std::string shape;
      for (uint32_t d = 0; d < std::max<uint32_t>(t.n_dims, 1); ++d) shape += (d ? " x " : "") + std::to_string(t.ne[d]);
      fmt::print("  {:<36} {:<8} {:<24} {:>12} {:>12}\n", t.name, layout_of(t.type).name, shape, t.n_bytes,
                 f->data_offset() + t.offset);
      bytes += t.n_bytes;
      params += t.n_elements;
    }
    fmt::print("\ntotal: {} tensors, {} parameters, {} ({} bytes) of tensor data, file {} bytes\n",
               f->tensors().size(), params, human_bytes(bytes), bytes, f->file_size());
    f.reset();
    try {
      auto m = Model::load(*path, LoadOptions{.repack = false});  // inspect runs nothing
      print_fusion(*m);
    } catch (const std::exception& e) {  // bad_alloc included: inspect reports, never aborts
      fmt::print("\nfusion plan: not available: {}\n", e.what());
    }
  });
}

}  // namespace trident::cli
