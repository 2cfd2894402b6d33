// One request's generation, token by token: what a slot of the scheduler keeps between steps
// (its own sampler, grammar matcher, detokenizer, the text so far and how much of it went out).
// The scheduler owns the sequence and the decoding; this object only reads a row of logits and
// says which token comes next, so solo and batched runs share one implementation.
#pragma once
#include <chrono>
#include <optional>
#include <trident/trident.h>

#include "server/completion.h"

namespace trident::server {

class Generation {
 public:
  // on_text: as generate's (text only when final, stop strings held back); returning false ends
  // the generation at the next wants_token. The grammar matcher (req.matcher) is reset here.
  Generation(const api::Model& model, const CompletionRequest& req, OnText on_text);

  // Whether the next token should be evaluated and sampled: the client still listens, max_tokens
  // is not reached, the grammar may continue (when it is complete: finish_reason "stop"), and
  // the sequence (seq_length positions of n_ctx) has room (when full: "length").
  bool wants_token(int64_t seq_length, int64_t n_ctx);
  // Samples from logits (this sequence's last row, n_vocab values; the grammar masks it in
  // place) and sends any text that became final. The token to evaluate next, or nothing when
  // the text ended (end of generation or a stop string).
  std::optional<int32_t> step(std::vector<float>& logits);
  // The scheduler reused this many prompt tokens from an idle sequence (the usage reports them).
  void set_cached_tokens(int64_t n) { res_.cached_tokens = n; }
  // Ends the generation now (the client went away): no more text is sent.
  void cancel() { open_ = false; }
  // Flushes the detokenizer, sends the last text and returns the result. Call once.
  CompletionResult finish();

 private:
  bool advance(bool last);  // sends what is final; true when a stop string ended the text
  // A lazy grammar (req.grammar_trigger): turns it on once the pieces so far hold the trigger.
  void watch_trigger(int32_t id);

  using Clock = std::chrono::steady_clock;
  const api::Model& model_;
  const CompletionRequest& req_;
  OnText on_text_;
  api::Sampler sampler_;
  api::Grammar* grammar_;
  bool grammar_on_;               // grammar_ masks the logits (from the start, or since its trigger)
  std::string pieces_;            // the generated tokens' pieces while a lazy grammar waits
  api::Detokenizer detok_;
  std::vector<int32_t> history_;  // prompt and generated tokens (the penalties' window)
  std::vector<float> raw_;        // the model's logits before the grammar's mask (logprobs)
  CompletionResult res_;
  std::string text_;              // everything generated; text_[0, sent_) has gone to on_text
  size_t sent_ = 0;
  size_t logprobs_sent_ = 0;      // res_.logprobs[0, logprobs_sent_) went with earlier text
  size_t max_stop_ = 0;           // the longest stop string
  bool open_ = true;              // on_text still wants more
  bool stopped_ = false;          // a stop string ended the text
  Clock::time_point t0_, t_first_;
  bool stepped_ = false;
};

}  // namespace trident::server
