// Hugging Face model directory (config.json, *.safetensors, tokenizer files) -> GGUF, with
// llama.cpp's metadata keys and tensor names so llama.cpp loads the result too. Tensors are
// streamed one at a time from safetensors (pread) into the GGUF writer (temp file + fsync +
// rename), so memory stays near a few MB of buffers and a failure leaves no output.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "format/ggml_type.h"

namespace trident {

struct ConvertOptions {
  GgmlType outtype = GgmlType::F16;  // F32, F16, BF16, Q8_0 or Q4_0 for 2-D weights
  bool fuse_qkv = false;             // one blk.N.attn_qkv.weight (+ .bias) per layer
  bool fuse_gate_up = false;         // MoE: one blk.N.ffn_gate_up_exps.weight per layer
  bool overwrite = false;
  // (tensors done, total, bytes done, total bytes), after each tensor.
  std::function<void(size_t, size_t, uint64_t, uint64_t)> progress;
  // One-line notes for the user (decisions the converter made), e.g. printed to stderr.
  std::function<void(const std::string&)> note;
};

struct ConvertResult {
  std::string arch;        // GGUF architecture name
  std::string hf_class;    // config.json architectures[0]
  size_t n_tensors = 0;
  uint64_t n_bytes = 0;    // tensor data bytes written
};

// Throws Error (one line: file, tensor/key, expected vs found) on any problem; then nothing
// is left at out_path.
ConvertResult convert_hf_to_gguf(const std::string& model_dir, const std::string& out_path,
                                 const ConvertOptions& opt);

// "f32" -> F32 ... ; throws Error listing the accepted names.
GgmlType parse_outtype(const std::string& name);

}  // namespace trident
