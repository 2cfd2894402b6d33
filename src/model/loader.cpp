// Builds a Model from a GGUF file: finds each tensor the architecture row needs, checks its
// shape against the hyper-parameters, and wraps weights as row-segment views. Fusion is a
// load-time plan: Q/K/V and gate/up are grouped here whether the file stores them separately
// or as one tensor, so the forward pass never knows which.
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

  void load() {
    const HParams& h = m_.hp_;
    m_.token_embd_ = &require("token_embd.weight", {h.n_embd, -1});
    m_.hp_.n_vocab = m_.token_embd_->ne[1];
    check_computable(*m_.token_embd_);
    if (m_.arch_->embd_norm) {
      m_.embd_norm_ = vec("token_embd_norm.weight", h.n_embd, true);
      m_.embd_norm_b_ = vec("token_embd_norm.bias", h.n_embd, true);
    }
    if (m_.arch_->pos_embd != Presence::None) {
      m_.pos_embd_ = find("position_embd.weight");
      if (!m_.pos_embd_ && m_.arch_->pos_embd == Presence::Required) require("position_embd.weight", {});
      if (m_.pos_embd_) {
        check_shape(*m_.pos_embd_, {h.n_embd, -1});
        check_computable(*m_.pos_embd_);
      }
    }
    if (m_.arch_->norm_params) {
      const std::string on(m_.arch_->output_norm);
      m_.output_norm_ = vec(on + ".weight", h.n_embd, true);
      if (m_.arch_->norm == NormKind::Layer || m_.arch_->norm_bias)
        m_.output_norm_b_ = vec(on + ".bias", h.n_embd, false);
    }
    if (find("output.weight")) {
      m_.output_ = projection("output", h.n_embd, m_.hp_.n_vocab, true);
    } else {
      m_.output_ = whole_projection(*m_.token_embd_, h.n_embd, m_.hp_.n_vocab);
    }
    if (m_.arch_->rope_freqs) m_.rope_factors_ = vec("rope_freqs.weight", h.n_rot / 2, false);
    // gemma4: one table for the global layers ([head size / 2]), required when there is one.
    if (m_.arch_->rope_freqs_global)
      m_.rope_factors_ = vec("rope_freqs.weight", h.head_dim / 2,
                             std::count(h.layer_is_swa.begin(), h.layer_is_swa.end(), false) > 0);
    if (m_.arch_->per_layer_inputs && h.n_embd_per_layer > 0) {
      const int64_t w = h.n_embd_per_layer * h.n_layer;
      m_.pl_token_embd_ = &require("per_layer_token_embd.weight", {w, h.n_vocab});
      check_computable(*m_.pl_token_embd_);
      m_.pl_model_proj_ = projection("per_layer_model_proj", h.n_embd, w, true);
      m_.pl_proj_norm_ = vec("per_layer_proj_norm.weight", h.n_embd_per_layer, true);
    }
    m_.rope_factors_long_ = vec("rope_factors_long.weight", h.n_rot / 2, false);
    m_.rope_factors_short_ = vec("rope_factors_short.weight", h.n_rot / 2, false);
    m_.layers_.resize(size_t(h.n_layer));
    for (int64_t l = 0; l < h.n_layer; ++l) load_layer(l);
    refuse_unused();
  }

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

  void load_layer(int64_t l) {
    const HParams& h = m_.hp_;
    const ArchSpec& a = *m_.arch_;
    LayerWeights& L = m_.layers_[size_t(l)];
    const std::string b = fmt::format("blk.{}.", l);
    const bool ln = a.norm == NormKind::Layer || a.norm_bias;  // norms may have biases

    const bool norms = a.norm_params;
    // The layer's shape (openelm, deci, gemma4 per layer); deci's zeros: no attention, linear
    // attention, no layer.
    const LayerSizes z = h.layer_sizes[size_t(l)];
    const int64_t nq = z.n_q(), nkv = z.n_kv();
    L.sizes = z;
    if (norms && (z.n_head > 0 || z.recurrent())) L.attn_norm = vec(b + "attn_norm.weight", h.n_embd, a.pre_norm);
    if (z.recurrent()) load_recurrent(L, b, z.mixer);
    if (norms && ln) L.attn_norm_b = vec(b + "attn_norm.bias", h.n_embd, false);
    // gated_q: per head head_dim queries, then head_dim gate values.
    const int64_t nq_rows = a.gated_q ? 2 * nq : nq;
    if (a.mla != Mla::None) {
      load_mla(L, b);
    } else if (z.n_head_kv > 0) {
      std::vector<PartSpec> qkv = {{b + "attn_q", nq_rows}, {b + "attn_k", nkv}, {b + "attn_v", nkv}};
      if (!h.layer_has_kv(l)) {
        // A layer reading an earlier layer's cache: llama.cpp loads its K/V weights if present
        // and uses none.
        for (const char* t : {"attn_k", "attn_v"}) projection(b + t, h.n_embd, nkv, false);
        vec(b + "attn_k_norm.weight", z.head_dim, false);
        qkv.resize(1);
      } else if (a.v_from_k && !find(b + "attn_v.weight") && !find(b + "attn_qkv.weight")) {
        L.v_from_k = true;
        qkv.resize(2);
      }
      L.qkv = group(qkv.size() == 3 ? b + "attn_qkv" : "", qkv, h.n_embd, "Q/K/V");
      if (qkv.size() < 3) {
        L.qkv.fusable = qkv.size() > 1;
        L.qkv.why_not = "a layer without its own V projection";
      }
    }
    if (a.qk_norm != QkNormKind::None && z.n_head_kv > 0) {
      const bool req = !a.qk_norm_optional;
      if (a.qk_norm == QkNormKind::PerHeadEach) {
        L.q_norm = floats(b + "attn_q_norm.weight", {z.head_dim, z.n_head}, req);
        L.k_norm = floats(b + "attn_k_norm.weight", {z.head_dim, z.n_head_kv}, req);
      } else {
        const bool shared = a.qk_norm == QkNormKind::PerHead;
        L.q_norm = vec(b + "attn_q_norm.weight", shared ? z.head_dim : nq, req);
        // A layer on another layer's cache computes no K (its attn_k_norm was read above).
        if (h.layer_has_kv(l)) L.k_norm = vec(b + "attn_k_norm.weight", shared ? z.head_dim : nkv, req);
      }
      if (a.qk_norm_only_with_q && !L.q_norm) L.k_norm = nullptr;
      if (h.layer_has_kv(l) && !L.q_norm != !L.k_norm)
        fail("{}: layer {} has only one of attn_q_norm and attn_k_norm", f_.path(), l);
      if (L.q_norm && a.norm == NormKind::Layer && a.qk_norm == QkNormKind::Full) {
        L.q_norm_b = vec(b + "attn_q_norm.bias", nq, false);
        L.k_norm_b = vec(b + "attn_k_norm.bias", nkv, false);
      } else if (a.qk_norm_only_with_q) {
        vec(b + "attn_k_norm.bias", nkv, false);  // loaded with its unused norm
      }
    }
    if (a.mla == Mla::None && z.n_head > 0) {
      L.wo = projection(b + "attn_output", z.n_head_kv > 0 ? nq : h.n_embd, h.n_embd, true);
      if (z.n_head_kv == 0) {
        // deci's linear attention is the bare matrix: its bias and scale are loaded, unused.
        L.wo.bias = nullptr;
        L.wo.segments.front().scale = 1.0f;
      }
    }
    if (a.attn_sinks) L.attn_sinks = vec(b + "attn_sinks.weight", z.n_head, true);
    if (a.post_norm) L.post_attn_norm = vec(b + std::string(a.post_attn_norm) + ".weight", h.n_embd, true);

    const std::string ffn_norm = b + std::string(a.ffn_norm);
    // The FFN norms its own input unless it shares the attention's (SharedNorm); stablelm's
    // layers are parallel exactly when they have no ffn_norm.
    L.parallel = a.parallel_by_key && !h.parallel_residual ? Parallel::None : a.parallel;
    const bool reads_ffn_norm = norms && z.n_ff > 0 && (a.parallel != Parallel::SharedNorm || a.parallel_if_no_ffn_norm);
    if (reads_ffn_norm) {
      L.ffn_norm = vec(ffn_norm + ".weight", h.n_embd, a.pre_norm && a.parallel != Parallel::SharedNorm);
      if (ln) L.ffn_norm_b = vec(ffn_norm + ".bias", h.n_embd, false);
      if (a.parallel_if_no_ffn_norm && L.ffn_norm) L.parallel = Parallel::None;
    }
    if (a.post_norm) {
      const bool alt = !a.post_ffn_norm_alt.empty() && !find(b + std::string(a.post_ffn_norm) + ".weight");
      L.post_ffn_norm = vec(b + std::string(alt ? a.post_ffn_norm_alt : a.post_ffn_norm) + ".weight", h.n_embd, true);
    }
    if (a.attn_norm_2) {
      if (const float* n2 = vec(b + "attn_norm_2.weight", h.n_embd, false)) {
        L.ffn_norm = L.attn_norm;
        L.ffn_norm_b = L.attn_norm_b;
        L.attn_norm = n2;
        L.attn_norm_b = vec(b + "attn_norm_2.bias", h.n_embd, false);
        L.parallel = Parallel::OwnNorm;
      }
    }

    L.moe = h.layer_is_moe(l);
    // deci: llama.cpp's graph drops a layer without FFN whole (its attention output is unused).
    L.has_ffn = a.ffn != FfnKind::None;
    L.skip = L.has_ffn && z.n_ff == 0;
    if (!a.moe() && !a.moe_if_experts && find(b + "ffn_gate_inp.weight"))
      fail("{}: layer {} is a mixture-of-experts layer ('{}ffn_gate_inp.weight'), which trident does not run for "
           "architecture {} yet", f_.path(), l, b, h.arch);
    if (L.moe && !L.skip && L.has_ffn) load_moe(L, b);
    scales_ignored_ = !a.ffn_scales;
    // The dense FFN: of a dense layer, or beside the experts (MoeDense; grok's by presence).
    if (!L.skip && L.has_ffn && (!L.moe || a.moe_dense == MoeDense::Residual))
      load_dense_ffn(L, b, L.moe ? h.n_embd : z.n_ff);
    else if (!L.skip && a.moe_dense == MoeDense::ScaledSum && (find(b + "ffn_up.weight") || find(b + "ffn_gate_up.weight")))
      load_dense_ffn(L, b, h.n_ff);
    if (L.moe && a.moe_dense == MoeDense::Residual) L.moe_norm = vec(b + "ffn_norm_exps.weight", h.n_embd, true);
    scales_ignored_ = false;
    bias_before_scale(L.gate_up, L.down);
    L.swa = h.layer_is_swa[size_t(l)];
    L.rope = h.rope && (a.no_rope_every == 0 || (l + 1) % a.no_rope_every != 0);
    const bool fixed_no_rope = !h.layer_no_rope.empty() && h.layer_no_rope[size_t(l)];
    if (fixed_no_rope) L.rope = false;
    L.attn_temp = fixed_no_rope && h.attn_temp_scale != 0.0f;
    L.qk_l2 = h.qk_l2_norm && L.rope;
    if (a.rope_only_swa && h.swa_window > 0) L.rope = L.swa;
    L.rope_base = L.swa ? h.rope_base_swa : h.rope_base;
    L.rope_factors = !(a.rope_freqs_global && L.swa);
    L.rope_freq_scale = a.swa_rope_unscaled && L.swa ? 1.0f : h.rope_freq_scale;
    if (a.layer_out_scale) L.out_scale = vec(b + "layer_output_scale.weight", 1, false);
    if (m_.pl_token_embd_) {
      L.pl_gate = projection(b + "inp_gate", h.n_embd, h.n_embd_per_layer, true);
      L.pl_proj = projection(b + "proj", h.n_embd_per_layer, h.n_embd, true);
      L.pl_post_norm = vec(b + "post_norm.weight", h.n_embd, true);
    }
  }

  // A gated delta-net layer's weights (model/delta_net.h), in place of attention.
  void load_delta_net(LayerWeights& L, const std::string& b) {
    const HParams& h = m_.hp_;
    const DeltaNetSizes& s = h.delta;
    DeltaNetWeights& D = L.delta;
    const int64_t cd = s.conv_dim(), vd = s.value_dim(), nv = s.n_v_heads, d = h.n_embd;
    // qwen3next's graph multiplies by the bare input and output weights (their scales are
    // loaded and change nothing); qwen35's applies each one's scale.
    const bool per_key_head = m_.arch_->delta_net == DeltaNetKind::PerKeyHead;
    scales_ignored_ = per_key_head;
    if (!per_key_head) {
      D.in = group("", {{b + "attn_qkv", cd}, {b + "attn_gate", vd}, {b + "ssm_beta", nv}, {b + "ssm_alpha", nv}}, d,
                   "delta-net input");
    } else {
      // Parts as row segments: llama.cpp's views of ssm_in (per key head q, k, v, z) and of
      // ssm_ba (per key head beta, alpha) become plain q|k|v, z, beta, alpha rows.
      const int64_t nk = s.n_k_heads, r = nv / nk, hk = s.head_k_dim, hv = s.head_v_dim;
      std::vector<std::vector<RowSegment>> parts(4);
      const GgufTensorInfo* qkv = find(b + "attn_qkv.weight");
      const GgufTensorInfo* in = find(b + "ssm_in.weight");
      if (in) {
        check_shape(*in, {d, cd + vd});
        weight_scale(b + "ssm_in", 1, 0);
      }
      if (qkv) {  // llama.cpp then leaves ssm_in unused
        check_shape(*qkv, {d, cd});
        weight_scale(b + "attn_qkv", 1, 0);
        parts[0].push_back(segment(*qkv, 0, cd));
        parts[1].push_back(segment(require(b + "attn_gate.weight", {d, vd}), 0, vd));
        weight_scale(b + "attn_gate", 1, 0);
      } else {
        if (!in) require(b + "attn_qkv.weight", {d, cd});
        const int64_t w = 2 * hk + 2 * r * hv;  // one key head's rows
        for (int64_t part = 0; part < 3; ++part)  // q, k, v
          for (int64_t kh = 0; kh < nk; ++kh)
            parts[0].push_back(part < 2 ? segment(*in, kh * w + part * hk, hk) : segment(*in, kh * w + 2 * hk, r * hv));
        for (int64_t kh = 0; kh < nk; ++kh) parts[1].push_back(segment(*in, kh * w + 2 * hk + r * hv, r * hv));
      }
      const GgufTensorInfo& ba = require(b + "ssm_ba.weight", {d, 2 * nv});
      for (int64_t kh = 0; kh < nk; ++kh) {
        parts[2].push_back(segment(ba, kh * 2 * r, r));
        parts[3].push_back(segment(ba, kh * 2 * r + r, r));
      }
      D.in = segments_group(parts, {cd, vd, nv, nv}, d, {b + "qkv", b + "z", b + "beta", b + "alpha"});
    }
    const GgufTensorInfo& conv = require(b + "ssm_conv1d.weight", {s.d_conv, cd});
    D.conv_w.resize(size_t(s.d_conv * cd));
    conv_weight_time_major(as_f32(conv, 0, s.d_conv * cd), cd, s.d_conv, D.conv_w.data());
    D.dt_bias = vec(b + "ssm_dt.bias", nv, true);
    D.a = vec(b + "ssm_a", nv, true);
    D.norm = vec(b + "ssm_norm.weight", s.head_v_dim, true);
    D.out = projection(b + "ssm_out", vd, d, true);
    scales_ignored_ = false;
  }

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
  void load_recurrent(LayerWeights& L, const std::string& b, Mixer mixer) {
    const HParams& h = m_.hp_;
    RecurrentWeights& r = L.rec;
    // The file's conv1d [d_conv, channels] (ggml order) as the kernel's time-major rows.
    auto conv = [&](const std::string& name, int64_t ch, int64_t d_conv) {
      const float* w = floats(name, {d_conv, ch}, true);
      auto& out = m_.owned_.emplace_back(size_t(d_conv * ch));
      conv_weight_time_major(w, ch, int(d_conv), out.data());
      return out.data();
    };
    if (mixer == Mixer::ShortConv) {
      r.in = projection(b + "shortconv.in_proj", h.n_embd, 3 * h.n_embd, true);
      r.conv = conv(b + "shortconv.conv.weight", h.n_embd, h.shortconv_l_cache);
      r.out = projection(b + "shortconv.out_proj", h.n_embd, h.n_embd, true);
      return;
    }
    const int64_t di = h.ssm_d_inner, ds = h.ssm_d_state;
    if (mixer == Mixer::Mamba1) {
      r.in = projection(b + "ssm_in", h.n_embd, 2 * di, true);
      r.conv = conv(b + "ssm_conv1d.weight", di, h.ssm_d_conv);
      r.conv_b = vec(b + "ssm_conv1d.bias", di, true);
      r.x = projection(b + "ssm_x", di, h.ssm_dt_rank + 2 * ds, true);
      r.dt = projection(b + "ssm_dt", h.ssm_dt_rank, di, true);  // with its bias
      if (!r.dt.bias) fail("{}: missing tensor '{}ssm_dt.bias' (required by architecture {})", f_.path(), b, h.arch);
      // RMS norms of dt, B and C (jamba's; llama.cpp applies them when all three are present).
      r.dt_norm = vec(b + "ssm_dt_norm.weight", h.ssm_dt_rank, false);
      r.b_norm = vec(b + "ssm_b_norm.weight", ds, false);
      r.c_norm = vec(b + "ssm_c_norm.weight", ds, false);
      if (!r.dt_norm || !r.b_norm || !r.c_norm) r.dt_norm = r.b_norm = r.c_norm = nullptr;
      r.a = floats(b + "ssm_a", {ds, di}, true);
      r.d = vec(b + "ssm_d", di, true);
      r.out = projection(b + "ssm_out", di, h.n_embd, true);
      return;
    }
    if (mixer == Mixer::Mamba2) {
      const int64_t nh = h.ssm_dt_rank, ch = di + 2 * h.ssm_n_group * ds;
      r.in = projection(b + "ssm_in", h.n_embd, di + ch + nh, true);
      r.conv = conv(b + "ssm_conv1d.weight", ch, h.ssm_d_conv);
      r.conv_b = vec(b + "ssm_conv1d.bias", ch, true);
      r.dt_b = vec(b + "ssm_dt.bias", nh, true);
      r.a = floats(b + "ssm_a", {1, nh}, true);
      r.d = floats(b + "ssm_d", {1, nh}, true);
      r.norm = floats(b + "ssm_norm.weight", {di / h.ssm_n_group, h.ssm_n_group}, true);
      r.out = projection(b + "ssm_out", di, h.n_embd, true);
      return;
    }
    if (mixer == Mixer::DeltaNet) return load_delta_net(L, b);
    fail("{}: layer {}: the {} mixer is not supported yet", f_.path(), b, h.arch);
  }

  // A dense FFN nf wide: plain (up only) or gated.
  void load_dense_ffn(LayerWeights& L, const std::string& b, int64_t nf) {
    const HParams& h = m_.hp_;
    if (m_.arch_->ffn == FfnKind::Plain) {
      L.gate_up = group("", {{b + "ffn_up", nf}}, h.n_embd, "up");
      L.gate_up.fusable = false;
      L.gate_up.why_not = "plain feed-forward has no gate";
      L.down = projection(b + "ffn_down", nf, h.n_embd, true);
      L.act_scales = vec(b + "ffn.act.scales", nf, false);
      return;
    }
    // Gate and up stored apart, as `ffn_gate_up`, or (phi3) as a double-height `ffn_up`.
    const GgufTensorInfo* up = find(b + "ffn_up.weight");
    const bool up_holds_gate = !find(b + "ffn_gate.weight") && up && up->ne[1] == 2 * nf;
    const std::string fused_name = up_holds_gate ? b + "ffn_up" : b + "ffn_gate_up";
    std::vector<PartSpec> parts = {{b + "ffn_gate", nf}, {b + "ffn_up", nf}};
    if (up_holds_gate) parts = {{b + "ffn_up.gate", nf}, {b + "ffn_up.up", nf}};
    L.gate_up = group(fused_name, parts, h.n_embd, "gate/up");
    L.down = projection(b + "ffn_down", nf, h.n_embd, true);
  }

  // Latent attention's weights (model.h). The two projections of the block's input, q_a (or
  // q) and kv_a_mqa, form the fusable group `qkv`.
  void load_mla(LayerWeights& L, const std::string& b) {
    const HParams& h = m_.hp_;
    const int64_t kv_a = h.n_lora_kv + h.n_rot, nope = h.head_dim_k_mla - h.n_rot, dv = h.head_dim_v_mla;
    const int64_t n_q = h.n_head * h.head_dim_k_mla;
    if (h.n_lora_q > 0) {
      L.qkv = group("", {{b + "attn_q_a", h.n_lora_q}, {b + "attn_kv_a_mqa", kv_a}}, h.n_embd, "Q_a/KV_a");
      L.q_a_norm = vec(b + "attn_q_a_norm.weight", h.n_lora_q, true);
      L.q_b = projection(b + "attn_q_b", h.n_lora_q, n_q, true);
    } else {
      L.qkv = group("", {{b + "attn_q", n_q}, {b + "attn_kv_a_mqa", kv_a}}, h.n_embd, "Q/KV_a");
    }
    L.kv_a_norm = vec(b + "attn_kv_a_norm.weight", h.n_lora_kv, true);
    if (h.mla_absorbed) {
      // [nope, n_lora_kv, n_head] and [n_lora_kv, dv, n_head]: head i is rows [i * height, ...).
      const GgufTensorInfo& kb = require(b + "attn_k_b.weight", {nope, h.n_lora_kv, h.n_head});
      const GgufTensorInfo& vb = require(b + "attn_v_b.weight", {h.n_lora_kv, dv, h.n_head});
      for (int64_t i = 0; i < h.n_head; ++i) {
        Projection k, v;
        k.n_in = nope, k.n_out = h.n_lora_kv, k.segments = {segment(kb, i * h.n_lora_kv, h.n_lora_kv)};
        v.n_in = h.n_lora_kv, v.n_out = dv, v.segments = {segment(vb, i * dv, dv)};
        L.k_b.push_back(std::move(k));
        L.v_b.push_back(std::move(v));
      }
    } else {
      L.kv_b = projection(b + "attn_kv_b", h.n_lora_kv, h.n_head * (nope + dv), true);
    }
    L.wo = projection(b + "attn_output", h.n_head * dv, h.n_embd, true);
  }

  void load_moe(LayerWeights& L, const std::string& b) {
    const HParams& h = m_.hp_;
    const int64_t ne = h.n_expert, nf = h.n_ff_expert;
    scales_ignored_ = true;  // no graph scales the router
    L.router = projection(b + "ffn_gate_inp", h.n_embd, ne, true);
    L.expert_bias = vec(b + "exp_probs_b.bias", ne, false);
    scales_ignored_ = !m_.arch_->expert_scales;
    const GgufTensorInfo* gu = find(b + "ffn_gate_up_exps.weight");
    const GgufTensorInfo* gate = gu ? nullptr : &require(b + "ffn_gate_exps.weight", {h.n_embd, nf, ne});
    const GgufTensorInfo* up = gu ? nullptr : &require(b + "ffn_up_exps.weight", {h.n_embd, nf, ne});
    if (gu) check_shape(*gu, {h.n_embd, 2 * nf, ne});
    const GgufTensorInfo& down = require(b + "ffn_down_exps.weight", {nf, h.n_embd, ne});
    // gpt-oss: expert e's biases are column e of [width, n_expert] tensors (the fused gate/up
    // bias, gate then up per expert, as `fuse` concatenates them).
    const float *gate_b = nullptr, *up_b = nullptr, *down_b = nullptr;
    if (m_.arch_->expert_biases) {
      if (gu) {
        gate_b = floats(b + "ffn_gate_up_exps.bias", {2 * nf, ne}, true);
        up_b = gate_b + nf;
      } else {
        gate_b = floats(b + "ffn_gate_exps.bias", {nf, ne}, true);
        up_b = floats(b + "ffn_up_exps.bias", {nf, ne}, true);
      }
      down_b = floats(b + "ffn_down_exps.bias", {h.n_embd, ne}, true);
    }
    const int64_t gu_stride = gu ? 2 * nf : nf;  // between experts' gate (or up) biases
    for (int64_t e = 0; e < ne; ++e) {
      ProjectionGroup g;
      g.part_col = {0, nf};
      g.part_names = {fmt::format("{}ffn_gate_exps[{}]", b, e), fmt::format("{}ffn_up_exps[{}]", b, e)};
      g.fused.n_in = h.n_embd;
      g.fused.n_out = 2 * nf;
      g.from_fused_tensor = gu != nullptr;
      // Expert e of a 3-D tensor is rows [e * height, (e + 1) * height) of its 2-D view.
      RowSegment gs = gu ? segment(*gu, e * 2 * nf, nf) : segment(*gate, e * nf, nf);
      RowSegment us = gu ? segment(*gu, e * 2 * nf + nf, nf) : segment(*up, e * nf, nf);
      if (gu) {
        gs.scale = fused_scale(b + "ffn_gate_up_exps", ne, 2, e, 0);
        us.scale = fused_scale(b + "ffn_gate_up_exps", ne, 2, e, 1);
        if (gs.scale == us.scale) {
          g.fused.segments.push_back(segment(*gu, e * 2 * nf, 2 * nf));
          g.fused.segments.back().scale = gs.scale;
        } else {
          g.fused.segments = {gs, us};
        }
      } else {
        gs.scale = weight_scale(b + "ffn_gate_exps", ne, e);
        us.scale = weight_scale(b + "ffn_up_exps", ne, e);
        g.fused.segments = {gs, us};
      }
      for (const RowSegment& s : {gs, us}) {
        Projection p;
        p.n_in = h.n_embd;
        p.n_out = nf;
        p.segments = {s};
        g.parts.push_back(std::move(p));
      }
      if (gate_b) {
        g.parts[0].bias = gate_b + e * gu_stride;
        g.parts[1].bias = up_b + e * gu_stride;
        if (gu) {
          g.fused.bias = g.parts[0].bias;
        } else {
          auto& cat = m_.owned_.emplace_back(g.parts[0].bias, g.parts[0].bias + nf);
          cat.insert(cat.end(), g.parts[1].bias, g.parts[1].bias + nf);
          g.fused.bias = cat.data();
        }
      }
      L.expert_gate_up.push_back(std::move(g));
      Projection d;
      d.n_in = nf;
      d.n_out = h.n_embd;
      d.segments = {segment(down, e * h.n_embd, h.n_embd)};
      d.segments.back().scale = weight_scale(b + "ffn_down_exps", ne, e);
      if (down_b) d.bias = down_b + e * h.n_embd;
      L.expert_down.push_back(std::move(d));
    }
    scales_ignored_ = !m_.arch_->shexp_scales;  // most graphs pass the shared experts none
    load_shared_experts(L, b);
    scales_ignored_ = true;
  }

  // Shared experts (ffn_{gate,up,down}_shexp), found by presence: a dense gated FFN every
  // token runs beside the routed experts.
  void load_shared_experts(LayerWeights& L, const std::string& b) {
    const GgufTensorInfo* up = find(b + "ffn_up_shexp.weight");
    if (!up) return;
    HParams& h = m_.hp_;
    const int64_t nf = up->ne[1];
    if (h.n_ff_shared != 0 && h.n_ff_shared != nf)
      fail("{}: tensor '{}': expected {} rows as in earlier layers, found {}", f_.path(), up->name, h.n_ff_shared, nf);
    h.n_ff_shared = nf;
    L.shared_gate_up = group("", {{b + "ffn_gate_shexp", nf}, {b + "ffn_up_shexp", nf}}, h.n_embd, "shared gate/up");
    L.shared_down = projection(b + "ffn_down_shexp", nf, h.n_embd, true);
    bias_before_scale(L.shared_gate_up, L.shared_down);
    // qwen2moe: the shared experts' output is weighed by sigmoid(x . ffn_gate_inp_shexp).
    scales_ignored_ = true;  // no graph scales the shared experts' gate
    if (m_.arch_->shared_expert_gate) L.shared_gate = projection(b + "ffn_gate_inp_shexp", h.n_embd, 1, true);
  }

  // llama.cpp's build_ffn adds a dense FFN projection's bias before its weight scale.
  static void bias_before_scale(ProjectionGroup& gate_up, Projection& down) {
    gate_up.fused.bias_before_scale = down.bias_before_scale = true;
    for (Projection& p : gate_up.parts) p.bias_before_scale = true;
  }

};

