// Collecting an importance matrix (`trident imatrix`): what llama-imatrix (llama.cpp 3f545bec)
// records from its graph callback, gathered from the projections' inputs instead. Per weight
// tensor of the file: the sum over tokens of each input column's squared activation, per
// expert for 3-D expert stacks, and the number of tokens summed. convert/imatrix.h writes it.
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "runtime/projection_run.h"

namespace trident {

struct ImatrixSums {
  std::vector<float> sums;      // [n_mat][n_in]: n_mat is 1, or a 3-D tensor's slice count
  std::vector<int64_t> counts;  // [n_expert] for routed expert stacks, else [1]
};

class ImatrixCollector : public ProjectionObserver {
 public:
  // `file`: the model's file (weights are named by where their bytes lie in its mapping);
  // process_output: also output.weight (llama-imatrix's --process-output).
  ImatrixCollector(const GgufFile& file, bool process_output);
  void observe(std::span<const RowSegment> segs, int64_t n_in, const float* x, int64_t ldx,
               int64_t n_tokens, bool routed) override;
  // Keyed by tensor name ("blk.0.attn_q.weight"). Throws Error naming the first tensor whose
  // sums are not finite (llama-imatrix stops there too).
  const std::map<std::string, ImatrixSums>& entries() const;

 private:
  struct Tensor {
    const uint8_t* begin;
    const GgufTensorInfo* info;
    uint64_t slice_bytes;  // bytes of one 2-D slice (an expert of a 3-D stack)
    int64_t n_mat;         // slices
    bool wanted;           // recorded when not routed (llama-imatrix's name filter)
  };
  const Tensor* find(const uint8_t* p) const;
  std::vector<Tensor> tensors_;  // sorted by begin
  std::map<std::string, ImatrixSums> entries_;
  std::vector<std::pair<const Tensor*, int64_t>> seen_;  // one call's distinct (tensor, slice)
};

}  // namespace trident
