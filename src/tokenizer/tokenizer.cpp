// Tokenizer construction (effective token types, end-of-generation set, piece cache, special
// token list) and encoding: special-token texts are cut out of the input first, then each
// remaining fragment goes through the SPM or BPE model.
#include <algorithm>
#include <array>
#include <climits>

#include "format/error.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/tokenizer_impl.h"

namespace trident {
namespace {

// llama.cpp picks the end-of-turn token by these texts when the file names none; the order here
// decides between several present (llama.cpp's own choice depends on hash-map order).
constexpr std::array<std::string_view, 8> kEotNames = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
    "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>"};
// Texts llama.cpp treats as end of generation (and forces to Control so they never print).
constexpr std::array<std::string_view, 10> kEogNames = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
    "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>"};
// The Phi-3 quirk strips whitespace after every special token except these.
constexpr std::array<std::string_view, 3> kNoRstrip = {"<unk>", "<s>", "<|endoftext|>"};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0xNN>" -> NN, else -1.
int parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  const int hi = hex_value(t[3]), lo = hex_value(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// C-locale isspace, as llama.cpp uses for the rstrip quirk.
bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::string spm_piece_text(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    if (token.substr(i, kSpmSpace.size()) == kSpmSpace) {
      out += ' ';
      i += kSpmSpace.size();
    } else {
      out += token[i++];
    }
  }
  return out;
}

std::string make_piece(const VocabData& v, TokenType type, size_t id) {
  const std::string& text = v.tokens[id];
  switch (type) {
    case TokenType::Control:
    case TokenType::Unknown:
    case TokenType::UserDefined:
      return text;  // shown verbatim (control/unknown only with show_special)
    case TokenType::Byte:
      if (const int b = parse_byte_token(text); b >= 0) return std::string(1, char(b));
      [[fallthrough]];  // a "byte" token without <0xNN> text decodes like a normal one
    case TokenType::Normal:
      return v.kind == TokenizerKind::Spm ? spm_piece_text(text) : byte_level_to_bytes(text);
    case TokenType::Unused:
    case TokenType::Undefined:
      break;
  }
  return {};
}

struct Fragment {
  int32_t token;  // >= 0: a special token; -1: raw text [begin, end)
  size_t begin, end;
};

// llama.cpp's partition: each special text, longest first, is cut out of every raw fragment.
std::vector<Fragment> split_specials(const Tokenizer::Impl& m, std::string_view text,
                                     bool parse_special) {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({-1, 0, text.size()});
  std::vector<Fragment> next;
  for (int32_t id : m.specials) {
    const TokenType type = m.types[size_t(id)];
    if (!parse_special && (type == TokenType::Control || type == TokenType::Unknown)) continue;
    const std::string_view needle = m.data.tokens[size_t(id)];
    if (text.find(needle) == std::string_view::npos) continue;  // cheap common case
    next.clear();
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      const std::string_view hay = text.substr(0, f.end);
      size_t pos = f.begin;
      while (pos < f.end) {
        const size_t hit = hay.find(needle, pos);
        if (hit == std::string_view::npos) break;
        if (hit > pos) next.push_back({-1, pos, hit});
        next.push_back({id, hit, hit + needle.size()});
        pos = hit + needle.size();
        if (m.rstrip[size_t(id)])
          while (pos < f.end && is_ascii_space(text[pos])) ++pos;
      }
      if (pos < f.end) next.push_back({-1, pos, f.end});
    }
    frags.swap(next);
  }
  return frags;
}

}  // namespace

