// Scalar references of the recurrent ops (definitions in recurrent.h), written as the
// definitions read, plus the row helpers. The SIMD variants must equal these bit for bit.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/exp_poly.h"
#include "kernels/ops.h"
#include "kernels/recurrent_impl.h"

namespace trident {

void short_conv_store_state(const ShortConv& cv, const ShortConvRows& io, int64_t c0, int64_t c1) {
  const int64_t n_state = cv.d_conv - 1;
  for (int64_t r = 0; r < n_state; ++r) {
    const int64_t p = io.n_tokens + r - n_state;
    const float* src = p >= 0 ? io.x + p * io.x_stride : io.state + (p + n_state) * cv.n_ch;
    std::memmove(io.state + r * cv.n_ch + c0, src + c0, size_t(c1 - c0) * sizeof(float));
  }
}

void short_conv_reference(const ShortConv& cv, const ShortConvRows& io, int64_t c0, int64_t c1) {
  const int64_t n_state = cv.d_conv - 1;
  for (int64_t t = 0; t < io.n_tokens; ++t)
    for (int64_t c = c0; c < c1; ++c) {
      float acc = 0.0f;
      for (int64_t k = 0; k < cv.d_conv; ++k) {
        const int64_t p = t + k - n_state;  // input position; before the call: the state
        const float in = p >= 0 ? io.x[p * io.x_stride + c] : io.state[(p + n_state) * cv.n_ch + c];
        acc = std::fma(cv.w[k * cv.n_ch + c], in, acc);
      }
      io.y[t * io.y_stride + c] = cv.bias ? acc + cv.bias[c] : acc;
    }
  short_conv_store_state(cv, io, c0, c1);
}

void conv_weight_time_major(const float* file_w, int64_t n_ch, int d_conv, float* out) {
  for (int64_t c = 0; c < n_ch; ++c)
    for (int k = 0; k < d_conv; ++k) out[k * n_ch + c] = file_w[c * d_conv + k];
}

float softplus(float v) { return v > 20.0f ? v : std::log(1.0f + std::exp(v)); }

void ssm_scan_reference(const SsmScan& op, const SsmScanRows& io, int64_t h0, int64_t h1) {
  std::vector<float> decay(size_t(op.d_state));
  for (int64_t t = 0; t < io.n_tokens; ++t) {
    const float* x = io.x + t * io.x_stride;
    float* y = io.y + t * io.y_stride;
    for (int64_t h = h0; h < h1; ++h) {
      const ScanStep st = rec_scan_step(op, io, t, h);
      for (int64_t n = 0; n < op.d_state; ++n)
        decay[size_t(n)] = op.a_per_state ? exp_poly(st.dt_sp * op.A[h * op.d_state + n]) : std::exp(st.dt_sp * op.A[h]);
      for (int64_t p = 0; p < op.head_dim; ++p) {
        const int64_t ch = h * op.head_dim + p;
        const float x_dt = x[ch] * st.dt_sp;
        float* s = io.state + ch * op.d_state;
        for (int64_t n = 0; n < op.d_state; ++n) {
          const float kept = s[n] * decay[size_t(n)];
          const float added = st.B[n] * x_dt;
          s[n] = kept + added;
        }
        y[ch] = rec_scan_out(op, rec_dot16(s, st.C, op.d_state), x[ch], h);
      }
    }
  }
}

namespace {

// One (token, value head) step of the delta rule on the head's state M, after its decay:
// delta = (v - M k) * beta; M += k delta^T; out = M q * scale.
void delta_rule_update(const DeltaStep& st, int64_t dk, int64_t dv, float scale, float* delta) {
  float* M = st.state;
  for (int64_t j = 0; j < dv; ++j) delta[j] = (st.v[j] - rec_dot16(M + j * dk, st.k, dk)) * st.beta;
  for (int64_t j = 0; j < dv; ++j)
    for (int64_t i = 0; i < dk; ++i) M[j * dk + i] = std::fma(st.k[i], delta[j], M[j * dk + i]);
  for (int64_t j = 0; j < dv; ++j) st.out[j] = rec_dot16(M + j * dk, st.q, dk) * scale;
}

}  // namespace

void delta_net_reference(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1) {
  const int64_t dk = op.head_k_dim, dv = op.head_v_dim;
  std::vector<float> delta(static_cast<size_t>(dv));
  for (int64_t t = 0; t < io.n_tokens; ++t)
    for (int64_t h = h0; h < h1; ++h) {
      const DeltaStep st = rec_delta_step(op, io, t, h);
      for (int64_t e = 0; e < dv * dk; ++e) st.state[e] = st.state[e] * st.decay;
      delta_rule_update(st, dk, dv, rec_delta_scale(op), delta.data());
    }
}

void kda_reference(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1) {
  const int64_t dk = op.head_k_dim, dv = op.head_v_dim;
  std::vector<float> delta(static_cast<size_t>(dv)), decay(static_cast<size_t>(dk));
  for (int64_t t = 0; t < io.n_tokens; ++t)
    for (int64_t h = h0; h < h1; ++h) {
      rec_kda_decay(op, io, t, h, decay.data());
      const DeltaStep st = rec_delta_step(op, io, t, h, decay.data());
      for (int64_t j = 0; j < dv; ++j)
        for (int64_t i = 0; i < dk; ++i) st.state[j * dk + i] = st.state[j * dk + i] * decay[size_t(i)];
      delta_rule_update(st, dk, dv, rec_delta_scale(op), delta.data());
    }
}

void l2_norm(const float* x, float* y, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i] * x[i]);
  const float scale = 1.0f / std::fmax(std::sqrt(float(sum)), eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
}

void split_query_gate(const float* q_full, int64_t n_head, int64_t head_dim, float* q, float* gate) {
  for (int64_t h = 0; h < n_head; ++h) {
    std::memcpy(q + h * head_dim, q_full + 2 * h * head_dim, size_t(head_dim) * sizeof(float));
    std::memcpy(gate + h * head_dim, q_full + (2 * h + 1) * head_dim, size_t(head_dim) * sizeof(float));
  }
}

void sigmoid_gate_mul(float* x, const float* gate, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] * sigmoid(gate[i]);
}

void delta_net_gates(const float* a, const float* b, const float* dt_bias, const float* ssm_a,
                     int64_t n, float* g, float* beta) {
  for (int64_t i = 0; i < n; ++i) {
    beta[i] = sigmoid(b[i]);
    g[i] = softplus(a[i] + dt_bias[i]) * ssm_a[i];
  }
}

void group_rms_norm(const float* x, const float* w, bool w_shared, float* y, int64_t n,
                    int64_t group, float eps) {
  for (int64_t g0 = 0; g0 < n; g0 += group) rms_norm(x + g0, w_shared ? w : w + g0, y + g0, group, eps);
}

void gated_rms_norm(const float* x, const float* w, bool w_shared, const float* z, float* y,
                    int64_t n, int64_t group, float eps) {
  group_rms_norm(x, w, w_shared, y, n, group, eps);
  kernel_table().silu_glu(z, y, y, n);
}

}  // namespace trident
