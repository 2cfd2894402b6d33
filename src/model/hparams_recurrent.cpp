// The recurrent layers' hyper-parameters: which layers run the row's mixer (llama.cpp's
// is_recr, as each family's loader sets it) and the ssm.* / shortconv.* keys of that mixer.
#include <optional>

#include "format/error.h"
#include "model/hparams.h"

namespace trident {
namespace {

constexpr int64_t kMaxRecurrentSize = int64_t(1) << 32;

int64_t size_key(const GgufFile& f, const std::string& key, int64_t min) {
  const std::optional<int64_t> v = f.get_int(key);
  if (!v) fail("{}: missing required key '{}'", f.path(), key);
  if (*v < min || *v > kMaxRecurrentSize) fail("{}: key '{}': expected a size from {} to {}, found {}", f.path(), key, min, kMaxRecurrentSize, *v);
  return *v;
}

// Which layers are recurrent: attention.recurrent_layers (one bool / integer per layer) when the
// file has it, else every layer but each full_attention_interval-th (default 4). The array covers
// the multi-token-prediction blocks too (n_all, llama.cpp's n_layer_all); the first n run.
std::vector<bool> interval_layers(const GgufFile& f, const std::string& p, int64_t n, int64_t n_all) {
  std::vector<bool> r(static_cast<size_t>(n_all), false);
  if (const GgufArray* a = f.get_array(p + "attention.recurrent_layers")) {
    if (a->size() != uint64_t(n_all))
      fail("{}: key '{}': expected {} values (one per layer), found {}", f.path(), p + "attention.recurrent_layers", n_all,
           a->size());
    for (uint64_t i = 0; i < a->size(); ++i) {
      const GgufValue e = a->at(i);
      const auto x = e.type == GgufValueType::BOOL ? std::optional<int64_t>(*e.as_bool()) : e.as_int();
      if (!x) fail("{}: key '{}': layer {}: expected a bool", f.path(), p + "attention.recurrent_layers", i);
      r[size_t(i)] = *x != 0;
    }
    r.resize(size_t(n));
    return r;
  }
  const int64_t interval = f.find(p + "full_attention_interval") ? size_key(f, p + "full_attention_interval", 1) : 4;
  for (int64_t l = 0; l < n; ++l) r[size_t(l)] = (l + 1) % interval != 0;
  r.resize(size_t(n));
  return r;
}

}  // namespace

void read_recurrent(const GgufFile& f, const ArchSpec& arch, HParams& h) {
  const std::string p = h.arch + ".";
  const int64_t n = h.n_layer;
  // llama.cpp's n_head(): layer 0's head count, before the recurrent layers' are zeroed below.
  const int64_t n_head_first = h.layer_sizes.empty() ? h.n_head : h.layer_sizes[0].n_head;
  std::vector<bool> recr(size_t(n), false);
  switch (arch.recurrent_layers) {
    case RecurrentLayers::None: return;
    case RecurrentLayers::All: recr.assign(size_t(n), true); break;
    case RecurrentLayers::NoKvHeads:
      for (int64_t l = 0; l < n; ++l) recr[size_t(l)] = h.layer_sizes[size_t(l)].n_head_kv == 0;
      break;
    case RecurrentLayers::NoKvHeadsNoFfn:
      for (int64_t l = 0; l < n; ++l) {
        const LayerSizes& z = h.layer_sizes[size_t(l)];
        recr[size_t(l)] = z.n_head_kv == 0 && z.n_ff == 0;
      }
      break;
    case RecurrentLayers::Interval: recr = interval_layers(f, p, n, n + h.n_layer_nextn); break;
  }
  for (int64_t l = 0; l < n; ++l) {
    if (!recr[size_t(l)]) continue;
    LayerSizes& z = h.layer_sizes[size_t(l)];
    z.mixer = arch.mixer;
    if (arch.attention_beside_mixer) continue;
    z.n_head = z.n_head_kv = 0;  // no attention, no K/V rows
    h.layer_is_swa[size_t(l)] = false;
  }
  switch (arch.mixer) {
    case Mixer::Attention: return;
    case Mixer::ShortConv:
      // llama.cpp asserts a state of at least one input (l_cache > 1).
      h.shortconv_l_cache = size_key(f, p + "shortconv.l_cache", 2);
      return;
    case Mixer::Kda: {
      // As llama.cpp's kimi-linear loader: n_head() heads of kda.head_dim for q, k and v.
      DeltaNetSizes& s = h.delta;
      s.kda = true;
      s.d_conv = int(size_key(f, p + "ssm.conv_kernel", 1));
      s.head_k_dim = s.head_v_dim = size_key(f, p + "kda.head_dim", 1);
      s.n_k_heads = s.n_v_heads = n_head_first;
      if (n_head_first < 1 || s.head_k_dim > (int64_t(1) << 20) || n_head_first > (int64_t(1) << 20))
        fail("{}: keys '{}' / '{}': {} heads of {} (Kimi delta attention takes the first layer's head count)",
             f.path(), p + "attention.head_count", p + "kda.head_dim", n_head_first, s.head_k_dim);
      h.ssm_d_conv = s.d_conv;
      return;
    }
    case Mixer::Mamba1:
    case Mixer::Mamba2:
    case Mixer::DeltaNet:
    case Mixer::Plamo2:
      break;
  }
  h.ssm_d_conv = size_key(f, p + "ssm.conv_kernel", 1);
  h.ssm_d_inner = size_key(f, p + "ssm.inner_size", 1);
  h.ssm_d_state = size_key(f, p + "ssm.state_size", 1);
  h.ssm_dt_rank = size_key(f, p + "ssm.time_step_rank", 1);
  if (arch.mixer == Mixer::Plamo2) {
    // llama.cpp asserts 0 groups: B and C are one group for all heads.
    if (const int64_t g = size_key(f, p + "ssm.group_count", 0); g != 0)
      fail("{}: key '{}': expected 0, found {}", f.path(), p + "ssm.group_count", g);
    h.ssm_dt_dim = std::max<int64_t>(64, h.n_embd / 16);
    if (h.ssm_d_inner % h.ssm_dt_rank != 0)
      fail("{}: keys '{}' / '{}': inner size {} is not a multiple of the {} heads", f.path(), p + "ssm.inner_size",
           p + "ssm.time_step_rank", h.ssm_d_inner, h.ssm_dt_rank);
    return;
  }
  if (arch.mixer != Mixer::Mamba1) h.ssm_n_group = size_key(f, p + "ssm.group_count", 1);
  if (arch.mixer == Mixer::Mamba1) {
    h.ssm_dt_b_c_rms = f.get_bool(p + "ssm.dt_b_c_rms").value_or(false);
    // As llama.cpp's mamba loader: "only an expansion factor of 2 is supported for now".
    if (h.ssm_d_inner != 2 * h.n_embd)
      fail("{}: key '{}': expected twice the embedding length ({}), found {}", f.path(), p + "ssm.inner_size",
           2 * h.n_embd, h.ssm_d_inner);
  }
  if (arch.mixer != Mixer::Mamba1 &&
      (h.ssm_d_inner % h.ssm_dt_rank != 0 || h.ssm_d_inner % h.ssm_n_group != 0 || h.ssm_dt_rank % h.ssm_n_group != 0))
    fail("{}: keys '{}' / '{}' / '{}': inner size {}, {} heads and {} groups do not divide", f.path(),
         p + "ssm.inner_size", p + "ssm.time_step_rank", p + "ssm.group_count", h.ssm_d_inner, h.ssm_dt_rank,
         h.ssm_n_group);
}

}  // namespace trident
