// The loader's internals (model/loader.cpp, model/loader_mixers.cpp): finds each tensor the
// architecture row needs, checks its shape against the hyper-parameters and wraps weights as
// row-segment views. Not part of the model's interface.
#pragma once
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "format/checked.h"
#include "format/error.h"
#include "kernels/recurrent.h"
#include "model/model.h"
#include "tensor/repack.h"
#include "tensor/types.h"

namespace trident {

class WeightLoader {
 public:
  WeightLoader(Model& m) : m_(m), f_(*m.file_) {}

  void load();

 private:
  Model& m_;
  const GgufFile& f_;
  std::set<std::string> consumed_;  // every tensor looked up, found or not

  // A tensor the row lists as unused counts as consumed and reads as absent.
  const GgufTensorInfo* find(const std::string& name) {
    consumed_.insert(name);
    if (unused(name)) return nullptr;
    return f_.find_tensor(name);
  }

  bool unused(std::string_view name) const {
    const auto& list = m_.arch_->unused_tensors;
    if (std::find(list.begin(), list.end(), name) != list.end()) return true;
    if (!name.starts_with("blk.")) return false;
    const size_t dot = name.find('.', 4);
    if (dot == std::string_view::npos) return false;
    const std::string_view rest = name.substr(dot + 1);
    if (std::find(list.begin(), list.end(), rest) != list.end()) return true;
    // The multi-token-prediction blocks after the last one the forward pass runs.
    int64_t layer = 0;
    for (char c : name.substr(4, dot - 4)) {
      if (c < '0' || c > '9' || layer > (int64_t(1) << 40)) return false;
      layer = layer * 10 + (c - '0');
    }
    const HParams& h = m_.hp_;
    return layer >= h.n_layer && layer < h.n_layer + h.n_layer_nextn;
  }

  // As llama.cpp, a file is refused when it holds a tensor the architecture does not read:
  // ignoring it would compute something other than the file means. `.input_scale` tensors
  // are the exception llama.cpp makes too: it loads them and uses none.
  void refuse_unused() const {
    for (const GgufTensorInfo& t : f_.tensors()) {
      if (consumed_.count(t.name) || unused(t.name) || t.name.ends_with(".input_scale")) continue;
      if (std::find(m_.arch_->head_tensors.begin(), m_.arch_->head_tensors.end(), t.name) != m_.arch_->head_tensors.end())
        continue;
      fail("{}: tensor '{}' is not used by architecture {} (trident refuses files with tensors it would ignore)",
           f_.path(), t.name, m_.hp_.arch);
    }
  }

  // Per-tensor weight scale `<base>.scale` ([1], or [n] for a 3-D expert tensor): element `i`.
  // While scales_ignored_ is set (a feed-forward llama.cpp's graph passes no scales to), the
  // tensor is read and checked as llama.cpp loads it, and changes nothing.
  float weight_scale(const std::string& base, int64_t n, int64_t i) {
    const GgufTensorInfo* t = find(base + ".scale");
    if (!t) return 1.0f;
    check_shape(*t, {n});
    const float s = as_f32(*t, 0, n)[i];
    return scales_ignored_ ? 1.0f : s;
  }
  bool scales_ignored_ = false;

  // The scale of part `part` (of `n_parts`) of expert `e` (of `n_outer`; 1 for a dense group) in
  // a fused tensor's `<base>.scale`: [n_outer] is shared by the parts (llama.cpp's form), and
  // [n_parts] / [n_outer, n_parts] holds one per part, as `trident fuse` writes parts whose
  // scales differ.
  float fused_scale(const std::string& base, int64_t n_outer, int64_t n_parts, int64_t e, int64_t part) {
    const GgufTensorInfo* t = find(base + ".scale");
    if (!t) return 1.0f;
    if (t->ne[0] == n_outer && t->ne[1] == 1 && t->ne[2] == 1 && t->ne[3] == 1) return weight_scale(base, n_outer, e);
    if (n_outer == 1) check_shape(*t, {n_parts});
    else check_shape(*t, {n_outer, n_parts});
    const float s = as_f32(*t, 0, n_outer * n_parts)[e + n_outer * part];
    return scales_ignored_ ? 1.0f : s;
  }

