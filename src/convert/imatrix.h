// Importance matrices as llama.cpp writes them (llama-imatrix at 3f545bec; reader
// common/imatrix-loader.cpp): read for `trident quantize --imatrix`, written by `trident imatrix`.
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

#include "format/output_guard.h"

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

// What llama-imatrix saves: per weight name the raw sums of squared activations, n_mat slices
// of n_per_row, and the tokens summed per slice (one count for a plain weight).
struct ImatrixEntrySums {
  std::vector<float> sums;
  std::vector<int64_t> counts;
};
struct ImatrixWriteData {
  std::map<std::string, ImatrixEntrySums> entries;
  std::vector<std::string> datasets;  // the text files the sums were computed from
  int32_t chunk_count = 0;
  int32_t chunk_size = 0;
};

// As llama-imatrix's save_imatrix (GGUF: general.type "imatrix", the three imatrix.* keys,
// `<name>.in_sum2` [n_per_row, n_mat] and `<name>.counts` [1, n_mat] in name order) or, with
// legacy, save_imatrix_legacy (.dat: entries whose every count is zero are left out). Written
// to a temporary file and renamed (format/fd_sink.h); throws Error naming the path.
void write_imatrix(const ImatrixWriteData& d, const std::string& path, bool legacy, const OutputPolicy& policy);

}  // namespace trident
