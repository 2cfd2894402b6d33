// Reading a Hugging Face tokenizer (tokenizer.model or tokenizer.json plus the config files)
// into VocabData. See hf_tokenizer.h for the order of preference.
#include "tokenizer/hf_tokenizer.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "format/error.h"
#include "tokenizer/hf_tokenizer_internal.h"
#include "tokenizer/hf_tokenizer_spm.h"

namespace trident {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct AddedToken {
  int32_t id;
  std::string content;
  bool special;
};

// llama.cpp treats some added tokens as control tokens even when the files do not mark them
// special (command-r, gemma, deepseek-coder ship such files).
bool looks_special(const std::string& t) {
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.compare(0, open.size(), open) == 0 &&
           t.compare(t.size() - close.size(), close.size(), close) == 0;
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<\xef\xbd\x9c", "\xef\xbd\x9c>") || wrapped("<unused", ">");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("{}: read failed", path);
  return ss.str();
}

// Pads with unused "[PAD<id>]" tokens up to the embedding's row count, as llama.cpp does.
void pad_vocab(VocabData& v, int64_t n_vocab, const std::string& source) {
  if (int64_t(v.tokens.size()) > n_vocab)
    fail("{}: the tokenizer has {} tokens, but the model's embedding has only {} rows", source,
         v.tokens.size(), n_vocab);
  while (int64_t(v.tokens.size()) < n_vocab) {
    v.tokens.push_back("[PAD" + std::to_string(v.tokens.size()) + "]");
    if (v.kind == TokenizerKind::Spm) v.scores.push_back(-10000.0f);
    v.token_types.push_back(int32_t(TokenType::Unused));
  }
}

HfTokenizer from_spm_model(const std::string& path, const HfModelConfig& cfg, int64_t n_vocab) {
  const SpmModel m = parse_spm_model(read_file(path), path);
  if (m.model_type != 2)
    fail("{}: SentencePiece model type {} ({}) is not supported (expected BPE, type 2)", path,
         m.model_type, m.model_type == 1 ? "Unigram" : m.model_type == 3 ? "word" : "char");
  HfTokenizer t;
  t.source = path;
  t.vocab.kind = TokenizerKind::Spm;
  t.vocab.tokens = m.pieces;
  t.vocab.scores = m.scores;
  t.vocab.token_types = m.types;
  if (!m.add_dummy_prefix) t.add_space_prefix = false;
  pad_vocab(t.vocab, n_vocab, path);
  auto in_range = [&](int32_t id) { return id >= 0 && id < int32_t(t.vocab.tokens.size()) ? id : -1; };
  // The trainer spec's ids are the model's own; config files may still override them below.
  t.vocab.unk = in_range(m.unk_id);
  t.vocab.bos = in_range(m.bos_id);
  t.vocab.eos = in_range(m.eos_id);
  t.vocab.pad = in_range(m.pad_id);

  // Tokens added on top of the SentencePiece model (ids it leaves unused or adds past its end).
  auto add_over = [&](int32_t id, const std::string& content, bool special) {
    if (id < 0 || id >= int32_t(t.vocab.tokens.size())) return;
    const int32_t type = t.vocab.token_types[size_t(id)];
    if (type != int32_t(TokenType::Normal) && type != int32_t(TokenType::Unused)) return;
    t.vocab.tokens[size_t(id)] = content;
    t.vocab.scores[size_t(id)] = -1000.0f;
    t.vocab.token_types[size_t(id)] =
        int32_t(special || looks_special(content) ? TokenType::Control : TokenType::UserDefined);
  };
  if (auto added = JsonDoc::load_optional((fs::path(cfg.dir) / "added_tokens.json").string())) {
    for (auto it = added->root().begin(); it != added->root().end(); ++it)
      if (it->is_number_integer()) add_over(it->get<int32_t>(), it.key(), false);
  }
  if (cfg.tokenizer_config) {
    if (const json* dec = cfg.tokenizer_config->find("added_tokens_decoder"); dec && dec->is_object()) {
      for (auto it = dec->begin(); it != dec->end(); ++it) {
        if (!it->is_object() || !it->contains("content") || !(*it)["content"].is_string()) continue;
        int32_t id = -1;
        try {
          id = std::stoi(it.key());
        } catch (...) {
          fail("{}: added_tokens_decoder: key '{}' is not a token id", cfg.tokenizer_config->path(), it.key());
        }
        add_over(id, (*it)["content"].get<std::string>(), it->value("special", false));
      }
    }
  }
  return t;
}

std::vector<AddedToken> read_added_tokens(const JsonDoc& tj) {
  std::vector<AddedToken> out;
  const json* a = tj.find("added_tokens");
  if (!a) return out;
  if (!a->is_array()) fail("{}: expected an array, found {}", tj.where("added_tokens"), json_snippet(*a));
  for (size_t i = 0; i < a->size(); ++i) {
    const json& e = (*a)[i];
    if (!e.is_object() || !e.contains("id") || !e["id"].is_number_integer() || !e.contains("content") ||
        !e["content"].is_string())
      fail("{}: entry {}: expected {{\"id\": <int>, \"content\": <string>, ...}}, found {}",
           tj.where("added_tokens"), i, json_snippet(e));
    const int64_t id = e["id"].get<int64_t>();
    if (id < 0 || id > INT32_MAX) fail("{}: entry {}: id {} out of range", tj.where("added_tokens"), i, id);
    out.push_back({int32_t(id), e["content"].get<std::string>(), e.value("special", false)});
  }
  return out;
}

std::vector<std::string> read_merges(const JsonDoc& tj, const json& model) {
  std::vector<std::string> out;
  if (!model.contains("merges")) return out;
  const json& m = model["merges"];
  if (!m.is_array()) fail("{}: expected an array, found {}", tj.where("model.merges"), json_snippet(m));
  out.reserve(m.size());
  for (size_t i = 0; i < m.size(); ++i) {
    const json& e = m[i];
    if (e.is_string()) {
      out.push_back(e.get<std::string>());
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      // The newer pair form may hold spaces; GGUF's "left right" form needs them escaped, as
      // byte-level text does (U+0120).
      auto esc = [](const std::string& s) {
        std::string r;
        for (char c : s) r += c == ' ' ? std::string("\xc4\xa0") : std::string(1, c);
        return r;
      };
      out.push_back(esc(e[0].get<std::string>()) + " " + esc(e[1].get<std::string>()));
    } else {
      fail("{}: entry {}: expected \"left right\" or [left, right], found {}", tj.where("model.merges"), i,
           json_snippet(e));
    }
  }
  return out;
}

// Byte-level pre-tokenizer -> tokenizer.ggml.pre, by the regex it splits with.
std::string detect_pre(const JsonDoc& tj) {
  const json* pt = tj.find("pre_tokenizer");
  std::string regex;
  bool byte_level = false, byte_level_regex = false;
  auto visit = [&](const json& p) {
    const std::string type = p.value("type", "");
    if (type == "Split" && p.contains("pattern") && p["pattern"].is_object()) {
      if (p["pattern"].contains("Regex") && p["pattern"]["Regex"].is_string())
        regex = p["pattern"]["Regex"].get<std::string>();
    } else if (type == "ByteLevel") {
      byte_level = true;
      byte_level_regex = p.value("use_regex", true);
    }
  };
  if (pt && pt->is_object()) {
    if (pt->value("type", "") == "Sequence" && pt->contains("pretokenizers") && (*pt)["pretokenizers"].is_array()) {
      for (const json& p : (*pt)["pretokenizers"])
        if (p.is_object()) visit(p);
    } else {
      visit(*pt);
    }
  }
  if (regex.empty() && byte_level && byte_level_regex) return "gpt-2";
  if (regex == hf_tok::kGpt2Regex) return "gpt-2";
  for (const auto& p : hf_tok::kPrePatterns)
    if (!p.regex.empty() && p.regex == regex) return std::string(p.pre);
  std::string known;
  for (const auto& p : hf_tok::kPrePatterns) known += (known.empty() ? "" : ", ") + std::string(p.pre);
  fail("{}: pre_tokenizer {} is not one llama.cpp recognises (known: {}); cannot choose tokenizer.ggml.pre",
       tj.where("pre_tokenizer"), regex.empty() ? (pt ? json_snippet(*pt) : std::string("null")) : "regex /" + regex + "/",
       known);
}

// SentencePiece has scores, tokenizer.json only merge ranks. llama.cpp's SentencePiece merge
// picks the candidate whose merged token scores highest, HF the pair of lowest rank, so the
// token made by merge r scores -r. Tokens no merge makes get the lowest scores, since HF never
// produces them from smaller pieces.
size_t n_chars(const std::string& s) {
  return size_t(std::count_if(s.begin(), s.end(), [](char c) { return (uint8_t(c) & 0xc0) != 0x80; }));
}

std::vector<float> scores_from_merges(const VocabData& v) {
  std::unordered_map<std::string, size_t> rank;
  for (size_t r = 0; r < v.merges.size(); ++r) {
    const std::string& m = v.merges[r];
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos) continue;
    rank.emplace(m.substr(0, sp) + m.substr(sp + 1), r);
  }
  std::vector<float> s(v.tokens.size(), 0.0f);
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    auto it = rank.find(v.tokens[i]);
    if (it != rank.end()) {
      s[i] = -float(it->second);
    } else if (v.token_types[i] == int32_t(TokenType::Normal) && n_chars(v.tokens[i]) > 1) {
      s[i] = -float(v.merges.size() + i);
    }
  }
  return s;
}

