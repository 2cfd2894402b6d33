#include "convert/quant_mix.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <numeric>

#include "convert/quant_mix_rules.h"
#include "format/error.h"

namespace trident {
namespace {

using namespace mix_rules;

const MixSpec& spec_of(QuantMix m) {
  for (const MixSpec& s : mix_specs())
    if (s.mix == m) return s;
  return mix_specs().back();
}

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// "blk.<N>." -> N; -1 for names outside the blocks (as sscanf("blk.%d.") leaves it).
int64_t layer_of(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int64_t l = -1;
  const auto [p, ec] = std::from_chars(name.data() + 4, name.data() + name.size(), l);
  return ec == std::errc() && p < name.data() + name.size() && *p == '.' ? l : -1;
}

bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

bool is_quantized(GgmlType t) { return t != GgmlType::F32 && t != GgmlType::F16 && t != GgmlType::BF16; }

Cat rule_cat(TensorCategory c) {
  switch (c) {
    case TensorCategory::TokenEmbd: return Cat::Embd;
    case TensorCategory::AttnQ: return Cat::AttnQ;
    case TensorCategory::AttnK: return Cat::AttnK;
    case TensorCategory::AttnV:
    case TensorCategory::AttnQkv:
    case TensorCategory::AttnKvB: return Cat::AttnV;
    case TensorCategory::AttnOutput: return Cat::AttnOutput;
    case TensorCategory::FfnDown: return Cat::FfnDown;
    case TensorCategory::FfnGate: return Cat::FfnGate;
    case TensorCategory::FfnUp: return Cat::FfnUp;
    default: return Cat::Any;  // matches only Any rules
  }
}

// llama.cpp's walk over the tensors: the counters it keeps between them.
struct Walk {
  const MixSpec& spec;
  const MixModel& m;
  int64_t n_attn_v = 0, i_attn_v = 0, i_ffn_down = 0, i_ffn_gate = 0, i_ffn_up = 0;

  bool holds(const Rule& r, const MixTensor& t, int64_t i, int64_t n) const {
    if (r.arch == ArchIs::Falcon && !m.falcon) return false;
    if (r.arch == ArchIs::NotFalcon && m.falcon) return false;
    switch (r.when) {
      case When::Always: return true;
      case When::Gqa4: return m.n_gqa >= 4;
      case When::Gqa4OrExperts4: return m.n_gqa >= 4 || m.n_expert >= 4;
      case When::Experts8: return m.n_expert == 8;
      case When::Experts8MoreBits: return m.n_expert == 8 && use_more_bits(i, n);
      case When::FirstEighth: return i < n / 8;
      case When::FirstSixteenth: return i < n / 16;
      case When::MoreBits: return use_more_bits(i, n);
      case When::Middle: return i >= n / 8 && i < 7 * n / 8;
      case When::Below2: return i < 2;
      case When::Below4: return i < 4;
      case When::NoImatrix: return !m.has_imatrix;
      case When::FirstEighthImatrix: return m.has_imatrix && i < n / 8;
      case When::FirstEighthNoImatrix: return !m.has_imatrix && i < n / 8;
      case When::Stacked: {
        const TensorCategory c = tensor_category(t.name);
        const bool ffn = c == TensorCategory::FfnUp || c == TensorCategory::FfnGate || c == TensorCategory::FfnDown;
        return t.ne[2] > 1 && (!m.mxfp4_experts_only || ffn);
      }
    }
    return false;
  }

  // The FFN position llama.cpp reads: the layer from the name in MoE models (experts are not
  // stored in layer order everywhere), the running count otherwise.
  int64_t ffn_position(const MixTensor& t, int64_t counter) const {
    if (m.n_expert <= 1) return counter;
    const int64_t l = layer_of(t.name);
    if (l < 0) fail("tensor '{}': cannot tell its layer (expected blk.N.)", t.name);
    if (l >= m.n_layer) fail("tensor '{}': layer {} is not below the block count {}", t.name, l, m.n_layer);
    return l;
  }

