#include "model/delta_net.h"

#include "format/error.h"
#include "format/gguf.h"
#include "model/arch.h"
#include "model/hparams.h"

namespace trident {
namespace {

constexpr int64_t kMaxDeltaNetSize = int64_t(1) << 20;  // any of these sizes; products stay far from overflow

}  // namespace

void read_delta_net_hparams(const GgufFile& f, const ArchSpec& arch, HParams& h) {
  if (arch.delta_net == DeltaNetKind::None) return;
  const std::string p = h.arch + ".";
  DeltaNetSizes& s = h.delta;
  s.head_k_dim = s.head_v_dim = h.ssm_d_state;
  s.n_v_heads = h.ssm_dt_rank;
  s.n_k_heads = h.ssm_n_group;
  s.d_conv = int(h.ssm_d_conv);
  // llama.cpp sizes the weights by state_size per value head and the graph by inner_size.
  if (h.ssm_d_inner != s.value_dim())
    fail("{}: key '{}': expected {} (time_step_rank {} x state_size {}), found {}", f.path(), p + "ssm.inner_size",
         s.value_dim(), s.n_v_heads, s.head_v_dim, h.ssm_d_inner);
  if (s.head_k_dim > kMaxDeltaNetSize || s.n_v_heads > kMaxDeltaNetSize)
    fail("{}: keys '{}' / '{}': sizes above {}", f.path(), p + "ssm.state_size", p + "ssm.time_step_rank", kMaxDeltaNetSize);
}

}  // namespace trident