  static std::string shape_str(const GgufTensorInfo& t) {
    std::string s = "[";
    for (uint32_t d = 0; d < std::max<uint32_t>(t.n_dims, 1); ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
    return s + "]";
  }

  // expected dims; -1 = any. Trailing dims beyond those given must be 1.
  void check_shape(const GgufTensorInfo& t, std::initializer_list<int64_t> dims) const {
    std::string want = "[";
    bool ok = true;
    size_t d = 0;
    for (int64_t e : dims) {
      want += (d ? ", " : "") + (e < 0 ? std::string("*") : std::to_string(e));
      if (e >= 0 && t.ne[d] != e) ok = false;
      ++d;
    }
    want += "]";
    for (; d < 4; ++d)
      if (t.ne[d] != 1) ok = false;
    if (!ok) fail("{}: tensor '{}': expected shape {}, found {}", f_.path(), t.name, want, shape_str(t));
  }

  void check_computable(const GgufTensorInfo& t) const {
    if (!type_is_computable(t.type))
      fail("{}: tensor '{}' has type {}, which trident cannot compute with yet", f_.path(), t.name,
           layout_of(t.type).name);
  }

  const GgufTensorInfo& require(const std::string& name, std::initializer_list<int64_t> dims) {
    const GgufTensorInfo* t = find(name);
    if (!t) fail("{}: missing tensor '{}' (required by architecture {})", f_.path(), name, m_.hp_.arch);
    check_shape(*t, dims);
    return *t;
  }

  // A 1-D float vector (norm weight, bias). F32 tensors are used in place; others converted.
  const float* vec(const std::string& name, int64_t n, bool required) { return floats(name, {n}, required); }

  // A small float tensor of the given shape (e.g. per-head norm weights [head_dim, n_head]).
  const float* floats(const std::string& name, std::initializer_list<int64_t> dims, bool required) {
    const GgufTensorInfo* t = find(name);
    if (!t) {
      if (required) fail("{}: missing tensor '{}' (required by architecture {})", f_.path(), name, m_.hp_.arch);
      return nullptr;
    }
    check_shape(*t, dims);
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return as_f32(*t, 0, n);
  }

  // Elements [first, first + n) of a tensor as floats.
  const float* as_f32(const GgufTensorInfo& t, int64_t first, int64_t n) {
    const uint8_t* data = f_.tensor_data(t);
    if (t.type == GgmlType::F32) {
      if (reinterpret_cast<uintptr_t>(data) % alignof(float) == 0)
        return reinterpret_cast<const float*>(data) + first;
    }
    check_computable(t);
    const auto& lay = layout_of(t.type);
    if (first % lay.block_size != 0 || n % lay.block_size != 0)
      fail("{}: tensor '{}': cannot slice {} at element {}", f_.path(), t.name, lay.name, first);
    auto& out = m_.owned_.emplace_back(size_t(n));
    type_traits(t.type)->dequantize_row(data + row_bytes(t.type, first), out.data(), n);
    return out.data();
  }

  // Rows [row0, row0 + rows) of a 2-D (or one expert's 2-D slice of a 3-D) weight.
  RowSegment segment(const GgufTensorInfo& t, int64_t row0, int64_t rows) const {
    check_computable(t);
    RowSegment s;
    s.type = t.type;
    s.row_stride = row_bytes(t.type, t.ne[0]);
    s.data = f_.tensor_data(t) + size_t(row0) * s.row_stride;
    s.rows = rows;
    if (m_.repack_ && packable(t.type) && row0 % kPackRows == 0)
      s.packed = m_.packed_.get(f_, t) + size_t(row0 / kPackRows) * packed_group_bytes(t.type, t.ne[0]);
    return s;
  }

  Projection whole_projection(const GgufTensorInfo& t, int64_t n_in, int64_t n_out, float scale = 1.0f) const {
    Projection p;
    p.n_in = n_in;
    p.n_out = n_out;
    p.segments.push_back(segment(t, 0, n_out));
    p.segments.back().scale = scale;
    return p;
  }

  // <base>.weight [n_in, n_out] with optional <base>.bias.
  Projection projection(const std::string& base, int64_t n_in, int64_t n_out, bool required) {
    const GgufTensorInfo* t = find(base + ".weight");
    if (!t) {
      if (required) fail("{}: missing tensor '{}.weight' (required by architecture {})", f_.path(), base, m_.hp_.arch);
      return {};
    }
    check_shape(*t, {n_in, n_out});
    Projection p = whole_projection(*t, n_in, n_out, weight_scale(base, 1, 0));
    p.bias = vec(base + ".bias", n_out, false);
    return p;
  }

  struct PartSpec {
    std::string name;   // e.g. "blk.0.attn_q"
    int64_t width;
  };

  // Builds a group from separate tensors or from one fused tensor `fused_base` (rows of the
  // parts in order). Biases may be fused, separate, or absent, independently of the weights.
  ProjectionGroup group(const std::string& fused_base, const std::vector<PartSpec>& parts,
                        int64_t n_in, const char* label) {
    ProjectionGroup g;
    int64_t total = 0;
    for (const auto& p : parts) {
      g.part_col.push_back(total);
      g.part_names.push_back(p.name);
      total += p.width;
    }
    g.fused.n_in = n_in;
    g.fused.n_out = total;
    const GgufTensorInfo* fused_w = fused_base.empty() ? nullptr : find(fused_base + ".weight");
    bool any_separate = false;
    for (const auto& p : parts) any_separate |= find(p.name + ".weight") != nullptr;
    if (fused_w && any_separate)
      fail("{}: both '{}.weight' and separate {} weights are present (expected one form)",
           f_.path(), fused_base, label);
    const int64_t n_parts = int64_t(parts.size());
    std::vector<float> scales(parts.size(), 1.0f);
    bool shared_scale = true;  // else parts with different scales stay separate segments of the one tensor
    if (fused_w) {
      check_shape(*fused_w, {n_in, total});
      g.from_fused_tensor = true;
      for (int64_t i = 0; i < n_parts; ++i) scales[size_t(i)] = fused_scale(fused_base, 1, n_parts, 0, i);
      shared_scale = std::equal(scales.begin() + 1, scales.end(), scales.begin());
      if (shared_scale) {
        g.fused.segments.push_back(segment(*fused_w, 0, total));
        g.fused.segments.back().scale = scales[0];
      }
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      Projection part;
      part.n_in = n_in;
      part.n_out = parts[i].width;
      if (fused_w) {
        part.segments.push_back(segment(*fused_w, g.part_col[i], parts[i].width));
        part.segments.back().scale = scales[i];
        if (!shared_scale) g.fused.segments.push_back(part.segments.back());
      } else {
        part = projection(parts[i].name, n_in, parts[i].width, true);
        part.bias = nullptr;  // biases are attached below, for both forms alike
        g.fused.segments.push_back(part.segments.front());
      }
      g.parts.push_back(std::move(part));
    }
    attach_biases(g, fused_base, parts);
    return g;
  }

  void attach_biases(ProjectionGroup& g, const std::string& fused_base, const std::vector<PartSpec>& parts) {
    const float* fused_b = fused_base.empty() ? nullptr : vec(fused_base + ".bias", g.fused.n_out, false);
    std::vector<const float*> sep;
    for (const auto& p : parts) sep.push_back(vec(p.name + ".bias", p.width, false));
    size_t n_sep = 0;
    for (auto* b : sep) n_sep += b != nullptr;
    if (fused_b && n_sep)
      fail("{}: both '{}.bias' and separate biases are present (expected one form)", f_.path(), fused_base);
    if (n_sep && n_sep != sep.size())
      fail("{}: only {} of {} biases of '{}' are present", f_.path(), n_sep, sep.size(), fused_base);
    if (fused_b) {
      g.fused.bias = fused_b;
      for (size_t i = 0; i < parts.size(); ++i) g.parts[i].bias = fused_b + g.part_col[i];
    } else if (n_sep) {
      auto& cat = m_.owned_.emplace_back();
      cat.reserve(size_t(g.fused.n_out));
      for (size_t i = 0; i < parts.size(); ++i) cat.insert(cat.end(), sep[i], sep[i] + parts[i].width);
      g.fused.bias = cat.data();
      for (size_t i = 0; i < parts.size(); ++i) g.parts[i].bias = sep[i];
    }
  }

  void load_layer(int64_t l);

  // A gated delta-net layer's weights (model/delta_net.h), in place of attention.
  void load_delta_net(LayerWeights& L, const std::string& b);
  // A Kimi delta attention layer's weights (model/delta_net.h), in place of attention.
  void load_kda(LayerWeights& L, const std::string& b);

  // A group whose parts are lists of row segments (widths: their row counts).
  static ProjectionGroup segments_group(const std::vector<std::vector<RowSegment>>& parts,
                                        const std::vector<int64_t>& widths, int64_t n_in,
                                        const std::vector<std::string>& names) {
    ProjectionGroup g;
    g.fused.n_in = n_in;
    for (size_t i = 0; i < parts.size(); ++i) {
      g.part_col.push_back(g.fused.n_out);
      g.part_names.push_back(names[i]);
      Projection p;
      p.n_in = n_in;
      p.n_out = widths[i];
      p.segments = parts[i];
      g.fused.segments.insert(g.fused.segments.end(), parts[i].begin(), parts[i].end());
      g.fused.n_out += widths[i];
      g.parts.push_back(std::move(p));
    }
    return g;
  }

  // A recurrent mixer's weights (model.h RecurrentWeights), as llama.cpp's loaders shape them.
  void load_recurrent(LayerWeights& L, const std::string& b, Mixer mixer);

  // A dense FFN nf wide: plain (up only) or gated.
  void load_dense_ffn(LayerWeights& L, const std::string& b, int64_t nf);

  // Latent attention's weights (model.h). The two projections of the block's input, q_a (or
  // q) and kv_a_mqa, form the fusable group `qkv`.
  void load_mla(LayerWeights& L, const std::string& b);

  void load_moe(LayerWeights& L, const std::string& b);
  void load_plain_experts(LayerWeights& L, const std::string& b);  // a Plain row's: up and down only

  // Shared experts (ffn_{gate,up,down}_shexp), found by presence: a dense gated FFN every
  // token runs beside the routed experts.
  void load_shared_experts(LayerWeights& L, const std::string& b);

  // llama.cpp's build_ffn adds a dense FFN projection's bias before its weight scale.
  static void bias_before_scale(ProjectionGroup& gate_up, Projection& down) {
    gate_up.fused.bias_before_scale = down.bias_before_scale = true;
    for (Projection& p : gate_up.parts) p.bias_before_scale = true;
  }

};

}  // namespace trident
