// Placeholder: filled in by the legacy-quant work.
#include "tensor/quant_fns.h"
#include "format/error.h"

namespace trident {
#define STUB(t) \
  void dequantize_row_##t(const void*, float*, int64_t) { fail("{} not implemented", #t); } \
  void quantize_row_##t(const float*, void*, int64_t) { fail("{} not implemented", #t); }
STUB(f32) STUB(f16) STUB(bf16) STUB(q4_0) STUB(q4_1) STUB(q5_0) STUB(q5_1) STUB(q8_0) STUB(q8_1)
}  // namespace trident
