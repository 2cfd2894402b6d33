// Row-interleaved ("packed") layouts of F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K and Q6_K
// weights for the matrix kernels.
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
//
// Float types: element e of row j is at (e * 16 + j) * element size, so one 32-byte (F16,
// BF16) or 64-byte (F32) load holds element e of the 16 rows. Same size as the file's rows.
//
// K-quants: a group is nsb = n_in / 256 super-groups, one per super-block, each laid out
// as below (PackedQ4K / PackedQ6K give the offsets). Quant chunks are 64 bytes: bytes
// 4j..4j+3 are the same 4 bytes of row j's block as the file stores them. The sub-block
// scales are unpacked at load into the form the kernels multiply with; d / dmin stay fp16.
// Every super-group is a multiple of 64 bytes.
//   Q4_K: chunk k (< 32) = qs[4k..4k+3]; scales [8 sub-blocks][16 rows] u8; mins
//         [4 sub-block pairs][16 rows][2] u8 (row j's mins of sub-blocks 2p, 2p+1 side by
//         side); d [16] fp16; dmin [16] fp16. 2368 bytes against the file's 2304.
//   Q5_K: as Q4_K, with the high-bit chunks k (< 8) = qh[4k..4k+3] after the quants.
//         2880 bytes against the file's 2816.
//   Q6_K: ql chunk k (< 32) = ql[4k..4k+3]; qh chunk k (< 16) = qh[4k..4k+3]; scales
//         [8 pairs][16 rows][2] i8 (sub-blocks 2i, 2i + 1); d [16] fp16; 32 bytes of
//         padding. 3392 bytes against the file's 3360.
#pragma once
#include <cstddef>
#include <cstdint>

#include "format/ggml_type.h"

namespace trident {

inline constexpr int64_t kPackRows = 16;

// Byte offsets inside one K-quant super-group.
struct PackedQ4K {
  static constexpr size_t kQuants = 0, kScales = 2048, kMins = 2176, kD = 2304, kDmin = 2336,
                          kBytes = 2368;
};
struct PackedQ5K {
  static constexpr size_t kQuants = 0, kQh = 2048, kScales = 2560, kMins = 2688, kD = 2816,
                          kDmin = 2848, kBytes = 2880;
};
struct PackedQ6K {
  static constexpr size_t kQl = 0, kQh = 2048, kScales = 3072, kD = 3328, kBytes = 3392;
};

// F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K and Q6_K.
bool packable(GgmlType t);
// Q4_0 / Q8_0 only: bytes of quants per row and block, 16 (Q4_0) or 32 (Q8_0).
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