Tokenizer::Tokenizer(VocabData data) : impl_(std::make_unique<Impl>()) {
  validate_vocab_except_duplicates(data, "tokenizer");
  Impl& m = *impl_;
  m.data = std::move(data);
  VocabData& v = m.data;
  const size_t n = v.tokens.size();

  m.index.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (v.tokens[i].empty()) continue;
    auto [it, inserted] = m.index.emplace(v.tokens[i], int32_t(i));
    if (!inserted) fail_duplicate_token("tokenizer", i, v.tokens[i], size_t(it->second));
  }

  m.types.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!v.token_types.empty()) {
      m.types[i] = TokenType(v.token_types[i]);
    } else {  // no types stored: everything is text, but keep <0xNN> usable as bytes for Spm
      const bool byte = v.kind == TokenizerKind::Spm && parse_byte_token(v.tokens[i]) >= 0;
      m.types[i] = byte ? TokenType::Byte : TokenType::Normal;
    }
  }

  m.eog.assign(n, 0);
  for (std::string_view name : kEogNames) {
    if (auto it = m.index.find(name); it != m.index.end()) {
      m.eog[size_t(it->second)] = 1;
      m.types[size_t(it->second)] = TokenType::Control;
    }
  }
  if (v.eot == -1) {
    for (std::string_view name : kEotNames) {
      if (auto it = m.index.find(name); it != m.index.end()) {
        v.eot = it->second;
        break;
      }
    }
  }
  for (int32_t id : {v.eos, v.eot})
    if (id >= 0) m.eog[size_t(id)] = 1;

  m.pieces.resize(n);
  for (size_t i = 0; i < n; ++i) m.pieces[i] = make_piece(v, m.types[i], i);

  for (size_t i = 0; i < n; ++i) {
    const TokenType t = m.types[i];
    const bool special =
        t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown;
    if (special && !v.tokens[i].empty()) m.specials.push_back(int32_t(i));
  }
  std::stable_sort(m.specials.begin(), m.specials.end(), [&](int32_t a, int32_t b) {
    return v.tokens[size_t(a)].size() > v.tokens[size_t(b)].size();
  });

  m.rstrip.assign(n, 0);
  if (v.rstrip_special) {
    for (int32_t id : m.specials) {
      const std::string& t = v.tokens[size_t(id)];
      m.rstrip[size_t(id)] = std::find(kNoRstrip.begin(), kNoRstrip.end(), t) == kNoRstrip.end();
    }
  }

  if (v.kind == TokenizerKind::Spm) {
    m.spm = std::make_unique<SpmEncoder>();
    m.spm->index = &m.index;
    m.spm->scores = v.scores;
    m.spm->unk = v.unk;
    for (int b = 0; b < 256; ++b) {
      auto it = m.index.find(fmt::format("<0x{:02X}>", b));
      if (it == m.index.end()) it = m.index.find(std::string(1, char(b)));  // llama.cpp's fallback
      m.spm->byte_tokens[size_t(b)] = it == m.index.end() ? -1 : it->second;
    }
    m.strip_first_space = v.add_space_prefix;
  } else {
    const PreTokenizerSpec* spec = find_pre_tokenizer(v.pre);  // validated above
    m.bpe = std::make_unique<BpeEncoder>(m.index, v.merges, *spec, v.unk);
    m.clean_spaces = spec->clean_spaces;
  }
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

int32_t Tokenizer::n_vocab() const { return int32_t(impl_->data.tokens.size()); }
int32_t Tokenizer::bos() const { return impl_->data.bos; }
int32_t Tokenizer::eos() const { return impl_->data.eos; }
int32_t Tokenizer::eot() const { return impl_->data.eot; }
const VocabData& Tokenizer::data() const { return impl_->data; }

bool Tokenizer::is_eog(int32_t id) const {
  return id >= 0 && id < n_vocab() && impl_->eog[size_t(id)] != 0;
}

TokenType Tokenizer::token_type(int32_t id) const {
  if (id < 0 || id >= n_vocab())
    fail("tokenizer: token id {} is outside the vocabulary ({} tokens)", id, n_vocab());
  return impl_->types[size_t(id)];
}

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  auto it = impl_->index.find(text);
  if (it == impl_->index.end()) return std::nullopt;
  return it->second;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  const Impl& m = *impl_;
  if (text.size() > size_t(INT32_MAX))
    fail("tokenizer: input of {} bytes is over the 2 GiB limit", text.size());
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_special && m.data.add_bos) out.push_back(m.data.bos);

  std::string escaped;
  bool after_special = true;  // Spm: the space prefix goes at the start and after specials
  for (const Fragment& f : split_specials(m, text, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
      continue;
    }
    const std::string_view raw = text.substr(f.begin, f.end - f.begin);
    if (m.spm) {
      escaped.clear();
      if (m.data.add_space_prefix && after_special) escaped += kSpmSpace;
      for (char c : raw) {
        if (c == ' ') {
          escaped += kSpmSpace;
        } else {
          escaped += c;
        }
      }
      m.spm->encode(escaped, out);
    } else {
      m.bpe->encode(raw, out);
    }
    after_special = false;
  }

  if (add_special && m.data.add_eos) out.push_back(m.data.eos);
  return out;
}

}  // namespace trident
