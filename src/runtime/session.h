// An inference session: a KV cache and work buffers over a loaded Model. Evaluates tokens in
// micro-batches; decode is a micro-batch of one.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "model/model.h"
#include "runtime/fusion_plan.h"
#include "runtime/kv_cache.h"

namespace trident {

struct SessionOptions {
  int64_t n_ctx = 0;        // 0: the model's training context, at most 4096
  int64_t n_ubatch = 512;
  int n_threads = 0;        // 0: every core
  KvType k_type = KvType::F16;
  KvType v_type = KvType::F16;
  FusionMode fuse_qkv = FusionMode::Auto;
  FusionMode fuse_gate_up = FusionMode::Auto;
  bool verbose = false;     // print fusion verdicts to stderr as they are made
};

class Session {
 public:
  // Throws Error on invalid options (n_ctx, n_ubatch, threads).
  Session(const Model& model, const SessionOptions& opt);
  ~Session();

  // Evaluates `tokens` at positions n_past() onwards. logits receives [rows, n_vocab]: every
  // token's row when all_logits, else only the last token's. Throws Error for ids outside the
  // vocabulary or a context overflow (before computing anything).
  void eval(std::span<const int32_t> tokens, bool all_logits, std::vector<float>& logits);
  int64_t n_past() const { return n_past_; }
  void reset() { n_past_ = 0; }

  const Model& model() const { return model_; }
  const SessionOptions& options() const { return opt_; }
  const FusionPlan& fusion() const { return fusion_; }
  FusionPlan& fusion() { return fusion_; }
  int n_threads() const { return opt_.n_threads; }

 private:
  struct Buffers;
  void forward_ubatch(const int32_t* tokens, int64_t n, int64_t pos0, float* logits, bool all_logits);
  void embed(const int32_t* tokens, int64_t n);
  void layer(int64_t l, int64_t n, int64_t pos0);
  void attention_block(const LayerWeights& L, int64_t l, int64_t n, int64_t pos0);
  void ffn_block(const LayerWeights& L, int64_t n);
  // out = act(gate) * up over n values, with the architecture's activation.
  void gated_act(const float* gate, const float* up, float* out, int64_t n) const;
  void moe_block(const LayerWeights& L, int64_t n);
  void weigh_experts(int64_t n);
  void add_residual(float* out, int64_t n);
  void norm_rows(const float* w, const float* b, const float* x, float* y, int64_t n);
  void output_logits(int64_t first_row, int64_t n_rows, float* logits);

  const Model& model_;
  SessionOptions opt_;
  FusionPlan fusion_;
  ComputeContext cc_;
  ActivationScratch scratch_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<KvCache> kv_;
  std::unique_ptr<Buffers> buf_;
  int64_t n_past_ = 0;
};

}  // namespace trident
