// Row-interleaved ("packed") layout of Q4_0 and Q8_0 weights for the matrix kernels.
//
// Rows are taken 16 at a time (a group; the last one padded with zero blocks). Within a
// group, block column b of all 16 rows is stored side by side so that one 64-byte load holds
// the same 4 quant bytes of 16 rows: 32-bit lane j belongs to row j. A SIMD dot then needs
// no horizontal reduction: lane j accumulates row j's dot product, and 16 rows finish in one
// register.
//
// One group of n_in elements per row (nb = n_in / 32 blocks):
//   quants: nb * kPackRows * kQuantBytes bytes. For block b, chunk s (s < kQuantBytes / 4)
//           is 64 bytes at b * kPackRows * kQuantBytes + s * 64; bytes 4j..4j+3 of it are
//           bytes 4s..4s+3 of row j's block-b quants, exactly as the file stores them
//           (Q4_0 nibbles as they are, Q8_0 signed bytes).
//   scales: then nb * kPackRows fp16 scales, row j of block b at b * kPackRows + j.
// The group is the same size as its 16 rows in the file, and every 64-byte chunk stays
// aligned when the group starts on a 64-byte boundary.
#pragma once
#include <cstddef>
#include <cstdint>

#include "format/ggml_type.h"

namespace trident {

inline constexpr int64_t kPackRows = 16;

// Q4_0 and Q8_0.
bool packable(GgmlType t);
// Bytes of quants per row and block: 16 (Q4_0) or 32 (Q8_0).
int packed_quant_bytes(GgmlType t);
// Bytes of one group of kPackRows rows of n_in elements.
size_t packed_group_bytes(GgmlType t, int64_t n_in);

// Packs rows [0, rows) (rows <= kPackRows; rows past `rows` are zero) of a row-major tensor
// whose rows are src_stride bytes apart into one group at dst.
void pack_group(GgmlType t, const uint8_t* src, size_t src_stride, int64_t rows, int64_t n_in,
                uint8_t* dst);
// The inverse for one row: writes row j (< kPackRows) of a group back in file layout.
void unpack_row(GgmlType t, const uint8_t* group, int64_t j, int64_t n_in, uint8_t* dst);

}  // namespace trident
