#include "server/scheduler.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "server/generation.h"

namespace trident::server {

// A request on its way through the scheduler and the channel back to its handler. The handler
// owns a reference as long as it waits; the scheduler as long as the job is queued or running.
struct Scheduler::Job {
  CompletionRequest req;                     // a generation, or
  std::function<void(api::Context&)> task;   // a task for the context (run_exclusive)
  std::atomic<bool> cancelled{false};        // the handler's client went away

  std::mutex m;  // guards everything below
  std::condition_variable cv;
  std::deque<std::pair<std::string, std::vector<TokenLogprobs>>> pieces;  // final text not yet taken
  bool finished = false;
  CompletionResult result;
  std::exception_ptr error;

  // Runs on the scheduler's thread: hands a piece to the handler; false once it stopped listening.
  bool send(const std::string& text, const std::vector<TokenLogprobs>& logprobs) {
    {
      std::lock_guard lock(m);
      pieces.emplace_back(text, logprobs);
    }
    cv.notify_one();
    return !cancelled;
  }
  void end(CompletionResult r, std::exception_ptr e) {
    {
      std::lock_guard lock(m);
      result = std::move(r);
      error = std::move(e);
      finished = true;
    }
    cv.notify_one();
  }
};

// A running request: its sequence of the context and where it is.
struct Scheduler::Slot {
  std::shared_ptr<Job> job;
  api::SeqId seq = -1;
  std::optional<Generation> gen;
  size_t prompt_done = 0;   // prompt tokens evaluated (or in this step's batch)
  int32_t next = -1;        // the token to evaluate next once the prompt is in
  int64_t logits_row = -1;  // this step's row of the logits, or -1
  bool done = false;
};

Scheduler::Scheduler(api::Context& ctx, int64_t n_slots) : ctx_(ctx), n_slots_(n_slots) {
  if (n_slots < 1 || n_slots > ctx.n_seq_max())
    throw Error("scheduler: expected 1 to " + std::to_string(ctx.n_seq_max()) + " slots, found " + std::to_string(n_slots));
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  const auto stopped = std::make_exception_ptr(Error("the server is stopping"));
  for (auto& slot : active_) release(*slot, {}, stopped);
  for (auto& job : queue_) job->end({}, stopped);
}

void Scheduler::submit(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(job);
    ++queued_;
  }
  wake_.notify_one();
}

CompletionResult Scheduler::generate(const CompletionRequest& req, const OnText& on_text) {
  auto job = std::make_shared<Job>();
  job->req = req;
  submit(job);
  // Whatever happens here (on_text throws), the scheduler is told to drop the request.
  struct Cancel {
    Job& job;
    ~Cancel() { job.cancelled = true; }
  } cancel{*job};
  bool listening = true;
  std::unique_lock lock(job->m);
  for (;;) {
    job->cv.wait(lock, [&] { return !job->pieces.empty() || job->finished; });
    while (!job->pieces.empty()) {
      auto [text, logprobs] = std::move(job->pieces.front());
      job->pieces.pop_front();
      if (!listening) continue;
      lock.unlock();  // the client's write may block; the scheduler keeps going meanwhile
      listening = on_text(text, logprobs);
      if (!listening) job->cancelled = true;
      lock.lock();
    }
    if (job->finished) break;
  }
  if (job->error) std::rethrow_exception(job->error);
  return std::move(job->result);
}

void Scheduler::run_exclusive(const std::function<void(api::Context&)>& task) {
  auto job = std::make_shared<Job>();
  job->task = task;
  submit(job);
  std::unique_lock lock(job->m);
  job->cv.wait(lock, [&] { return job->finished; });
  if (job->error) std::rethrow_exception(job->error);
}

void Scheduler::loop() {
  while (admit()) step();
}

bool Scheduler::admit() {
  std::vector<std::shared_ptr<Job>> fresh;
  {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active_.empty(); });
    if (stopping_) return false;
    while (!queue_.empty() && int64_t(active_.size() + fresh.size()) < n_slots_) {
      fresh.push_back(std::move(queue_.front()));
      queue_.pop_front();
      --queued_;
    }
  }
  for (auto& job : fresh) {
    if (job->task) {  // a free sequence exists now: run it at once
      std::exception_ptr error;
      try {
        free_one_sequence();
        job->task(ctx_);
      } catch (...) {
        error = std::current_exception();
      }
      job->end({}, error);
      continue;
    }
    auto slot = std::make_unique<Slot>();
    slot->job = job;
    try {
      slot->gen.emplace(ctx_.model(), job->req, [j = job.get()](const std::string& text, const std::vector<TokenLogprobs>& lp) {
        return j->send(text, lp);
      });
      int64_t reused = 0;
      slot->seq = take_sequence(job->req.cache_prompt ? job->req.prompt : std::vector<int32_t>{}, reused);
      slot->prompt_done = size_t(reused);
      slot->gen->set_cached_tokens(reused);
    } catch (...) {
      release(*slot, {}, std::current_exception());
      continue;
    }
    active_.push_back(std::move(slot));
  }
  busy_ = int64_t(active_.size());
  cached_ = int64_t(idle_.size());
  return true;
}