std::unique_ptr<Model> Model::load(const std::string& path, const LoadOptions& opt) {
  std::unique_ptr<Model> m(new Model());
  m->file_ = GgufFile::open(path);
  const std::string arch = m->file_->require_string("general.architecture");
  m->arch_ = find_arch(arch);
  if (!m->arch_ && !unsupported_reason(arch).empty())
    fail("{}: key 'general.architecture': architecture '{}' needs {}, which trident does not run yet", path,
         printable(arch), unsupported_reason(arch));
  if (!m->arch_)
    fail("{}: key 'general.architecture': unsupported architecture '{}' (supported: {})", path,
         printable(arch), supported_arch_names());
  m->hp_ = read_hparams(*m->file_, *m->arch_);
  m->repack_ = opt.repack;
  WeightLoader(*m).load();
  return m;
}

// As llama.cpp's llama_model::get_rope_factors: rope_freqs wins; otherwise long factors when
// the context exceeds the original one. llama.cpp pads the context to a multiple of 256 first.
const float* Model::rope_factors(int64_t n_ctx) const {
  if (rope_factors_) return rope_factors_;
  return (n_ctx + 255) / 256 * 256 > hp_.n_ctx_orig ? rope_factors_long_ : rope_factors_short_;
}

uint64_t Model::weight_bytes() const {
  uint64_t n = 0;
  for (const auto& t : file_->tensors()) n += t.n_bytes;
  // Only n_expert_used of n_expert experts are read per token.
  if (hp_.n_expert > 0) {
    uint64_t expert = 0;
    for (const auto& t : file_->tensors())
      if (t.name.find("_exps.") != std::string::npos) expert += t.n_bytes;
    n -= expert - expert / uint64_t(hp_.n_expert) * uint64_t(hp_.n_expert_used);
  }
  // The embedding table is read one row per token, not whole.
  if (output_.segments.front().data != file_->tensor_data(*token_embd_)) n -= token_embd_->n_bytes;
  return n;
}

uint64_t Model::n_params() const {
  uint64_t n = 0;
  for (const auto& t : file_->tensors()) n += t.n_elements;
  return n;
}

}  // namespace trident
