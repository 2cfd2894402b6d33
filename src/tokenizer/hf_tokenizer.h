// Hugging Face tokenizer files <-> VocabData (what GGUF's tokenizer.ggml.* keys hold).
//
// Reading (convert), in the reference converter's order of preference:
//   tokenizer.model   SentencePiece BPE: pieces, scores and types exactly.
//   tokenizer.json    BPE with byte_fallback (a SentencePiece vocabulary exported by HF):
//                     scores are derived from the merge ranks, since the file has none.
//                     BPE over byte-level text (GPT-2 style): vocab, merges, added tokens, and
//                     tokenizer.ggml.pre chosen by matching the pre-tokenizer's regex against
//                     the patterns llama.cpp knows (qwen2, llama-bpe, gpt-2).
// then special ids and add_bos/add_eos from tokenizer_config.json, tokenizer.json's
// post-processor, config.json and generation_config.json (first found wins), and the chat
// template from tokenizer_config.json / chat_template.jinja / chat_template.json.
//
// Writing (export-hf): tokenizer.json, tokenizer_config.json, and for SentencePiece
// vocabularies also tokenizer.model, so that a round trip restores scores and types exactly.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "format/hf_config.h"
#include "tokenizer/tokenizer.h"

namespace trident {

class GgufWriter;

struct HfTokenizer {
  VocabData vocab;
  // Written to the GGUF only when the files say so; absent keys keep llama.cpp's defaults.
  std::optional<bool> add_bos, add_eos, add_space_prefix;
  std::string chat_template;  // empty: none
  std::vector<std::pair<std::string, std::string>> named_chat_templates;  // (name, template)
  std::string source;  // the file the vocabulary came from, for messages
};

// n_vocab: rows of the model's embedding. The vocabulary is padded up to it with unused
// "[PAD<id>]" tokens; a tokenizer with more tokens than that is an error. Throws Error naming
// the file and what is wrong.
HfTokenizer read_hf_tokenizer(const HfModelConfig& cfg, int64_t n_vocab);

// tokenizer.ggml.* and tokenizer.chat_template, in the order llama.cpp writes them.
void add_tokenizer_metadata(GgufWriter& w, const HfTokenizer& t);

struct HfTokenizerFiles {
  std::string tokenizer_json;
  std::string tokenizer_config_json;
  std::string tokenizer_model;  // empty unless the vocabulary is SentencePiece
};
// Throws Error for vocabularies HF files cannot express (e.g. an unknown pre-tokenizer).
HfTokenizerFiles make_hf_tokenizer_files(const VocabData& v, const std::string& chat_template,
                                         int64_t model_max_length);

// Special token contents for config files ("" when unset).
std::string token_text_or_empty(const VocabData& v, int32_t id);

}  // namespace trident
