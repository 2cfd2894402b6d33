// Sparse mixture-of-experts feed-forward: route each token to its top-k experts, run every
// expert once over the tokens routed to it, then sum each token's weighted expert outputs in
// rank order. Each expert row is computed by the same matmul whatever tokens share the call.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "kernels/ops.h"
#include "runtime/session.h"
#include "runtime/session_buffers.h"

namespace trident {
namespace {

// Marks the projections run in its scope as one expert's over its routed tokens, which an
// observer counts per expert (llama.cpp's imatrix counts MUL_MAT_ID rows so).
class RoutedCalls {
 public:
  explicit RoutedCalls(ComputeContext& cc) : cc_(cc) { cc_.routed = true; }
  ~RoutedCalls() { cc_.routed = false; }
  RoutedCalls(const RoutedCalls&) = delete;
  RoutedCalls& operator=(const RoutedCalls&) = delete;

 private:
  ComputeContext& cc_;
};

}  // namespace

void Session::moe_block(const LayerWeights& L, int64_t n) {
  const HParams& h = model_.hp();
  Buffers& b = *buf_;
  const int64_t ne = h.n_expert, k = h.n_expert_used, nf = h.n_ff_expert, d = h.n_embd;
  const bool latent = !L.latent_down.segments.empty();
  const int64_t dm = latent ? h.n_embd_moe : d;  // the experts' width

  // Routing, as llama.cpp's build_moe_ffn: gate the logits (softmax, sigmoid, or none until
  // after the choice); choose the top k by score plus the selection bias (ties to the lower
  // id), from the best groups when experts are grouped; weigh by the unbiased gate values,
  // optionally renormalised (sum clamped below at F16's smallest normal) and scaled.
  // llama4 chooses by the raw logits and weighs the experts' inputs; smallthinker's router read
  // the block's input (Session::layer ran it).
  const ArchSpec& a = model_.arch();
  if (!a.router_on_layer_input) run_projection(L.router, b.cur.data(), d, n, b.router.data(), ne, cc_);
  std::vector<int32_t>& order = b.moe_order;
  std::vector<float>& sel = b.moe_sel;
  for (int64_t t = 0; t < n; ++t) {
    float* p = b.router.data() + t * ne;
    if (a.moe_weight_input) std::copy_n(p, ne, sel.data());
    if (h.gating == ExpertGating::Softmax)
      softmax_inplace(p, ne);
    else if (h.gating == ExpertGating::Sigmoid)
      for (int64_t e = 0; e < ne; ++e) p[e] = sigmoid(p[e]);
    if (!a.moe_weight_input)
      for (int64_t e = 0; e < ne; ++e) sel[size_t(e)] = L.expert_bias ? p[e] + L.expert_bias[e] : p[e];
    if (h.n_expert_groups > 1) keep_best_groups(sel.data());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return sel[size_t(x)] > sel[size_t(y)]; });
    float* w = b.chosen_w.data() + t * k;
    for (int64_t j = 0; j < k; ++j) {
      b.chosen[size_t(t * k + j)] = order[size_t(j)];
      w[j] = p[order[size_t(j)]];
    }
    if (h.gating == ExpertGating::SoftmaxWeight) softmax_inplace(w, k);
    if (h.expert_weights_norm) {
      float sum = 0.0f;
      for (int64_t j = 0; j < k; ++j) sum += w[j];
      sum = std::max(sum, 6.103515625e-5f);
      for (int64_t j = 0; j < k; ++j) w[j] /= sum;
    }
    if (h.expert_weights_scale != 0.0f && h.expert_weights_scale != 1.0f)
      for (int64_t j = 0; j < k; ++j) w[j] *= h.expert_weights_scale;
  }

  // nemotron_h: the experts run in a latent space (the router read the full-width input).
  const float* in = b.cur.data();
  if (latent) {
    run_projection(L.latent_down, b.cur.data(), d, n, b.moe_lat.data(), dm, cc_);
    in = b.moe_lat.data();
  }
  // Each expert over its tokens; output row (t, rank) goes to moe_y[t * k + rank]. Experts run
  // in rounds of as many routed rows as the buffers hold (moe_batch_rows >= n, so an expert's
  // rows always fit one round): a round's gate/up products share one parallel loop and its
  // down products another, so a decoded token's k small products do not each end in a
  // barrier where one thread waits for the other. Every product has the bits it has alone.
  const int64_t cap = b.moe_batch_rows;
  std::vector<int32_t>& count = b.moe_count;
  std::fill(count.begin(), count.end(), 0);
  for (int64_t i = 0; i < n * k; ++i) ++count[size_t(b.chosen[size_t(i)])];
  const bool gated = model_.arch().ffn != FfnKind::Plain;
  ProjectionBatch batch(cc_);
  for (int64_t e0 = 0; e0 < ne;) {
    // Gather the round's rows, expert by expert.
    int64_t rows = 0, e1 = e0;
    for (; e1 < ne && rows + count[size_t(e1)] <= cap; ++e1)
      for (int64_t t = 0; t < n; ++t)
        for (int64_t j = 0; j < k; ++j)
          if (b.chosen[size_t(t * k + j)] == e1) {
            b.moe_rows[size_t(rows)] = int32_t(t * k + j);
            std::memcpy(b.moe_x.data() + rows * dm, in + t * dm, sizeof(float) * size_t(dm));
            if (a.moe_weight_input)
              for (int64_t i = 0; i < dm; ++i) b.moe_x[size_t(rows * dm + i)] *= b.chosen_w[size_t(t * k + j)];
            ++rows;
          }
    const RoutedCalls routed(cc_);
    for (int64_t e = e0, r = 0; e < e1; r += count[size_t(e)], ++e) {
      const int64_t m = count[size_t(e)];
      if (m == 0) continue;
      const ProjectionGroup& g = L.expert_gate_up[size_t(e)];
      if (gated)
        batch.add_group(g, fusion_.fuse_gate_up(g, m, cc_), b.moe_x.data() + r * dm, dm, m, b.gu.data() + r * 2 * nf, 2 * nf);
      else
        batch.add_group(g, false, b.moe_x.data() + r * dm, dm, m, b.act.data() + r * nf, nf);
    }
    batch.run();
    if (gated)
      for (int64_t i = 0; i < rows; ++i)
        gated_act(b.gu.data() + i * 2 * nf, b.gu.data() + i * 2 * nf + nf, b.act.data() + i * nf, nf);
    else
      plain_act(b.act.data(), rows * nf);
    // Down-project into the gathered rows (their inputs are spent), then scatter to the
    // (token, rank) slots.
    for (int64_t e = e0, r = 0; e < e1; r += count[size_t(e)], ++e)
      if (count[size_t(e)] > 0)
        batch.add(L.expert_down[size_t(e)], b.act.data() + r * nf, nf, count[size_t(e)], b.moe_x.data() + r * dm, dm);
    batch.run();
    for (int64_t i = 0; i < rows; ++i)
      std::memcpy(b.moe_y.data() + int64_t(b.moe_rows[size_t(i)]) * dm, b.moe_x.data() + i * dm,
                  sizeof(float) * size_t(dm));
    e0 = e1;
  }

  if (latent) {  // the weighted sum in the latent space, then back to n_embd
    weigh_experts(n, !a.moe_weight_input, b.moe_lat.data(), dm);
    run_projection(L.latent_up, b.moe_lat.data(), dm, n, b.out.data(), d, cc_);
  } else {
    weigh_experts(n, !a.moe_weight_input, b.out.data(), d);
  }
  if (!L.shared_down.segments.empty()) {
    // Shared experts: a dense FFN on every token, added to the routed experts' sum.
    const int64_t nf_sh = h.n_ff_shared;
    expert_hidden(L.shared_gate_up, b.cur.data(), d, n, nf_sh);
    run_projection(L.shared_down, b.act.data(), nf_sh, n, b.moe_x.data(), d, cc_);
    if (!L.shared_gate.segments.empty()) {
      run_projection(L.shared_gate, b.cur.data(), d, n, b.router.data(), 1, cc_);
      for (int64_t t = 0; t < n; ++t) {
        const float g = sigmoid(b.router[size_t(t)]);
        for (int64_t i = 0; i < d; ++i) b.moe_x[size_t(t * d + i)] *= g;
      }
    }
    add_inplace(b.out.data(), b.moe_x.data(), n * d);
  }
}

