// The recurrent ops' references against llama.cpp's own ggml ops on small cases
// (tests/data/recurrent/llama_oracle.json, made by a program linked to llama.cpp's ggml; see
// tests/data/recurrent/README.md): ggml_ssm_conv + bias, ggml_ssm_scan for Mamba-1 and Mamba-2
// with the skip term, Qwen3.5's L2 norms, gates and ggml_gated_delta_net, and the grouped and
// gated RMS norms.
//
// Tolerance: |ours - llama.cpp| <= 2e-6 * (1 + |llama.cpp|) per value (Mamba-1's outputs: 1e-5,
// see check_scan). Both compute in f32 with the same operations but in different orders and
// with different exp implementations (dot16's lane order vs ggml's SIMD accumulators, exp_poly's
// 2 ulp in Mamba-1 and silu vs ggml's expf), so each result carries a few roundings of about
// 6e-8 relative to the magnitudes summed (inputs of order 1, three tokens of recurrence).
// Measured: the convolution, the gates and the grouped norm equal llama.cpp's bits; the rest
// differ by at most 2.7e-7, Mamba-1's outputs by 2.0e-6.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "kernels/recurrent.h"

namespace trident {
namespace {

using nlohmann::json;

const json& oracle() {
  static const json j = [] {
    std::ifstream f(std::string(TRIDENT_SOURCE_DIR) + "/tests/data/recurrent/llama_oracle.json");
    return json::parse(f);
  }();
  return j;
}

std::vector<float> floats(const json& c, const char* name) { return c.at(name).get<std::vector<float>>(); }

void expect_close(const std::vector<float>& got, const std::vector<float>& want, const char* what, double tol = 2e-6) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(double(got[i]) - double(want[i])) / (1.0 + std::fabs(double(want[i])));
    worst = std::max(worst, err);
    EXPECT_LE(err, tol) << what << "[" << i << "]: " << got[i] << " vs llama.cpp's " << want[i];
  }
  ::testing::Test::RecordProperty(what, std::to_string(worst));
}

TEST(RecurrentOracle, ShortConvMatchesGgmlSsmConv) {
  const json& c = oracle().at("ssm_conv");
  const int64_t n_ch = c.at("n_ch"), n_t = c.at("n_tokens");
  const int d_conv = c.at("d_conv");
  const std::vector<float> conv_x = floats(c, "conv_x"), w_file = floats(c, "w"), bias = floats(c, "bias");
  // ggml's conv_x is per channel [d_conv - 1 + n_t] (the state's inputs, then the tokens').
  const int64_t row = d_conv - 1 + n_t;
  std::vector<float> state(size_t((d_conv - 1) * n_ch)), x(size_t(n_t * n_ch)), w(w_file.size()), y(x.size());
  for (int64_t ch = 0; ch < n_ch; ++ch) {
    for (int64_t r = 0; r < d_conv - 1; ++r) state[size_t(r * n_ch + ch)] = conv_x[size_t(ch * row + r)];
    for (int64_t t = 0; t < n_t; ++t) x[size_t(t * n_ch + ch)] = conv_x[size_t(ch * row + d_conv - 1 + t)];
  }
  conv_weight_time_major(w_file.data(), n_ch, d_conv, w.data());
  short_conv_reference(ShortConv{n_ch, d_conv, w.data(), bias.data()},
                       ShortConvRows{x.data(), n_ch, y.data(), n_ch, n_t, state.data()}, 0, n_ch);
  expect_close(y, floats(c, "y"), "ssm_conv");  // ggml's y is [n_t][n_ch], as ours
}

