#include "runtime/seq_pool.h"

#include <algorithm>

#include "format/checked.h"
#include "format/error.h"
#include "format/memory_budget.h"

namespace trident {

SeqPool::SeqPool(int64_t n_seq_max, int64_t n_layer, int64_t n_ctx, int64_t k_elems, int64_t v_elems, KvType k_type,
                 KvType v_type, std::vector<RecurrentLayerShape> recurrent)
    : n_layer_(n_layer), n_ctx_(n_ctx), k_elems_(k_elems), v_elems_(v_elems), k_type_(k_type), v_type_(v_type),
      recurrent_(std::move(recurrent)) {
  if (std::all_of(recurrent_.begin(), recurrent_.end(), [](const RecurrentLayerShape& s) { return s == RecurrentLayerShape{}; }))
    recurrent_.clear();
  if (n_seq_max < 1 || n_seq_max > kMaxSequences)
    fail("invalid sequence count {} (expected 1..{})", n_seq_max, kMaxSequences);
  const uint64_t per_row =
      uint64_t(k_elems) * (k_type == KvType::F32 ? 4 : 2) + uint64_t(v_elems) * (v_type == KvType::F32 ? 4 : 2);
  uint64_t bytes = checked_mul(uint64_t(n_layer), uint64_t(n_ctx), "KV pool size");
  bytes = checked_mul(bytes, per_row, "KV pool size");
  bytes = checked_mul(bytes, uint64_t(n_seq_max), "KV pool size");
  check_memory(bytes, n_seq_max == 1 ? fmt::format("a KV cache of {} tokens", n_ctx)
                                     : fmt::format("a KV pool of {} sequences of {} tokens", n_seq_max, n_ctx));
  slots_.resize(size_t(n_seq_max));
}

SeqPool::Slot& SeqPool::slot(int32_t id) {
  if (!exists(id)) fail("sequence {} does not exist", id);
  return slots_[size_t(id)];
}

const SeqPool::Slot& SeqPool::slot(int32_t id) const {
  if (!exists(id)) fail("sequence {} does not exist", id);
  return slots_[size_t(id)];
}

void SeqPool::open(int32_t id) {
  Slot& s = slots_[size_t(id)];
  if (!s.kv) s.kv = std::make_unique<KvCache>(n_layer_, n_ctx_, k_elems_, v_elems_, k_type_, v_type_);
  if (recurrent() && !s.rs) s.rs = std::make_unique<RecurrentState>(recurrent_);
  if (s.rs) s.rs->reset();
  s.used = true;
  s.tokens.clear();
}

int32_t SeqPool::create() {
  for (size_t i = 0; i < slots_.size(); ++i)
    if (!slots_[i].used) {
      open(int32_t(i));
      return int32_t(i);
    }
  fail("no free sequence: all {} are in use (raise the sequence count or remove one)", slots_.size());
}

void SeqPool::ensure(int32_t id) {
  if (id < 0 || id >= int32_t(slots_.size())) fail("sequence id {} is outside 0..{}", id, slots_.size() - 1);
  if (!slots_[size_t(id)].used) open(id);
}

void SeqPool::remove(int32_t id) {
  Slot& s = slot(id);
  s.used = false;
  s.tokens.clear();
}

void SeqPool::truncate(int32_t id, int64_t n) {
  Slot& s = slot(id);
  if (n < 0 || n > int64_t(s.tokens.size()))
    fail("sequence {}: cannot keep {} positions of {}", id, n, s.tokens.size());
  if (!can_keep(id, n))
    fail("sequence {}: cannot keep {} positions of {}: a recurrent model's state holds the whole sequence (keep all "
         "or none)", id, n, s.tokens.size());
  if (n == 0 && s.rs) s.rs->reset();
  s.tokens.resize(size_t(n));  // rows past n are overwritten before they are read again
}

int32_t SeqPool::copy_prefix(int32_t src, int64_t n) {
  const Slot& s = slot(src);
  if (n < 0 || n > int64_t(s.tokens.size()))
    fail("sequence {}: cannot copy {} positions of {}", src, n, s.tokens.size());
  const int32_t id = create();
  copy_prefix(src, n, id);
  return id;
}

void SeqPool::copy_prefix(int32_t src, int64_t n, int32_t dst) {
  const Slot& s = slot(src);
  Slot& d = slot(dst);
  if (n < 0 || n > int64_t(s.tokens.size()))
    fail("sequence {}: cannot copy {} positions of {}", src, n, s.tokens.size());
  if (src == dst) fail("sequence {}: cannot copy onto itself (truncate it instead)", src);
  if (!can_keep(src, n))
    fail("sequence {}: cannot copy {} positions of {}: a recurrent model's state holds the whole sequence (copy all "
         "or none)", src, n, s.tokens.size());
  d.kv->copy_prefix(*s.kv, n);
  if (d.rs) {
    if (n == 0) d.rs->reset();
    else d.rs->copy_from(*s.rs);
  }
  d.tokens.assign(s.tokens.begin(), s.tokens.begin() + n);
}

PrefixMatch SeqPool::longest_prefix(std::span<const int32_t> tokens) const {
  PrefixMatch best;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].used) continue;
    const std::vector<int32_t>& t = slots_[i].tokens;
    const size_t m = std::min(t.size(), tokens.size());
    size_t n = 0;
    while (n < m && t[n] == tokens[n]) ++n;
    if (recurrent() && n != t.size()) continue;  // a state past the shared prefix is no use
    if (int64_t(n) > best.n) best = {int32_t(i), int64_t(n)};
  }
  return best;
}

RecurrentState& SeqPool::state(int32_t id) {
  Slot& s = slot(id);
  if (!s.rs) fail("sequence {} has no recurrent state (the model has no recurrent layers)", id);
  return *s.rs;
}

const RecurrentState& SeqPool::state(int32_t id) const {
  const Slot& s = slot(id);
  if (!s.rs) fail("sequence {} has no recurrent state (the model has no recurrent layers)", id);
  return *s.rs;
}

int64_t SeqPool::n_active() const {
  return std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.used; });
}

}  // namespace trident
