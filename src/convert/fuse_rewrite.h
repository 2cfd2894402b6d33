// Offline, lossless rewrite of a GGUF file between the separate and the fused storage of
// projection groups (`trident fuse` / `trident unfuse`).
//
// Fusing concatenates along the output dimension, which is the row dimension of a GGUF
// weight: Q/K/V rows become one `attn_qkv` (rows Q, then K, then V), and per expert the gate
// rows then the up rows become one `ffn_gate_up_exps`. Rows are independent, so a fused
// tensor is the parts' bytes laid end to end and unfusing cuts them apart again; nothing is
// re-quantized unless the caller asks for it (--requant) for a group whose types differ.
//
// Planning only reads the header; writing streams each output tensor from the input's map,
// piece by piece, so resident memory stays near one row (one tensor at most).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "format/gguf.h"
#include "format/gguf_writer.h"

namespace trident {

struct FuseOptions {
  bool qkv = true;      // attn_q/k/v -> attn_qkv
  bool gate_up = true;  // ffn_gate_exps + ffn_up_exps -> ffn_gate_up_exps (and phi3's dense form)
  // Keep the output loadable by llama.cpp: expert gate/up (Q/K/V) stay separate for
  // architectures whose llama.cpp loader does not read ffn_gate_up_exps (attn_qkv) (the CLI
  // sets this unless --gate-up is given).
  bool llama_cpp_loadable = false;
  // Type for groups whose parts differ in type (each differing part is dequantized and
  // quantized to it). Without it such groups are left unfused.
  std::optional<GgmlType> requant;
};

// A run of bytes of one input tensor, taken from every outer slice of it. A tensor is viewed
// as `outer` equal slices (the product of the dimensions above the concatenation axis), so
// the same description covers 2-D weights (one slice), 3-D expert stacks (one slice per
// expert) and their biases.
struct RewritePiece {
  const GgufTensorInfo* src = nullptr;
  uint64_t src_slice_bytes = 0;  // bytes of one outer slice of src
  uint64_t begin = 0;            // byte range inside each slice of src
  uint64_t len = 0;
  GgmlType to = GgmlType::F32;   // src->type: copied as is; otherwise converted row by row
  int64_t row_elems = 0;         // elements per converted row
  // Importance of each input column for the quantizer (convert/imatrix.h), or nullptr: row_elems
  // floats per slice of imatrix_rows rows (one slice per expert of a 3-D stack).
  const float* imatrix = nullptr;
  int64_t imatrix_rows = 0;
};

struct RewriteTensor {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;
  uint64_t outer = 1;
  std::vector<RewritePiece> pieces;  // emitted in order, for each outer slice in turn
};

// The whole output, in file order. Holds pointers into the GgufFile it was planned from,
// which must outlive it.
struct RewritePlan {
  std::string operation;           // "fuse", "unfuse" or "quantize", for messages
  std::vector<std::string> notes;  // one line per decision the user should hear about
  int groups_rewritten = 0;        // groups fused (or fused tensors split, or tensors converted)
  int groups_left = 0;             // candidate groups left as they were
  std::vector<RewriteTensor> tensors;
  std::vector<std::pair<std::string, uint32_t>> set_u32;  // metadata to replace (general.file_type)
  std::vector<std::pair<std::string, std::string>> set_string;
};

// Plans `trident fuse`. Throws Error for an unusable --requant type.
RewritePlan plan_fuse(const GgufFile& in, const FuseOptions& opt);
// Plans `trident unfuse`; Q/K/V widths come from the hyper-parameters. Throws Error when a
// fused tensor does not match them.
RewritePlan plan_unfuse(const GgufFile& in);

// Writes the plan with every metadata key of `in` (atomically, see GgufWriter), in
// rewrite_write.cpp. Converted rows are quantized on `threads` threads (0: every core); the
// bytes do not depend on the count. Throws Error when the plan changes nothing, when
// `out_path` is the input file, or when writing fails.
void write_rewrite(const GgufFile& in, const RewritePlan& plan, const std::string& out_path,
                   const GgufWriteOptions& opt, int threads = 1);

}  // namespace trident
