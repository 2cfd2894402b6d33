#include "server/generation.h"

#include <algorithm>

namespace trident::server {
namespace {

// Length of the longest suffix of text that is a proper beginning of some stop string: text
// that must wait for the next token before it can be sent.
size_t partial_stop_length(const std::string& text, const std::vector<std::string>& stop) {
  size_t longest = 0;
  for (const std::string& s : stop)
    for (size_t n = std::min(s.size() - 1, text.size()); n > longest; --n)
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        longest = n;
        break;
      }
  return longest;
}

// Where the first stop string begins in text (searching from `from`), or npos, and which one.
std::pair<size_t, size_t> find_stop(const std::string& text, size_t from, const std::vector<std::string>& stop) {
  size_t first = std::string::npos, which = 0;
  for (size_t i = 0; i < stop.size(); ++i) {
    const size_t at = text.find(stop[i], from);
    if (at < first) first = at, which = i;
  }
  return {first, which};
}

TokenLogprobs token_logprobs(const api::Model& model, const std::vector<float>& logits, int32_t id, size_t n_top) {
  TokenLogprobs t;
  t.piece = model.token_piece(id);
  t.logprob = api::logprob(logits, id);
  for (const api::TokenLogprob& alt : api::top_logprobs(logits, n_top)) t.top.emplace_back(model.token_piece(alt.id), alt.logprob);
  return t;
}

}  // namespace

Generation::Generation(const api::Model& model, const CompletionRequest& req, OnText on_text)
    : model_(model),
      req_(req),
      on_text_(std::move(on_text)),
      sampler_(req.sampling, model.n_vocab()),
      grammar_(req.matcher.get()),
      grammar_on_(grammar_ && req.grammar_trigger.empty()),
      detok_(model),
      history_(req.prompt),
      t0_(Clock::now()),
      t_first_(t0_) {
  if (grammar_) grammar_->reset();
  res_.prompt_tokens = int64_t(req.prompt.size());
  res_.finish_reason = "length";
  for (const std::string& s : req.stop) max_stop_ = std::max(max_stop_, s.size());
}

bool Generation::advance(bool last) {
  const auto [at, which] = find_stop(text_, sent_ > max_stop_ ? sent_ - max_stop_ : 0, req_.stop);
  if (at != std::string::npos) {
    text_.resize(at);
    res_.stop_word = req_.stop[which];
  }
  const size_t hold = at != std::string::npos || last ? 0 : partial_stop_length(text_, req_.stop);
  const size_t end = std::max(sent_, text_.size() - hold);
  if (end > sent_ && open_) {
    const std::vector<TokenLogprobs> fresh(res_.logprobs.begin() + long(logprobs_sent_), res_.logprobs.end());
    logprobs_sent_ = res_.logprobs.size();
    open_ = on_text_(text_.substr(sent_, end - sent_), fresh);
  }
  sent_ = end;
  return at != std::string::npos;
}

bool Generation::wants_token(int64_t seq_length, int64_t n_ctx) {
  if (!open_ || (req_.max_tokens >= 0 && res_.completion_tokens >= req_.max_tokens)) return false;
  if (grammar_on_ && grammar_->finished()) {  // the text is complete and nothing may follow
    res_.finish_reason = "stop";
    return false;
  }
  return seq_length < n_ctx;  // the context is full: "length"
}

std::optional<int32_t> Generation::step(std::vector<float>& logits) {
  if (!stepped_) t_first_ = Clock::now(), stepped_ = true;
  // Log-probabilities are the model's (before the grammar's mask, as before bias and penalties).
  if (grammar_on_ && req_.n_logprobs >= 0) raw_ = logits;
  if (grammar_on_) grammar_->apply(logits);
  const int32_t id = sampler_.sample(logits, history_);
  if (model_.is_eog(id)) {
    res_.finish_reason = "stop";
    return std::nullopt;
  }
  const bool masked = grammar_on_;
  if (grammar_on_) grammar_->accept(id);
  else if (grammar_) watch_trigger(id);
  ++res_.completion_tokens;
  if (req_.n_logprobs >= 0)
    res_.logprobs.push_back(token_logprobs(model_, masked ? raw_ : logits, id, size_t(req_.n_logprobs)));
  history_.push_back(id);
  text_ += detok_.push(id);
  if (advance(false)) {
    stopped_ = true;
    res_.finish_reason = "stop";
    return std::nullopt;
  }
  return id;
}

void Generation::watch_trigger(int32_t id) {
  // The token pieces as the grammar reads them (not the detokenizer's text, which may hold back
  // half a character), searched from where a trigger could still begin.
  const std::string& trigger = req_.grammar_trigger;
  const size_t from = pieces_.size() >= trigger.size() ? pieces_.size() - trigger.size() + 1 : 0;
  pieces_ += model_.token_piece(id);
  const size_t at = pieces_.find(trigger, from);
  if (at == std::string::npos) return;
  try {
    grammar_->accept_text(std::string_view(pieces_).substr(at));
    grammar_on_ = true;
  } catch (const Error&) {
    grammar_ = nullptr;  // what follows the trigger in this token is no call: the reply stays free text
  }
  pieces_.clear();
}

CompletionResult Generation::finish() {
  if (!stopped_) {
    text_ += detok_.flush();
    if (advance(true)) res_.finish_reason = "stop";
  }
  res_.prompt_seconds = std::chrono::duration<double>(t_first_ - t0_).count();
  res_.generation_seconds = std::chrono::duration<double>(Clock::now() - t_first_).count();
  res_.text = std::move(text_);
  return std::move(res_);
}

}  // namespace trident::server
