#include "convert/fuse_rewrite.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <map>

#include "format/error.h"
#include "model/arch.h"
#include "model/hparams.h"
#include "tensor/types.h"

namespace trident {
namespace {

enum class Kind : uint8_t { Qkv, GateUpExps, GateUpDense };

struct KindSpec {
  Kind kind;
  const char* label;
  const char* fused;  // base name of the fused tensor
  std::array<const char*, 3> parts;
  size_t n_parts;
};

constexpr std::array<KindSpec, 3> kKinds = {{
    {Kind::Qkv, "Q/K/V", "attn_qkv", {"attn_q", "attn_k", "attn_v"}, 3},
    {Kind::GateUpExps, "gate/up experts", "ffn_gate_up_exps", {"ffn_gate_exps", "ffn_up_exps", nullptr}, 2},
    // trident-only dense form; llama.cpp reads a dense fused gate/up only as phi3's ffn_up.
    {Kind::GateUpDense, "gate/up", "ffn_gate_up", {"ffn_gate", "ffn_up", nullptr}, 2},
}};

// What a tensor of a group holds: `<base>.weight`, `.bias`, `.scale` (a per-tensor weight
// scale, [1] or [n_expert]) or `.input_scale` (loaded and unused by llama.cpp, kept as data).
enum Side : uint8_t { kWeight, kBias, kScale, kInputScale, kSides };
constexpr std::array<const char*, kSides> kSideSuffix = {"weight", "bias", "scale", "input_scale"};

// Tensors of one group in one layer: the separate parts and the fused form, per side.
struct Slot {
  std::array<const GgufTensorInfo*, 3> parts{};
  const GgufTensorInfo* fused = nullptr;
  size_t n_present(size_t n) const {
    size_t k = 0;
    for (size_t i = 0; i < n; ++i) k += parts[i] != nullptr;
    return k;
  }
};

struct Group {
  int64_t layer = 0;
  const KindSpec* spec = nullptr;
  std::array<Slot, kSides> slot;
  std::array<std::vector<RewriteTensor>, kSides> out;  // replacements, when rewritten
  Slot& w() { return slot[kWeight]; }
  Slot& b() { return slot[kBias]; }
  bool rewrite = false;
  std::string prefix() const { return fmt::format("blk.{}.", layer); }
  std::string label() const { return fmt::format("blk.{}", layer); }
};

struct Member {
  Group* group;
  Side side;
};

// "blk.<N>.<base>.<side>" -> (N, base, side); false for any other name.
bool split_name(const std::string& name, int64_t& layer, std::string& base, Side& side) {
  if (name.rfind("blk.", 0) != 0) return false;
  size_t i = 4, j = i;
  while (j < name.size() && j - i < 9 && name[j] >= '0' && name[j] <= '9') ++j;
  if (j == i || j >= name.size() || name[j] != '.') return false;
  layer = std::stoll(name.substr(i, j - i));
  const size_t dot = name.rfind('.');
  if (dot <= j) return false;
  const std::string suffix = name.substr(dot + 1);
  const auto it = std::find(kSideSuffix.begin(), kSideSuffix.end(), suffix);
  if (it == kSideSuffix.end()) return false;
  side = Side(it - kSideSuffix.begin());
  base = name.substr(j + 1, dot - j - 1);
  return true;
}

std::string type_name(GgmlType t) { return std::string(layout_of(t).name); }

std::vector<int64_t> dims_of(const GgufTensorInfo& t) {
  return std::vector<int64_t>(t.ne, t.ne + std::max<uint32_t>(t.n_dims, 1));
}

// The tensor viewed as [outer][slice] around `axis` (0: elements of a row, 1: rows).
uint64_t slice_bytes(const GgufTensorInfo& t, int axis) {
  const uint64_t row = row_bytes(t.type, t.ne[0]);
  return axis == 0 ? row : row * uint64_t(t.ne[1]);
}
uint64_t outer_count(const GgufTensorInfo& t, int axis) {
  uint64_t n = 1;
  for (int d = axis + 1; d < 4; ++d) n *= uint64_t(t.ne[d]);
  return n;
}

RewriteTensor copy_of(const GgufTensorInfo& t) {
  RewriteTensor r{t.name, t.type, dims_of(t), 1, {}};
  r.pieces.push_back({&t, t.n_bytes, 0, t.n_bytes, t.type, t.ne[0]});
  return r;
}

// Concatenation of `parts` along `axis`, each converted to `to[i]`.
RewriteTensor concat(const std::string& name, const std::vector<const GgufTensorInfo*>& parts,
                     const std::vector<GgmlType>& to, GgmlType out_type, int axis) {
  RewriteTensor r;
  r.name = name;
  r.type = out_type;
  r.ne = dims_of(*parts[0]);
  r.ne[size_t(axis)] = 0;
  for (const GgufTensorInfo* p : parts) r.ne[size_t(axis)] += p->ne[axis];
  r.outer = outer_count(*parts[0], axis);
  for (size_t i = 0; i < parts.size(); ++i) {
    const uint64_t sb = slice_bytes(*parts[i], axis);
    r.pieces.push_back({parts[i], sb, 0, sb, to[i], parts[i]->ne[0]});
  }
  return r;
}

// Cuts `fused` along `axis` into parts of `widths` (rows for axis 1, elements for axis 0).
std::vector<RewriteTensor> split(const GgufFile& f, const GgufTensorInfo& fused,
                                 const std::vector<std::string>& names,
                                 const std::vector<int64_t>& widths, int axis) {
  const auto& lay = layout_of(fused.type);
  const uint64_t sb = slice_bytes(fused, axis);
  const uint64_t row = row_bytes(fused.type, fused.ne[0]);
  std::vector<RewriteTensor> out;
  int64_t at = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    // Along a row, a cut must fall on a block boundary.
    if (axis == 0 && (at % lay.block_size != 0 || widths[i] % lay.block_size != 0))
      fail("{}: tensor '{}': cannot cut {} at element {} (block size {})", f.path(), fused.name,
           lay.name, at, lay.block_size);
    const uint64_t begin = axis == 0 ? row_bytes(fused.type, at) : uint64_t(at) * row;
    const uint64_t len = axis == 0 ? row_bytes(fused.type, widths[i]) : uint64_t(widths[i]) * row;
    RewriteTensor r;
    r.name = names[i];
    r.type = fused.type;
    r.ne = dims_of(fused);
    r.ne[size_t(axis)] = widths[i];
    r.outer = outer_count(fused, axis);
    r.pieces.push_back({&fused, sb, begin, len, fused.type, fused.ne[0]});
    out.push_back(std::move(r));
    at += widths[i];
  }
  return out;
}

class FusePlanner {
 public:
  FusePlanner(const GgufFile& f) : f_(f) {
    arch_ = f.get_string("general.architecture").value_or("");
    for (const GgufTensorInfo& t : f.tensors()) {
      int64_t layer;
      std::string base;
      Side side;
      if (!split_name(t.name, layer, base, side)) continue;
      for (size_t k = 0; k < kKinds.size(); ++k) {
        const KindSpec& s = kKinds[k];
        const GgufTensorInfo** slot = nullptr;
        if (base == s.fused) slot = &group(layer, k).slot[side].fused;
        for (size_t i = 0; i < s.n_parts; ++i)
          if (base == s.parts[i]) slot = &group(layer, k).slot[side].parts[i];
        if (!slot) continue;
        *slot = &t;
        member_[&t] = {&group(layer, k), side};
      }
    }
  }

