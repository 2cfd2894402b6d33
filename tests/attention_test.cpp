// Attention kernels (kernels/attention.h), for every kernel table this CPU supports:
//  - exp_poly against double exp: within 2 ulp on [-87, 88];
//  - every SIMD kernel bit-identical to attention_reference on random tasks: head sizes
//    64, 80, 96, 128, 256 and odd ones, 1..1000 keys, F32 and F16 K and V, GQA groups,
//    several tokens per task, sliding windows (first > 0);
//  - the same bits whatever the task holds: one token or many, one head or the group;
//  - attention_reference against a double-precision softmax within a bound derived from
//    the arithmetic (see reference_bound).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention_impl.h"
#include "kernels/dispatch.h"
#include "tensor/fp16.h"

namespace trident {
namespace {

constexpr double kU = 0x1p-24;  // unit roundoff of float

// A cache of n_pos rows holding two KV heads; the view is the second, so the last row ends
// where the buffer ends.
struct Cache {
  int hd = 0;
  KvType kt = KvType::F32, vt = KvType::F32;
  std::vector<uint8_t> k, v;
  std::vector<float> kf, vf;  // the stored values as floats, [n_pos][hd] of the viewed head

  Cache(int64_t n_pos, int hd_, KvType kt_, KvType vt_, std::mt19937& rng) : hd(hd_), kt(kt_), vt(vt_) {
    std::normal_distribution<float> nd(0.0f, 1.0f);
    fill(k, kf, kt, n_pos, nd, rng);
    fill(v, vf, vt, n_pos, nd, rng);
  }
  static size_t esize(KvType t) { return t == KvType::F32 ? 4 : 2; }
  void fill(std::vector<uint8_t>& raw, std::vector<float>& f, KvType t, int64_t n_pos,
            std::normal_distribution<float>& nd, std::mt19937& rng) {
    raw.resize(size_t(n_pos) * 2 * size_t(hd) * esize(t));
    f.resize(size_t(n_pos * hd));
    for (int64_t p = 0; p < n_pos; ++p)
      for (int h = 0; h < 2; ++h)
        for (int d = 0; d < hd; ++d) {
          const size_t i = size_t((p * 2 + h) * hd + d);
          float x = nd(rng);
          if (t == KvType::F32) {
            std::memcpy(raw.data() + i * 4, &x, 4);
          } else {
            const uint16_t b = fp32_to_fp16(x);
            std::memcpy(raw.data() + i * 2, &b, 2);
            x = fp16_to_fp32(b);
          }
          if (h == 1) f[size_t(p * hd + d)] = x;
        }
  }
  KvView view() const {
    KvView w;
    w.k = k.data() + size_t(hd) * esize(kt);
    w.v = v.data() + size_t(hd) * esize(vt);
    w.k_stride = 2 * size_t(hd) * esize(kt);
    w.v_stride = 2 * size_t(hd) * esize(vt);
    w.k_type = kt;
    w.v_type = vt;
    return w;
  }
};

struct Case {
  int hd, heads;
  int64_t n_tokens, pos0, window;
  KvType kt, vt;
  float scale;
  float softcap = 0.0f;
  int64_t last_key = -1;  // >= 0: non-causal
  bool alibi = false;
  int64_t first_key = 0;  // chunked attention: every token's first key
  bool sinks = false;      // a sink logit per head (gpt-oss)
  int64_t keys() const { return std::max(pos0 + n_tokens, last_key + 1); }
  std::string name() const {
    return "hd=" + std::to_string(hd) + " heads=" + std::to_string(heads) + " tokens=" +
           std::to_string(n_tokens) + " pos0=" + std::to_string(pos0) + " window=" +
           std::to_string(window) + " k=" + (kt == KvType::F16 ? "f16" : "f32") +
           " v=" + (vt == KvType::F16 ? "f16" : "f32") + " scale=" + std::to_string(scale) +
           " softcap=" + std::to_string(softcap) + " last_key=" + std::to_string(last_key) +
           (alibi ? " alibi" : "") + " first_key=" + std::to_string(first_key) + (sinks ? " sinks" : "");
  }
};

// q rows are padded by 3 floats per token so that q_stride != heads * hd; out likewise.
struct QueryRun {
  std::vector<float> q, out, slopes, sinks;
  AttentionTask task;
  QueryRun(const Case& c, std::mt19937& rng) {
    const int64_t stride = int64_t(c.heads) * c.hd + 3;
    std::normal_distribution<float> nd(0.0f, 1.0f);
    q.resize(size_t(c.n_tokens * stride));
    for (auto& x : q) x = nd(rng);
    out.assign(q.size(), 0.0f);
    task.q = q.data();
    task.out = out.data();
    task.q_stride = task.out_stride = stride;
    task.n_tokens = c.n_tokens;
    task.n_heads = c.heads;
    task.head_dim = c.hd;
    task.pos0 = c.pos0;
    task.window = c.window;
    task.scale = c.scale;
    task.softcap = c.softcap;
    task.last_key = c.last_key;
    task.first_key = c.first_key;
    if (c.alibi) {
      for (int h = 0; h < c.heads; ++h) slopes.push_back(std::pow(0.5f, float(h + 1)));
      task.alibi = slopes.data();
    }
    if (c.sinks) {
      // Around the scores' range, so that the sink sometimes holds the running maximum.
      for (int h = 0; h < c.heads; ++h) sinks.push_back(nd(rng) * 3.0f);
      task.sinks = sinks.data();
    }
  }
  // Points the task at this copy's buffers (after a copy).
  void rebind() {
    task.q = q.data();
    task.out = out.data();
    if (task.alibi) task.alibi = slopes.data();
    if (task.sinks) task.sinks = sinks.data();
  }
  // Output (t, h) as a vector.
  std::vector<float> row(int64_t t, int h) const {
    const float* p = out.data() + t * task.out_stride + int64_t(h) * task.head_dim;
    return std::vector<float>(p, p + task.head_dim);
  }
};

std::vector<Case> random_cases(std::mt19937& rng, int count) {
  const int hds[] = {64, 80, 96, 128, 256, 1, 7, 33, 72, 100};
  const int heads[] = {1, 2, 3, 4, 8};
  const int64_t tokens[] = {1, 1, 2, 5, 16, 37};
  const int64_t windows[] = {0, 0, 1, 16, 100};
  std::vector<Case> cases;
  for (int i = 0; i < count; ++i) {
    Case c;
    c.hd = hds[rng() % std::size(hds)];
    c.heads = heads[rng() % std::size(heads)];
    c.n_tokens = tokens[rng() % std::size(tokens)];
    c.pos0 = int64_t(rng() % 1000);  // 1..1000 keys for the first token
    c.window = windows[rng() % std::size(windows)];
    c.kt = rng() % 2 ? KvType::F16 : KvType::F32;
    c.vt = rng() % 2 ? KvType::F16 : KvType::F32;
    // Mostly 1/sqrt(hd); sometimes peaked (scores spread over hundreds: exp underflows to 0).
    c.scale = float(1.0 / std::sqrt(double(c.hd))) * (rng() % 4 == 0 ? 40.0f : 1.0f);
    // Every third case chunked (llama4): all tokens start at one key at or before the first's
    // position (the window, if any, may start later).
    if (i % 3 == 0) c.first_key = c.pos0 - int64_t(rng() % uint32_t(c.pos0 + 1));
    cases.push_back(c);
    // Every fourth case again, soft-capped (gemma2) tight enough to bend the peaked scores.
    if (i % 4 == 0) {
      c.softcap = 5.0f;
      cases.push_back(c);
    }
    // Every fifth again non-causal (the whole batch, sometimes keys past it too), every
    // seventh with ALiBi slopes.
    if (i % 5 == 0) {
      Case nc = c;
      nc.softcap = 0.0f;
      nc.last_key = c.pos0 + c.n_tokens - 1 + (i % 3 == 0 ? 10 : 0);
      cases.push_back(nc);
    }
    if (i % 7 == 0) {
      Case al = c;
      al.softcap = 0.0f;
      al.alibi = true;
      cases.push_back(al);
    }
    // Every sixth again with attention sinks (windowed or not, as gpt-oss alternates).
    if (i % 6 == 0) {
      Case sk = c;
      sk.softcap = 0.0f;
      sk.sinks = true;
      cases.push_back(sk);
    }
  }
  return cases;
}

TEST(Attention, ExpWithinTwoUlp) {
  double worst = 0;
  auto check = [&](float x) {
    const double want = std::exp(double(x));
    const float got = exp_poly(x);
    // ulp of the true value (normal range: exp(-87) > 2^-126)
    const double ulp = std::ldexp(1.0, std::ilogb(want) - 23);
    worst = std::max(worst, std::fabs(double(got) - want) / ulp);
  };
  for (float x = -87.0f; x <= 88.0f; x = std::nextafter(x, 100.0f) + 1.3e-5f) check(x);
  for (float x = -1.0f; x <= 1.0f; x += 1.0f / 4096) check(x);
  check(0.0f);
  check(-0.0f);
  EXPECT_LE(worst, 2.0) << "worst error in ulp";
  RecordProperty("worst_ulp", std::to_string(worst));
  EXPECT_EQ(exp_poly(0.0f), 1.0f);
  EXPECT_EQ(exp_poly(-87.5f), 0.0f);
  EXPECT_EQ(exp_poly(-INFINITY), 0.0f);
  EXPECT_EQ(exp_poly(100.0f), exp_poly(88.0f));
}

TEST(Attention, KernelsMatchReferenceBitwise) {
  std::mt19937 rng(7);
  int checked = 0;
  for (const Case& c : random_cases(rng, 300)) {
    std::mt19937 data_rng{uint32_t(checked)};
    const Cache cache(c.keys(), c.hd, c.kt, c.vt, data_rng);
    QueryRun ref(c, data_rng);
    attention_reference(ref.task, cache.view());
    for (const KernelTable* k : supported_kernel_tables()) {
      QueryRun r = ref;
      r.rebind();
      std::fill(r.out.begin(), r.out.end(), 0.0f);
      k->attention(r.task, cache.view());
      ASSERT_EQ(std::memcmp(r.out.data(), ref.out.data(), r.out.size() * 4), 0) << k->isa << " " << c.name();
    }
    ++checked;
  }
  EXPECT_EQ(checked, 528);  // 300 cases, 75 soft-capped, 60 non-causal, 43 with ALiBi, 50 with sinks
}

// Every length 1..1000 for decoding (one token, a group of 4 heads as in Llama 3.2 1B), F16.
TEST(Attention, DecodeEveryLength) {
  std::mt19937 rng(11);
  const Cache cache(1000, 64, KvType::F16, KvType::F16, rng);
  for (int64_t pos = 0; pos < 1000; ++pos) {
    const Case c{64, 4, 1, pos, 0, KvType::F16, KvType::F16, 0.125f};
    QueryRun ref(c, rng);
    attention_reference(ref.task, cache.view());
    for (const KernelTable* k : supported_kernel_tables()) {
      QueryRun r = ref;
      r.task.q = r.q.data();
      r.task.out = r.out.data();
      k->attention(r.task, cache.view());
      ASSERT_EQ(std::memcmp(r.out.data(), ref.out.data(), r.out.size() * 4), 0) << k->isa << " " << c.name();
    }
  }
}

// Splitting a task by token or by head gives the same bits (the session splits freely).
TEST(Attention, SameBitsForAnySplit) {
  std::mt19937 rng(5);
  for (const Case& c : random_cases(rng, 60)) {
    const Cache cache(c.keys(), c.hd, c.kt, c.vt, rng);
    for (const KernelTable* k : supported_kernel_tables()) {
      QueryRun whole(c, rng);
      k->attention(whole.task, cache.view());
      for (int64_t t = 0; t < c.n_tokens; ++t)
        for (int h = 0; h < c.heads; ++h) {
          AttentionTask one = whole.task;
          std::vector<float> out(static_cast<size_t>(c.hd));
          one.q = whole.q.data() + t * whole.task.q_stride + int64_t(h) * c.hd;
          one.out = out.data();
          one.n_tokens = 1;
          one.n_heads = 1;
          one.pos0 = c.pos0 + t;
          if (one.alibi) one.alibi = whole.task.alibi + h;
          if (one.sinks) one.sinks = whole.task.sinks + h;
          k->attention(one, cache.view());
          ASSERT_EQ(out, whole.row(t, h)) << k->isa << " " << c.name() << " t=" << t << " h=" << h;
        }
    }
  }
}

// The reference against softmax attention in double precision. First-order bound: a score
// s_j = scale * dot8 carries an error of at most e_j = scale * (hd/8 + 4) u sum_d |q_d k_jd|
// (eight fma chains of hd/8 terms, three reduction adds, the scale); a weight
// p_j / L = exp(s_j - M) / sum exp(s_i - M) then has relative error <= 2 max e + (2 ulp of
// exp_poly, the subtraction, one rescale per chunk, the sum of n terms) <= 2 max e + (n + 2c + 8) u
// for n keys in c chunks, and the output adds the n-term fma chain and the final scaling,
// (n + 2) u max|V|. So |out - exact| <= max|V| (2 max e + (2n + 2c + 10) u).
TEST(Attention, ReferenceWithinBoundOfExact) {
  std::mt19937 rng(3);
  double worst_ratio = 0;
  for (const Case& c : random_cases(rng, 150)) {
    if (c.softcap > 0 || c.alibi || c.last_key >= 0 || c.sinks) continue;  // the bound below is for causal plain scores
    const Cache cache(c.pos0 + c.n_tokens, c.hd, c.kt, c.vt, rng);
    QueryRun r(c, rng);
    attention_reference(r.task, cache.view());
    for (int64_t t = 0; t < c.n_tokens; ++t) {
      const int64_t last = c.pos0 + t;
      const int64_t first = c.window > 0 ? std::max<int64_t>(c.first_key, last - c.window + 1) : c.first_key;
      const int64_t n = last - first + 1, chunks = last / kAttnChunk - first / kAttnChunk + 1;
      for (int h = 0; h < c.heads; ++h) {
        const float* q = r.q.data() + t * r.task.q_stride + int64_t(h) * c.hd;
        std::vector<double> s(static_cast<size_t>(n));
        double max_e = 0, max_v = 0, mx = -INFINITY;
        for (int64_t j = 0; j < n; ++j) {
          const float* kr = cache.kf.data() + (first + j) * c.hd;
          double dot = 0, mag = 0;
          for (int d = 0; d < c.hd; ++d) dot += double(q[d]) * kr[d], mag += std::fabs(double(q[d]) * kr[d]);
          s[size_t(j)] = dot * c.scale;
          mx = std::max(mx, s[size_t(j)]);
          max_e = std::max(max_e, c.scale * (c.hd / 8 + 4) * kU * mag);
        }
        double l = 0;
        for (auto& x : s) l += (x = std::exp(x - mx));
        for (int64_t j = 0; j < n; ++j)
          for (int d = 0; d < c.hd; ++d) max_v = std::max(max_v, std::fabs(double(cache.vf[size_t((first + j) * c.hd + d)])));
        const double bound = max_v * (2 * max_e + double(2 * n + 2 * chunks + 10) * kU);
        const std::vector<float> got = r.row(t, h);
        for (int d = 0; d < c.hd; ++d) {
          double exact = 0;
          for (int64_t j = 0; j < n; ++j) exact += s[size_t(j)] * cache.vf[size_t((first + j) * c.hd + d)];
          exact /= l;
          const double err = std::fabs(double(got[size_t(d)]) - exact);
          ASSERT_LE(err, bound) << c.name() << " t=" << t << " h=" << h << " d=" << d;
          worst_ratio = std::max(worst_ratio, err / bound);
        }
      }
    }
  }
  RecordProperty("worst_error_over_bound", std::to_string(worst_ratio));
}

// A sink only adds exp(S) to the denominator: with it, every output is the sinkless one times
// sum_j exp(s_j) / (sum_j exp(s_j) + exp(S)), computed here in double from the stored keys.
TEST(Attention, SinkScalesTheSinklessOutput) {
  std::mt19937 rng(13);
  int checked = 0;
  for (const Case& c : random_cases(rng, 120)) {
    if (!c.sinks || c.last_key >= 0) continue;
    const Cache cache(c.keys(), c.hd, c.kt, c.vt, rng);
    QueryRun with(c, rng);
    QueryRun without = with;
    without.rebind();
    without.task.sinks = nullptr;
    attention_reference(with.task, cache.view());
    attention_reference(without.task, cache.view());
    for (int64_t t = 0; t < c.n_tokens; ++t) {
      const int64_t last = c.pos0 + t;
      const int64_t first = std::max(c.window > 0 ? std::max<int64_t>(0, last - c.window + 1) : 0, c.first_key);
      for (int h = 0; h < c.heads; ++h) {
        const float* q = with.q.data() + t * with.task.q_stride + int64_t(h) * c.hd;
        std::vector<double> s;
        for (int64_t j = first; j <= last; ++j) {
          double dot = 0;
          for (int d = 0; d < c.hd; ++d) dot += double(q[d]) * cache.kf[size_t(j * c.hd + d)];
          s.push_back(dot * c.scale);
        }
        const double sink = with.sinks[size_t(h)];
        const double mx = std::max(*std::max_element(s.begin(), s.end()), sink);
        double l = 0;
        for (double x : s) l += std::exp(x - mx);
        const double ratio = l / (l + std::exp(sink - mx));
        const std::vector<float> a = with.row(t, h), b = without.row(t, h);
        for (int d = 0; d < c.hd; ++d)
          ASSERT_NEAR(a[size_t(d)], b[size_t(d)] * ratio, 1e-5 * (std::fabs(b[size_t(d)]) + 1e-3))
              << c.name() << " t=" << t << " h=" << h << " d=" << d;
      }
    }
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace trident
