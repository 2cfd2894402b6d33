// llama-quantize's mixes as tables, restated from llama.cpp 3f545bec src/llama-quant.cpp
// (llama_tensor_get_type_impl, llama_ftype_get_default_type, tensor_type_fallback) and
// tools/quantize/quantize.cpp (QUANT_OPTIONS). Each rule row is one branch of llama.cpp's
// if/else chain for one mix; rows are tried in order and the first whose category and condition
// hold gives the type. A category no row matches keeps the mix's default type.
#include "convert/quant_mix_rules.h"

#include <array>

namespace trident::mix_rules {
namespace {

using T = GgmlType;
using C = Cat;
using W = When;
constexpr ArchIs kFalcon = ArchIs::Falcon, kNotFalcon = ArchIs::NotFalcon;

// ---- rules shared by a whole family (checked before the mix's own) ----
// General mixes: the 8-expert model puts attn_v and attn_k in Q8_0 whatever else applies.
constexpr std::array kGeneralShared = {Rule{C::AttnV, W::Experts8, T::Q8_0}, Rule{C::AttnK, W::Experts8, T::Q8_0}};
// IQ1/IQ2 mixes: attn_v is Q4_K with GQA >= 4 or >= 4 experts; 8 experts also lift attn_k and attn_output.
constexpr std::array kLowShared = {Rule{C::AttnV, W::Gqa4OrExperts4, T::Q4_K}, Rule{C::AttnK, W::Experts8, T::Q4_K},
                                   Rule{C::AttnOutput, W::Experts8, T::Q5_K}};
// MXFP4_MOE: expert stacks MXFP4, everything else Q8_0 (checked before anything else).
constexpr std::array kMxfp4 = {Rule{C::Any, W::Stacked, T::MXFP4}, Rule{C::Any, W::Always, T::Q8_0}};

// ---- per mix ----
constexpr std::array<Rule, 0> kNone{};
// The 8-expert attn_output bump, shared by the mixes llama.cpp lists for it.
constexpr Rule kOut8 = {C::AttnOutput, W::Experts8, T::Q5_K, kNotFalcon};

constexpr std::array kQ2_0 = {Rule{C::Embd, W::Always, T::Q4_K}};
constexpr std::array kTq = {Rule{C::Embd, W::Always, T::Q4_K}};
constexpr std::array kQ4_0 = {Rule{C::FfnDown, W::FirstEighthImatrix, T::Q4_1}};
constexpr std::array kQ5_0 = {Rule{C::FfnDown, W::FirstEighthImatrix, T::Q5_1}};

constexpr std::array kIq2Xxs = {Rule{C::Embd, W::Always, T::Q2_K}, Rule{C::AttnV, W::Always, T::Q2_K},
                                Rule{C::FfnDown, W::FirstEighth, T::Q2_K}};
constexpr std::array kIq1 = {Rule{C::Embd, W::Always, T::Q2_K}, Rule{C::AttnV, W::Always, T::Q2_K},
                             Rule{C::FfnDown, W::FirstEighth, T::Q2_K}, Rule{C::AttnOutput, W::Always, T::IQ2_XXS}};
constexpr std::array kIq2S = {Rule{C::Embd, W::Always, T::IQ3_S}, Rule{C::AttnV, W::Always, T::IQ3_S},
                              Rule{C::FfnDown, W::FirstEighth, T::IQ3_S}, Rule{C::AttnOutput, W::Always, T::IQ3_S}};

constexpr std::array kQ2_K = {
    Rule{C::AttnV, W::Gqa4, T::Q4_K},         Rule{C::AttnV, W::Always, T::Q3_K},
    Rule{C::FfnDown, W::Always, T::Q3_K},     kOut8,
    Rule{C::AttnOutput, W::Always, T::Q3_K, kNotFalcon}};
constexpr std::array kQ2_K_S = {Rule{C::AttnV, W::Gqa4, T::Q4_K}, Rule{C::FfnDown, W::FirstEighth, T::Q4_K}};
constexpr std::array kIq3Xxs = {
    Rule{C::Embd, W::Always, T::IQ3_S},        Rule{C::AttnV, W::Gqa4, T::Q4_K},
    Rule{C::AttnV, W::NoImatrix, T::IQ3_S},    Rule{C::AttnV, W::Always, kKeep},
    Rule{C::AttnK, W::Always, T::IQ2_S},       Rule{C::AttnQ, W::Always, T::IQ2_S},
    Rule{C::FfnDown, W::FirstEighthNoImatrix, T::Q4_K}, Rule{C::FfnDown, W::NoImatrix, T::Q3_K},
    kOut8,                                     Rule{C::AttnOutput, W::Always, T::IQ3_S, kNotFalcon}};
constexpr std::array kIq3Xs = {
    Rule{C::AttnV, W::Gqa4, T::Q4_K},    Rule{C::AttnK, W::Always, T::IQ3_XXS}, Rule{C::AttnQ, W::Always, T::IQ3_XXS},
    kOut8,                               Rule{C::FfnGate, W::Middle, T::IQ3_XXS}, Rule{C::FfnUp, W::Middle, T::IQ3_XXS}};
constexpr std::array kIq3S = {Rule{C::AttnV, W::Gqa4, T::Q4_K}, kOut8};
constexpr std::array kIq3M = {
    Rule{C::AttnV, W::Always, T::Q4_K},       Rule{C::FfnDown, W::FirstEighth, T::Q4_K},
    Rule{C::FfnDown, W::Experts8MoreBits, T::Q4_K}, kOut8,
    Rule{C::AttnOutput, W::Always, T::Q4_K, kNotFalcon}};
constexpr std::array kQ3_K_S = {kOut8};
constexpr std::array kQ3_K_M = {
    Rule{C::AttnV, W::Below2, T::Q5_K},           Rule{C::AttnV, W::Always, T::Q4_K},
    Rule{C::FfnDown, W::FirstSixteenth, T::Q5_K}, Rule{C::FfnDown, W::Always, T::Q4_K, kNotFalcon},
    Rule{C::FfnDown, W::MoreBits, T::Q4_K},       kOut8,
    Rule{C::AttnOutput, W::Always, T::Q4_K, kNotFalcon}};
constexpr std::array kQ3_K_L = {
    Rule{C::AttnV, W::Always, T::Q5_K},          Rule{C::FfnDown, W::Always, T::Q4_K, kFalcon},
    Rule{C::FfnDown, W::Always, T::Q5_K},        Rule{C::AttnOutput, W::Experts8, kKeep, kNotFalcon},
    Rule{C::AttnOutput, W::Always, T::Q5_K, kNotFalcon}, Rule{C::AttnOutput, W::Always, T::Q4_K, kFalcon}};
constexpr std::array kIq4 = {Rule{C::AttnV, W::Gqa4, T::Q5_K}, Rule{C::FfnDown, W::FirstEighthNoImatrix, T::Q5_K},
                             kOut8};
constexpr std::array kQ4_K_S = {Rule{C::AttnV, W::Below4, T::Q5_K}, Rule{C::FfnDown, W::FirstEighth, T::Q5_K, kNotFalcon},
                                kOut8};
constexpr std::array kQ4_K_M = {
    Rule{C::AttnV, W::MoreBits, T::Q6_K},
    Rule{C::FfnDown, W::FirstSixteenth, T::Q6_K, kFalcon}, Rule{C::FfnDown, W::MoreBits, T::Q5_K, kFalcon},
    Rule{C::FfnDown, W::Always, kKeep, kFalcon},           Rule{C::FfnDown, W::MoreBits, T::Q6_K},
    kOut8};
constexpr std::array kQ5_K_M = {Rule{C::AttnV, W::MoreBits, T::Q6_K}, Rule{C::FfnDown, W::MoreBits, T::Q6_K}};

constexpr Family G = Family::General, L = Family::LowBit;

// name, mix, llama_ftype, default type, output type, family, rules (QUANT_OPTIONS' order).
constexpr std::array kSpecs = {
    MixSpec{"q1_0", QuantMix::Q1_0, 40, T::Q1_0, T::Q6_K, G, kNone},
    MixSpec{"q2_0", QuantMix::Q2_0, 41, T::Q2_0, T::Q6_K, G, kQ2_0},
    MixSpec{"q4_0", QuantMix::Q4_0, 2, T::Q4_0, T::Q6_K, G, kQ4_0},
    MixSpec{"q4_1", QuantMix::Q4_1, 3, T::Q4_1, T::Q6_K, G, kNone},
    MixSpec{"mxfp4_moe", QuantMix::MXFP4_MOE, 38, T::MXFP4, T::Q8_0, Family::Mxfp4Moe, kMxfp4},
    MixSpec{"q5_0", QuantMix::Q5_0, 8, T::Q5_0, T::Q6_K, G, kQ5_0},
    MixSpec{"q5_1", QuantMix::Q5_1, 9, T::Q5_1, T::Q6_K, G, kNone},
    MixSpec{"iq2_xxs", QuantMix::IQ2_XXS, 19, T::IQ2_XXS, T::Q5_K, L, kIq2Xxs},
    MixSpec{"iq2_xs", QuantMix::IQ2_XS, 20, T::IQ2_XS, T::Q5_K, L, kIq2Xxs},
    MixSpec{"iq2_s", QuantMix::IQ2_S, 28, T::IQ2_XS, T::Q5_K, L, kIq2S},
    MixSpec{"iq2_m", QuantMix::IQ2_M, 29, T::IQ2_S, T::Q5_K, L, kIq2S},
    MixSpec{"iq1_s", QuantMix::IQ1_S, 24, T::IQ1_S, T::Q5_K, L, kIq1},
    MixSpec{"iq1_m", QuantMix::IQ1_M, 31, T::IQ1_M, T::Q5_K, L, kIq1},
    MixSpec{"tq1_0", QuantMix::TQ1_0, 36, T::TQ1_0, T::Q6_K, G, kTq},
    MixSpec{"tq2_0", QuantMix::TQ2_0, 37, T::TQ2_0, T::Q6_K, G, kTq},
    MixSpec{"q2_k", QuantMix::Q2_K, 10, T::Q2_K, T::Q6_K, G, kQ2_K},
    MixSpec{"q2_k_s", QuantMix::Q2_K_S, 21, T::Q2_K, T::Q6_K, G, kQ2_K_S},
    MixSpec{"iq3_xxs", QuantMix::IQ3_XXS, 23, T::IQ3_XXS, T::Q5_K, G, kIq3Xxs},
    MixSpec{"iq3_s", QuantMix::IQ3_S, 26, T::IQ3_S, T::Q6_K, G, kIq3S},
    MixSpec{"iq3_m", QuantMix::IQ3_M, 27, T::IQ3_S, T::Q6_K, G, kIq3M},
    MixSpec{"iq3_xs", QuantMix::IQ3_XS, 22, T::IQ3_S, T::Q6_K, G, kIq3Xs},
    MixSpec{"q3_k_s", QuantMix::Q3_K_S, 11, T::Q3_K, T::Q6_K, G, kQ3_K_S},
    MixSpec{"q3_k_m", QuantMix::Q3_K_M, 12, T::Q3_K, T::Q6_K, G, kQ3_K_M},
    MixSpec{"q3_k_l", QuantMix::Q3_K_L, 13, T::Q3_K, T::Q6_K, G, kQ3_K_L},
    MixSpec{"iq4_nl", QuantMix::IQ4_NL, 25, T::IQ4_NL, T::Q6_K, G, kIq4},
    MixSpec{"iq4_xs", QuantMix::IQ4_XS, 30, T::IQ4_XS, T::Q6_K, G, kIq4},
    MixSpec{"q4_k_s", QuantMix::Q4_K_S, 14, T::Q4_K, T::Q6_K, G, kQ4_K_S},
    MixSpec{"q4_k_m", QuantMix::Q4_K_M, 15, T::Q4_K, T::Q6_K, G, kQ4_K_M},
    MixSpec{"q5_k_s", QuantMix::Q5_K_S, 16, T::Q5_K, T::Q6_K, G, kNone},
    MixSpec{"q5_k_m", QuantMix::Q5_K_M, 17, T::Q5_K, T::Q6_K, G, kQ5_K_M},
    MixSpec{"q6_k", QuantMix::Q6_K, 18, T::Q6_K, T::Q6_K, G, kNone},
    MixSpec{"q8_0", QuantMix::Q8_0, 7, T::Q8_0, T::Q8_0, G, kNone},
    MixSpec{"f16", QuantMix::F16, 1, T::F16, T::F16, G, kNone},
    MixSpec{"bf16", QuantMix::BF16, 32, T::BF16, T::BF16, G, kNone},
    MixSpec{"f32", QuantMix::F32, 0, T::F32, T::F32, G, kNone},
};

struct Fallback {
  GgmlType from, to;
};
// 256-element types fall back to a 32-element type of about the same size.
constexpr std::array kFallbacks = {
    Fallback{T::IQ1_S, T::IQ4_NL}, Fallback{T::IQ1_M, T::IQ4_NL},  Fallback{T::IQ2_XXS, T::IQ4_NL},
    Fallback{T::IQ2_XS, T::IQ4_NL}, Fallback{T::IQ2_S, T::IQ4_NL}, Fallback{T::IQ3_XXS, T::IQ4_NL},
    Fallback{T::IQ3_S, T::IQ4_NL},  Fallback{T::IQ4_XS, T::IQ4_NL}, Fallback{T::Q2_0, T::Q4_0},
    Fallback{T::Q2_K, T::Q4_0},     Fallback{T::Q3_K, T::Q4_0},    Fallback{T::TQ1_0, T::Q4_0},
    Fallback{T::TQ2_0, T::Q4_0},    Fallback{T::Q4_K, T::Q5_0},    Fallback{T::Q5_K, T::Q5_1},
    Fallback{T::Q6_K, T::Q8_0}};

}  // namespace

std::span<const MixSpec> mix_specs() { return kSpecs; }

std::span<const Rule> family_rules(Family f) {
  switch (f) {
    case Family::General: return kGeneralShared;
    case Family::LowBit: return kLowShared;
    case Family::Mxfp4Moe: return {};
  }
  return {};
}

GgmlType fallback_type(GgmlType t) {
  for (const Fallback& f : kFallbacks)
    if (f.from == t) return f.to;
  return T::F16;
}

}  // namespace trident::mix_rules