  RewritePlan fuse(const FuseOptions& opt) {
    RewritePlan plan;
    plan.operation = "fuse";
    if (opt.requant) {
      const TypeTraits* tr = type_traits(*opt.requant);
      if (!tr || !tr->quantize_row)
        fail("--requant: trident cannot quantize to {}", type_name(*opt.requant));
    }
    int dense_left = 0, exps_kept = 0, qkv_kept = 0;
    for (auto& [key, g] : groups_) {
      const Kind kind = g.spec->kind;
      if (kind == Kind::Qkv ? !opt.qkv : !opt.gate_up) continue;
      const size_t present = g.w().n_present(g.spec->n_parts);
      if (kind == Kind::GateUpDense && present == g.spec->n_parts && !llamacpp_dense_gate_up_in_up(arch_)) {
        ++dense_left;
        ++plan.groups_left;
        continue;
      }
      if (present < 2) continue;  // nothing separate to fuse (e.g. phi3's ffn_up alone)
      if (kind == Kind::Qkv && opt.llama_cpp_loadable && !llamacpp_reads_fused_qkv(arch_)) {
        ++qkv_kept;
        ++plan.groups_left;
        continue;
      }
      if (kind == Kind::GateUpExps && opt.llama_cpp_loadable && !llama_cpp_reads_gate_up_exps()) {
        ++exps_kept;
        ++plan.groups_left;
        continue;
      }
      std::string why;
      if (fuse_group(g, opt, plan, why)) {
        g.rewrite = true;
        ++plan.groups_rewritten;
      } else {
        ++plan.groups_left;
        if (!why.empty()) plan.notes.push_back(fmt::format("{}: {}: left unfused", g.label(), why));
      }
    }
    if (dense_left > 0)
      plan.notes.push_back(fmt::format(
          "ffn_gate/ffn_up ({} layers): left unfused: llama.cpp has no fused dense gate/up tensor "
          "for '{}' (it reads one only as phi3's double-height ffn_up)", dense_left, arch_));
    if (exps_kept > 0)
      plan.notes.push_back(fmt::format(
          "ffn_gate_exps/ffn_up_exps ({} layers): left unfused: llama.cpp (3f545bec) does not read "
          "ffn_gate_up_exps for '{}' (pass --gate-up to fuse them anyway; trident loads both)",
          exps_kept, arch_));
    if (qkv_kept > 0)
      plan.notes.push_back(fmt::format("attn_q/attn_k/attn_v ({} layers): left unfused: llama.cpp (3f545bec) does not "
                                       "read attn_qkv for '{}' (trident fuses them at load time anyway)",
                                       qkv_kept, arch_));
    bool exps_fused = false;
    for (auto& [key, g] : groups_) exps_fused |= g.rewrite && g.spec->kind == Kind::GateUpExps;
    if (exps_fused && !llama_cpp_reads_gate_up_exps())
      plan.notes.push_back(fmt::format(
          "note: llama.cpp (3f545bec) does not read ffn_gate_up_exps for '{}': this output runs "
          "in trident only (fuse with --qkv alone to stay loadable in llama.cpp)", arch_));
    assemble(plan);
    return plan;
  }

