#include "cli/llama_flags.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "format/error.h"

namespace trident::cli {
namespace {

// llama.cpp's spelling -> trident's name for the same flag (used when the command has it).
constexpr std::pair<const char*, const char*> kRenames[] = {
    {"-ub", "--ubatch-size"}, {"-ctk", "--cache-type-k"}, {"-ctv", "--cache-type-v"},
    {"-pg", "--prompt-gen"},  {"-v", "--verbose"},      {"-np", "--parallel"},
    {"-sys", "--system-prompt"}, {"-cnv", "--conversation"},
};

bool is_int_list(const std::string& v, int64_t min, int64_t max) {
  if (v.empty()) return false;
  size_t i = 0;
  while (i <= v.size()) {
    size_t j = std::min(v.find(',', i), v.size());
    int64_t x = 0;
    auto [p, ec] = std::from_chars(v.data() + i, v.data() + j, x);
    if (ec != std::errc() || p != v.data() + j || x < min || x > max) return false;
    i = j + 1;
  }
  return true;
}

bool word_list(const std::string& v, std::initializer_list<const char*> words) {
  size_t i = 0;
  while (i <= v.size()) {
    size_t j = std::min(v.find(',', i), v.size());
    const std::string w = v.substr(i, j - i);
    if (std::none_of(words.begin(), words.end(), [&](const char* x) { return w == x; })) return false;
    i = j + 1;
  }
  return true;
}

enum class Arity { None, One, Optional };  // Optional: takes the next word unless it is a flag

// A llama.cpp flag trident does not have. Lists are accepted where llama-bench takes them.
struct ForeignFlag {
  std::vector<const char*> names;
  Arity arity;
  bool (*harmless)(const std::string& value);  // nullptr: always refused
  const char* accepted;                         // the harmless spelling, for the message
  const char* why;
};

constexpr const char* kCpu = "not supported: trident runs on the CPU";
constexpr const char* kChat = "only in a conversation: use trident chat (or trident run -cnv)";

bool any(const std::string&) { return true; }
bool zero(const std::string& v) { return is_int_list(v, 0, 0) || v == "none"; }
bool positive(const std::string& v) { return is_int_list(v, 1, INT32_MAX); }
bool one(const std::string& v) { return v == "1"; }
bool fa_off(const std::string& v) { return word_list(v, {"off", "0", "false", "auto"}); }
bool none(const std::string& v) { return word_list(v, {"none", "cpu", "CPU"}); }
bool split_none(const std::string& v) { return word_list(v, {"none"}); }

const std::vector<ForeignFlag>& foreign_flags() {
  static const std::vector<ForeignFlag> kFlags = {
      {{"-ngl", "--n-gpu-layers", "--gpu-layers"}, Arity::One, zero, "-ngl 0", kCpu},
      {{"-fa", "--flash-attn"}, Arity::Optional, fa_off, "-fa off", kCpu},
      {{"-mg", "--main-gpu"}, Arity::One, zero, "-mg 0", kCpu},
      {{"-sm", "--split-mode"}, Arity::One, split_none, "-sm none", kCpu},
      {{"-ts", "--tensor-split"}, Arity::One, nullptr, nullptr, kCpu},
      {{"-dev", "--device"}, Arity::One, none, "-dev none", kCpu},
      {{"-ot", "--override-tensor"}, Arity::One, nullptr, nullptr, kCpu},
      {{"-nkvo", "--no-kv-offload"}, Arity::Optional, any, nullptr, nullptr},
      {{"--mlock"}, Arity::None, any, nullptr, nullptr},
      {{"--no-mmap"}, Arity::None, any, nullptr, nullptr},
      {{"-mmp", "--mmap"}, Arity::Optional, any, nullptr, nullptr},
      {{"--numa"}, Arity::One, any, nullptr, nullptr},
      {{"--prio", "--poll"}, Arity::One, any, nullptr, nullptr},
      {{"-b", "--batch-size"}, Arity::One, positive, "a batch size >= 1", nullptr},
      {{"-tb", "--threads-batch"}, Arity::One, positive, "a thread count >= 1", nullptr},
      {{"-np", "--parallel"}, Arity::One, one, "-np 1", "not supported: trident runs one sequence"},
      {{"-cb", "--cont-batching", "-nocb", "--no-cont-batching"}, Arity::None, any, nullptr, nullptr},
      {{"-no-cnv", "--no-conversation", "-st", "--single-turn"}, Arity::None, any, nullptr, nullptr},
      {{"--no-warmup", "--color", "--log-disable"}, Arity::None, any, nullptr, nullptr},
      {{"-i", "--interactive", "-if", "--interactive-first", "-mli", "--multiline-input"}, Arity::None, nullptr, nullptr,
       kChat},
      {{"-sys", "--system-prompt"}, Arity::One, nullptr, nullptr, kChat},
  };
  return kFlags;
}

// Commands that run a model and so take llama.cpp's model-running flags.
bool runs_a_model(const CLI::App& cmd) {
  const std::string& n = cmd.get_name();
  return n == "run" || n == "logits" || n == "bench";
}

const ForeignFlag* find_foreign(const std::string& name) {
  for (const ForeignFlag& f : foreign_flags())
    if (std::any_of(f.names.begin(), f.names.end(), [&](const char* n) { return name == n; })) return &f;
  return nullptr;
}

bool looks_like_number(const std::string& a) {
  double d = 0;
  auto [p, ec] = std::from_chars(a.data(), a.data() + a.size(), d);
  return ec == std::errc() && p == a.data() + a.size();
}

std::vector<std::string> flag_names(const CLI::App& cmd) {
  std::vector<std::string> names;
  for (const CLI::Option* o : cmd.get_options()) {
    for (const auto& s : o->get_snames()) names.push_back("-" + s);
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
  }
  return names;
}

[[noreturn]] void unknown_flag(const CLI::App& cmd, const std::string& name) {
  std::vector<std::string> names = flag_names(cmd);
  if (runs_a_model(cmd))
    for (const ForeignFlag& f : foreign_flags())
      for (const char* n : f.names) names.push_back(n);
  if (auto near = closest_name(name, names))
    fail("unknown flag '{}' for 'trident {}' (did you mean '{}'?)", name, cmd.get_name(), *near);
  fail("unknown flag '{}' for 'trident {}' (see trident {} --help)", name, cmd.get_name(), cmd.get_name());
}

}  // namespace

std::optional<std::string> closest_name(const std::string& typed, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
      for (size_t j = 1; j <= b.size(); ++j) {
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    return d[a.size()][b.size()];
  };
  std::optional<std::string> best;
  size_t best_d = 0;
  for (const std::string& c : candidates) {
    const size_t dist = distance(typed, c);
    if (!best || dist < best_d) best = c, best_d = dist;
  }
  // A typo changes a letter or two; more than a third of the word is a different word.
  if (!best || best_d == 0 || best_d > std::max<size_t>(1, std::min<size_t>(2, typed.size() / 3))) return std::nullopt;
  return best;
}

std::vector<std::string> translate_llama_flags(const CLI::App& cmd, const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      out.insert(out.end(), args.begin() + long(i), args.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-' || looks_like_number(a)) {
      out.push_back(a);  // a positional word
      continue;
    }
    const size_t eq = a.find('=');
    std::string name = a.substr(0, eq);
    std::optional<std::string> inline_value;
    if (eq != std::string::npos) inline_value = a.substr(eq + 1);
    for (const auto& [llama, ours] : kRenames)
      if (name == llama && cmd.get_option_no_throw(ours)) name = ours;

    if (const CLI::Option* opt = cmd.get_option_no_throw(name)) {
      const bool takes_value = opt->get_expected_min() > 0;
      if (!takes_value) {
        out.push_back(inline_value ? name + "=" + *inline_value : name);
        continue;
      }
      std::optional<std::string> value = inline_value;
      if (!value && i + 1 < args.size()) value = args[++i];
      if (!value) fail("{}: expected a value", name);
      // "--prompt=-x" keeps a value that starts with a dash from being read as a flag.
      const std::string spelled = opt->get_lnames().empty() ? name : "--" + opt->get_lnames()[0];
      if (!value->empty() && (*value)[0] == '-' && !looks_like_number(*value))
        out.push_back(spelled + "=" + *value);
      else
        out.push_back(spelled), out.push_back(*value);
      continue;
    }
    const ForeignFlag* f = runs_a_model(cmd) ? find_foreign(name) : nullptr;
    if (!f) {
      // "-n64" (a one-letter flag with a number attached) stays as it is; "-pg" is not "-p g".
      if (a[1] != '-' && a.size() > 2 && looks_like_number(a.substr(2)) && cmd.get_option_no_throw(a.substr(0, 2))) {
        out.push_back(a);
        continue;
      }
      unknown_flag(cmd, name);
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (f->arity == Arity::One) {
      if (i + 1 >= args.size()) fail("{}: expected a value", name);
      value = args[++i];
    } else if (f->arity == Arity::Optional && i + 1 < args.size() &&
               (args[i + 1].empty() || args[i + 1][0] != '-' || looks_like_number(args[i + 1]))) {
      value = args[++i];
    } else if (f->arity == Arity::Optional) {
      value = "on";  // the old spelling without a value meant "enable"
    }
    if (f->harmless && f->harmless(value)) continue;  // changes nothing here: dropped
    const std::string spelled = value.empty() || !f->harmless ? name : name + " " + value;
    if (!f->why) fail("{}: expected {}, found '{}'", name, f->accepted, value);
    if (f->accepted) fail("{}: {} ({} is accepted)", spelled, f->why, f->accepted);
    fail("{}: {}", spelled, f->why);
  }
  return out;
}

}  // namespace trident::cli
