// synth's tensor plan and metadata, read from the shape (synth_shapes.cpp) and the family's
// registry row; synth.cpp fills the planned tensors. Internal to convert/.
#pragma once
#include <cstdint>
#include <vector>

#include "convert/synth.h"
#include "format/gguf_writer.h"
#include "model/arch.h"

namespace trident::synth_detail {

// How a tensor's values are drawn.
enum class Init : uint8_t {
  Matrix,    // normal-ish, std = scale
  Norm,      // scale * (1 + 5% noise)
  Bias,      // normal-ish, std = scale
  RopeFreqs, // Llama 3 frequency factors (computed, not random)
  One        // 1 (gemma4's rope factors without scaling, its per-layer output scales)
};

struct Planned {
  SynthTensor t;
  Init init = Init::Matrix;
  float scale = 1.0f;
};

struct Resolved {
  const SynthShape* shape = nullptr;
  const ArchSpec* arch = nullptr;
  SynthType type = SynthType::F16;
  int64_t n_vocab = 0, n_layer = 0;
  bool moe = false;
  int64_t n_dense_lead = 0;  // leading dense layers, at most n_layer
  int64_t n_expert = 0, n_expert_used = 0;  // the shape's, or SynthOptions::n_expert
};

// Throws Error for unknown names, bad sizes, or a shape the architecture cannot take.
Resolved resolve(const SynthOptions& opt);
std::vector<Planned> build_plan(const Resolved& r);
// Every key but the tokenizer's.
void set_hparams(GgufWriter& w, const Resolved& r, const SynthOptions& opt);

}  // namespace trident::synth_detail