api::SeqId Scheduler::take_sequence(const std::vector<int32_t>& prompt, int64_t& n_reused) {
  n_reused = 0;
  size_t best = idle_.size();
  int64_t best_n = 0;
  for (size_t i = 0; i < idle_.size(); ++i) {
    const std::vector<int32_t> tokens = ctx_.seq_tokens(idle_[i]);
    // At most all but the prompt's last token: that one is evaluated for the first logits.
    const size_t limit = std::min(tokens.size(), std::max<size_t>(prompt.size(), 1) - 1);
    int64_t n = int64_t(std::mismatch(tokens.begin(), tokens.begin() + long(limit), prompt.begin()).first - tokens.begin());
    if (n > 0 && !ctx_.seq_can_keep(idle_[i], n)) n = 0;  // recurrent layers: the whole sequence or nothing
    if (n > best_n) best = i, best_n = n;
  }
  const bool pool_full = ctx_.n_seq_active() >= ctx_.n_seq_max();
  // Taken over when the prompt continues all of it (the next turn of a chat) or the pool is full;
  // else its shared part is copied into a new sequence, so its own tail stays cached for a
  // request that shares more (the same system prompt, then different conversations).
  if (best < idle_.size() && (pool_full || best_n == ctx_.seq_length(idle_[best]))) {
    const api::SeqId s = idle_[best];
    idle_.erase(idle_.begin() + long(best));
    ctx_.seq_truncate(s, best_n);
    n_reused = best_n;
    return s;
  }
  if (!pool_full) {
    const api::SeqId s = ctx_.seq_create();
    if (best < idle_.size()) {
      ctx_.seq_copy_prefix(idle_[best], best_n, s);
      n_reused = best_n;
    }
    return s;
  }
  const api::SeqId s = idle_.front();  // the pool is full: the least recently used gives way
  idle_.erase(idle_.begin());
  ctx_.seq_clear(s);
  return s;
}

void Scheduler::free_one_sequence() {
  if (ctx_.n_seq_active() < ctx_.n_seq_max() || idle_.empty()) return;
  ctx_.seq_remove(idle_.front());
  idle_.erase(idle_.begin());
  cached_ = int64_t(idle_.size());
}

void Scheduler::step() {
  // Decode rows first: one token of every slot whose prompt is in. A slot that should not go on
  // (cancelled, max_tokens, grammar complete, context full) ends here, before it costs a row.
  api::Batch batch;
  int64_t n_out = 0;  // rows asking for logits so far
  for (auto& s : active_) {
    s->logits_row = -1;
    if (s->job->cancelled) s->gen->cancel();
    const bool reading_prompt = s->prompt_done < s->job->req.prompt.size();
    if (!s->gen->wants_token(ctx_.seq_length(s->seq), ctx_.n_ctx())) {
      s->done = true;
      continue;
    }
    if (reading_prompt) continue;
    batch.add(s->seq, ctx_.seq_length(s->seq), s->next, true);
    s->logits_row = n_out++;
  }
  // Then prompt chunks, oldest request first, within what is left of one micro-batch (at least
  // half of one, so prompts advance even when many slots are generating).
  const int64_t ub = ctx_.n_ubatch();
  int64_t budget = std::max(ub - int64_t(batch.token.size()), std::max<int64_t>(ub / 2, 1));
  for (auto& s : active_) {
    const std::vector<int32_t>& prompt = s->job->req.prompt;
    if (s->done || s->prompt_done >= prompt.size() || budget == 0) continue;
    const size_t n = std::min(prompt.size() - s->prompt_done, size_t(budget));
    const bool last = s->prompt_done + n == prompt.size();
    for (size_t i = 0; i < n; ++i)
      batch.add(s->seq, int64_t(s->prompt_done + i), prompt[s->prompt_done + i], last && i + 1 == n);
    s->prompt_done += n;
    budget -= int64_t(n);
    if (last) s->logits_row = n_out++;
  }

  if (!batch.token.empty()) {
    std::vector<float> logits;
    try {
      ctx_.decode(batch, logits);
    } catch (...) {  // the batch was refused as a whole: every slot in it ends with the error
      const std::exception_ptr error = std::current_exception();
      for (auto& s : active_)
        if (!s->done) release(*s, {}, error);
    }
    const size_t n_vocab = size_t(ctx_.model().n_vocab());
    std::vector<float> row;
    for (auto& s : active_) {
      if (s->logits_row < 0 || s->done) continue;
      row.assign(logits.begin() + long(size_t(s->logits_row) * n_vocab), logits.begin() + long(size_t(s->logits_row + 1) * n_vocab));
      try {
        const std::optional<int32_t> id = s->gen->step(row);
        if (id) s->next = *id;
        else s->done = true;
      } catch (...) {
        release(*s, {}, std::current_exception());
      }
    }
  }
  for (auto& s : active_)
    if (s->done && s->job) retire(*s);
  std::erase_if(active_, [](const std::unique_ptr<Slot>& s) { return s->done; });
  busy_ = int64_t(active_.size());
}

void Scheduler::retire(Slot& slot) {
  CompletionResult r;
  try {
    r = slot.gen->finish();
  } catch (...) {
    release(slot, {}, std::current_exception());
    return;
  }
  release(slot, std::move(r), nullptr);
}

void Scheduler::release(Slot& slot, CompletionResult result, std::exception_ptr error) {
  // A finished or cancelled request's sequence holds exactly the tokens it evaluated: kept for
  // the next prompt that shares them. After an error it may not, and goes.
  if (slot.seq >= 0 && !error) idle_.push_back(slot.seq);
  else if (slot.seq >= 0) ctx_.seq_remove(slot.seq);
  slot.seq = -1;
  cached_ = int64_t(idle_.size());
  if (slot.job) slot.job->end(std::move(result), std::move(error));
  slot.job.reset();
  slot.done = true;
}

}  // namespace trident::server
