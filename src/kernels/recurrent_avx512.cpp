// AVX-512 recurrent kernels. Each follows its reference in recurrent_ref.cpp operation for
// operation: the short convolution puts 16 channels in the lanes of one register (one fma-chain
// per lane, as the reference's per channel); the scans put 16 state elements in the lanes, which
// are exactly dot16's sixteen lanes, and rec_reduce16's additions finish each sum. Tails use
// masked loads whose zeros leave the lane sums unchanged. So every result equals the
// reference's bits.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cmath>
#include <cstdlib>

#include "kernels/dot_register.h"
#include "kernels/exp_avx512.h"
#include "kernels/recurrent_impl.h"

namespace trident {
namespace {

inline __mmask16 mask16(int64_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

// rec_reduce16 of one register.
inline float reduce16(__m512 v) {
  const __m256 w = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 u = _mm_add_ps(_mm256_castps256_ps128(w), _mm256_extractf128_ps(w, 1));
  const __m128 s = _mm_add_ps(u, _mm_movehl_ps(u, u));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

void short_conv(const ShortConv& cv, const ShortConvRows& io, int64_t c0, int64_t c1) {
  const int64_t n_state = cv.d_conv - 1;
  for (int64_t c = c0; c < c1; c += 16) {
    const __mmask16 m = mask16(c1 - c);
    for (int64_t t = 0; t < io.n_tokens; ++t) {
      __m512 acc = _mm512_setzero_ps();
      for (int64_t k = 0; k < cv.d_conv; ++k) {
        const int64_t p = t + k - n_state;
        const float* in = p >= 0 ? io.x + p * io.x_stride : io.state + (p + n_state) * cv.n_ch;
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, cv.w + k * cv.n_ch + c), _mm512_maskz_loadu_ps(m, in + c), acc);
      }
      if (cv.bias) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, cv.bias + c));
      _mm512_mask_storeu_ps(io.y + t * io.y_stride + c, m, acc);
    }
  }
  short_conv_store_state(cv, io, c0, c1);
}

// One channel of head h, any d_state: s = s * decay + B * x_dt; returns dot16(s, C). decay is
// the head's (Mamba-2) or exp16(dt_sp * A[h][n]) (Mamba-1).
float scan_channel(const SsmScan& op, const ScanStep& st, int64_t h, float* s, float x_dt, __m512 head_decay) {
  const int64_t ds = op.d_state;
  const __m512 vdt = _mm512_set1_ps(st.dt_sp), vx_dt = _mm512_set1_ps(x_dt);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t n = 0; n < ds; n += 16) {
    const __mmask16 m = mask16(ds - n);
    const __m512 decay =
        op.a_per_state ? exp16(_mm512_mul_ps(vdt, _mm512_maskz_loadu_ps(m, op.A + h * ds + n))) : head_decay;
    const __m512 kept = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + n), decay);
    const __m512 added = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, st.B + n), vx_dt);
    const __m512 sn = _mm512_maskz_add_ps(m, kept, added);
    _mm512_mask_storeu_ps(s + n, m, sn);
    acc = _mm512_fmadd_ps(sn, _mm512_maskz_loadu_ps(m, st.C + n), acc);
  }
  return reduce16(acc);
}

// Mamba-2 with d_state a multiple of 16: four channels at once, their fma-chains interleaved
// (one channel's chain is latency-bound); each channel's operations are scan_channel's.
void scan_channels4(const SsmScan& op, const SsmScanRows& io, const ScanStep& st, int64_t h, int64_t p, const float* x,
                    float* y, __m512 decay) {
  constexpr int R = 4;
  float* s[R];
  __m512 x_dt[R], acc[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const int64_t ch = h * op.head_dim + p + r;
    s[r] = io.state + ch * op.d_state;
    x_dt[r] = _mm512_set1_ps(x[ch] * st.dt_sp);
    acc[r] = _mm512_setzero_ps();
  }
  for (int64_t n = 0; n < op.d_state; n += 16) {
    const __m512 B = _mm512_loadu_ps(st.B + n), C = _mm512_loadu_ps(st.C + n);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 sn = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(s[r] + n), decay), _mm512_mul_ps(B, x_dt[r]));
      _mm512_storeu_ps(s[r] + n, sn);
      acc[r] = _mm512_fmadd_ps(sn, C, acc[r]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const int64_t ch = h * op.head_dim + p + r;
    y[ch] = rec_scan_out(op, reduce16(acc[r]), x[ch], h);
  }
}