HfTokenizer from_tokenizer_json(const JsonDoc& tj, int64_t n_vocab) {
  HfTokenizer t;
  t.source = tj.path();
  const auto model_doc = tj.opt_object("model");
  if (!model_doc) fail("{}: missing (required)", tj.where("model"));
  const json& model = model_doc->root();
  const std::string type = model.value("type", "");
  if (type != "BPE")
    fail("{}: tokenizer model type '{}' is not supported (expected BPE)", tj.where("model.type"), type);
  const bool spm = model.value("byte_fallback", false);
  t.vocab.kind = spm ? TokenizerKind::Spm : TokenizerKind::Bpe;
  if (!model.contains("vocab") || !model["vocab"].is_object())
    fail("{}: expected an object of token -> id", tj.where("model.vocab"));

  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  auto place = [&](int64_t id, const std::string& text, int32_t type_) {
    if (id < 0 || id >= n_vocab)
      fail("{}: token '{}' has id {}, outside the model's {} embedding rows", tj.path(), text, id, n_vocab);
    if (size_t(id) >= tokens.size()) {
      const size_t old = tokens.size();
      tokens.resize(size_t(id) + 1);
      types.resize(size_t(id) + 1, -1);
      for (size_t i = old; i < tokens.size(); ++i) tokens[i] = "[PAD" + std::to_string(i) + "]";
    }
    tokens[size_t(id)] = text;
    types[size_t(id)] = type_;
  };
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    if (!it->is_number_integer())
      fail("{}: token '{}': expected an integer id, found {}", tj.where("model.vocab"), it.key(), json_snippet(*it));
    place(it->get<int64_t>(), it.key(), int32_t(TokenType::Normal));
  }
  const std::vector<AddedToken> added = read_added_tokens(tj);
  for (const AddedToken& a : added)
    place(a.id, a.content,
          int32_t(a.special || looks_special(a.content) ? TokenType::Control : TokenType::UserDefined));
  for (int32_t& ty : types)
    if (ty < 0) ty = int32_t(TokenType::Unused);  // ids neither list names
  t.vocab.tokens = std::move(tokens);
  t.vocab.token_types = std::move(types);
  t.vocab.merges = read_merges(tj, model);

  if (spm) {
    t.vocab.pre = "default";
    const std::string unk = model.contains("unk_token") && model["unk_token"].is_string() ? model["unk_token"].get<std::string>() : "";
    for (size_t i = 0; i < t.vocab.tokens.size(); ++i) {
      const std::string& s = t.vocab.tokens[i];
      if (s.size() == 6 && s.compare(0, 3, "<0x") == 0 && s[5] == '>' && isxdigit((unsigned char)s[3]) &&
          isxdigit((unsigned char)s[4]))
        t.vocab.token_types[i] = int32_t(TokenType::Byte);
      if (!unk.empty() && s == unk) {
        t.vocab.token_types[i] = int32_t(TokenType::Unknown);
        t.vocab.unk = int32_t(i);
      }
    }
    t.vocab.scores = scores_from_merges(t.vocab);
    t.vocab.merges.clear();  // SentencePiece vocabularies carry scores, not merges
    // A leading U+2581 comes from a Prepend normalizer or a Metaspace pre-tokenizer.
    bool prefix = false;
    const std::string dump_norm = tj.find("normalizer") ? tj.find("normalizer")->dump() : "";
    const std::string dump_pre = tj.find("pre_tokenizer") ? tj.find("pre_tokenizer")->dump() : "";
    if (dump_norm.find("\"Prepend\"") != std::string::npos) prefix = true;
    if (dump_pre.find("\"Metaspace\"") != std::string::npos && dump_pre.find("\"never\"") == std::string::npos &&
        dump_pre.find("\"add_prefix_space\":false") == std::string::npos)
      prefix = true;
    t.add_space_prefix = prefix;
  } else {
    t.vocab.pre = detect_pre(tj);
  }
  pad_vocab(t.vocab, n_vocab, tj.path());
  return t;
}

