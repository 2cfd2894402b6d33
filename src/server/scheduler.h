// Continuous batching: one thread owns the Context and serves up to n_slots requests at once.
// Each step builds one Batch holding every generating slot's next token plus prompt chunks of
// newly admitted requests (together at most about n_ubatch rows, so running streams keep their
// pace while a long prompt is read), decodes it once, and samples each slot from its own row
// with its own Generation (sampler, grammar, stop strings). Requests beyond n_slots wait in a
// FIFO queue. A row's logits have the same bits whatever else the batch holds (docs/api.md), so
// a request's text does not depend on the traffic around it.
//
// Prefix reuse (llama-server's cache_prompt): a finished request's sequence stays in the pool,
// idle, with its positions; a new request takes the idle sequence sharing the longest prefix
// with its prompt and evaluates only the rest (the next turn of a chat reads only the new
// messages). Idle sequences give way, least recently used first, when a request or a task needs
// a free one; at most ctx.n_seq_max() sequences exist in all.
//
// HTTP handlers call generate() from their own threads: the text comes back through a channel
// and on_text runs on the handler's thread, so a slow client never stalls the others.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <trident/trident.h>
#include <vector>

#include "server/completion.h"

namespace trident::server {

class Scheduler {
 public:
  // Starts the thread that uses ctx from now on (nobody else may). n_slots: 1..ctx.n_seq_max().
  Scheduler(api::Context& ctx, int64_t n_slots);
  // Stops the thread; requests still queued or running end with an Error.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues req, waits for a slot and runs it. on_text is called on this thread with text as it
  // becomes final (OnText's contract); when it returns false the generation is cancelled and its
  // slot freed at the next step. Rethrows an Error of the generation.
  CompletionResult generate(const CompletionRequest& req, const OnText& on_text);
  // Runs task on the scheduler's thread between two steps, when a slot (a free sequence of the
  // context) is available, in FIFO order with the generations (embeddings). Rethrows its errors.
  void run_exclusive(const std::function<void(api::Context&)>& task);

  int64_t slots_busy() const { return busy_; }  // sequences generating now
  int64_t queued() const { return queued_; }    // requests waiting for a slot
  int64_t cached() const { return cached_; }    // idle sequences kept for their prefixes

 private:
  struct Job;
  struct Slot;
  void submit(const std::shared_ptr<Job>& job);
  void loop();
  bool admit();  // waits for work; moves queued jobs into free slots; false when stopping
  void step();   // one batch: decode and sample every active slot once
  void retire(Slot& slot);  // a generation that ended: its result goes to the handler
  // Frees the slot's sequence and ends its job with result or error.
  void release(Slot& slot, CompletionResult result, std::exception_ptr error);
  // A sequence for a prompt holding n_reused of its leading tokens: the idle one sharing the
  // longest prefix (taken over, or its prefix copied into a new one while the pool has room),
  // else a new one, else the least recently used idle one, emptied.
  api::SeqId take_sequence(const std::vector<int32_t>& prompt, int64_t& n_reused);
  void free_one_sequence();  // makes seq_create() succeed: drops the oldest idle sequence if needed

  api::Context& ctx_;
  const int64_t n_slots_;
  std::mutex mutex_;  // guards queue_ and stopping_
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Slot>> active_;  // admission order; the scheduler thread's only
  std::vector<api::SeqId> idle_;  // finished requests' sequences, least recently used first
  std::atomic<int64_t> busy_{0}, queued_{0}, cached_{0};
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace trident::server