  bool llama_cpp_reads_gate_up_exps() const {
    return llamacpp_reads_gate_up_exps(arch_);
  }

  RewritePlan unfuse() {
    RewritePlan plan;
    plan.operation = "unfuse";
    for (auto& [key, g] : groups_) {
      const KindSpec& s = *g.spec;
      bool any_fused = false, any_separate = false;
      for (const Slot& sl : g.slot) any_fused |= sl.fused != nullptr, any_separate |= sl.n_present(s.n_parts) > 0;
      if (!any_fused) continue;
      // A delta-net layer's attn_qkv is its convolution's q|k|v input, not attention's.
      if (s.kind == Kind::Qkv && delta_net_layer(g.layer)) continue;
      // plamo2: llama.cpp could not load the parts (and its graph ignores attn_qkv's scale,
      // which the parts' scales would apply).
      if (s.kind == Kind::Qkv && !llamacpp_reads_separate_qkv(arch_)) {
        ++plan.groups_left;
        plan.notes.push_back(fmt::format("{}: left fused: llama.cpp (3f545bec) reads only attn_qkv for '{}'",
                                         g.label(), arch_));
        continue;
      }
      if (any_separate) {
        ++plan.groups_left;
        plan.notes.push_back(fmt::format("{}: {} is stored both fused and separate: left as is",
                                         g.label(), s.fused));
        continue;
      }
      std::vector<std::string> wn, bn;
      for (size_t i = 0; i < s.n_parts; ++i) {
        wn.push_back(g.prefix() + s.parts[i] + ".weight");
        bn.push_back(g.prefix() + s.parts[i] + ".bias");
      }
      const GgufTensorInfo* fw = g.w().fused;
      if (fw && fw->n_dims < 2)
        fail("{}: tensor '{}': expected a matrix, found {} dimension(s)", f_.path(), fw->name, fw->n_dims);
      if (fw) g.out[kWeight] = split(f_, *fw, wn, widths(g, *fw, 1), 1);
      if (g.b().fused) g.out[kBias] = split(f_, *g.b().fused, bn, widths(g, *g.b().fused, 0), 0);
      for (Side sd : {kScale, kInputScale})
        if (g.slot[sd].fused) g.out[sd] = split_scale(g, sd);
      g.rewrite = true;
      ++plan.groups_rewritten;
    }
    assemble(plan);
    return plan;
  }

