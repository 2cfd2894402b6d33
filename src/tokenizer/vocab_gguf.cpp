// tokenizer.ggml.* metadata -> VocabData, with llama.cpp's defaults for missing keys.
#include <algorithm>
#include <cctype>
#include <climits>

#include "format/error.h"
#include "format/gguf.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace trident {
namespace {

constexpr int64_t kUnsetId = 4294967295;  // uint32 -1: how converters write "no such token"

std::vector<std::string> read_strings(const GgufFile& f, std::string_view key, bool required) {
  const GgufArray* a = f.get_array(key);
  if (!a) {
    if (required) fail("{}: missing required key '{}' (an array of strings)", f.path(), key);
    return {};
  }
  if (a->elem_type != GgufValueType::STRING)
    fail("{}: key '{}': expected an array of strings, found an array of {}", f.path(), key,
         gguf_value_type_name(a->elem_type));
  std::vector<std::string> out;
  out.reserve(size_t(a->size()));
  for (const GgufValue& item : *a) {
    const std::string* s = item.as_string();
    if (!s) fail("{}: key '{}': entry {}: expected a string", f.path(), key, out.size());
    out.push_back(*s);
  }
  return out;
}

std::vector<float> read_scores(const GgufFile& f) {
  constexpr std::string_view key = "tokenizer.ggml.scores";
  const GgufArray* a = f.get_array(key);
  if (!a) return {};
  std::vector<float> out;
  out.reserve(size_t(a->size()));
  for (const GgufValue& item : *a) {
    auto x = item.as_float();
    if (!x)
      fail("{}: key '{}': expected an array of numbers, found an array of {}", f.path(), key,
           gguf_value_type_name(a->elem_type));
    out.push_back(float(*x));
  }
  return out;
}

std::vector<int32_t> read_types(const GgufFile& f) {
  constexpr std::string_view key = "tokenizer.ggml.token_type";
  const GgufArray* a = f.get_array(key);
  if (!a) return {};
  std::vector<int32_t> out;
  out.reserve(size_t(a->size()));
  for (const GgufValue& item : *a) {
    auto x = item.as_int();
    if (!x)
      fail("{}: key '{}': expected an array of integers, found an array of {}", f.path(), key,
           gguf_value_type_name(a->elem_type));
    // Range is checked by validate_vocab; clamping only keeps a wild value printable as is.
    out.push_back(int32_t(std::clamp<int64_t>(*x, INT32_MIN, INT32_MAX)));
  }
  return out;
}

int32_t read_id(const GgufFile& f, std::string_view key, int32_t fallback) {
  const auto v = f.get_int(key);
  if (!v) return fallback;
  if (*v == kUnsetId || *v == -1) return -1;
  if (*v < 0 || *v > INT32_MAX)
    fail("{}: key '{}': expected a token id (or 4294967295 for unset), found {}", f.path(), key,
         *v);
  return int32_t(*v);
}

bool is_phi3(const GgufFile& f) {
  const GgufValue* v = f.find("general.name");
  const std::string* name = v ? v->as_string() : nullptr;
  if (!name) return false;
  std::string lower = *name;
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("phi-3") != std::string::npos || lower.find("phi3") != std::string::npos;
}

}  // namespace

VocabData vocab_from_gguf(const GgufFile& f) {
  const std::string& path = f.path();
  const auto model = f.get_string("tokenizer.ggml.model");
  if (!model) fail("{}: missing required key 'tokenizer.ggml.model' ('llama' or 'gpt2')", path);

  VocabData v;
  v.kind = tokenizer_kind_from_name(*model, path);
  v.pre = f.get_string("tokenizer.ggml.pre").value_or("default");
  v.tokens = read_strings(f, "tokenizer.ggml.tokens", true);
  v.scores = read_scores(f);
  v.token_types = read_types(f);
  const auto n = int64_t(v.tokens.size());
  auto if_in_vocab = [n](int32_t id) { return id < n ? id : -1; };

  bool default_add_bos = false;
  int32_t default_bos = -1, default_eos = -1, default_unk = -1;
  if (v.kind == TokenizerKind::Spm) {
    default_bos = if_in_vocab(1), default_eos = if_in_vocab(2), default_unk = if_in_vocab(0);
    default_add_bos = true;
  } else {
    v.merges = read_strings(f, "tokenizer.ggml.merges", true);
    const PreTokenizerSpec* spec = find_pre_tokenizer(v.pre);
    default_add_bos = spec && spec->add_bos;  // an unknown pre is reported by validate_vocab
  }
  v.bos = read_id(f, "tokenizer.ggml.bos_token_id", default_bos);
  v.eos = read_id(f, "tokenizer.ggml.eos_token_id", default_eos);
  v.eot = read_id(f, "tokenizer.ggml.eot_token_id", -1);
  v.unk = read_id(f, "tokenizer.ggml.unknown_token_id", default_unk);
  v.pad = read_id(f, "tokenizer.ggml.padding_token_id", -1);
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token").value_or(default_add_bos);
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
  v.add_space_prefix =
      f.get_bool("tokenizer.ggml.add_space_prefix").value_or(v.kind == TokenizerKind::Spm);
  v.rstrip_special = is_phi3(f);

  validate_vocab(v, path);
  return v;
}

}  // namespace trident
