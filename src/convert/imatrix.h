// Importance matrices as llama.cpp writes them (llama-imatrix at 3f545bec; reader
// common/imatrix-loader.cpp), for `trident quantize --imatrix`:
//  * GGUF: per weight matrix `<name>.in_sum2` (F32, the sum of squared activations per input
//    column, [n_per_row, n_expert]) and `<name>.counts` (F32, tokens seen, [1, n_expert]), with
//    the keys imatrix.datasets, imatrix.chunk_count and imatrix.chunk_size;
//  * legacy .dat: int32 entry count, then per entry int32 name length, the name, int32 calls,
//    int32 value count, the float values (already divided by the token count and multiplied
//    by the calls); optionally int32 chunk count, int32 length and the dataset name.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trident {

struct Imatrix {
  // Per weight name, the importance of each input column as llama-quantize passes it to the
  // quantizers: the mean squared activation (sum / count, 1 where an expert saw no token),
  // n_per_row values per expert, expert after expert.
  std::map<std::string, std::vector<float>> entries;
  std::vector<std::string> datasets;
  int32_t chunk_count = 0;
  bool legacy = false;
};

// Throws Error naming the file and what is wrong (not an imatrix, missing metadata, a sum
// without its counts, non-finite values, truncated data).
Imatrix read_imatrix(const std::string& path);

}  // namespace trident
