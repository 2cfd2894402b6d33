// AVX2 recurrent kernels, the AVX-512 file's arithmetic on 8-lane registers: the short
// convolution puts 8 channels in the lanes (one fma-chain per lane, as the reference's per
// channel); the scans hold dot16's sixteen lanes in two registers (elements i..i+7 and
// i+8..i+15 of each block of 16) and finish with rec_reduce16's additions. Tails are loaded
// through masks, as zeros that leave the lane sums unchanged. So every result equals the
// reference's bits (recurrent_ref.cpp).
#include <immintrin.h>

#include <cmath>

#include "kernels/dot_register.h"
#include "kernels/exp_avx2.h"
#include "kernels/recurrent_impl.h"

namespace trident {
namespace {

// The first n (may be <= 0 or >= 8) of 8 lanes.
inline __m256i mask8(int64_t n) {
  const int32_t k = int32_t(n < 0 ? 0 : n > 8 ? 8 : n);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256 load8(const float* p, int64_t n) {
  return n >= 8 ? _mm256_loadu_ps(p) : n <= 0 ? _mm256_setzero_ps() : _mm256_maskload_ps(p, mask8(n));
}
inline void store8(float* p, int64_t n, __m256 v) {
  if (n >= 8)
    _mm256_storeu_ps(p, v);
  else if (n > 0)
    _mm256_maskstore_ps(p, mask8(n), v);
}
// Zeros in the lanes past n.
inline __m256 keep8(__m256 v, int64_t n) { return n >= 8 ? v : _mm256_and_ps(v, _mm256_castsi256_ps(mask8(n))); }

// rec_reduce16 of lanes 0-7 (lo) and 8-15 (hi).
inline float reduce16(__m256 lo, __m256 hi) {
  const __m256 w = _mm256_add_ps(lo, hi);
  const __m128 u = _mm_add_ps(_mm256_castps256_ps128(w), _mm256_extractf128_ps(w, 1));
  const __m128 s = _mm_add_ps(u, _mm_movehl_ps(u, u));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

void short_conv(const ShortConv& cv, const ShortConvRows& io, int64_t c0, int64_t c1) {
  const int64_t n_state = cv.d_conv - 1;
  for (int64_t c = c0; c < c1; c += 8) {
    const int64_t nc = c1 - c;
    for (int64_t t = 0; t < io.n_tokens; ++t) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t k = 0; k < cv.d_conv; ++k) {
        const int64_t p = t + k - n_state;
        const float* in = p >= 0 ? io.x + p * io.x_stride : io.state + (p + n_state) * cv.n_ch;
        acc = _mm256_fmadd_ps(load8(cv.w + k * cv.n_ch + c, nc), load8(in + c, nc), acc);
      }
      if (cv.bias) acc = _mm256_add_ps(acc, load8(cv.bias + c, nc));
      store8(io.y + t * io.y_stride + c, nc, acc);
    }
  }
  short_conv_store_state(cv, io, c0, c1);
}

// One 8-element half of a scan block: the new state elements s[n..n+7] (first cnt), their
// product with C added to the lane sums.
inline void scan8(float* s, const float* A, const float* B, const float* C, int64_t cnt, bool a_per_state,
                  __m256 vdt, __m256 head_decay, __m256 x_dt, __m256& acc) {
  const __m256 decay = a_per_state ? exp8(_mm256_mul_ps(vdt, load8(A, cnt))) : head_decay;
  const __m256 sn = keep8(_mm256_add_ps(_mm256_mul_ps(load8(s, cnt), decay), _mm256_mul_ps(load8(B, cnt), x_dt)), cnt);
  store8(s, cnt, sn);
  acc = _mm256_fmadd_ps(sn, load8(C, cnt), acc);
}

void ssm_scan(const SsmScan& op, const SsmScanRows& io, int64_t h0, int64_t h1) {
  const int64_t ds = op.d_state;
  rec_scan_heads(op, io, h0, h1, [&](const ScanStep& st, int64_t h, const float* x, float* y) {
    const __m256 vdt = _mm256_set1_ps(st.dt_sp);
    const __m256 head_decay = _mm256_set1_ps(op.a_per_state ? 0.0f : std::exp(st.dt_sp * op.A[h]));
    const float* A = op.A + h * ds;  // read only when a_per_state
    for (int64_t p = 0; p < op.head_dim; ++p) {
      const int64_t ch = h * op.head_dim + p;
      const __m256 x_dt = _mm256_set1_ps(x[ch] * st.dt_sp);
      float* s = io.state + ch * ds;
      __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int64_t n = 0; n < ds; n += 8)
        scan8(s + n, A + n, st.B + n, st.C + n, ds - n, op.a_per_state, vdt, head_decay, x_dt, acc[n / 8 % 2]);
      y[ch] = rec_scan_out(op, reduce16(acc[0], acc[1]), x[ch], h);
    }
  });
}

// Decays one row of the state (row *= decay, kda: decay_k[i] per channel), then dot16(row, k).
inline float decay_dot(float* row, const float* k, int64_t dk, __m256 decay, const float* decay_k) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t i = 0; i < dk; i += 8) {
    const int64_t cnt = dk - i;
    const __m256 r = keep8(_mm256_mul_ps(load8(row + i, cnt), decay_k ? load8(decay_k + i, cnt) : decay), cnt);
    store8(row + i, cnt, r);
    acc[i / 8 % 2] = _mm256_fmadd_ps(r, load8(k + i, cnt), acc[i / 8 % 2]);
  }
  return reduce16(acc[0], acc[1]);
}