// Mamba-1 (one channel per head, A per state) with d_state a multiple of 16: four heads at
// once, their exp16 and fma-chains interleaved; each head's operations are scan_channel's.
void scan_heads4_mamba1(const SsmScan& op, const SsmScanRows& io, int64_t t, int64_t h) {
  constexpr int R = 4;
  const int64_t ds = op.d_state;
  const float* x = io.x + t * io.x_stride;
  ScanStep st[R];
  __m512 vdt[R], x_dt[R], acc[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    st[r] = rec_scan_step(op, io, t, h + r);
    vdt[r] = _mm512_set1_ps(st[r].dt_sp);
    x_dt[r] = _mm512_set1_ps(x[h + r] * st[r].dt_sp);
    acc[r] = _mm512_setzero_ps();
  }
  for (int64_t n = 0; n < ds; n += 16)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      float* s = io.state + (h + r) * ds + n;
      const __m512 decay = exp16(_mm512_mul_ps(vdt[r], _mm512_loadu_ps(op.A + (h + r) * ds + n)));
      const __m512 sn = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(s), decay), _mm512_mul_ps(_mm512_loadu_ps(st[r].B + n), x_dt[r]));
      _mm512_storeu_ps(s, sn);
      acc[r] = _mm512_fmadd_ps(sn, _mm512_loadu_ps(st[r].C + n), acc[r]);
    }
  float* y = io.y + t * io.y_stride;
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) y[h + r] = rec_scan_out(op, reduce16(acc[r]), x[h + r], h + r);
}

// Mamba-2 prompts with d_state = 16 NV: each channel's state stays in registers across the
// tokens, two channels at a time (a decode step reloads it anyway). Each channel's operations and
// their order are scan_channel's, token after token.
template <int NV>
void scan_tokens_mamba2(const SsmScan& op, const SsmScanRows& io, int64_t h, float* dt_sp, float* decay) {
  for (int64_t t = 0; t < io.n_tokens; ++t) {  // per token of this head, as rec_scan_step
    dt_sp[t] = rec_scan_step(op, io, t, h).dt_sp;
    decay[t] = std::exp(dt_sp[t] * op.A[h]);
  }
  int64_t p = 0;
  for (; p + 2 <= op.head_dim; p += 2) {
    const int64_t ch0 = h * op.head_dim + p;
    __m512 s[2][NV];
#pragma GCC unroll 16
    for (int i = 0; i < 2 * NV; ++i) s[i / NV][i % NV] = _mm512_loadu_ps(io.state + ch0 * 16 * NV + 16 * i);
    for (int64_t t = 0; t < io.n_tokens; ++t) {
      const int64_t g = h / (op.n_head / op.n_group);  // rec_scan_step's, without its softplus again
      const ScanStep st = {dt_sp[t], io.B + t * io.b_stride + g * 16 * NV, io.C + t * io.c_stride + g * 16 * NV};
      const float* x = io.x + t * io.x_stride;
      const __m512 vdecay = _mm512_set1_ps(decay[t]);
      const __m512 x_dt[2] = {_mm512_set1_ps(x[ch0] * st.dt_sp), _mm512_set1_ps(x[ch0 + 1] * st.dt_sp)};
      __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
#pragma GCC unroll 16
      for (int i = 0; i < NV; ++i) {
        const __m512 B = _mm512_loadu_ps(st.B + 16 * i), C = _mm512_loadu_ps(st.C + 16 * i);
#pragma GCC unroll 2
        for (int r = 0; r < 2; ++r) {
          s[r][i] = _mm512_add_ps(_mm512_mul_ps(s[r][i], vdecay), _mm512_mul_ps(B, x_dt[r]));
          acc[r] = _mm512_fmadd_ps(s[r][i], C, acc[r]);
        }
      }
      float* y = io.y + t * io.y_stride;
      y[ch0] = rec_scan_out(op, reduce16(acc[0]), x[ch0], h);
      y[ch0 + 1] = rec_scan_out(op, reduce16(acc[1]), x[ch0 + 1], h);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 2 * NV; ++i) _mm512_storeu_ps(io.state + ch0 * 16 * NV + 16 * i, s[i / NV][i % NV]);
  }
  for (; p < op.head_dim; ++p) {  // an odd channel: token by token from memory
    const int64_t ch = h * op.head_dim + p;
    for (int64_t t = 0; t < io.n_tokens; ++t) {
      const float* x = io.x + t * io.x_stride;
      const ScanStep st = rec_scan_step(op, io, t, h);
      const float dot = scan_channel(op, st, h, io.state + ch * op.d_state, x[ch] * st.dt_sp, _mm512_set1_ps(decay[t]));
      io.y[t * io.y_stride + ch] = rec_scan_out(op, dot, x[ch], h);
    }
  }
}

