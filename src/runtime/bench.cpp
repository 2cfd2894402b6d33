#include "runtime/bench.h"

#include <fmt/format.h>

#include <chrono>
#include <cctype>
#include <cmath>
#include <ctime>
#include <map>
#include <memory>

#include "format/error.h"

namespace trident {
namespace {

using Clock = std::chrono::steady_clock;

// llama.cpp's names for general.file_type values, so model types read as in llama-bench.
std::string file_type_label(const Model& m) {
  static const std::map<int64_t, const char*> kNames = {
      {0, "F32"}, {1, "F16"}, {2, "Q4_0"}, {3, "Q4_1"}, {7, "Q8_0"}, {8, "Q5_0"}, {9, "Q5_1"},
      {10, "Q2_K - Medium"}, {11, "Q3_K - Small"}, {12, "Q3_K - Medium"}, {13, "Q3_K - Large"},
      {14, "Q4_K - Small"}, {15, "Q4_K - Medium"}, {16, "Q5_K - Small"}, {17, "Q5_K - Medium"},
      {18, "Q6_K"}, {32, "BF16"}};
  int64_t ft = -1;
  try {
    ft = m.file().get_int("general.file_type").value_or(-1);
  } catch (const Error&) {
    // A malformed file_type only costs the label; fall back to the tensors.
  }
  if (auto it = kNames.find(ft); it != kNames.end()) return it->second;
  // Otherwise the type holding the most bytes.
  std::map<GgmlType, uint64_t> bytes;
  for (const auto& t : m.file().tensors()) bytes[t.type] += t.n_bytes;
  GgmlType best = GgmlType::F32;
  uint64_t most = 0;
  for (const auto& [t, b] : bytes)
    if (b > most) most = b, best = t;
  std::string s(layout_of(best).name);
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string params_label(uint64_t n) {
  return n >= 1000000000ull ? fmt::format("{:.1f}B", n / 1e9) : fmt::format("{:.0f}M", n / 1e6);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%FT%TZ", &tm);
  return buf;
}

// A fixed spread of ids over the vocabulary (no randomness, so every run is alike); a large
// odd stride visits many different rows, as real text does, which matters for MoE routing.
int32_t bench_token(int64_t i, int64_t n_vocab) {
  return n_vocab <= 1 ? 0 : int32_t(1 + (i * 7919) % (n_vocab - 1));
}

}  // namespace

const char* bench_kv_type_name(KvType t) { return t == KvType::F32 ? "f32" : "f16"; }

BenchModelInfo describe_model(const Model& m, const std::string& filename) {
  BenchModelInfo info;
  info.filename = filename;
  for (const auto& t : m.file().tensors()) info.size += t.n_bytes;
  info.n_params = m.n_params();
  info.weight_bytes = m.weight_bytes();
  info.packed_bytes = m.packed().bytes();
  info.pack_seconds = m.packed().seconds();
  info.type = fmt::format("{} {} {}", m.hp().arch, params_label(info.n_params), file_type_label(m));
  return info;
}

std::string bench_test_name(int64_t n_prompt, int64_t n_gen, int64_t n_depth) {
  const std::string depth = n_depth > 0 ? fmt::format(" @ d{}", n_depth) : "";
  if (n_gen == 0) return fmt::format("pp{}{}", n_prompt, depth);
  if (n_prompt == 0) return fmt::format("tg{}{}", n_gen, depth);
  return fmt::format("pp{}+tg{}{}", n_prompt, n_gen, depth);
}

std::vector<BenchCase> expand_grid(const BenchGrid& g, size_t model) {
  std::vector<BenchCase> out;
  for (int t : g.threads)
    for (int64_t ub : g.ubatch)
      for (KvType k : g.k_types)
        for (KvType v : g.v_types)
          for (FusionMode q : g.fuse_qkv)
            for (FusionMode gu : g.fuse_gate_up)
              for (int64_t d : g.depths)
                for (const auto& [p, n] : g.tests) {
                  BenchCase c;
                  c.model = model;
                  c.n_threads = t;
                  c.n_ubatch = ub;
                  c.k_type = k;
                  c.v_type = v;
                  c.fuse_qkv = q;
                  c.fuse_gate_up = gu;
                  c.n_prompt = p;
                  c.n_gen = n;
                  c.n_depth = d;
                  out.push_back(c);
                }
  return out;
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

double sample_stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / double(v.size() - 1));
}

namespace {

// One case's Session, inputs and samples; run() adds one timed repetition.
class CaseRunner {
 public:
  CaseRunner(const Model& m, const BenchCase& c, bool warmup) : c_(c), s_(m, options(c)), nv_(m.hp().n_vocab) {
    depth_.resize(size_t(c.n_depth));
    for (int64_t i = 0; i < c.n_depth; ++i) depth_[size_t(i)] = bench_token(i, nv_);
    prompt_.resize(size_t(c.n_prompt));
    for (int64_t i = 0; i < c.n_prompt; ++i) prompt_[size_t(i)] = bench_token(c.n_depth + i, nv_);
    r_.c = c;
    r_.test_time = utc_now();
    // One untimed pass first, as llama-bench does: pages in the weights and warms the caches.
    if (warmup) {
      if (c.n_depth > 0) s_.eval(depth_, false, logits_);
      if (c.n_prompt > 0) s_.eval(prompt_, false, logits_);
      if (c.n_gen > 0) generate(1);
    }
  }

