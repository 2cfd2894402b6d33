// Validation of VocabData, shared by the GGUF reader and by vocabularies built in code.
// Messages name the GGUF key the field comes from, so a bad file points at its own metadata.
#include <climits>
#include <unordered_map>

#include "format/error.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace trident {
namespace {

void check_id(std::string_view source, std::string_view key, int32_t id, size_t n_tokens) {
  if (id == -1) return;
  if (id < 0 || size_t(id) >= n_tokens)
    fail("{}: key '{}': expected a token id below {} (or unset), found {}", source, key, n_tokens,
         id);
}

}  // namespace

TokenizerKind tokenizer_kind_from_name(std::string_view model, std::string_view source) {
  if (model == "llama") return TokenizerKind::Spm;
  if (model == "gpt2") return TokenizerKind::Bpe;
  fail("{}: key 'tokenizer.ggml.model': expected 'llama' or 'gpt2', found '{}'", source, model);
}

void fail_duplicate_token(std::string_view source, size_t i, std::string_view text, size_t first) {
  fail("{}: key 'tokenizer.ggml.tokens': entry {} {:?} repeats entry {}", source, i, text, first);
}

void validate_vocab_except_duplicates(const VocabData& v, std::string_view source) {
  const size_t n = v.tokens.size();
  if (n == 0) fail("{}: key 'tokenizer.ggml.tokens': expected at least one token, found none", source);
  if (n > size_t(INT32_MAX))
    fail("{}: key 'tokenizer.ggml.tokens': expected at most {} tokens, found {}", source,
         INT32_MAX, n);
  if (!v.scores.empty() && v.scores.size() != n)
    fail("{}: key 'tokenizer.ggml.scores': expected {} entries (one per token), found {}", source,
         n, v.scores.size());
  if (!v.token_types.empty() && v.token_types.size() != n)
    fail("{}: key 'tokenizer.ggml.token_type': expected {} entries (one per token), found {}",
         source, n, v.token_types.size());
  for (size_t i = 0; i < v.token_types.size(); ++i) {
    if (v.token_types[i] < 0 || v.token_types[i] > 6)
      fail("{}: key 'tokenizer.ggml.token_type': entry {}: expected a type 0..6, found {}", source,
           i, v.token_types[i]);
  }

  check_id(source, "tokenizer.ggml.bos_token_id", v.bos, n);
  check_id(source, "tokenizer.ggml.eos_token_id", v.eos, n);
  check_id(source, "tokenizer.ggml.eot_token_id", v.eot, n);
  check_id(source, "tokenizer.ggml.unknown_token_id", v.unk, n);
  check_id(source, "tokenizer.ggml.padding_token_id", v.pad, n);
  if (v.add_bos && v.bos == -1)
    fail("{}: key 'tokenizer.ggml.add_bos_token': expected tokenizer.ggml.bos_token_id to be set, "
         "found it unset",
         source);
  if (v.add_eos && v.eos == -1)
    fail("{}: key 'tokenizer.ggml.add_eos_token': expected tokenizer.ggml.eos_token_id to be set, "
         "found it unset",
         source);

  if (v.kind == TokenizerKind::Bpe) {
    if (!find_pre_tokenizer(v.pre))
      fail("{}: key 'tokenizer.ggml.pre': expected one of {}, found '{}'", source,
           supported_pre_tokenizers(), v.pre);
    for (size_t i = 0; i < v.merges.size(); ++i) {
      const std::string& m = v.merges[i];
      const size_t sep = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
      if (sep == std::string::npos || sep + 1 >= m.size())
        fail("{}: key 'tokenizer.ggml.merges': entry {}: expected \"left right\", found {:?}",
             source, i, m);
    }
  }
}

void validate_vocab(const VocabData& v, std::string_view source) {
  validate_vocab_except_duplicates(v, source);
  // Duplicates would make text -> id ambiguous; llama.cpp refuses them too. Empty entries are
  // exempt: llama.cpp renames them, and nothing can match them anyway.
  std::unordered_map<std::string_view, size_t> seen;
  seen.reserve(v.tokens.size());
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.tokens[i].empty()) continue;
    auto [it, inserted] = seen.emplace(v.tokens[i], i);
    if (!inserted) fail_duplicate_token(source, i, v.tokens[i], it->second);
  }
}

}  // namespace trident