 private:
  const GgufFile& f_;
  std::string arch_;
  std::map<std::pair<int64_t, size_t>, Group> groups_;
  std::map<const GgufTensorInfo*, Member> member_;
  std::optional<HParams> hp_;

  Group& group(int64_t layer, size_t kind) {
    Group& g = groups_[{layer, kind}];
    g.layer = layer;
    g.spec = &kKinds[kind];
    return g;
  }

  // Fills g.out, or says in `why` why the group stays as it is (empty `why`:
  // the reason is already in plan.notes).
  bool fuse_group(Group& g, const FuseOptions& opt, RewritePlan& plan, std::string& why) {
    const KindSpec& s = *g.spec;
    const size_t n = s.n_parts;
    std::vector<const GgufTensorInfo*> w(g.w().parts.begin(), g.w().parts.begin() + long(n));
    bool any_fused = false;
    for (const Slot& sl : g.slot) any_fused |= sl.fused != nullptr;
    if (any_fused) {
      why = fmt::format("{} present alongside separate parts", s.fused);
      return false;
    }
    for (size_t i = 0; i < n; ++i)
      if (!w[i]) {
        why = fmt::format("{} missing", s.parts[i]);
        return false;
      }
    // Same row length and the same outer dimensions (expert count), or rows do not line up.
    const int64_t axis_dims = s.kind == Kind::GateUpExps ? 3 : 2;
    for (size_t i = 0; i < n; ++i)
      if (w[i]->n_dims != uint32_t(axis_dims) || w[i]->ne[0] != w[0]->ne[0] || w[i]->ne[2] != w[0]->ne[2]) {
        why = fmt::format("shapes of {} do not line up", list_parts(s, w, false));
        return false;
      }
    const size_t n_bias = g.b().n_present(n);
    if (n_bias != 0 && n_bias != n) {
      why = fmt::format("only {} of {} biases present", n_bias, n);
      return false;
    }
    for (size_t i = 0; i < n_bias; ++i) {
      const GgufTensorInfo& b = *g.b().parts[i];
      if (b.ne[0] != w[i]->ne[1] || b.ne[1] != w[i]->ne[2] || b.ne[2] != 1 || b.ne[3] != 1) {
        why = fmt::format("{}.bias does not match its weight", s.parts[i]);
        return false;
      }
    }
    GgmlType out_type = w[0]->type;
    std::vector<GgmlType> to(n, out_type);
    bool same = true;
    for (size_t i = 1; i < n; ++i) same &= w[i]->type == w[0]->type;
    if (!same) {
      if (!opt.requant) {
        plan.notes.push_back(fmt::format("{}: {} differ: left unfused (use --requant TYPE)",
                                         g.label(), list_parts(s, w, true)));
        return false;
      }
      out_type = *opt.requant;
      const auto& lay = layout_of(out_type);
      std::vector<std::string> changed;
      for (size_t i = 0; i < n; ++i) {
        to[i] = out_type;
        if (w[i]->type == out_type) continue;
        if (!type_is_computable(w[i]->type) || w[0]->ne[0] % lay.block_size != 0) {
          why = fmt::format("cannot requantize {} {} to {}", s.parts[i], type_name(w[i]->type),
                            type_name(out_type));
          return false;
        }
        changed.push_back(s.parts[i]);
      }
      std::string list;
      for (const auto& c : changed) list += (list.empty() ? "" : ", ") + c;
      plan.notes.push_back(fmt::format("{}: {} differ: requantized {} to {}, fused", g.label(),
                                       list_parts(s, w, true), list, type_name(out_type)));
    }
    auto& out_w = g.out[kWeight];
    auto& out_b = g.out[kBias];
    out_w.push_back(concat(g.prefix() + s.fused + ".weight", w, to, out_type, 1));
    if (n_bias) {
      std::vector<const GgufTensorInfo*> b(g.b().parts.begin(), g.b().parts.begin() + long(n));
      GgmlType bt = b[0]->type;
      bool same_b = true;
      for (size_t i = 1; i < n; ++i) same_b &= b[i]->type == bt;
      if (!same_b) {
        // Float biases widen to F32 exactly, so the values survive even when the bytes change.
        for (size_t i = 0; i < n; ++i)
          if (!type_is_computable(b[i]->type)) {
            why = fmt::format("{}.bias has type {}", s.parts[i], type_name(b[i]->type));
            out_w.clear();
            return false;
          }
        bt = GgmlType::F32;
        plan.notes.push_back(fmt::format("{}: {} biases differ in type: converted to f32", g.label(), s.label));
      }
      out_b.push_back(concat(g.prefix() + s.fused + ".bias", b, std::vector<GgmlType>(n, bt), bt, 0));
    }
    for (Side sd : {kScale, kInputScale})
      if (!fuse_scale(g, sd, plan, why)) {
        for (auto& o : g.out) o.clear();
        return false;
      }
    // phi3 keeps gate and up as one double-height ffn_up (no bias form exists there).
    if (s.kind == Kind::GateUpDense) {
      if (n_bias) {
        why = "phi3's fused ffn_up has no bias form";
        for (auto& o : g.out) o.clear();
        return false;
      }
      out_w[0].name = g.prefix() + "ffn_up.weight";
    }
    return true;
  }

