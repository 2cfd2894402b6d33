// An evaluation context over a Model: a pool of sequences (each with its own KV cache) and the
// work buffers of the forward pass.
//
// Batching model: Context::decode runs every row of a Batch through the projections and
// feed-forward layers together (one activation quantization and one pass over each weight
// matrix per micro-batch of n_ubatch rows), while attention of each row reads only its own
// sequence's cache, causally up to the row's position. A row's logits are bit-identical to what
// the same sequence gets evaluated alone, whatever else shares the batch (docs/api.md).
//
// Sequences: up to n_seq_max exist at once, each holding up to n_ctx positions (per-sequence
// context: llama-server's -c 8192 -np 4 is n_ctx 2048, n_seq_max 4 here). The pool is checked
// against the memory budget when the Context is made; a sequence's memory is touched only as
// its positions are filled.
//
// Thread-safety: a Context is not thread-safe; call it from one thread at a time (a server runs
// one loop that owns it). Different Contexts may run in parallel on one Model.
#pragma once
#include <trident/batch.h>
#include <trident/error.h>
#include <trident/model.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace trident::api {

enum class KvType { F32, F16 };
enum class Fusion { Off, On, Auto };  // fused Q/K/V and gate/up projections; same bits each way

struct ContextOptions {
  int64_t n_ctx = 0;       // positions per sequence; 0: the training context, at most 4096
  int64_t n_seq_max = 1;   // sequences at once, 1..1024
  int64_t n_ubatch = 512;  // rows per forward micro-batch (at most n_ctx)
  int n_threads = 0;       // 0: every core
  KvType k_type = KvType::F16;
  KvType v_type = KvType::F16;
  Fusion fuse_qkv = Fusion::Auto;
  Fusion fuse_gate_up = Fusion::Auto;
  bool verbose = false;    // fusion verdicts on stderr
};

struct PrefixMatch {
  SeqId seq = -1;        // -1: no sequence shares even the first token
  int64_t n_tokens = 0;  // leading tokens shared
};

class Context {
 public:
  // Throws Error for invalid options (n_ctx, n_seq_max, n_ubatch, threads) or a pool over the
  // memory budget. No sequence exists yet.
  explicit Context(const Model& model, const ContextOptions& opt = {});
  ~Context();
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;

  int64_t n_ctx() const;      // per sequence, after defaults
  int64_t n_seq_max() const;
  int64_t n_ubatch() const;
  int n_threads() const;
  int64_t n_vocab() const;
  const Model& model() const;

  // --- sequences ---
  // The lowest free id. Throws Error "no free sequence: all N are in use ..." when full.
  SeqId seq_create();
  // Frees the id for reuse. Throws Error "sequence ID does not exist".
  void seq_remove(SeqId s);
  void seq_clear(SeqId s);  // keeps the sequence, drops all its positions
  // Keeps positions [0, n): the next row continues at n (prefix reuse, undoing a draft, editing
  // a conversation). Throws Error for an unknown sequence or n > its length, or when
  // !seq_can_keep(s, n).
  void seq_truncate(SeqId s, int64_t n);
  // Whether seq_truncate / seq_copy_prefix may keep n of the sequence's positions: always, except
  // on a model with recurrent layers (Mamba, LFM2, ...), whose state sums up the whole sequence:
  // there only 0 or all of them. Callers reusing a prefix recompute from 0 otherwise.
  bool seq_can_keep(SeqId s, int64_t n) const;
  // A new sequence holding src's first n positions (K/V copied, no recomputation). Throws Error
  // for an unknown src, n > its length or a full pool.
  SeqId seq_copy_prefix(SeqId src, int64_t n);
  // The same into an existing sequence dst, whose positions are replaced (a server that keeps
  // one sequence per slot). Throws Error for unknown ids, dst == src or n > src's length.
  void seq_copy_prefix(SeqId src, int64_t n, SeqId dst);
  // The existing sequence whose tokens share the longest prefix with `tokens`. To reuse it for a
  // request, copy (or truncate to) at most tokens.size() - 1 positions so the last prompt token
  // is evaluated and yields logits. With recurrent layers only a sequence that is wholly a
  // prefix of `tokens` is offered.
  PrefixMatch seq_longest_prefix(std::span<const int32_t> tokens) const;
  bool seq_exists(SeqId s) const;
  int64_t seq_length(SeqId s) const;               // positions held; Error if unknown
  std::vector<int32_t> seq_tokens(SeqId s) const;  // the token of every position; Error if unknown
  int64_t n_seq_active() const;

  // Writes the sequence's tokens and K/V rows to `path` (a temporary file renamed into place;
  // an existing file is replaced). Throws Error naming the path on a write failure.
  void seq_save(SeqId s, const std::string& path) const;
  // A new sequence from a file seq_save wrote. Throws Error naming the file when it is not a
  // sequence file, is truncated, was saved from another model, has other K/V types, does not
  // fit n_ctx, or the pool is full.
  SeqId seq_restore(const std::string& path);

  // --- evaluation ---
  // Evaluates the batch (see batch.h for the row rules). logits receives [rows that asked,
  // n_vocab] in row order. Every row is checked before anything is computed; on Error (a row's
  // token outside the vocabulary, unknown sequence, wrong position, full sequence, arrays of
  // different lengths) no sequence changes.
  void decode(const Batch& batch, std::vector<float>& logits);
  std::vector<float> decode(const Batch& batch);
  // As decode, but each row that asks gets the model's final hidden state instead of logits: the
  // output norm's result that the output projection would read (what llama.cpp returns as
  // embeddings; pool and normalize them for a sentence embedding). hidden receives
  // [rows that asked, Model::n_embd()] in row order. Same checks and effects as decode.
  void decode_hidden(const Batch& batch, std::vector<float>& hidden);

  // Fusion modes and every verdict measured so far, one per line.
  std::string fusion_report() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trident::api
