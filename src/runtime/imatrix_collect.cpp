#include "runtime/imatrix_collect.h"

#include <algorithm>
#include <cmath>

#include "format/error.h"

namespace trident {

ImatrixCollector::ImatrixCollector(const GgufFile& file, bool process_output) {
  for (const GgufTensorInfo& t : file.tensors()) {
    if (t.n_bytes == 0) continue;
    const int64_t n_mat = t.ne[2] * t.ne[3];
    // llama-imatrix keeps a plain product's statistics for the blocks' weights only, and the
    // output projection's when asked; an expert product's always (MUL_MAT_ID is not filtered).
    const bool wanted = t.name.starts_with("blk.") || (process_output && t.name == "output.weight");
    tensors_.push_back({file.tensor_data(t), &t, t.n_bytes / uint64_t(n_mat), n_mat, wanted});
  }
  std::sort(tensors_.begin(), tensors_.end(), [](const Tensor& a, const Tensor& b) { return a.begin < b.begin; });
}

const ImatrixCollector::Tensor* ImatrixCollector::find(const uint8_t* p) const {
  auto it = std::upper_bound(tensors_.begin(), tensors_.end(), p,
                             [](const uint8_t* q, const Tensor& t) { return q < t.begin; });
  if (it == tensors_.begin()) return nullptr;
  --it;
  return p < it->begin + it->info->n_bytes ? &*it : nullptr;
}

void ImatrixCollector::observe(std::span<const RowSegment> segs, int64_t n_in, const float* x, int64_t ldx,
                               int64_t n_tokens, bool routed) {
  // The segments of a fused group (or of one fused tensor's parts) share the input: each
  // tensor, and for a stack each slice, takes it once, as its own product would in llama.cpp.
  // Weights not in the file's mapping (none today) have no name to record them under.
  seen_.clear();
  for (const RowSegment& s : segs) {
    const Tensor* t = find(s.data);
    if (!t || (!routed && !t->wanted)) continue;
    const int64_t slice = int64_t(uint64_t(s.data - t->begin) / t->slice_bytes);
    if (std::find(seen_.begin(), seen_.end(), std::pair{t, slice}) == seen_.end()) seen_.emplace_back(t, slice);
  }
  for (const auto& [t, slice] : seen_) {
    const std::string& name = t->info->name;
    if (t->info->ne[0] != n_in) fail("imatrix: tensor '{}' has rows of {}, its input {} columns", name, t->info->ne[0], n_in);
    ImatrixSums& e = entries_[name];
    if (e.sums.empty()) {
      e.sums.assign(size_t(n_in * t->n_mat), 0.0f);
      e.counts.assign(routed ? size_t(t->n_mat) : 1, 0);
    }
    // In token order, in float, as llama-imatrix adds them.
    float* acc = e.sums.data() + slice * n_in;
    for (int64_t r = 0; r < n_tokens; ++r) {
      const float* xr = x + r * ldx;
      for (int64_t j = 0; j < n_in; ++j) acc[j] += xr[j] * xr[j];
    }
    // A routed expert counts its own tokens. A plain product counts each token once: llama.cpp
    // multiplies a 3-D weight's slices in one call (MLA's per-head matrices), trident per slice.
    if (routed) e.counts[size_t(slice)] += n_tokens;
    else if (slice == 0) e.counts[0] += n_tokens;
  }
}

const std::map<std::string, ImatrixSums>& ImatrixCollector::entries() const {
  for (const auto& [name, e] : entries_)
    for (float v : e.sums)
      if (!std::isfinite(v)) fail("imatrix: non-finite activations in the input of '{}'", name);
  return entries_;
}

}  // namespace trident
