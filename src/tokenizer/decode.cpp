// Ids -> text: single pieces, whole sequences, and a UTF-8-safe stream for generation output.
#include "format/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace trident {
namespace {

// llama.cpp's clean_spaces (HF's clean_up_tokenization_spaces), three passes over the text:
// " ?", " !", " .", " ," lose the space; " ' " becomes "'"; " 's", " 'm", " 're", " 've" lose
// the space before the apostrophe (" 't", " 'd", " 'll" keep theirs, as in llama.cpp).
std::string clean_up_spaces(std::string_view s) {
  std::string a;
  a.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const bool before_punct = i + 1 < s.size() && (s[i + 1] == '?' || s[i + 1] == '!' ||
                                                   s[i + 1] == '.' || s[i + 1] == ',');
    if (!(s[i] == ' ' && before_punct)) a += s[i];
  }

  std::string b;
  b.reserve(a.size());
  char prev = '\0';  // previous input character; '\0' after a swallowed space
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i];
    if (x == '\'' && i > 0 && i + 1 < a.size() && prev == ' ' && a[i + 1] == ' ') {
      b.pop_back();  // the space before
      b += x;
      ++i;           // and the one after
      prev = '\0';
      continue;
    }
    b += x;
    prev = x;
  }

  std::string c;
  c.reserve(b.size());
  for (size_t i = 0; i < b.size(); ++i) {
    const char x = b[i];
    if (x == '\'' && i > 0 && b[i - 1] == ' ' && i + 1 < b.size()) {
      const char x1 = b[i + 1];
      const char x2 = i + 2 < b.size() ? b[i + 2] : '\0';
      if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e'))
        c.pop_back();
    }
    c += x;
  }
  return c;
}

}  // namespace

std::string_view Tokenizer::Impl::piece(int32_t id, bool show_special) const {
  if (id < 0 || size_t(id) >= pieces.size())
    fail("tokenizer: token id {} is outside the vocabulary ({} tokens)", id, pieces.size());
  const TokenType t = types[size_t(id)];
  if (!show_special && (t == TokenType::Control || t == TokenType::Unknown)) return {};
  return pieces[size_t(id)];
}

std::string Tokenizer::token_to_piece(int32_t id, bool show_special) const {
  return std::string(impl_->piece(id, show_special));
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool show_special) const {
  const Impl& m = *impl_;
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string_view p = m.piece(ids[i], show_special);
    // The space prefix encode() added belongs to the first piece; a leading BOS (empty piece)
    // takes the removal instead, exactly as llama.cpp's detokenize does.
    if (i == 0 && m.strip_first_space && !p.empty() && p.front() == ' ') p.remove_prefix(1);
    out += p;
  }
  return m.clean_spaces ? clean_up_spaces(out) : out;
}

DecodeStream::DecodeStream(const Tokenizer& tok, bool show_special)
    : impl_(tok.impl_.get()), show_special_(show_special) {}

std::string DecodeStream::push(int32_t id) {
  pending_ += impl_->piece(id, show_special_);
  std::string out;
  const size_t used = utf8_sanitize(pending_, out, /*keep_tail=*/true);
  pending_.erase(0, used);
  return out;
}

std::string DecodeStream::flush() {
  std::string out;
  utf8_sanitize(pending_, out, /*keep_tail=*/false);
  pending_.clear();
  return out;
}

}  // namespace trident
