#include "cli/model_flags.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

#include "format/checked.h"
#include "format/error.h"
#include "format/memory_budget.h"
#include "kernels/dispatch.h"

namespace trident::cli {

CLI::Option* add_model_path(CLI::App* cmd, std::string& path, const std::string& help) {
  return cmd->add_option("model,-m,--model", path, help);
}

std::string resolve_model_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path != kDefaultModel || fs::exists(path, ec)) return path;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return path;
  // build/trident (a build tree) and bin/trident (an install) both have models/ one level up.
  for (const char* rel : {"../models/stories260K.gguf", "../share/trident/models/stories260K.gguf"}) {
    const fs::path p = (exe.parent_path() / rel).lexically_normal();
    if (fs::exists(p, ec)) return p.string();
  }
  return path;
}

std::string lower_case(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

void add_model_flags(CLI::App* cmd, ModelFlags& f) {
  add_model_path(cmd, f.model, "GGUF model file (as -m MODEL or the first argument)")->capture_default_str();
  cmd->add_option("-t,--threads", f.threads, "threads (default: all cores)");
  cmd->add_option("-c,--ctx-size", f.ctx, "context size in tokens (default: model's, at most 4096)");
  cmd->add_option("--ubatch-size", f.ubatch, "-ub: micro-batch size for prompt evaluation")->capture_default_str();
  cmd->add_option("--cache-type-k", f.cache_k, "-ctk: K cache type: f16 or f32")->capture_default_str();
  cmd->add_option("--cache-type-v", f.cache_v, "-ctv: V cache type: f16 or f32")->capture_default_str();
  cmd->add_option("--fuse-qkv", f.fuse_qkv, "fuse Q/K/V projections: on, off or auto")->capture_default_str();
  cmd->add_option("--fuse-gate-up", f.fuse_gate_up, "fuse gate/up projections: on, off or auto")->capture_default_str();
  cmd->add_option("--isa", f.isa, "force a kernel set: scalar, avx2 or avx512");
  cmd->add_flag("--verbose", f.verbose, "-v: print load and fusion decisions (and the fusion cache path) to stderr");
  cmd->add_option("--mem-limit", f.mem_limit, "refuse to allocate more than this (e.g. 8G; default: physical memory)");
  cmd->add_option("--repack", f.repack, "copy the weights the packed kernels read into their layout at load: on or off")
      ->capture_default_str();
}

bool parse_on_off(const std::string& flag, const std::string& v) {
  if (v == "on") return true;
  if (v == "off") return false;
  fail("{}: expected on or off, found '{}'", flag, v);
}

FusionMode parse_fusion_mode(const std::string& flag, const std::string& v) {
  if (v == "on") return FusionMode::On;
  if (v == "off") return FusionMode::Off;
  if (v == "auto") return FusionMode::Auto;
  fail("{}: expected on, off or auto, found '{}'", flag, v);
}

KvType parse_kv_type(const std::string& flag, const std::string& v) {
  if (v == "f16") return KvType::F16;
  if (v == "f32") return KvType::F32;
  fail("{}: expected f16 or f32, found '{}'", flag, v);
}

int max_threads_flag() {
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  return int(std::clamp<long>(4 * cores, 4, 1024));
}

SessionOptions session_options(const ModelFlags& f) {
  if (f.threads != -1 && f.threads < 1) fail("-t: expected a thread count >= 1, found {}", f.threads);
  if (f.threads > max_threads_flag())
    fail("-t: expected at most {} threads (4 per core of this machine), found {}", max_threads_flag(), f.threads);
  SessionOptions o;
  o.n_threads = f.threads == -1 ? 0 : f.threads;
  if (f.ctx < 0 || f.ctx > kMaxContextFlag)
    fail("-c: expected a context size from 1 to {}, found {}", kMaxContextFlag, f.ctx);
  o.n_ctx = f.ctx;
  if (f.ubatch <= 0 || f.ubatch > kMaxContextFlag)
    fail("-ub: expected a micro-batch size from 1 to {}, found {}", kMaxContextFlag, f.ubatch);
  o.n_ubatch = f.ubatch;
  set_memory_limit(f.mem_limit.empty() ? 0 : parse_byte_size("--mem-limit", f.mem_limit));
  o.k_type = parse_kv_type("-ctk", lower_case(f.cache_k));
  o.v_type = parse_kv_type("-ctv", lower_case(f.cache_v));
  o.fuse_qkv = parse_fusion_mode("--fuse-qkv", f.fuse_qkv);
  o.fuse_gate_up = parse_fusion_mode("--fuse-gate-up", f.fuse_gate_up);
  o.verbose = f.verbose;
  return o;
}

std::vector<int32_t> parse_token_list(const std::string& text) {
  std::string s = text;
  const auto b = s.find_first_not_of(" \t\n"), e = s.find_last_not_of(" \t\n");
  if (b != std::string::npos && s[b] == '[' && s[e] == ']') s = s.substr(b + 1, e - b - 1);
  std::vector<int32_t> ids;
  size_t i = 0, index = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string item = s.substr(i, j - i);
    auto b = item.find_first_not_of(" \t\n"), e = item.find_last_not_of(" \t\n");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    int64_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || v < INT32_MIN || v > INT32_MAX)
      fail("--tokens: item {} ('{}') is not a token id", index, item);
    ids.push_back(int32_t(v));
    ++index;
    i = j + 1;
  }
  return ids;
}