void check_scan(const char* name, bool mamba1) {
  const json& c = oracle().at(name);
  const int64_t n_head = c.at("n_head"), head_dim = c.at("head_dim"), d_state = c.at("d_state");
  const int64_t n_group = c.at("n_group"), n_t = c.at("n_tokens");
  const std::vector<float> x = floats(c, "x"), dt = floats(c, "dt"), A = floats(c, "A"), B = floats(c, "B"),
                           C = floats(c, "C"), D = floats(c, "D");
  std::vector<float> state = floats(c, "state_in"), y(x.size());
  // ggml's layouts are ours: s [n_head][head_dim][d_state], x/y [n_t][n_head * head_dim],
  // dt [n_t][n_head], B/C [n_t][n_group * d_state].
  const SsmScan op{n_head, head_dim, d_state, n_group, mamba1, A.data(), D.data()};
  const int64_t d_inner = n_head * head_dim, bc = n_group * d_state;
  ssm_scan_reference(op, SsmScanRows{x.data(), d_inner, dt.data(), n_head, B.data(), bc, C.data(), bc, y.data(), d_inner, n_t, state.data()},
                     0, n_head);
  // Mamba-1's first token has dt_sp = 25: state terms up to about 50 whose sum is of order 1,
  // computed with exp_poly's decays (2 ulp) where ggml calls expf; a few roundings of terms of
  // 50 are about 1e-5 of such a sum (measured: 2.0e-6).
  expect_close(y, floats(c, "y"), name, mamba1 ? 1e-5 : 2e-6);
  expect_close(state, floats(c, "state_out"), name);
}

TEST(RecurrentOracle, Mamba1ScanMatchesGgmlSsmScan) { check_scan("ssm_scan_mamba1", true); }
TEST(RecurrentOracle, Mamba2ScanMatchesGgmlSsmScan) { check_scan("ssm_scan_mamba2", false); }

TEST(RecurrentOracle, DeltaNetMatchesGgmlGatedDeltaNet) {
  const json& c = oracle().at("gated_delta_net");
  const int64_t S = c.at("head_dim"), H_k = c.at("n_k_heads"), H_v = c.at("n_v_heads"), n_t = c.at("n_tokens");
  const float eps = c.at("eps");
  std::vector<float> q = floats(c, "q"), k = floats(c, "k");
  const std::vector<float> v = floats(c, "v"), a = floats(c, "a"), b = floats(c, "b"), dt_bias = floats(c, "dt_bias"),
                           ssm_a = floats(c, "ssm_a");
  for (int64_t r = 0; r < n_t * H_k; ++r) {
    l2_norm(q.data() + r * S, q.data() + r * S, S, eps);
    l2_norm(k.data() + r * S, k.data() + r * S, S, eps);
  }
  std::vector<float> g(size_t(n_t * H_v)), beta(g.size());
  for (int64_t t = 0; t < n_t; ++t)
    delta_net_gates(a.data() + t * H_v, b.data() + t * H_v, dt_bias.data(), ssm_a.data(), H_v, g.data() + t * H_v,
                    beta.data() + t * H_v);
  expect_close(g, floats(c, "g"), "g");
  expect_close(beta, floats(c, "beta"), "beta");
  std::vector<float> state = floats(c, "state_in"), out(size_t(n_t * H_v * S));
  const DeltaNet op{H_v, H_k, S, S, KHeadMap::Tiled};
  delta_net_reference(op, DeltaNetRows{q.data(), H_k * S, k.data(), H_k * S, v.data(), H_v * S, g.data(), beta.data(), H_v,
                                       out.data(), H_v * S, n_t, state.data()},
                      0, H_v);
  expect_close(out, floats(c, "out"), "gated_delta_net out");
  expect_close(state, floats(c, "state_out"), "gated_delta_net state");  // ggml's [H][S_v][S_k], as ours
}

TEST(RecurrentOracle, GroupAndGatedRmsNormMatchGgml) {
  const json& c = oracle().at("group_rms_norm");
  const int64_t group = c.at("group"), n = group * int64_t(c.at("n_groups"));
  const float eps = c.at("eps");
  const std::vector<float> x = floats(c, "x"), w_full = floats(c, "w_full"), w_shared = floats(c, "w_shared"),
                           z = floats(c, "z");
  std::vector<float> y(static_cast<size_t>(n));
  group_rms_norm(x.data(), w_full.data(), false, y.data(), n, group, eps);
  expect_close(y, floats(c, "grouped"), "group_rms_norm");
  gated_rms_norm(x.data(), w_shared.data(), true, z.data(), y.data(), n, group, eps);
  expect_close(y, floats(c, "gated"), "gated_rms_norm");
}

}  // namespace
}  // namespace trident
