#include "model/delta_net.h"

#include "format/error.h"
#include "format/gguf.h"
#include "model/arch.h"
#include "model/hparams.h"

namespace trident {
namespace {

constexpr int64_t kMaxSize = int64_t(1) << 20;  // any of these sizes; products stay far from overflow

int64_t required_size(const GgufFile& f, const std::string& key) {
  const auto v = f.get_int(key);
  if (!v) fail("{}: missing required key '{}'", f.path(), key);
  if (*v <= 0 || *v > kMaxSize) fail("{}: key '{}': expected a positive size up to {}, found {}", f.path(), key, kMaxSize, *v);
  return *v;
}

}  // namespace

void read_delta_net_hparams(const GgufFile& f, const ArchSpec& arch, HParams& h) {
  if (arch.delta_net == DeltaNetKind::None) return;
  const std::string p = h.arch + ".";
  DeltaNetSizes& s = h.delta;
  const int64_t d_conv = required_size(f, p + "ssm.conv_kernel");
  const int64_t d_inner = required_size(f, p + "ssm.inner_size");
  s.head_k_dim = s.head_v_dim = required_size(f, p + "ssm.state_size");
  s.n_v_heads = required_size(f, p + "ssm.time_step_rank");
  s.n_k_heads = required_size(f, p + "ssm.group_count");
  s.d_conv = int(d_conv);
  // llama.cpp sizes the weights by state_size per value head and the graph by inner_size.
  if (d_inner != s.value_dim())
    fail("{}: key '{}': expected {} (time_step_rank {} x state_size {}), found {}", f.path(), p + "ssm.inner_size",
         s.value_dim(), s.n_v_heads, s.head_v_dim, d_inner);
  if (s.n_v_heads % s.n_k_heads != 0)
    fail("{}: key '{}': {} value heads (time_step_rank) are not a multiple of {} key heads", f.path(),
         p + "ssm.group_count", s.n_v_heads, s.n_k_heads);

  // Which layers are delta-net layers: a per-layer array over every block of the file (the
  // multi-token-prediction ones too), or a bool for all; else all but every interval-th.
  const int64_t n_all = h.n_layer + h.n_layer_nextn;
  h.layer_is_delta_net.assign(size_t(h.n_layer), false);
  const std::string key = p + "attention.recurrent_layers";
  if (const GgufValue* v = f.find(key)) {
    if (const GgufArray* a = v->as_array()) {
      if (a->size() != uint64_t(n_all))
        fail("{}: key '{}': expected {} values (one per block), found {}", f.path(), key, n_all, a->size());
      for (int64_t l = 0; l < h.n_layer; ++l) {
        const GgufValue e = a->at(uint64_t(l));
        const auto b = e.as_bool();
        const auto i = e.as_int();
        if (!b && !i) fail("{}: key '{}': layer {}: expected a bool", f.path(), key, l);
        h.layer_is_delta_net[size_t(l)] = b ? *b : *i != 0;
      }
    } else {
      const auto b = v->as_bool();
      if (!b) fail("{}: key '{}': expected a bool or an array of them", f.path(), key);
      h.layer_is_delta_net.assign(size_t(h.n_layer), *b);
    }
  } else {
    const int64_t interval = f.get_int(p + "full_attention_interval").value_or(4);
    if (interval <= 0 || interval > kMaxSize)
      fail("{}: key '{}': expected a positive interval, found {}", f.path(), p + "full_attention_interval", interval);
    for (int64_t l = 0; l < h.n_layer; ++l) h.layer_is_delta_net[size_t(l)] = (l + 1) % interval != 0;
  }
}

}  // namespace trident