  // Values per part of a scale tensor: 1 for a dense group, one per expert for experts.
  static int64_t scale_count(const Group& g, const GgufTensorInfo& weight) {
    return g.spec->kind == Kind::GateUpExps ? weight.ne[2] : 1;
  }

  // The parts' scales (side kScale or kInputScale) as one tensor of the fused base: all parts
  // equal -> one copy ([1] or [n_expert], as llama.cpp reads `attn_qkv.scale`); otherwise one
  // scale per part ([n_parts], or [n_expert, n_parts] part after part), which trident applies
  // per segment and llama.cpp does not read. False (with `why`) when the group cannot carry them.
  bool fuse_scale(Group& g, Side sd, RewritePlan& plan, std::string& why) {
    const KindSpec& s = *g.spec;
    const size_t n = s.n_parts;
    const Slot& sl = g.slot[sd];
    const size_t present = sl.n_present(n);
    if (present == 0) return true;
    if (present != n) {
      why = fmt::format("only {} of {} .{} tensors present", present, n, kSideSuffix[sd]);
      return false;
    }
    const int64_t per = scale_count(g, *g.w().parts[0]);
    const uint64_t bytes = uint64_t(per) * sizeof(float);
    bool equal = true;
    for (size_t i = 0; i < n; ++i) {
      const GgufTensorInfo& t = *sl.parts[i];
      if (t.type != GgmlType::F32 || t.ne[0] != per || t.n_bytes != bytes) {
        why = fmt::format("{}.{} is not {} f32 value(s)", s.parts[i], kSideSuffix[sd], per);
        return false;
      }
      equal &= std::memcmp(f_.tensor_data(t), f_.tensor_data(*sl.parts[0]), bytes) == 0;
    }
    // phi3 keeps a fused dense gate/up as a double-height ffn_up (see fuse_group).
    const std::string name = g.prefix() + (s.kind == Kind::GateUpDense ? "ffn_up" : s.fused) + "." + kSideSuffix[sd];
    if (equal) {
      RewriteTensor r = copy_of(*sl.parts[0]);
      r.name = name;
      g.out[sd].push_back(std::move(r));
      return true;
    }
    RewriteTensor r{name, GgmlType::F32, per == 1 ? std::vector<int64_t>{int64_t(n)} : std::vector<int64_t>{per, int64_t(n)},
                    1, {}};
    for (size_t i = 0; i < n; ++i) r.pieces.push_back({sl.parts[i], bytes, 0, bytes, GgmlType::F32, per});
    g.out[sd].push_back(std::move(r));
    if (sd == kScale)
      plan.notes.push_back(fmt::format("{}: the {} scales differ: {} holds one per part (trident applies each to "
                                       "its rows; llama.cpp reads one scale only)", g.label(), s.label, name));
    return true;
  }