int32_t lookup_token(const HfTokenizer& t, const std::vector<AddedToken>& added, const std::string& text) {
  for (const AddedToken& a : added)
    if (a.content == text) return a.id;
  for (size_t i = 0; i < t.vocab.tokens.size(); ++i)
    if (t.vocab.tokens[i] == text) return int32_t(i);
  return -1;
}

std::optional<std::string> special_content(const JsonDoc& tc, const std::string& key) {
  const json* j = tc.find(key);
  if (!j) return std::nullopt;
  if (j->is_string()) return j->get<std::string>();
  if (j->is_object() && j->contains("content") && (*j)["content"].is_string()) return (*j)["content"].get<std::string>();
  return std::nullopt;
}

std::optional<int64_t> first_id(const JsonDoc& d, const std::string& key) {
  const json* j = d.find(key);
  if (!j) return std::nullopt;
  if (j->is_number_integer()) return j->get<int64_t>();
  if (j->is_array() && !j->empty() && (*j)[0].is_number_integer()) return (*j)[0].get<int64_t>();  // eos lists
  return std::nullopt;
}

void apply_special_tokens(HfTokenizer& t, const HfModelConfig& cfg, const std::optional<JsonDoc>& tj) {
  const std::vector<AddedToken> added = tj ? read_added_tokens(*tj) : std::vector<AddedToken>{};
  const int64_t n = int64_t(t.vocab.tokens.size());
  struct Slot { const char* name; int32_t* id; bool set = false; };
  Slot slots[] = {{"bos", &t.vocab.bos}, {"eos", &t.vocab.eos}, {"unk", &t.vocab.unk}, {"pad", &t.vocab.pad}};
  auto set = [&](Slot& s, int64_t id) {
    if (s.set || id < 0 || id >= n) return;  // first source wins; ids outside the vocab are ignored
    *s.id = int32_t(id);
    s.set = true;
  };
  std::string bos_text, eos_text;
  if (cfg.tokenizer_config) {
    for (Slot& s : slots) {
      if (auto c = special_content(*cfg.tokenizer_config, std::string(s.name) + "_token")) {
        set(s, lookup_token(t, added, *c));
        if (std::string_view(s.name) == "bos") bos_text = *c;
        if (std::string_view(s.name) == "eos") eos_text = *c;
      }
    }
    t.add_bos = cfg.tokenizer_config->opt_bool("add_bos_token");
    t.add_eos = cfg.tokenizer_config->opt_bool("add_eos_token");
    if (auto p = cfg.tokenizer_config->opt_bool("add_prefix_space")) t.add_space_prefix = *p;
  }
  // tokenizer.json's TemplateProcessing: a special token first means BOS is added, last EOS.
  if (tj) {
    if (const json* pp = tj->find("post_processor")) {
      std::vector<const json*> procs;
      if (pp->contains("processors") && (*pp)["processors"].is_array()) {
        for (const json& p : (*pp)["processors"]) procs.push_back(&p);
      } else {
        procs.push_back(pp);
      }
      for (const json* p : procs) {
        if (!p->is_object() || p->value("type", "") != "TemplateProcessing") continue;
        const json single = p->value("single", json::array());
        if (!single.is_array() || single.size() < 2) continue;
        auto special_at = [&](const json& e) -> std::string {
          if (e.is_object() && e.contains("SpecialToken") && e["SpecialToken"].contains("id") &&
              e["SpecialToken"]["id"].is_string())
            return e["SpecialToken"]["id"].get<std::string>();
          return "";
        };
        const std::string first = special_at(single.front()), last = special_at(single.back());
        if (!first.empty()) {
          set(slots[0], lookup_token(t, added, first));
          if (!t.add_bos) t.add_bos = bos_text.empty() || first == bos_text;
        }
        if (!last.empty()) {
          set(slots[1], lookup_token(t, added, last));
          if (!t.add_eos) t.add_eos = eos_text.empty() || last == eos_text;
        }
      }
    }
  }
  for (const JsonDoc* d : {&cfg.config, cfg.generation ? &*cfg.generation : nullptr}) {
    if (!d) continue;
    for (Slot& s : slots)
      if (auto id = first_id(*d, std::string(s.name) + "_token_id")) set(s, *id);
  }
}

