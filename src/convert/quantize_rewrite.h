// `trident quantize`: a GGUF file with its weight matrices converted to a quantization mix
// (model/quant_mix.h), streamed row by row like `fuse` (model/fuse_rewrite.h) so memory stays
// near one row. Norms, biases and other 1-D tensors, and the MoE router, keep their type.
// From F32/F16/BF16 sources the result is what llama-quantize writes without an importance
// matrix (the quantizers are ggml's reference ones); from already quantized sources each row
// is dequantized first, which loses what the first quantization lost.
#pragma once
#include "format/gguf.h"
#include "convert/fuse_rewrite.h"
#include "convert/quant_mix.h"

namespace trident {

// Throws Error naming the file and key when the architecture's block count is missing.
RewritePlan plan_quantize(const GgufFile& in, QuantMix mix);

}  // namespace trident