  // Unfusing a fused scale: a shared one is copied to every part, one per part is cut apart.
  std::vector<RewriteTensor> split_scale(Group& g, Side sd) {
    const KindSpec& s = *g.spec;
    const GgufTensorInfo& t = *g.slot[sd].fused;
    const GgufTensorInfo* fw = g.w().fused;
    if (!fw) fail("{}: tensor '{}' has no fused weight beside it", f_.path(), t.name);
    const int64_t per = scale_count(g, *fw), n = int64_t(s.n_parts);
    const uint64_t bytes = uint64_t(per) * sizeof(float);
    const bool shared = t.type == GgmlType::F32 && t.ne[0] == per && t.n_bytes == bytes;
    const bool each = t.type == GgmlType::F32 && t.n_bytes == bytes * uint64_t(n) &&
                      (per == 1 ? t.ne[0] == n : t.ne[0] == per && t.ne[1] == n);
    if (!shared && !each)
      fail("{}: tensor '{}': expected f32 [{}] (one scale for all parts) or [{}] (one per part)", f_.path(), t.name,
           per, per == 1 ? fmt::format("{}", n) : fmt::format("{}, {}", per, n));
    std::vector<RewriteTensor> out;
    for (int64_t i = 0; i < n; ++i) {
      RewriteTensor r{g.prefix() + s.parts[i] + "." + kSideSuffix[sd], GgmlType::F32, {per}, 1, {}};
      r.pieces.push_back({&t, t.n_bytes, shared ? 0 : uint64_t(i) * bytes, bytes, GgmlType::F32, per});
      out.push_back(std::move(r));
    }
    return out;
  }

  static std::string list_parts(const KindSpec& s, const std::vector<const GgufTensorInfo*>& w, bool types) {
    std::string r;
    for (size_t i = 0; i < w.size(); ++i) {
      r += (i ? ", " : "") + std::string(s.parts[i]);
      if (types) r += " " + type_name(w[i]->type);
    }
    return r;
  }

  // Part widths of a fused tensor along `axis` (rows of the weight, elements of the bias).
  std::vector<int64_t> widths(const Group& g, const GgufTensorInfo& t, int axis) {
    const int64_t total = t.ne[axis];
    const char* unit = axis == 1 ? "rows" : "elements";
    if (g.spec->kind != Kind::Qkv) {
      if (total % 2 != 0)
        fail("{}: tensor '{}': expected an even number of {} (gate, then up), found {}", f_.path(),
             t.name, unit, total);
      return {total / 2, total / 2};
    }
    // The layer's own shape: heads and head size differ per layer in some families (openelm,
    // gemma4); the model's for blocks past the forward pass (multi-token prediction).
    const LayerSizes z = hparams().sizes(g.layer);
    const int64_t n_q = z.n_q(), n_kv = z.n_kv();
    if (n_q + 2 * n_kv != total)
      fail("{}: tensor '{}': expected {} {} (n_q {} + 2 x n_kv {} from the hyper-parameters), "
           "found {}", f_.path(), t.name, n_q + 2 * n_kv, unit, n_q, n_kv, total);
    return {n_q, n_kv, n_kv};
  }

  bool delta_net_layer(int64_t layer) {
    const ArchSpec* a = find_arch(arch_);
    return a && a->delta_net != DeltaNetKind::None && layer < hparams().n_layer && hparams().is_delta_net(layer);
  }

  const HParams& hparams() {
    if (!hp_) {
      const std::string arch = f_.require_string("general.architecture");
      if (const ArchSpec* a = find_arch(arch)) {
        hp_ = read_hparams(f_, *a);
      } else {
        // Unknown to trident's model table: only the attention sizes matter here.
        ArchSpec generic{.name = arch};
        if (f_.find(arch + ".expert_count")) generic.ffn = FfnKind::Moe;
        hp_ = read_hparams(f_, generic);
      }
    }
    return *hp_;
  }

  // Output order: input order, with each group's replacement at the place of its first
  // member (weights and biases separately).
  void assemble(RewritePlan& plan) {
    std::map<std::pair<const Group*, Side>, bool> placed;
    for (const GgufTensorInfo& t : f_.tensors()) {
      auto it = member_.find(&t);
      if (it == member_.end() || !it->second.group->rewrite) {
        plan.tensors.push_back(copy_of(t));
        continue;
      }
      const Group& g = *it->second.group;
      const Side side = it->second.side;
      const auto& repl = g.out[side];
      if (repl.empty()) {  // this half of the group is unchanged
        plan.tensors.push_back(copy_of(t));
        continue;
      }
      if (placed[{&g, side}]) continue;
      placed[{&g, side}] = true;
      for (const RewriteTensor& r : repl) plan.tensors.push_back(r);
    }
  }
};

}  // namespace

RewritePlan plan_fuse(const GgufFile& in, const FuseOptions& opt) { return FusePlanner(in).fuse(opt); }

RewritePlan plan_unfuse(const GgufFile& in) { return FusePlanner(in).unfuse(); }

}  // namespace trident