// row += k * delta, then dot16(row, q).
inline float update_dot(float* row, const float* k, const float* q, int64_t dk, __m256 delta) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t i = 0; i < dk; i += 8) {
    const int64_t cnt = dk - i;
    const __m256 r = keep8(_mm256_fmadd_ps(load8(k + i, cnt), delta, load8(row + i, cnt)), cnt);
    store8(row + i, cnt, r);
    acc[i / 8 % 2] = _mm256_fmadd_ps(r, load8(q + i, cnt), acc[i / 8 % 2]);
  }
  return reduce16(acc[0], acc[1]);
}

// decay_dot and update_dot for R rows j.. at once when head_k_dim is a multiple of 16: the R
// rows' fma-chains interleave (one row's chain is a latency-bound sequence). Each row's
// operations are the one-row functions', in their order.
template <int R, bool PerChannel>
inline void delta_rows_x16(const DeltaStep& st, int64_t j, int64_t dk, float scale) {
  const __m256 decay = _mm256_set1_ps(st.decay);
  float* row[R];
  __m256 acc[R][2], delta[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) row[r] = st.state + (j + r) * dk, acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t i = 0; i < dk; i += 8) {
    const __m256 k = _mm256_loadu_ps(st.k + i);
    const __m256 d = PerChannel ? _mm256_loadu_ps(st.decay_k + i) : decay;
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(row[r] + i), d);
      _mm256_storeu_ps(row[r] + i, x);
      acc[r][i / 8 % 2] = _mm256_fmadd_ps(x, k, acc[r][i / 8 % 2]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    delta[r] = _mm256_set1_ps((st.v[j + r] - reduce16(acc[r][0], acc[r][1])) * st.beta);
    acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < dk; i += 8) {
    const __m256 k = _mm256_loadu_ps(st.k + i), q = _mm256_loadu_ps(st.q + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_fmadd_ps(k, delta[r], _mm256_loadu_ps(row[r] + i));
      _mm256_storeu_ps(row[r] + i, x);
      acc[r][i / 8 % 2] = _mm256_fmadd_ps(x, q, acc[r][i / 8 % 2]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) st.out[j + r] = reduce16(acc[r][0], acc[r][1]) * scale;
}

// One (token, value head) step, either kind of decay.
template <bool PerChannel>
void delta_head(const DeltaStep& st, int64_t dk, int64_t dv, float scale) {
  int64_t j = 0;
  if (dk % 16 == 0)
    for (; j + 4 <= dv; j += 4) delta_rows_x16<4, PerChannel>(st, j, dk, scale);
  for (; j < dv; ++j) {  // row by row: each row's steps depend on that row only
    float* row = st.state + j * dk;
    const float delta = (st.v[j] - decay_dot(row, st.k, dk, _mm256_set1_ps(st.decay), st.decay_k)) * st.beta;
    st.out[j] = update_dot(row, st.k, st.q, dk, _mm256_set1_ps(delta)) * scale;
  }
}

void delta_net(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1) {
  rec_delta_kernel<false>(op, io, h0, h1, delta_head<false>);
}

void kda(const DeltaNet& op, const DeltaNetRows& io, int64_t h0, int64_t h1) {
  rec_delta_kernel<true>(op, io, h0, h1, delta_head<true>);
}

}  // namespace

__attribute__((target("arch=x86-64"))) void register_recurrent_avx2(KernelTable& t) {
  t.recurrent.short_conv = short_conv;
  t.recurrent.ssm_scan = ssm_scan;
  t.recurrent.delta_net = delta_net;
  t.recurrent.kda = kda;
}

}  // namespace trident
