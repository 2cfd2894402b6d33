// `trident quantize`: a GGUF file with its weight matrices converted to one of llama-quantize's
// mixes (convert/quant_mix.h), streamed like `fuse` (convert/fuse_rewrite.h) so memory stays
// near one batch of rows. Norms, biases, routers and the other tensors llama-quantize leaves
// alone keep their type. From F32/F16/BF16 sources the result is what llama-quantize writes
// (same type per tensor; same bytes where trident has the type's quantizer); from already
// quantized sources each row is dequantized first, which loses what the first quantization lost.
#pragma once
#include <string>

#include "convert/fuse_rewrite.h"
#include "convert/imatrix.h"
#include "convert/quant_mix.h"
#include "format/gguf.h"

namespace trident {

struct QuantizeOptions {
  QuantMix mix = QuantMix::Q8_0;
  MixOptions mix_options;
  const Imatrix* imatrix = nullptr;  // --imatrix, read by the caller
  std::string imatrix_path;          // recorded as quantize.imatrix.file
};

// The model facts llama.cpp's rules read (block count, GQA, experts, tied output, family quirks).
// Throws Error naming the file and key when the block count is missing.
MixModel mix_model_of(const GgufFile& in, bool has_imatrix);

// Throws Error (one line, naming the file and tensor) where llama-quantize refuses: a mix that
// needs importance data for a tensor the imatrix lacks, an imatrix entry of the wrong size.
RewritePlan plan_quantize(const GgufFile& in, const QuantizeOptions& opt);

}  // namespace trident
