// VocabData -> GGUF tokenizer metadata (convert) and -> Hugging Face tokenizer files
// (export-hf). The HF files are what transformers' fast tokenizers load for these two
// families: a byte_fallback BPE for SentencePiece vocabularies (plus tokenizer.model, which
// keeps the exact scores), a byte-level BPE for GPT-2 style ones.
#include <algorithm>
#include <unordered_map>

#include "format/error.h"
#include "format/gguf_writer.h"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/hf_tokenizer_internal.h"
#include "tokenizer/hf_tokenizer_spm.h"

namespace trident {
namespace {

using nlohmann::ordered_json;

// JSON text of a string; invalid UTF-8 cannot be expressed in JSON and becomes U+FFFD.
std::string jstr(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string dump(const ordered_json& j) { return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace); }

bool is_added(int32_t type) {
  return type == int32_t(TokenType::Control) || type == int32_t(TokenType::UserDefined) ||
         type == int32_t(TokenType::Unknown);
}

int32_t type_of(const VocabData& v, size_t i) {
  return v.token_types.empty() ? int32_t(TokenType::Normal) : v.token_types[i];
}

// "[PAD<i>]" unused tokens are what converters pad the vocabulary with; HF files leave those
// ids out and convert pads them back.
bool is_padding(const VocabData& v, size_t i) {
  return type_of(v, i) == int32_t(TokenType::Unused) && v.tokens[i] == "[PAD" + std::to_string(i) + "]";
}

ordered_json added_token(size_t id, const std::string& content, bool special) {
  return ordered_json{{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
                      {"rstrip", false},   {"normalized", !special}, {"special", special}};
}

ordered_json template_processing(const VocabData& v) {
  ordered_json single = ordered_json::array(), pair = ordered_json::array(), specials = ordered_json::object();
  auto special = [&](int32_t id) {
    const std::string& t = v.tokens[size_t(id)];
    specials[t] = {{"id", t}, {"ids", {id}}, {"tokens", {t}}};
    return ordered_json{{"SpecialToken", {{"id", t}, {"type_id", 0}}}};
  };
  auto seq = [](const char* id, int type_id) { return ordered_json{{"Sequence", {{"id", id}, {"type_id", type_id}}}}; };
  if (v.add_bos && v.bos >= 0) single.push_back(special(v.bos));
  single.push_back(seq("A", 0));
  if (v.add_eos && v.eos >= 0) single.push_back(special(v.eos));
  pair = single;
  if (v.add_bos && v.bos >= 0) pair.push_back(special(v.bos));
  pair.push_back(seq("B", 1));
  if (v.add_eos && v.eos >= 0) pair.push_back(special(v.eos));
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
}

// SentencePiece vocabularies have no merges; HF derives them from the scores: every split of a
// token into two vocabulary pieces is a merge, higher-scoring results first.
std::vector<std::string> merges_from_scores(const VocabData& v) {
  std::unordered_map<std::string_view, size_t> id;
  for (size_t i = 0; i < v.tokens.size(); ++i)
    if (type_of(v, i) == int32_t(TokenType::Normal)) id.emplace(v.tokens[i], i);
  struct M { float score; size_t l, r; std::string text; };
  std::vector<M> ms;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (type_of(v, i) != int32_t(TokenType::Normal)) continue;
    const std::string& t = v.tokens[i];
    for (size_t k = 1; k < t.size(); ++k) {
      if ((uint8_t(t[k]) & 0xc0) == 0x80) continue;  // split only between characters
      auto l = id.find(std::string_view(t).substr(0, k)), r = id.find(std::string_view(t).substr(k));
      if (l == id.end() || r == id.end()) continue;
      ms.push_back({v.scores.empty() ? 0.0f : v.scores[i], l->second, r->second, t.substr(0, k) + " " + t.substr(k)});
    }
  }
  std::stable_sort(ms.begin(), ms.end(), [](const M& a, const M& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.l != b.l ? a.l < b.l : a.r < b.r;
  });
  std::vector<std::string> out;
  out.reserve(ms.size());
  for (auto& m : ms) out.push_back(std::move(m.text));
  return out;
}

// The vocab and merges can hold hundreds of thousands of entries: written as text directly,
// since an ordered JSON object inserts in linear time per key.
std::string model_json(const VocabData& v, const std::vector<std::string>& merges, const ordered_json& head) {
  std::string s = head.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s.pop_back();  // reopen the object
  s += ",\"vocab\":{";
  bool first = true;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (is_padding(v, i)) continue;
    if (v.kind == TokenizerKind::Bpe && is_added(type_of(v, i))) continue;  // listed in added_tokens
    s += (first ? "" : ",") + jstr(v.tokens[i]) + ":" + std::to_string(i);
    first = false;
  }
  s += "},\"merges\":[";
  for (size_t i = 0; i < merges.size(); ++i) s += (i ? "," : "") + jstr(merges[i]);
  return s + "]}";
}

}  // namespace

