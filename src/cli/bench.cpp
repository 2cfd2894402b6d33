// `trident bench`: llama-bench's tests (pp / tg / pp+tg) over lists of threads, micro-batch
// sizes, cache types, depths and fusion settings; see runtime/bench.h for what is timed. Each
// row is printed as soon as it is measured.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "cli/bench_report.h"
#include "cli/commands.h"
#include "cli/model_flags.h"
#include "cli/version.h"
#include "format/error.h"
#include "kernels/dispatch.h"
#include "kernels/thread_pool.h"
#include "runtime/fusion_cache.h"

namespace trident::cli {
namespace {

struct BenchFlags {
  std::vector<std::string> models = {kDefaultModel};
  std::vector<std::string> n_prompt = {"512"}, n_gen = {"128"}, prompt_gen, depth = {"0"};
  std::vector<std::string> ubatch = {"512"}, threads;
  std::vector<std::string> cache_k = {"f16"}, cache_v = {"f16"};
  std::vector<std::string> fuse_qkv = {"on"}, fuse_gate_up = {"on"};
  int repetitions = 5;
  std::string output = "md";
  bool membw = false;
  int64_t membw_mib = 1024;
  std::string plot, plot_llama, isa;
  bool no_warmup = false, progress = false;
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

// One list item: a number, or llama-bench's range FIRST-LAST, FIRST-LAST+STEP, FIRST-LAST*MULT.
void parse_item(const std::string& flag, const std::string& item, const char* what, int64_t min,
                std::vector<int64_t>& out) {
  const std::string s = trim(item);
  const size_t dash = s.find('-', 1);
  if (dash == std::string::npos) {
    out.push_back(parse_int(flag, s, what, min));
    return;
  }
  const size_t op = s.find_first_of("+*", dash);
  const int64_t first = parse_int(flag, s.substr(0, dash), what, min);
  const int64_t last = parse_int(flag, s.substr(dash + 1, op == std::string::npos ? op : op - dash - 1), what, min);
  const bool mult = op != std::string::npos && s[op] == '*';
  const int64_t step = op == std::string::npos ? 1 : parse_int(flag, s.substr(op + 1), mult ? "a factor" : "a step", mult ? 2 : 1);
  if (last < first) fail("{}: range '{}' ends before it starts", flag, s);
  if (mult && first == 0) fail("{}: range '{}' multiplies 0", flag, s);
  for (int64_t v = first; v <= last; v = mult ? v * step : v + step) {
    if (out.size() >= 4096) fail("{}: range '{}' has more than 4096 values", flag, s);
    out.push_back(v);
  }
}

std::vector<int64_t> parse_ints(const std::string& flag, const std::vector<std::string>& items, const char* what,
                                int64_t min) {
  std::vector<int64_t> out;
  for (const auto& i : items) parse_item(flag, i, what, min, out);
  if (out.empty()) fail("{}: expected at least one value", flag);
  return out;
}

KvType parse_kv(const std::string& flag, const std::string& v) { return parse_kv_type(flag, trim(v)); }

BenchGrid parse_grid(const BenchFlags& f) {
  BenchGrid g;
  if (f.threads.empty()) {
    g.threads = {available_cores()};
  } else {
    for (int64_t t : parse_ints("-t", f.threads, "a thread count", 1)) g.threads.push_back(int(std::min<int64_t>(t, 1024)));
  }
  g.ubatch = parse_ints("-ub", f.ubatch, "a micro-batch size", 1);
  for (const auto& v : f.cache_k) g.k_types.push_back(parse_kv("-ctk", lower_case(v)));
  for (const auto& v : f.cache_v) g.v_types.push_back(parse_kv("-ctv", lower_case(v)));
  g.depths = parse_ints("-d", f.depth, "a token count", 0);
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

// --plot is written after minutes of measuring; a path that cannot be written fails now.
void check_writable(const std::string& path) {
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) fail("--plot {}: cannot write: {}", path, std::strerror(errno));
  out.close();
  std::filesystem::remove(tmp);
}

// Cases that differ only in fusion, run together repetition by repetition so that their ratio
// is not skewed by the machine drifting between one case and the next. Groups in case order.
std::vector<std::vector<size_t>> fusion_groups(const std::vector<BenchCase>& cases) {
  // Field by field: memcmp would also compare the struct's padding bytes, which hold garbage.
  auto same_but_fusion = [](const BenchCase& a, const BenchCase& b) {
    return std::tie(a.model, a.n_threads, a.n_ubatch, a.k_type, a.v_type, a.n_prompt, a.n_gen, a.n_depth) ==
           std::tie(b.model, b.n_threads, b.n_ubatch, b.k_type, b.v_type, b.n_prompt, b.n_gen, b.n_depth);
  };
  std::vector<bool> taken(cases.size(), false);
  std::vector<std::vector<size_t>> groups;
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    if (taken[ci]) continue;
    groups.emplace_back();
    for (size_t cj = ci; cj < cases.size(); ++cj)
      if (!taken[cj] && same_but_fusion(cases[ci], cases[cj])) groups.back().push_back(cj), taken[cj] = true;
  }
  return groups;
}

void run_bench(const BenchFlags& f) {
  check_bench_format(f.output);
  if (f.repetitions < 1) fail("-r: expected a repetition count >= 1, found {}", f.repetitions);
  if (f.membw_mib < 1) fail("--membw-mib: expected a size >= 1, found {}", f.membw_mib);
  if (f.models.empty()) fail("-m: expected at least one model");
  const BenchGrid grid = parse_grid(f);
  if (!f.isa.empty() && !select_kernel_table(f.isa.c_str())) fail("--isa: '{}' is not supported on this CPU", f.isa);
  const bool repack = parse_on_off("--repack", f.repack);
  if (!f.plot.empty()) check_writable(f.plot);
  if (!f.plot_llama.empty() && f.plot.empty()) fail("--plot-llama: expected --plot too (it adds llama.cpp to the chart)");

  BenchReport rep;
  rep.kernels = kernel_table().isa;
  rep.build_commit = build_commit();
  rep.cpu = cpu_model_name();
  rep.repetitions = f.repetitions;
  if (!f.plot_llama.empty()) rep.llama = read_llama_bench_json(f.plot_llama);
  const bool qkv_varies = fusion_list_varies(grid.fuse_qkv), gate_up_varies = fusion_list_varies(grid.fuse_gate_up);
  rep.show_ratio = qkv_varies || gate_up_varies;
  for (KvType t : grid.k_types) rep.show_kv |= t != KvType::F16;
  for (KvType t : grid.v_types) rep.show_kv |= t != KvType::F16;
  if (f.membw) rep.membw = measure_read_bandwidth(uint64_t(f.membw_mib) << 20, 0, 5);

  // A person at a terminal sees one line redrawn; --progress prints a line per step anywhere.
  const bool tty = isatty(STDERR_FILENO);
  auto progress = [&](const std::string& text) {
    if (tty) fmt::print(stderr, "\r\033[K{}", text);
    else if (f.progress) fmt::print(stderr, "{}\n", text);
  };
  auto clear_progress = [&] {
    if (tty) fmt::print(stderr, "\r\033[K");
  };
  BenchPrinter printer(f.output);
  for (size_t mi = 0; mi < f.models.size(); ++mi) {
    const std::string path = resolve_model_path(trim(f.models[mi]));
    progress(fmt::format("bench: model {}/{}: loading {}", mi + 1, f.models.size(), path));
    const auto t0 = std::chrono::steady_clock::now();
    auto model = Model::load(path, LoadOptions{.repack = repack});  // once per run
    rep.models.push_back(describe_model(*model, path));
    rep.models.back().load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::vector<BenchCase> cases = expand_grid(grid, mi);
    size_t n_done = 0;
    for (const std::vector<size_t>& idx : fusion_groups(cases)) {
      std::vector<BenchCase> group;
      for (size_t i : idx) group.push_back(cases[i]);
      const BenchCase& c = group.front();
      BenchRunOptions ro;
      ro.repetitions = f.repetitions;
      ro.warmup = !f.no_warmup;
      ro.on_repetition = [&](int r) {
        progress(fmt::format("bench: model {}/{}, cases {}-{}/{}: {} t={} ub={}, run {}/{}", mi + 1, f.models.size(),
                             n_done + 1, n_done + group.size(), cases.size(),
                             bench_test_name(c.n_prompt, c.n_gen, c.n_depth), c.n_threads, c.n_ubatch, r,
                             f.repetitions));
      };
      std::vector<BenchResult> rs = run_bench_interleaved(*model, group, ro);
      fill_ratios(rs, qkv_varies, gate_up_varies);
      if (rep.membw) fill_rooflines(rs, rep.models, rep.membw->gb_per_s);
      clear_progress();
      for (BenchResult& r : rs) {
        fmt::print("{}", printer.row(rep, r));
        std::fflush(stdout);
        for (const std::string& v : r.fusion_verdicts)
          fmt::print(stderr, "fusion ({} t={} ub={}): {}\n", bench_test_name(r.c.n_prompt, r.c.n_gen, r.c.n_depth),
                     r.c.n_threads, r.c.n_ubatch, v);
        rep.results.push_back(std::move(r));
      }
      std::fflush(stdout);
      n_done += group.size();
    }
  }
  clear_progress();
  fmt::print("{}", printer.finish(rep));
  std::fflush(stdout);
  if (!f.plot.empty()) write_file(f.plot, format_svg(rep));
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "measure prompt and generation speed (llama-bench's tests)");
  auto f = std::make_shared<BenchFlags>();
  const char* ints = " (comma-separated; ranges FIRST-LAST, FIRST-LAST+STEP, FIRST-LAST*MULT)";
  cmd->add_option("models,-m,--model", f->models, "GGUF model files (repeat or comma-separate)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-p,--n-prompt", f->n_prompt, std::string("prompt test sizes, 0 skips") + ints)
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", f->n_gen, std::string("generation test sizes, 0 skips") + ints)
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--prompt-gen", f->prompt_gen, "-pg PROMPT,GEN: a combined test (repeatable)");
  cmd->add_option("-d,--n-depth", f->depth, std::string("tokens in the context before each test") + ints)
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--ubatch-size", f->ubatch, std::string("-ub: micro-batch sizes") + ints)
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-t,--threads", f->threads, std::string("thread counts (default: all cores)") + ints)->delimiter(',');
  cmd->add_option("-r,--repetitions", f->repetitions, "timed runs per test")->capture_default_str();
  cmd->add_option("--fuse-qkv", f->fuse_qkv, "Q/K/V fusion settings: on, off, auto")->delimiter(',')->capture_default_str();
  cmd->add_option("--fuse-gate-up", f->fuse_gate_up, "gate/up fusion settings: on, off, auto")->delimiter(',')->capture_default_str();
  cmd->add_option("--cache-type-k", f->cache_k, "-ctk: K cache types: f16, f32")->delimiter(',')->capture_default_str();
  cmd->add_option("--cache-type-v", f->cache_v, "-ctv: V cache types: f16, f32")->delimiter(',')->capture_default_str();
  cmd->add_option("-o,--output", f->output, "output format: md, csv, json, jsonl or sql")->capture_default_str();
  cmd->add_flag("--progress", f->progress, "print a progress line per step on stderr, also when it is not a terminal");
  cmd->add_flag("--membw", f->membw, "measure memory read bandwidth and add a % roofline column for tg tests");
  cmd->add_option("--membw-mib", f->membw_mib, "buffer size for --membw, MiB")->capture_default_str();
  cmd->add_option("--plot", f->plot,
                  "write an SVG chart to this file (checked before running): t/s against ubatch with fused/unfused "
                  "ratios for prompt tests, bars for generation tests");
  cmd->add_option("--plot-llama", f->plot_llama,
                  "llama-bench -o json output for the same files: adds llama.cpp and trident / llama.cpp to the chart");
  cmd->add_option("--isa", f->isa, "force a kernel set: scalar, avx2 or avx512");
  cmd->add_flag("--no-warmup", f->no_warmup, "skip the untimed warm-up run");
  cmd->add_option("--repack", f->repack, "copy the weights the packed kernels read into their layout at load: on or off")
      ->capture_default_str();
  cmd->callback([f] { run_bench(*f); });
}

}  // namespace trident::cli