// What a Session with these options will allocate (KV cache and per-micro-batch buffers), checked
// against the memory budget before it is made. Mirrors Session's defaults for n_ctx and n_ubatch.
void check_session_fits(const Model& m, const SessionOptions& o) {
  const HParams& h = m.hp();
  const int64_t n_ctx = o.n_ctx ? o.n_ctx : std::min<int64_t>(h.n_ctx_train > 0 ? h.n_ctx_train : 4096, 4096);
  const uint64_t ub = uint64_t(std::min(o.n_ubatch, n_ctx));
  const std::string what = fmt::format("-c {} -ub {}: the KV cache and buffers", n_ctx, ub);
  const uint64_t kv_elem = (o.k_type == KvType::F32 ? 4 : 2) + (o.v_type == KvType::F32 ? 4 : 2);
  const uint64_t kv = checked_mul(checked_mul(uint64_t(h.n_layer), uint64_t(n_ctx), what),
                                  checked_mul(uint64_t(h.n_kv()), kv_elem, what), what);
  // Floats per token in flight: activations, Q/K/V, attention, gate/up, logits, router.
  const uint64_t n_ff = uint64_t(std::max(h.n_ff, h.n_ff_expert));
  const uint64_t per_token = 3 * uint64_t(h.n_embd) + 2 * uint64_t(h.n_q()) + 2 * uint64_t(h.n_kv()) + 3 * n_ff +
                             uint64_t(h.n_vocab) + uint64_t(h.n_expert) * (1 + uint64_t(h.n_embd));
  check_memory(checked_add(kv, checked_mul(ub, per_token * 4, what), what), what);
}

std::unique_ptr<Model> load_model(const ModelFlags& f) {
  if (!f.isa.empty() && !select_kernel_table(f.isa.c_str()))
    fail("--isa: '{}' is not supported on this CPU", f.isa);
  LoadOptions lo;
  lo.verbose = f.verbose;
  lo.repack = parse_on_off("--repack", f.repack);
  const std::string path = resolve_model_path(f.model);
  auto m = Model::load(path, lo);
  check_session_fits(*m, session_options(f));
  if (f.verbose) {
    const HParams& h = m->hp();
    fmt::print(stderr, "model: {} ({}), {} layers, n_embd {}, {} heads / {} KV heads, vocab {}\n",
               path, h.arch, h.n_layer, h.n_embd, h.n_head, h.n_head_kv, h.n_vocab);
    fmt::print(stderr, "kernels: {}\n", kernel_table().isa);
    fmt::print(stderr, "repacked: {} MiB in {:.2f} s\n", m->packed().bytes() >> 20, m->packed().seconds());
  }
  return m;
}

void warn_context_above_trained(const ModelFlags& f, const Model& m) {
  const int64_t trained = m.hp().n_ctx_train;
  if (trained > 0 && f.ctx > trained)
    fmt::print(stderr, "trident: warning: -c {} is above the {} tokens the model was trained on; text past {} "
               "tokens may be poor\n", f.ctx, trained, trained);
}

}  // namespace trident::cli
