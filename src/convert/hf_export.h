// GGUF -> Hugging Face model directory (config.json, generation_config.json,
// model.safetensors, tokenizer.json, tokenizer_config.json and, for SentencePiece vocabularies,
// tokenizer.model): the inverse of convert for unquantized files. Fused Q/K/V (and MoE
// gate/up) tensors are split back into HF's separate projections, llama's Q/K rows are
// permuted back to rotate-half order, Gemma norms get their offset removed; phi3 stays fused
// because HF's Phi3 stores qkv_proj and gate_up_proj fused too. The directory is assembled
// under a temporary name and renamed into place, so an error leaves nothing behind.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace trident {

struct ExportOptions {
  bool overwrite = false;  // replace an existing output directory
  std::function<void(size_t, size_t, uint64_t, uint64_t)> progress;
  std::function<void(const std::string&)> note;
};

struct ExportResult {
  std::string arch;
  std::string hf_class;
  size_t n_tensors = 0;
  uint64_t n_bytes = 0;
};

// Throws Error: quantized tensors, unsupported architecture, missing or misshapen tensors,
// tensors with no HF counterpart, I/O failures.
ExportResult export_gguf_to_hf(const std::string& gguf_path, const std::string& out_dir, const ExportOptions& opt);

}  // namespace trident
