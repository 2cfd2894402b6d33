// The vocabulary of llama-quantize's per-mix tables (quant_mix_rules.cpp), read by the chooser
// in quant_mix.cpp. Internal to convert/.
#pragma once
#include <span>
#include <string_view>

#include "convert/quant_mix.h"

namespace trident::mix_rules {

// Which tensors a rule is about. AttnV covers attn_v, attn_qkv and attn_kv_b, as llama.cpp
// treats all three as "attention-v-like"; Embd is an untied token_embd; Any is every tensor
// but the output matrix.
enum class Cat : uint8_t { Any, Embd, AttnQ, AttnK, AttnV, AttnOutput, FfnDown, FfnGate, FfnUp };

// When a rule applies. i and n are the position and count llama.cpp reads for the tensor: for
// AttnV the index among attention-v-like tensors and their number, for FFN tensors the layer
// and the block count.
enum class When : uint8_t {
  Always,
  Gqa4,                  // n_head / n_head_kv >= 4
  Gqa4OrExperts4,        // that, or at least 4 experts
  Experts8,              // exactly 8 experts (Mixtral)
  Experts8MoreBits,      // 8 experts and use_more_bits(i, n)
  FirstEighth,           // i < n / 8
  FirstSixteenth,        // i < n / 16
  MoreBits,              // use_more_bits: the first and last eighth, every third between
  Middle,                // n / 8 <= i < 7 n / 8
  Below2,                // i < 2
  Below4,                // i < 4
  NoImatrix,
  FirstEighthImatrix,    // i < n / 8 with an importance matrix
  FirstEighthNoImatrix,  // i < n / 8 without one
  Stacked,               // a 3-D expert stack (ne[2] > 1)
};
enum class ArchIs : uint8_t { Any, Falcon, NotFalcon };

// The sentinel "keep the mix's default type" (a rule that stops the search without a change).
inline constexpr GgmlType kKeep = GgmlType(kGgmlTypeCount);

struct Rule {
  Cat cat;
  When when;
  GgmlType type;
  ArchIs arch = ArchIs::Any;
};

// The IQ1/IQ2 mixes are one branch of llama.cpp's chooser: their ffn_down counts positions
// rather than layers, and they skip the 8-expert / 70B bumps of attn_v and attn_k.
enum class Family : uint8_t { General, LowBit, Mxfp4Moe };

struct MixSpec {
  std::string_view name;  // llama-quantize's spelling, lower case
  QuantMix mix;
  uint32_t ftype;         // llama_ftype
  GgmlType base;          // the default type
  GgmlType output;        // output.weight (and a tied token_embd) when base is quantized
  Family family;
  std::span<const Rule> rules;  // first match wins, per category
};

std::span<const MixSpec> mix_specs();
// Rules every mix of a family checks before its own.
std::span<const Rule> family_rules(Family f);
// Where llama.cpp goes when rows do not divide the block: tensor_type_fallback's table.
// F16 for types it has no entry for (llama.cpp refuses those files; trident keeps F16).
GgmlType fallback_type(GgmlType t);

}  // namespace trident::mix_rules