void read_chat_template(HfTokenizer& t, const HfModelConfig& cfg) {
  if (cfg.tokenizer_config) {
    if (const json* ct = cfg.tokenizer_config->find("chat_template")) {
      if (ct->is_string()) {
        t.chat_template = ct->get<std::string>();
        return;
      }
      if (ct->is_array()) {
        for (const json& e : *ct) {
          if (!e.is_object() || !e.contains("name") || !e.contains("template")) continue;
          if (!e["name"].is_string() || !e["template"].is_string()) continue;
          const std::string name = e["name"].get<std::string>();
          if (name == "default") t.chat_template = e["template"].get<std::string>();
          else t.named_chat_templates.emplace_back(name, e["template"].get<std::string>());
        }
        return;
      }
      fail("{}: expected a string or a list of {{name, template}}, found {}",
           cfg.tokenizer_config->where("chat_template"), json_snippet(*ct));
    }
  }
  const fs::path jinja = fs::path(cfg.dir) / "chat_template.jinja";
  if (fs::exists(jinja)) {
    t.chat_template = read_file(jinja.string());
    return;
  }
  if (auto cj = JsonDoc::load_optional((fs::path(cfg.dir) / "chat_template.json").string()))
    t.chat_template = cj->opt_string("chat_template").value_or("");
}

}  // namespace