void add_tokenizer_metadata(GgufWriter& w, const HfTokenizer& t) {
  const VocabData& v = t.vocab;
  const bool spm = v.kind == TokenizerKind::Spm;
  w.set_string("tokenizer.ggml.model", spm ? "llama" : "gpt2");
  w.set_string("tokenizer.ggml.pre", spm ? "default" : v.pre);
  w.set_string_array("tokenizer.ggml.tokens", v.tokens);
  if (spm) w.set_f32_array("tokenizer.ggml.scores", v.scores);
  w.set_i32_array("tokenizer.ggml.token_type", v.token_types);
  if (!spm) w.set_string_array("tokenizer.ggml.merges", v.merges);
  const std::pair<const char*, int32_t> ids[] = {{"tokenizer.ggml.bos_token_id", v.bos},
                                                 {"tokenizer.ggml.eos_token_id", v.eos},
                                                 {"tokenizer.ggml.unknown_token_id", v.unk},
                                                 {"tokenizer.ggml.padding_token_id", v.pad}};
  for (const auto& [key, id] : ids)
    if (id >= 0) w.set_u32(key, uint32_t(id));
  if (t.add_bos) w.set_bool("tokenizer.ggml.add_bos_token", *t.add_bos);
  if (t.add_eos) w.set_bool("tokenizer.ggml.add_eos_token", *t.add_eos);
  if (t.add_space_prefix) w.set_bool("tokenizer.ggml.add_space_prefix", *t.add_space_prefix);
  if (!t.chat_template.empty()) w.set_string("tokenizer.chat_template", t.chat_template);
  for (const auto& [name, tmpl] : t.named_chat_templates) w.set_string("tokenizer.chat_template." + name, tmpl);
}