  void run() {
    s_.reset();
    if (c_.n_depth > 0) s_.eval(depth_, false, logits_);  // the context the test starts from, untimed
    const auto t0 = Clock::now();
    if (c_.n_prompt > 0) s_.eval(prompt_, false, logits_);
    generate(c_.n_gen);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    r_.samples_ns.push_back(uint64_t(std::max<int64_t>(ns, 1)));
  }

  BenchResult result() {
    std::vector<double> ns_d;
    for (uint64_t ns : r_.samples_ns) {
      ns_d.push_back(double(ns));
      r_.samples_ts.push_back(1e9 * double(c_.n_prompt + c_.n_gen) / double(ns));
    }
    r_.avg_ns = mean(ns_d);
    r_.stddev_ns = sample_stddev(ns_d);
    r_.avg_ts = mean(r_.samples_ts);
    r_.stddev_ts = sample_stddev(r_.samples_ts);
    r_.fusion_verdicts = s_.fusion().verdict_lines();
    return r_;
  }

 private:
  static SessionOptions options(const BenchCase& c) {
    if (c.n_depth < 0) fail("bench: depth must be >= 0, found {}", c.n_depth);
    if (c.n_prompt < 0 || c.n_gen < 0 || c.n_prompt + c.n_gen == 0)
      fail("bench: test needs a positive token count (prompt {}, generation {})", c.n_prompt, c.n_gen);
    SessionOptions so;
    so.n_ctx = c.n_depth + c.n_prompt + c.n_gen;  // as llama-bench sizes its context
    so.n_ubatch = c.n_ubatch;
    so.n_threads = c.n_threads;
    so.k_type = c.k_type;
    so.v_type = c.v_type;
    so.fuse_qkv = c.fuse_qkv;
    so.fuse_gate_up = c.fuse_gate_up;
    return so;
  }
  void generate(int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const int32_t id = bench_token(c_.n_depth + c_.n_prompt + i, nv_);
      s_.eval(std::span<const int32_t>(&id, 1), false, logits_);
    }
  }

  BenchCase c_;
  Session s_;
  int64_t nv_;
  std::vector<int32_t> depth_, prompt_;
  std::vector<float> logits_;
  BenchResult r_;
};

}  // namespace

std::vector<BenchResult> run_bench_interleaved(const Model& m, const std::vector<BenchCase>& cs,
                                               const BenchRunOptions& opt) {
  if (opt.repetitions < 1) fail("bench: expected at least 1 repetition, found {}", opt.repetitions);
  std::vector<std::unique_ptr<CaseRunner>> runners;
  for (const BenchCase& c : cs) runners.push_back(std::make_unique<CaseRunner>(m, c, opt.warmup));
  for (int rep = 0; rep < opt.repetitions; ++rep) {
    if (opt.on_repetition) opt.on_repetition(rep + 1);
    for (auto& r : runners) r->run();
  }
  std::vector<BenchResult> out;
  for (auto& r : runners) out.push_back(r->result());
  return out;
}

bool fusion_list_varies(const std::vector<FusionMode>& modes) {
  bool fused = false, off = false;
  for (FusionMode f : modes) (f == FusionMode::Off ? off : fused) = true;
  return fused && off;
}

void fill_ratios(std::vector<BenchResult>& rs, bool qkv_varies, bool gate_up_varies) {
  if (!qkv_varies && !gate_up_varies) return;
  for (BenchResult& r : rs) {
    const BenchCase& c = r.c;
    const FusionMode want_q = qkv_varies ? FusionMode::Off : c.fuse_qkv;
    const FusionMode want_g = gate_up_varies ? FusionMode::Off : c.fuse_gate_up;
    for (const BenchResult& b : rs) {
      const BenchCase& d = b.c;
      if (d.model == c.model && d.n_threads == c.n_threads && d.n_ubatch == c.n_ubatch &&
          d.k_type == c.k_type && d.v_type == c.v_type && d.n_prompt == c.n_prompt &&
          d.n_gen == c.n_gen && d.n_depth == c.n_depth && d.fuse_qkv == want_q && d.fuse_gate_up == want_g && b.avg_ts > 0) {
        r.ratio = r.avg_ts / b.avg_ts;
        break;
      }
    }
  }
}

void fill_rooflines(std::vector<BenchResult>& rs, const std::vector<BenchModelInfo>& models, double gb_per_s) {
  if (!(gb_per_s > 0)) return;
  for (BenchResult& r : rs)
    if (r.c.n_prompt == 0 && r.c.n_gen > 0 && r.c.model < models.size())
      r.roofline_pct = 100.0 * double(models[r.c.model].weight_bytes) * r.avg_ts / (gb_per_s * 1e9);
}

}  // namespace trident