  // llama_tensor_get_type_impl: the mix's choice before the shape fallback.
  GgmlType mix_type(const MixTensor& t, TensorCategory cat) {
    const int64_t blk = layout_of(spec.base).block_size;
    if (cat == TensorCategory::Output || (m.tied_output && cat == TensorCategory::TokenEmbd)) {
      if (spec.family != Family::Mxfp4Moe && (m.falcon || t.ne[0] % blk != 0)) return GgmlType::Q8_0;
      return spec.output;
    }
    const Cat c = rule_cat(cat);
    int64_t i = 0, n = m.n_layer;
    int64_t* counter = nullptr;
    if (c == Cat::AttnV) i = i_attn_v, n = n_attn_v, counter = &i_attn_v;
    if (c == Cat::FfnDown) counter = &i_ffn_down;
    // The IQ1/IQ2 branch counts ffn_down positions directly and keeps no gate/up counters.
    if (c == Cat::FfnDown) i = spec.family == Family::LowBit ? i_ffn_down : ffn_position(t, i_ffn_down);
    if (c == Cat::FfnGate && spec.family == Family::General) i = ffn_position(t, i_ffn_gate), counter = &i_ffn_gate;
    if (c == Cat::FfnUp && spec.family == Family::General) i = ffn_position(t, i_ffn_up), counter = &i_ffn_up;
    if (spec.family == Family::Mxfp4Moe) counter = nullptr;

    GgmlType type = spec.base;
    bool decided = false;
    for (const auto& list : {family_rules(spec.family), spec.rules}) {
      for (const Rule& r : list)
        if ((r.cat == Cat::Any || r.cat == c) && holds(r, t, i, n)) {
          if (r.type != kKeep) type = r.type;
          decided = true;
          break;
        }
      if (decided) break;
    }
    // 70B llama-likes share attn_v among 8 heads: a small tensor worth more bits.
    if (c == Cat::AttnV && spec.family == Family::General && m.is_70b && m.n_expert != 8 &&
        (type == GgmlType::Q3_K || type == GgmlType::Q4_K))
      type = GgmlType::Q5_K;
    if (counter) ++*counter;
    return type;
  }

  // tensor_type_fallback: rows that do not divide the block.
  static GgmlType fit(GgmlType type, int64_t ncols, bool& fell_back) {
    if (ncols % layout_of(type).block_size == 0) return type;
    fell_back = true;
    GgmlType f = fallback_type(type);
    return ncols % layout_of(f).block_size == 0 ? f : GgmlType::F16;
  }
};

bool requires_imatrix(TensorCategory cat, GgmlType t, QuantMix mix) {
  if (cat == TensorCategory::TokenEmbd || cat == TensorCategory::Output) return false;
  switch (t) {
    case GgmlType::IQ3_XXS:
    case GgmlType::IQ2_XXS:
    case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S:
    case GgmlType::IQ1_M:
    case GgmlType::IQ1_S: return true;
    case GgmlType::Q2_K: return mix == QuantMix::Q2_K_S;  // the one k-quant mix that needs it
    default: return false;
  }
}

}  // namespace

std::optional<QuantMix> quant_mix_from_name(std::string_view name) {
  std::string lower(name);
  for (char& ch : lower) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "q3_k") lower = "q3_k_m";
  if (lower == "q4_k") lower = "q4_k_m";
  if (lower == "q5_k") lower = "q5_k_m";
  for (const MixSpec& s : mix_specs())
    if (s.name == lower) return s.mix;
  uint32_t ftype = 0;
  const auto [p, ec] = std::from_chars(lower.data(), lower.data() + lower.size(), ftype);
  if (ec == std::errc() && p == lower.data() + lower.size())
    for (const MixSpec& s : mix_specs())
      if (s.ftype == ftype) return s.mix;
  return std::nullopt;
}

std::string_view quant_mix_name(QuantMix m) { return spec_of(m).name; }
uint32_t quant_mix_file_type(QuantMix m) { return spec_of(m).ftype; }
GgmlType quant_mix_default_type(QuantMix m) { return spec_of(m).base; }

std::string quant_mix_names() {
  std::string s;
  for (const MixSpec& m : mix_specs()) s += (s.empty() ? "" : ", ") + std::string(m.name);
  return s;
}

