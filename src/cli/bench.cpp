// `trident bench`: llama-bench's tests (pp / tg / pp+tg) over lists of threads, micro-batch
// sizes, cache types and fusion settings; see runtime/bench.h for what is timed.
#include <fmt/format.h>
#include <omp.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cli/bench_report.h"
#include "cli/commands.h"
#include "cli/model_flags.h"
#include "format/error.h"
#include "kernels/dispatch.h"

namespace trident::cli {
namespace {

struct BenchFlags {
  std::vector<std::string> models = {"models/stories260K.gguf"};
  std::vector<std::string> n_prompt = {"512"}, n_gen = {"128"}, prompt_gen;
  std::vector<std::string> ubatch = {"512"}, threads;
  std::vector<std::string> cache_k = {"f16"}, cache_v = {"f16"};
  std::vector<std::string> fuse_qkv = {"on"}, fuse_gate_up = {"on"};
  int repetitions = 5;
  std::string output = "md";
  bool membw = false;
  int64_t membw_mib = 1024;
  std::string plot, isa;
  bool no_warmup = false;
  std::string repack = "on";
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

int64_t parse_int(const std::string& flag, const std::string& item, const char* what, int64_t min) {
  const std::string s = trim(item);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < min)
    fail("{}: expected {} >= {}, found '{}'", flag, what, min, s);
  return v;
}

std::vector<int64_t> parse_ints(const std::string& flag, const std::vector<std::string>& items, const char* what,
                                int64_t min) {
  std::vector<int64_t> out;
  for (const auto& i : items) out.push_back(parse_int(flag, i, what, min));
  if (out.empty()) fail("{}: expected at least one value", flag);
  return out;
}

KvType parse_kv(const std::string& flag, const std::string& v) { return parse_kv_type(flag, trim(v)); }

BenchGrid parse_grid(const BenchFlags& f) {
  BenchGrid g;
  if (f.threads.empty()) {
    g.threads = {omp_get_num_procs()};
  } else {
    for (int64_t t : parse_ints("-t", f.threads, "a thread count", 1)) g.threads.push_back(int(std::min<int64_t>(t, 1024)));
  }
  g.ubatch = parse_ints("-ub", f.ubatch, "a micro-batch size", 1);
  for (const auto& v : f.cache_k) g.k_types.push_back(parse_kv("-ctk", v));
  for (const auto& v : f.cache_v) g.v_types.push_back(parse_kv("-ctv", v));
  for (const auto& v : f.fuse_qkv) g.fuse_qkv.push_back(parse_fusion_mode("--fuse-qkv", trim(v)));
  for (const auto& v : f.fuse_gate_up) g.fuse_gate_up.push_back(parse_fusion_mode("--fuse-gate-up", trim(v)));
  // llama-bench's order: prompt tests, then generation tests, then combined ones; 0 skips.
  for (int64_t p : parse_ints("-p", f.n_prompt, "a token count", 0))
    if (p > 0) g.tests.emplace_back(p, 0);
  for (int64_t n : parse_ints("-n", f.n_gen, "a token count", 0))
    if (n > 0) g.tests.emplace_back(0, n);
  for (const auto& pg : f.prompt_gen) {
    const auto comma = pg.find(',');
    if (comma == std::string::npos) fail("-pg: expected PROMPT,GEN (e.g. 512,128), found '{}'", pg);
    const int64_t p = parse_int("-pg", pg.substr(0, comma), "a token count", 0);
    const int64_t n = parse_int("-pg", pg.substr(comma + 1), "a token count", 0);
    if (p + n > 0) g.tests.emplace_back(p, n);
  }
  if (g.tests.empty()) fail("nothing to run: every test has 0 tokens (-p, -n, -pg)");
  return g;
}

void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) fail("{}: cannot write", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    fail("{}: cannot write: {}", path, ec.message());
  }
}