void ssm_scan(const SsmScan& op, const SsmScanRows& io, int64_t h0, int64_t h1) {
  const bool blocks = op.d_state % 16 == 0;
  auto head = [&](const ScanStep& st, int64_t h, const float* x, float* y) {
    const __m512 decay = _mm512_set1_ps(op.a_per_state ? 0.0f : std::exp(st.dt_sp * op.A[h]));
    int64_t p = 0;
    if (blocks && !op.a_per_state)
      for (; p + 4 <= op.head_dim; p += 4) scan_channels4(op, io, st, h, p, x, y, decay);
    for (; p < op.head_dim; ++p) {
      const int64_t ch = h * op.head_dim + p;
      y[ch] = rec_scan_out(op, scan_channel(op, st, h, io.state + ch * op.d_state, x[ch] * st.dt_sp, decay), x[ch], h);
    }
  };
  if (!op.a_per_state && io.n_tokens > 1 && (op.d_state == 64 || op.d_state == 128)) {
    // softplus(dt) and the decay of each token. Plain malloc memory, not a std::vector: a std::
    // template instantiated in this file could be the copy the linker keeps for every file.
    struct Scratch {
      float* p = nullptr;
      size_t cap = 0;
      ~Scratch() { std::free(p); }
    };
    thread_local Scratch per_token;
    const size_t need = size_t(2 * io.n_tokens);
    if (need > per_token.cap) {
      std::free(per_token.p);
      per_token.p = static_cast<float*>(std::malloc(need * sizeof(float)));
      per_token.cap = per_token.p ? need : 0;
      if (!per_token.p) std::abort();  // 8 bytes per token of a micro-batch
    }
    for (int64_t h = h0; h < h1; ++h)
      op.d_state == 64 ? scan_tokens_mamba2<4>(op, io, h, per_token.p, per_token.p + io.n_tokens)
                       : scan_tokens_mamba2<8>(op, io, h, per_token.p, per_token.p + io.n_tokens);
    return;
  }
  if (!(blocks && op.a_per_state && op.head_dim == 1)) return rec_scan_heads(op, io, h0, h1, head);
  for (int64_t t = 0; t < io.n_tokens; ++t) {
    int64_t h = h0;
    for (; h + 4 <= h1; h += 4) scan_heads4_mamba1(op, io, t, h);
    for (; h < h1; ++h) head(rec_scan_step(op, io, t, h), h, io.x + t * io.x_stride, io.y + t * io.y_stride);
  }
}

// One row of the delta rule, any head_k_dim: row *= decay (kda: decay_k[i] per channel);
// delta = (v - dot16(row, k)) * beta; row += k * delta; returns dot16(row, q).
float delta_row(float* row, const DeltaStep& st, int64_t j, int64_t dk) {
  const __m512 decay = _mm512_set1_ps(st.decay);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < dk; i += 16) {
    const __mmask16 m = mask16(dk - i);
    const __m512 d = st.decay_k ? _mm512_maskz_loadu_ps(m, st.decay_k + i) : decay;
    const __m512 r = _mm512_maskz_mul_ps(m, _mm512_maskz_loadu_ps(m, row + i), d);
    _mm512_mask_storeu_ps(row + i, m, r);
    acc = _mm512_fmadd_ps(r, _mm512_maskz_loadu_ps(m, st.k + i), acc);
  }
  const __m512 delta = _mm512_set1_ps((st.v[j] - reduce16(acc)) * st.beta);
  acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < dk; i += 16) {
    const __mmask16 m = mask16(dk - i);
    const __m512 r =
        _mm512_maskz_fmadd_ps(m, _mm512_maskz_loadu_ps(m, st.k + i), delta, _mm512_maskz_loadu_ps(m, row + i));
    _mm512_mask_storeu_ps(row + i, m, r);
    acc = _mm512_fmadd_ps(r, _mm512_maskz_loadu_ps(m, st.q + i), acc);
  }
  return reduce16(acc);
}