TensorCategory tensor_category(std::string_view n) {
  using C = TensorCategory;
  if (n == "output.weight") return C::Output;
  if (n == "token_embd.weight" || n == "per_layer_token_embd.weight") return C::TokenEmbd;
  // Substring tests in llama.cpp's order: attn_qkv before attn_v, ffn_up before ffn_gate.
  constexpr std::pair<std::string_view, C> kParts[] = {
      {"attn_qkv.weight", C::AttnQkv}, {"attn_kv_b.weight", C::AttnKvB}, {"attn_v.weight", C::AttnV},
      {"attn_k.weight", C::AttnK},     {"attn_q.weight", C::AttnQ},      {"attn_output.weight", C::AttnOutput},
      {"ffn_up", C::FfnUp},            {"ffn_gate", C::FfnGate},         {"ffn_down", C::FfnDown}};
  for (const auto& [part, c] : kParts)
    if (contains(n, part)) return c;
  return C::Other;
}

bool tensor_is_quantizable(std::string_view n, uint32_t n_dims, bool leave_output) {
  if (n_dims < 2 || !n.ends_with("weight")) return false;
  if (leave_output && n == "output.weight") return false;
  if (n == "position_embd.weight" || n == "token_types.weight") return false;
  // Norms, routers, tiny or positional tensors llama-quantize leaves as they are.
  constexpr std::string_view kKeep[] = {
      "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
      "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
      "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
      "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
      "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
      "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
      ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger",
      "a.rvq.codebook", "mm.a.code_embd"};
  for (std::string_view k : kKeep)
    if (contains(n, k)) return false;
  return true;
}

std::vector<MixChoice> choose_mix_types(QuantMix mix, const MixModel& model, const MixOptions& opt,
                                        std::span<const MixTensor> tensors) {
  const MixSpec& spec = spec_of(mix);
  Walk w{spec, model};
  for (const MixTensor& t : tensors)
    if (contains(t.name, "attn_v.weight") || contains(t.name, "attn_qkv.weight") || contains(t.name, "attn_kv_b.weight"))
      ++w.n_attn_v;
  // llama.cpp walks its weights map: by layer (names outside blocks first), then by name.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int64_t la = layer_of(tensors[a].name), lb = layer_of(tensors[b].name);
    return la != lb ? la < lb : tensors[a].name < tensors[b].name;
  });
  std::vector<MixChoice> out(tensors.size());
  for (size_t k : order) {
    const MixTensor& t = tensors[k];
    MixChoice& c = out[k];
    const TensorCategory cat = tensor_category(t.name);
    c.type = t.type;
    if (!tensor_is_quantizable(t.name, t.n_dims, opt.leave_output)) continue;
    if (opt.embd_type && cat == TensorCategory::TokenEmbd) {
      c.type = *opt.embd_type;
    } else if (opt.output_type && cat == TensorCategory::Output) {
      c.type = *opt.output_type;
    } else {
      c.type = spec.base;
      if (is_quantized(spec.base)) {
        const bool tied_out = model.tied_output && cat == TensorCategory::TokenEmbd;
        if (opt.output_type && tied_out && !opt.pure)
          c.type = *opt.output_type;
        else if (!opt.pure)
          c.type = w.mix_type(t, cat);
        c.type = Walk::fit(c.type, t.ne[0], c.fell_back);
      }
    }
    c.needs_imatrix = requires_imatrix(cat, c.type, mix);
  }
  return out;
}

GgmlType mix_tensor_type(QuantMix mix, const MixModel& model, bool pure, std::string_view name, int64_t layer,
                         int64_t row_len) {
  const MixSpec& spec = spec_of(mix);
  Walk w{spec, model};
  w.n_attn_v = model.n_layer;
  w.i_attn_v = w.i_ffn_down = w.i_ffn_gate = w.i_ffn_up = std::max<int64_t>(layer, 0);
  MixTensor t{name, GgmlType::F32, 2, {row_len, 1, 1, 1}};
  GgmlType type = spec.base;
  if (!is_quantized(type)) return type;
  if (!pure) type = w.mix_type(t, tensor_category(name));
  bool fell_back = false;
  return Walk::fit(type, row_len, fell_back);
}

}  // namespace trident
