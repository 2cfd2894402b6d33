// The sequences of a Session: up to n_seq_max of them, each with its own KV cache of n_ctx
// positions and the token ids those positions hold. A sequence's cache is one KvCache (rows
// are positions), so attention reads it exactly as it reads a single-sequence session's.
//
// Sizing: per sequence, as llama.cpp's per-slot server contexts (-c / -np there; here n_ctx is
// already the per-sequence size). The whole pool (n_seq_max x n_ctx) is checked against the
// memory budget up front; each slot's cache is allocated on first use from calloc, whose zero
// pages cost memory only as far as positions are written. A freed slot keeps its allocation for
// the next sequence.
//
// Recurrent layers (model with LayerSizes::mixer set): each sequence also holds a RecurrentState,
// which sums up its whole prefix and cannot go back. So such a sequence can only be truncated
// to 0 (a fresh state) or kept whole, a prefix copy must be the source's full length, and
// longest_prefix only offers sequences whose every token matches (llama.cpp's server reuses a
// recurrent cache the same way and recomputes otherwise).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "runtime/kv_cache.h"
#include "runtime/recurrent_state.h"

namespace trident {

inline constexpr int64_t kMaxSequences = 1024;

struct PrefixMatch {
  int32_t seq = -1;  // -1: no cached sequence shares a first token
  int64_t n = 0;     // leading tokens shared
};

class SeqPool {
 public:
  // Throws Error for n_seq_max outside 1..kMaxSequences or a pool over the memory budget.
  // k_elems / v_elems: one cached K / V row (KvCache; v_elems 0: V views K). recurrent: each
  // layer's state shape (recurrent_layers.h recurrent_shapes), empty for a model without any.
  SeqPool(int64_t n_seq_max, int64_t n_layer, int64_t n_ctx, int64_t k_elems, int64_t v_elems, KvType k_type,
          KvType v_type, std::vector<RecurrentLayerShape> recurrent = {});

  // The lowest free id, an empty sequence. Throws Error when all n_seq_max are in use.
  int32_t create();
  // Makes sequence `id` exist (empty) if it does not; throws Error for an id outside the pool.
  void ensure(int32_t id);
  void remove(int32_t id);                  // frees the id; Error if it does not exist
  // Keeps positions [0, n); Error if n > length, or (recurrent) 0 < n < length.
  void truncate(int32_t id, int64_t n);
  // A new sequence holding src's first n positions (K/V rows, tokens, recurrent state). Error if
  // n > length, or (recurrent) n < length.
  int32_t copy_prefix(int32_t src, int64_t n);
  // Replaces existing sequence dst with src's first n positions (dst != src).
  void copy_prefix(int32_t src, int64_t n, int32_t dst);
  // The existing sequence sharing the longest prefix with `tokens` (recurrent: only a sequence
  // that is itself a prefix of `tokens`).
  PrefixMatch longest_prefix(std::span<const int32_t> tokens) const;

  bool exists(int32_t id) const { return id >= 0 && id < int32_t(slots_.size()) && slots_[size_t(id)].used; }
  // The following throw Error "sequence ID does not exist" for an unknown id.
  int64_t length(int32_t id) const { return int64_t(slot(id).tokens.size()); }
  std::span<const int32_t> tokens(int32_t id) const { return slot(id).tokens; }
  KvCache& cache(int32_t id) { return *slot(id).kv; }
  const KvCache& cache(int32_t id) const { return *slot(id).kv; }
  // The sequence's recurrent state; Error when the model has no recurrent layers.
  RecurrentState& state(int32_t id);
  const RecurrentState& state(int32_t id) const;
  bool recurrent() const { return !recurrent_.empty(); }
  // Whether truncate(id, n) / copy_prefix(id, n) may keep n of the sequence's positions.
  bool can_keep(int32_t id, int64_t n) const { return !recurrent() || n == 0 || n == length(id); }
  // Records the token whose K/V rows were just stored at position length(id).
  void append(int32_t id, int32_t token) { slot(id).tokens.push_back(token); }
  // Replaces the tokens of a sequence restored from a file (its K/V rows already written).
  void set_tokens(int32_t id, std::vector<int32_t> tokens) { slot(id).tokens = std::move(tokens); }

  int64_t n_seq_max() const { return int64_t(slots_.size()); }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_active() const;
  KvType k_type() const { return k_type_; }
  KvType v_type() const { return v_type_; }

 private:
  struct Slot {
    bool used = false;
    std::unique_ptr<KvCache> kv;  // allocated on first use, kept after remove
    std::unique_ptr<RecurrentState> rs;  // likewise, when the model has recurrent layers
    std::vector<int32_t> tokens;
  };
  Slot& slot(int32_t id);
  const Slot& slot(int32_t id) const;
  void open(int32_t id);

  int64_t n_layer_, n_ctx_, k_elems_, v_elems_;
  KvType k_type_, v_type_;
  std::vector<RecurrentLayerShape> recurrent_;
  std::vector<Slot> slots_;
};

}  // namespace trident
