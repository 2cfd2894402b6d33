// The progress line of the long file commands (convert, export-hf, fuse, quantize, synth):
// on a terminal, "quantize: tensor 12/291, 1.2/4.5 GiB, 310 MiB/s, ETA 11s" redrawn in place;
// when stderr is a log or a pipe, the same text as a plain line every few seconds.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

namespace trident::cli {

// (tensors done, tensors in all, bytes done, bytes in all), as the writers report it.
using ProgressFn = std::function<void(size_t, size_t, uint64_t, uint64_t)>;
ProgressFn progress_line(const char* what);

}  // namespace trident::cli
