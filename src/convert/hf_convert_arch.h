// The Hugging Face <-> GGUF mapping, as data: the registry row's HF facts (model/arch.h) and
// one rule per tensor saying which HF tensor becomes which GGUF tensor,
// its HF shape in symbolic sizes, and the transform on the way (RoPE row permutation, norm
// offset). Both `convert` and `export-hf` walk the same rules, one in each direction, so the
// two stay exact inverses.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/arch.h"

namespace trident {

// Symbolic sizes resolved from the hyper-parameters.
enum class Dim : uint8_t { None, Embd, Q, KV, QKV, Ff, Ff2, HeadDim, Expert, FfExp, FfShexp, Vocab };

struct HfSizes {
  int64_t n_embd = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0;
  int64_t n_expert = 0, n_ff_exp = 0, n_ff_shexp = 0, n_vocab = 0;
  int64_t get(Dim d) const;
};

enum class RopePerm : uint8_t { None, QHeads, KvHeads };
enum class Need : uint8_t { Required, Optional };

struct TensorRule {
  std::string_view gguf = {};  // inside "blk.N." for layer rules, else the full name
  std::string_view hf = {};    // inside the HF layer prefix ("model.layers.N."); "{e}" = expert index
  Dim rows = Dim::None, cols = Dim::None;  // HF shape [rows, cols] (cols None: 1-D [rows])
  Need need = Need::Required;
  RopePerm perm = RopePerm::None;  // applied only when the arch permutes
  bool norm = false;               // a norm weight: gets the arch's norm offset
  bool experts = false;            // one HF tensor per expert, one stacked 3-D GGUF tensor
  std::string_view group = {};     // "qkv" or "gate_up": consecutive parts of a fusable group
};

std::vector<TensorRule> hf_layer_rules(const ArchSpec& a);
std::vector<TensorRule> hf_global_rules(const ArchSpec& a);  // embeddings, final norm, output

// A rule's HF name with "{e}" replaced by the expert index `e` (names without it unchanged).
inline std::string hf_name_for_expert(std::string_view hf, int64_t e) {
  std::string s(hf);
  const std::string index = std::to_string(e);
  for (size_t p = s.find("{e}"); p != std::string::npos; p = s.find("{e}", p + index.size())) s.replace(p, 3, index);
  return s;
}

// Row permutation between HF's rotate-half layout and GGUF llama's interleaved pairs, within
// one head of `head_rows` rows: GGUF row 2j+k holds HF row k*head_rows/2 + j.
inline int64_t hf_row_for_gguf_row(int64_t r, int64_t head_rows) {
  const int64_t h = r / head_rows, i = r % head_rows;
  return h * head_rows + (i % 2) * (head_rows / 2) + i / 2;
}
inline int64_t gguf_row_for_hf_row(int64_t r, int64_t head_rows) {
  const int64_t h = r / head_rows, i = r % head_rows, half = head_rows / 2;
  return h * head_rows + 2 * (i % half) + i / half;
}

}  // namespace trident
