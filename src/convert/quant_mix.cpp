#include "convert/quant_mix.h"

#include <array>
#include <charconv>
#include <utility>

#include "tensor/types.h"

namespace trident {
namespace {

constexpr std::array<std::pair<std::string_view, QuantMix>, 6> kMixes = {{
    {"f32", QuantMix::F32}, {"f16", QuantMix::F16}, {"q8_0", QuantMix::Q8_0}, {"q4_0", QuantMix::Q4_0},
    {"q6_k", QuantMix::Q6_K}, {"q4_k_m", QuantMix::Q4_K_M}}};

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// llama-quantize's "more bits" layers.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

}  // namespace

std::optional<QuantMix> quant_mix_from_name(std::string_view name) {
  for (const auto& [n, m] : kMixes)
    if (n == name) return m;
  return std::nullopt;
}

std::string_view quant_mix_name(QuantMix m) {
  for (const auto& [n, mm] : kMixes)
    if (mm == m) return n;
  return "?";
}

std::string quant_mix_names() {
  std::string s;
  for (const auto& [n, m] : kMixes) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

uint32_t quant_mix_file_type(QuantMix m) {
  switch (m) {
    case QuantMix::F32: return 0;
    case QuantMix::F16: return 1;
    case QuantMix::Q4_0: return 2;
    case QuantMix::Q8_0: return 7;
    case QuantMix::Q4_K_M: return 15;
    case QuantMix::Q6_K: return 18;
  }
  return 0;
}

WeightRole weight_role(std::string_view name, int64_t* layer) {
  *layer = -1;
  if (name.substr(0, 4) == "blk.") {
    const std::string_view rest = name.substr(4);
    int64_t l = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), l);
    if (ec == std::errc()) *layer = l;
  }
  if (name == "token_embd.weight") return WeightRole::Embd;
  if (name == "output.weight") return WeightRole::Output;
  if (ends_with(name, ".attn_v.weight")) return WeightRole::AttnV;
  if (ends_with(name, ".ffn_down.weight") || ends_with(name, ".ffn_down_exps.weight")) return WeightRole::FfnDown;
  if (ends_with(name, ".ffn_gate_inp.weight")) return WeightRole::Router;
  return WeightRole::Other;
}

GgmlType mix_tensor_type(const MixRules& r, WeightRole role, int64_t layer, int64_t row_len) {
  if (role == WeightRole::Router) return GgmlType::F32;
  const bool output = role == WeightRole::Output || (role == WeightRole::Embd && r.tied_output);
  GgmlType t = GgmlType::F16;
  switch (r.mix) {
    case QuantMix::F32: t = GgmlType::F32; break;
    case QuantMix::F16: t = GgmlType::F16; break;
    case QuantMix::Q8_0: t = GgmlType::Q8_0; break;
    case QuantMix::Q6_K: t = GgmlType::Q6_K; break;
    case QuantMix::Q4_0: t = output && !r.pure ? GgmlType::Q6_K : GgmlType::Q4_0; break;
    case QuantMix::Q4_K_M: {
      const bool more = layer >= 0 && use_more_bits(layer, r.n_layer);
      const bool q6 = output || ((role == WeightRole::AttnV || role == WeightRole::FfnDown) && more);
      t = q6 ? GgmlType::Q6_K : GgmlType::Q4_K;
      break;
    }
  }
  if (row_len % 256 != 0 && (t == GgmlType::Q4_K || t == GgmlType::Q6_K))
    t = t == GgmlType::Q6_K ? GgmlType::Q8_0 : GgmlType::Q5_0;
  if (row_len % layout_of(t).block_size != 0) t = GgmlType::F16;
  return t;
}

}  // namespace trident