void run(const BenchFlags& f) {
  if (f.output != "md" && f.output != "json" && f.output != "csv")
    fail("-o: expected md, json or csv, found '{}'", f.output);
  if (f.repetitions < 1) fail("-r: expected a repetition count >= 1, found {}", f.repetitions);
  if (f.membw_mib < 1) fail("--membw-mib: expected a size >= 1, found {}", f.membw_mib);
  if (f.models.empty()) fail("-m: expected at least one model");
  const BenchGrid grid = parse_grid(f);
  if (!f.isa.empty() && !select_kernel_table(f.isa.c_str())) fail("--isa: '{}' is not supported on this CPU", f.isa);

  BenchReport rep;
  rep.kernels = kernel_table().isa;
  rep.show_ratio = fusion_list_varies(grid.fuse_qkv) || fusion_list_varies(grid.fuse_gate_up);
  if (f.membw) rep.membw = measure_read_bandwidth(uint64_t(f.membw_mib) << 20, 0, 5);

  const bool tty = isatty(STDERR_FILENO);
  for (size_t mi = 0; mi < f.models.size(); ++mi) {
    const std::string path = trim(f.models[mi]);
    const auto t0 = std::chrono::steady_clock::now();
    auto model = Model::load(path, LoadOptions{.repack = parse_on_off("--repack", f.repack)});  // once per run
    rep.models.push_back(describe_model(*model, path));
    rep.models.back().load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::vector<BenchCase> cases = expand_grid(grid, mi);
    // Cases that differ only in fusion run together, repetition by repetition, so their ratio
    // is not skewed by the machine drifting between one case and the next.
    auto same_but_fusion = [](BenchCase a, BenchCase b) {
      a.fuse_qkv = b.fuse_qkv;
      a.fuse_gate_up = b.fuse_gate_up;
      return std::memcmp(&a, &b, sizeof a) == 0;
    };
    std::vector<bool> done(cases.size(), false);
    std::vector<BenchResult> results(cases.size());
    size_t n_done = 0;
    for (size_t ci = 0; ci < cases.size(); ++ci) {
      if (done[ci]) continue;
      std::vector<size_t> idx;
      std::vector<BenchCase> group;
      for (size_t cj = ci; cj < cases.size(); ++cj)
        if (!done[cj] && same_but_fusion(cases[ci], cases[cj])) {
          idx.push_back(cj);
          group.push_back(cases[cj]);
          done[cj] = true;
        }
      const BenchCase& c = cases[ci];
      BenchRunOptions ro;
      ro.repetitions = f.repetitions;
      ro.warmup = !f.no_warmup;
      if (tty)
        ro.on_repetition = [&](int r) {
          fmt::print(stderr, "\r\033[Kbench: model {}/{}, cases {}-{}/{}: {} t={} ub={}, run {}/{}", mi + 1,
                     f.models.size(), n_done + 1, n_done + group.size(), cases.size(),
                     bench_test_name(c.n_prompt, c.n_gen), c.n_threads, c.n_ubatch, r, f.repetitions);
        };
      std::vector<BenchResult> rs = run_bench_interleaved(*model, group, ro);
      for (size_t k = 0; k < idx.size(); ++k) results[idx[k]] = std::move(rs[k]);
      n_done += group.size();
    }
    for (auto& r : results) rep.results.push_back(std::move(r));
  }
  if (tty) fmt::print(stderr, "\r\033[K");
  fill_ratios(rep.results, fusion_list_varies(grid.fuse_qkv), fusion_list_varies(grid.fuse_gate_up));
  if (rep.membw) fill_rooflines(rep.results, rep.models, rep.membw->gb_per_s);

  const std::string text = f.output == "json" ? format_json(rep) : f.output == "csv" ? format_csv(rep) : format_markdown(rep);
  fmt::print("{}", text);
  std::fflush(stdout);
  if (!f.plot.empty()) write_file(f.plot, format_svg(rep));
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "measure prompt and generation speed (llama-bench's tests)");
  auto f = std::make_shared<BenchFlags>();
  cmd->add_option("-m,--model", f->models, "GGUF model files (repeat or comma-separate)")->delimiter(',')->capture_default_str();
  cmd->add_option("-p,--n-prompt", f->n_prompt, "prompt test sizes (0 skips)")->delimiter(',')->capture_default_str();
  cmd->add_option("-n,--n-gen", f->n_gen, "generation test sizes (0 skips)")->delimiter(',')->capture_default_str();
  cmd->add_option("--prompt-gen", f->prompt_gen, "-pg PROMPT,GEN: a combined test (repeatable)");
  cmd->add_option("--ubatch-size", f->ubatch, "-ub: micro-batch sizes")->delimiter(',')->capture_default_str();
  cmd->add_option("-t,--threads", f->threads, "thread counts (default: all cores)")->delimiter(',');
  cmd->add_option("-r,--repetitions", f->repetitions, "timed runs per test")->capture_default_str();
  cmd->add_option("--fuse-qkv", f->fuse_qkv, "Q/K/V fusion settings: on, off, auto")->delimiter(',')->capture_default_str();
  cmd->add_option("--fuse-gate-up", f->fuse_gate_up, "gate/up fusion settings: on, off, auto")->delimiter(',')->capture_default_str();
  cmd->add_option("--cache-type-k", f->cache_k, "-ctk: K cache types: f16, f32")->delimiter(',')->capture_default_str();
  cmd->add_option("--cache-type-v", f->cache_v, "-ctv: V cache types: f16, f32")->delimiter(',')->capture_default_str();
  cmd->add_option("-o,--output", f->output, "output format: md, json or csv")->capture_default_str();
  cmd->add_flag("--membw", f->membw, "measure memory read bandwidth and add a % roofline column for tg tests");
  cmd->add_option("--membw-mib", f->membw_mib, "buffer size for --membw, MiB")->capture_default_str();
  cmd->add_option("--plot", f->plot, "write an SVG chart of t/s against ubatch to this file");
  cmd->add_option("--isa", f->isa, "force a kernel set: scalar, avx2 or avx512");
  cmd->add_flag("--no-warmup", f->no_warmup, "skip the untimed warm-up run");
  cmd->add_option("--repack", f->repack, "copy Q4_0/Q8_0 weights into the packed layout at load: on or off")
      ->capture_default_str();
  cmd->callback([f] { run(*f); });
}

}  // namespace trident::cli