HfTokenizerFiles make_hf_tokenizer_files(const VocabData& v, const std::string& chat_template,
                                         int64_t model_max_length) {
  HfTokenizerFiles f;
  const bool spm = v.kind == TokenizerKind::Spm;
  ordered_json added = ordered_json::array();
  for (size_t i = 0; i < v.tokens.size(); ++i)
    if (is_added(type_of(v, i))) added.push_back(added_token(i, v.tokens[i], type_of(v, i) != int32_t(TokenType::UserDefined)));

  ordered_json tj = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added}};
  ordered_json model_head;
  std::vector<std::string> merges;
  const std::string sp(hf_tok::kSpace);
  if (spm) {
    ordered_json replace = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", sp}};
    tj["normalizer"] = v.add_space_prefix
                           ? ordered_json{{"type", "Sequence"},
                                          {"normalizers", {{{"type", "Prepend"}, {"prepend", sp}}, replace}}}
                           : replace;
    tj["pre_tokenizer"] = nullptr;
    tj["post_processor"] = template_processing(v);
    ordered_json decoders = {{{"type", "Replace"}, {"pattern", {{"String", sp}}}, {"content", " "}},
                             {{"type", "ByteFallback"}},
                             {{"type", "Fuse"}}};
    if (v.add_space_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    tj["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
    model_head = {{"type", "BPE"},          {"dropout", nullptr},        {"unk_token", token_text_or_empty(v, v.unk)},
                  {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                  {"fuse_unk", true},       {"byte_fallback", true},     {"ignore_merges", false}};
    if (v.unk < 0) model_head["unk_token"] = nullptr;
    merges = merges_from_scores(v);

    SpmModel m;
    m.model_type = 2;
    m.byte_fallback = true;
    m.add_dummy_prefix = v.add_space_prefix;
    m.unk_id = v.unk;
    m.bos_id = v.bos;
    m.eos_id = v.eos;
    m.pad_id = v.pad;
    m.pieces = v.tokens;
    m.scores = v.scores.empty() ? std::vector<float>(v.tokens.size(), 0.0f) : v.scores;
    m.types = v.token_types.empty() ? std::vector<int32_t>(v.tokens.size(), 1) : v.token_types;
    for (int32_t& ty : m.types)
      if (ty == int32_t(TokenType::Undefined)) ty = int32_t(TokenType::Normal);
    f.tokenizer_model = serialize_spm_model(m);
  } else {
    const hf_tok::PrePattern* pat = nullptr;
    for (const auto& p : hf_tok::kPrePatterns)
      if (p.pre == v.pre || (p.pre == "llama-bpe" && (v.pre == "llama3" || v.pre == "llama-v3")) ||
          (p.pre == "gpt-2" && v.pre == "gpt2"))
        pat = &p;
    if (!pat)
      fail("tokenizer.ggml.pre '{}': no Hugging Face pre-tokenizer is known for it (supported: qwen2, llama-bpe, gpt-2)",
           v.pre);
    ordered_json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                               {"use_regex", pat->regex.empty()}};
    tj["normalizer"] = pat->pre == "qwen2" ? ordered_json{{"type", "NFC"}} : ordered_json(nullptr);
    if (pat->regex.empty()) {
      tj["pre_tokenizer"] = byte_level;
    } else {
      ordered_json split = {{"type", "Split"}, {"pattern", {{"Regex", std::string(pat->regex)}}},
                            {"behavior", "Isolated"}, {"invert", false}};
      tj["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {split, byte_level}}};
    }
    tj["post_processor"] = v.add_bos || v.add_eos ? template_processing(v) : byte_level;
    tj["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    model_head = {{"type", "BPE"},       {"dropout", nullptr},  {"unk_token", nullptr},
                  {"continuing_subword_prefix", ""}, {"end_of_word_suffix", ""}, {"fuse_unk", false},
                  {"byte_fallback", false}, {"ignore_merges", pat->ignore_merges}};
    merges = v.merges;
  }
  std::string text = dump(tj);
  text.erase(text.find_last_of('}'));  // splice "model" in as the last member
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  f.tokenizer_json = text + ",\n  \"model\": " + model_json(v, merges, model_head) + "\n}\n";

  ordered_json tc = ordered_json::object();
  tc["add_bos_token"] = v.add_bos;
  tc["add_eos_token"] = v.add_eos;
  if (spm && !v.add_space_prefix) tc["add_prefix_space"] = false;
  ordered_json dec = ordered_json::object();
  for (size_t i = 0; i < v.tokens.size(); ++i)
    if (is_added(type_of(v, i))) {
      ordered_json e = added_token(i, v.tokens[i], type_of(v, i) != int32_t(TokenType::UserDefined));
      e.erase("id");
      dec[std::to_string(i)] = e;
    }
  tc["added_tokens_decoder"] = dec;
  const std::pair<const char*, int32_t> specials[] = {{"bos_token", v.bos}, {"eos_token", v.eos},
                                                      {"unk_token", v.unk}, {"pad_token", v.pad}};
  for (const auto& [key, id] : specials)
    tc[key] = id >= 0 ? ordered_json(v.tokens[size_t(id)]) : ordered_json(nullptr);
  if (!chat_template.empty()) tc["chat_template"] = chat_template;
  tc["clean_up_tokenization_spaces"] = false;
  tc["model_max_length"] = model_max_length;
  tc["tokenizer_class"] = spm ? "LlamaTokenizerFast" : "PreTrainedTokenizerFast";
  f.tokenizer_config_json = dump(tc) + "\n";
  return f;
}

}  // namespace trident
