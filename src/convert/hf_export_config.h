// config.json / generation_config.json for export-hf, from a GGUF file's hyper-parameters.
// Internal to hf_export.cpp.
#pragma once
#include <nlohmann/json.hpp>

#include "format/ggml_type.h"
#include "format/gguf.h"
#include "convert/hf_convert_arch.h"
#include "model/hparams.h"
#include "tokenizer/tokenizer.h"

namespace trident {

struct HfExportFacts {
  bool tied = false;            // no output.weight: the output reuses token_embd
  int64_t n_ff_shexp = 0;       // the shared expert's width, from its tensors (0: none)
  bool attention_bias = false;  // Q/K/V (and o_proj) biases present
  GgmlType dtype = GgmlType::F32;  // torch_dtype: the embedding's type
};

// Throws Error for GGUF settings config.json cannot express (e.g. unsupported rope scaling).
nlohmann::ordered_json make_hf_config(const GgufFile& f, const ArchSpec& a, const HParams& hp, const VocabData& v,
                                      const HfExportFacts& facts);
nlohmann::ordered_json make_hf_generation_config(const VocabData& v);

}  // namespace trident