// The same steps for R rows j.. at once with head_k_dim = 16 NV: k and q (kda: and the decays)
// stay in registers and the R rows' fma-chains interleave (one row's chain is a latency-bound
// sequence). Each row's operations are delta_row's, in its order.
template <int NV, int R, bool PerChannel>
inline void delta_rows_fixed(const DeltaStep& st, int64_t j, const __m512 (&k)[NV], const __m512 (&q)[NV],
                             const __m512 (&dec)[NV], float scale) {
  const __m512 decay = _mm512_set1_ps(st.decay);
  float* row[R];
  __m512 acc[R], delta[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) row[r] = st.state + (j + r) * 16 * NV, acc[r] = _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int i = 0; i < NV; ++i)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_mul_ps(_mm512_loadu_ps(row[r] + 16 * i), PerChannel ? dec[i] : decay);
      _mm512_storeu_ps(row[r] + 16 * i, x);
      acc[r] = _mm512_fmadd_ps(x, k[i], acc[r]);
    }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    delta[r] = _mm512_set1_ps((st.v[j + r] - reduce16(acc[r])) * st.beta);
    acc[r] = _mm512_setzero_ps();
  }
#pragma GCC unroll 16
  for (int i = 0; i < NV; ++i)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_fmadd_ps(k[i], delta[r], _mm512_loadu_ps(row[r] + 16 * i));
      _mm512_storeu_ps(row[r] + 16 * i, x);
      acc[r] = _mm512_fmadd_ps(x, q[i], acc[r]);
    }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) st.out[j + r] = reduce16(acc[r]) * scale;
}

template <int NV, bool PerChannel>
void delta_head_fixed(const DeltaStep& st, int64_t dv, float scale) {
  __m512 k[NV], q[NV], dec[NV];
#pragma GCC unroll 16
  for (int i = 0; i < NV; ++i) {
    k[i] = _mm512_loadu_ps(st.k + 16 * i), q[i] = _mm512_loadu_ps(st.q + 16 * i);
    dec[i] = PerChannel ? _mm512_loadu_ps(st.decay_k + 16 * i) : _mm512_setzero_ps();
  }
  int64_t j = 0;
  for (; j + 4 <= dv; j += 4) delta_rows_fixed<NV, 4, PerChannel>(st, j, k, q, dec, scale);
  for (; j < dv; ++j) delta_rows_fixed<NV, 1, PerChannel>(st, j, k, q, dec, scale);
}

// One (token, value head) step, either kind of decay.
template <bool PerChannel>
void delta_head(const DeltaStep& st, int64_t dk, int64_t dv, float scale) {
  switch (dk) {  // the head sizes of the Qwen3-Next / Qwen3.5 / Kimi-Linear files
    case 64: return delta_head_fixed<4, PerChannel>(st, dv, scale);
    case 128: return delta_head_fixed<8, PerChannel>(st, dv, scale);
    default:
      for (int64_t j = 0; j < dv; ++j) st.out[j] = delta_row(st.state + j * dk, st, j, dk) * scale;
  }
}

void delta_net(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1) {
  rec_delta_kernel<false>(op, io, h0, h1, delta_head<false>);
}

void kda(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1) {
  rec_delta_kernel<true>(op, io, h0, h1, delta_head<true>);
}

}  // namespace

__attribute__((target("arch=x86-64"))) void register_recurrent_avx512(KernelTable& t) {
  t.recurrent.short_conv = short_conv;
  t.recurrent.ssm_scan = ssm_scan;
  t.recurrent.delta_net = delta_net;
  t.recurrent.kda = kda;
}

}  // namespace trident
