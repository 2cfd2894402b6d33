// An inference session: a pool of sequences (each with its KV cache) and work buffers over a
// loaded Model. Evaluates batches of rows from several sequences in micro-batches: every row
// goes through the projections and FFN together, attention reads each row's own sequence.
// eval() is the single-sequence form (sequence 0); decode is a micro-batch of one.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "model/model.h"
#include "runtime/fusion_plan.h"
#include "runtime/batch.h"
#include "runtime/kv_cache.h"
#include "runtime/recurrent_state.h"
#include "runtime/seq_pool.h"

namespace trident {

struct ShortConv;

struct SessionOptions {
  int64_t n_ctx = 0;        // per sequence; 0: the model's training context, at most 4096
  int64_t n_seq_max = 1;    // sequences that may exist at once (1..kMaxSequences)
  int64_t n_ubatch = 512;
  int n_threads = 0;        // 0: every core
  KvType k_type = KvType::F16;
  KvType v_type = KvType::F16;
  FusionMode fuse_qkv = FusionMode::Auto;
  FusionMode fuse_gate_up = FusionMode::Auto;
  bool verbose = false;     // print fusion verdicts to stderr as they are made
  // Sees every projection's input (runtime/projection_run.h); not owned, outlives the session.
  ProjectionObserver* observer = nullptr;
};

class Session {
 public:
  // Throws Error on invalid options (n_ctx, n_ubatch, threads).
  Session(const Model& model, const SessionOptions& opt);
  ~Session();

  // The single-sequence form: sequence 0 (made on first use), for the CLI and the tests.
  // Evaluates `tokens` at positions n_past() onwards. logits receives [rows, n_vocab]: every
  // token's row when all_logits, else only the last token's. Throws Error for ids outside the
  // vocabulary or a context overflow (before computing anything).
  void eval(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits);
  int64_t n_past() const { return seqs_->exists(0) ? seqs_->length(0) : 0; }
  void reset() {
    if (seqs_->exists(0)) seqs_->truncate(0, 0);
  }

  // Evaluates a batch of rows of existing sequences (runtime/batch.h). logits receives
  // [rows that asked, n_vocab] in row order. Every row is checked before anything is computed
  // (Error: row, token id, sequence, position, context); then each row's K/V is stored in its
  // sequence and its token appended. A row's logits have the same bits whatever else the batch
  // holds (docs/api.md).
  void decode(const BatchView& batch, std::vector<float>& logits) { decode_rows(batch, logits, false); }
  // As decode, but a row that asks gets the output norm's result instead of logits (the hidden
  // state the output projection reads; llama.cpp's embeddings): [rows that asked, n_embd].
  void decode_hidden(const BatchView& batch, std::vector<float>& hidden) { decode_rows(batch, hidden, true); }
  SeqPool& seqs() { return *seqs_; }
  const SeqPool& seqs() const { return *seqs_; }
  // Sequence state files (runtime/seq_file.cpp): header (model identity, KV types, tokens) and
  // the K/V rows. save writes a temporary file and renames it; restore creates a new sequence
  // and throws Error naming the file when it is not one of ours, is damaged or is foreign.
  void save_sequence(int32_t id, const std::string& path) const;
  int32_t restore_sequence(const std::string& path);

  const Model& model() const { return model_; }
  const SessionOptions& options() const { return opt_; }
  const FusionPlan& fusion() const { return fusion_; }
  FusionPlan& fusion() { return fusion_; }
  int n_threads() const { return opt_.n_threads; }

 private:
  struct Buffers;
  int64_t check_batch(const BatchView& batch) const;
  void decode_rows(const BatchView& batch, std::vector<float>& out, bool hidden);
  void forward_ubatch(int64_t n, const uint8_t* want, float* logits);
  void keep_best_groups(float* sel);
  void embed(const int32_t* tokens, const int64_t* pos, int64_t n);
  void layer(int64_t l, int64_t n);
  void mixer_block(const LayerWeights& L, int64_t l, int64_t n);
  void attention_block(const LayerWeights& L, int64_t l, int64_t n);
  bool attention_free(const LayerWeights& L, int64_t n);
  static float attn_temperature(const HParams& h, int64_t pos);
  void attend(const LayerWeights& L, int64_t l, const float* q, int64_t q_stride);
  void mla_attention(const LayerWeights& L, int64_t l, int64_t n);  // runtime/mla.cpp
  void delta_net_block(const LayerWeights& L, int64_t l, int64_t n);  // runtime/delta_net_layer.cpp
  void kda_block(const LayerWeights& L, int64_t l, int64_t n);        // runtime/kda_layer.cpp
  // Recurrent mixers (runtime/recurrent_layers.cpp): b.cur -> b.out, carrying each sequence's state.
  void recurrent_block(const LayerWeights& L, int64_t l, int64_t n);
  void conv_tiles(const ShortConv& cv, int64_t l, const float* x, int64_t x_stride, float* y);
  void short_conv_block(const LayerWeights& L, int64_t l, int64_t n);
  void mamba_block(const LayerWeights& L, int64_t l, int64_t n);
  void ffn(const LayerWeights& L, int64_t n);  // dense or MoE
  void ffn_block(const LayerWeights& L, int64_t n);
  void qk_norm(float* x, const float* w, const float* bias, int64_t heads, int64_t head_dim) const;
  // Per-layer inputs (runtime/per_layer_inputs.cpp): every layer's input rows from the tokens and
  // the scaled embeddings, then one layer's gated addition to the residual stream.
  void per_layer_inputs(int64_t n);
  void per_layer_block(const LayerWeights& L, int64_t l, int64_t n);
  // out = act(gate) * up over n values, with the architecture's activation.
  void gated_act(const float* gate, const float* up, float* out, int64_t n) const;
  void moe_block(const LayerWeights& L, int64_t n);
  void weigh_experts(int64_t n, bool weighted, float* out, int64_t width);
  // An expert's (or the shared experts') activated hidden rows: x [m, width] -> b.act [m, nf],
  // through up alone (Plain rows) or gate and up.
  void expert_hidden(const ProjectionGroup& g, const float* x, int64_t width, int64_t m, int64_t nf);
  // x = act(x) over n values: a Plain FFN's activation.
  void plain_act(float* x, int64_t n) const;
  void add_residual(float* out, int64_t n);
  void norm_rows(const float* w, const float* b, const float* x, float* y, int64_t n);
  void norm_vec(const float* w, const float* b, const float* x, float* y, int64_t n) const;
  void output_logits(const uint8_t* want, int64_t n, float* logits);

  const Model& model_;
  SessionOptions opt_;
  FusionPlan fusion_;
  ComputeContext cc_;
  ActivationScratch scratch_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<SeqPool> seqs_;
  std::unique_ptr<Buffers> buf_;
    bool hidden_out_ = false;  // output_logits stops after the norm (decode_hidden)
};

}  // namespace trident