HfTokenizer read_hf_tokenizer(const HfModelConfig& cfg, int64_t n_vocab) {
  const fs::path dir(cfg.dir);
  const std::string spm_path = (dir / "tokenizer.model").string();
  std::optional<JsonDoc> tj = JsonDoc::load_optional((dir / "tokenizer.json").string());
  HfTokenizer t;
  if (fs::exists(spm_path)) {
    t = from_spm_model(spm_path, cfg, n_vocab);
  } else if (tj) {
    t = from_tokenizer_json(*tj, n_vocab);
  } else {
    fail("{}: no tokenizer.model or tokenizer.json (a tokenizer is required)", cfg.dir);
  }
  apply_special_tokens(t, cfg, tj);
  read_chat_template(t, cfg);
  if (t.add_bos && *t.add_bos && t.vocab.bos < 0) t.add_bos = false;
  if (t.add_eos && *t.add_eos && t.vocab.eos < 0) t.add_eos = false;
  t.vocab.add_bos = t.add_bos.value_or(t.vocab.kind == TokenizerKind::Spm);
  t.vocab.add_eos = t.add_eos.value_or(false);
  t.vocab.add_space_prefix = t.add_space_prefix.value_or(t.vocab.kind == TokenizerKind::Spm);
  validate_vocab(t.vocab, t.source);
  return t;
}

std::string token_text_or_empty(const VocabData& v, int32_t id) {
  return id >= 0 && size_t(id) < v.tokens.size() ? v.tokens[size_t(id)] : std::string();
}

}  // namespace trident
