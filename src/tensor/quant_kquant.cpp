// Placeholder: filled in by the K-quant work.
#include "tensor/quant_fns.h"
#include "format/error.h"

namespace trident {
#define STUB(t) \
  void dequantize_row_##t(const void*, float*, int64_t) { fail("{} not implemented", #t); } \
  void quantize_row_##t(const float*, void*, int64_t) { fail("{} not implemented", #t); }
STUB(q2_K) STUB(q3_K) STUB(q4_K) STUB(q5_K) STUB(q6_K) STUB(q8_K)
}  // namespace trident
