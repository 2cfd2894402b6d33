// The scalar reference of a packed-group kernel for the types whose packed layout is not read
// element by element in scalar code: each row of the group back in file layout (unpack_row),
// then the type's reference dot. By construction it equals the row-wise reference bit for bit.
#pragma once
#include <vector>

#include "kernels/dispatch.h"
#include "tensor/repack.h"

namespace trident {

template <GgmlType T, VecDotFn Dot>
void packed_gemm_by_rows(int64_t n, const uint8_t* group, const uint8_t* x, size_t x_stride,
                         const PackedActInfo*, int64_t nc, int64_t nrows, float* y, int64_t ldy) {
  thread_local std::vector<uint8_t> row;
  row.resize(row_bytes(T, n));
  for (int64_t j = 0; j < nrows; ++j) {
    unpack_row(T, group, j, n, row.data());
    for (int64_t c = 0; c < nc; ++c) Dot(n, y + c * ldy + j, row.data(), x + size_t(c) * x_stride);
  }
}

}  // namespace trident