// Grouped experts (DeepSeek V3): a group scores the sum of its two best selection scores; all
// but the best n_group_used groups are masked out.
void Session::keep_best_groups(float* sel) {
  const HParams& h = model_.hp();
  const int64_t ng = h.n_expert_groups, per = h.n_expert / ng;
  std::vector<float>& score = buf_->moe_group_score;
  for (int64_t g = 0; g < ng; ++g) {
    const float* s = sel + g * per;
    float a = -INFINITY, b2 = -INFINITY;
    for (int64_t i = 0; i < per; ++i) {
      if (s[i] > a) b2 = a, a = s[i];
      else if (s[i] > b2) b2 = s[i];
    }
    score[size_t(g)] = a + b2;
  }
  std::vector<int32_t>& groups = buf_->moe_group_order;
  std::iota(groups.begin(), groups.end(), 0);
  std::stable_sort(groups.begin(), groups.end(), [&](int32_t x, int32_t y) { return score[size_t(x)] > score[size_t(y)]; });
  for (int64_t r = h.n_group_used; r < ng; ++r)
    std::fill(sel + groups[size_t(r)] * per, sel + (groups[size_t(r)] + 1) * per, -INFINITY);
}

void Session::expert_hidden(const ProjectionGroup& g, const float* x, int64_t width, int64_t m, int64_t nf) {
  Buffers& b = *buf_;
  if (model_.arch().ffn == FfnKind::Plain) {
    run_group(g, false, x, width, m, b.act.data(), nf, cc_);
    return plain_act(b.act.data(), m * nf);
  }
  run_group(g, fusion_.fuse_gate_up(g, m, cc_), x, width, m, b.gu.data(), 2 * nf, cc_);
  for (int64_t i = 0; i < m; ++i)
    gated_act(b.gu.data() + i * 2 * nf, b.gu.data() + i * 2 * nf + nf, b.act.data() + i * nf, nf);
}

// out_rows[t] (d wide) = sum over ranks j of w[t, j] * y[t, j] (y[t, j] when the inputs were
// weighed), in rank order.
void Session::weigh_experts(int64_t n, bool weighted, float* out_rows, int64_t d) {
  const HParams& h = model_.hp();
  Buffers& b = *buf_;
  const int64_t k = h.n_expert_used;
  for (int64_t t = 0; t < n; ++t) {
    float* out = out_rows + t * d;
    for (int64_t j = 0; j < k; ++j) {
      const float w = weighted ? b.chosen_w[size_t(t * k + j)] : 1.0f;
      const float* y = b.moe_y.data() + (t * k + j) * d;
      if (j == 0)
        for (int64_t i = 0; i < d; ++i) out[i] = y[i] * w;
      else
        for (int64_t i = 0; i < d; ++i) out[i] += y[i] * w;
    }
  }
}

}  // namespace trident
