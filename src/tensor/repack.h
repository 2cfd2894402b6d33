// Row-interleaved ("packed") layouts of F32, F16, BF16, the 32-element quants Q4_0, Q4_1,
// Q5_0, Q5_1 and Q8_0 and the K-quants Q2_K to Q6_K, weights for the matrix kernels.
//
// Rows are taken 16 at a time (a group; the last one padded with zero blocks). Within a
// group, block column b of all 16 rows is stored side by side so that one 64-byte load holds
// the same 4 quant bytes of 16 rows: 32-bit lane j belongs to row j. A SIMD dot then needs
// no horizontal reduction: lane j accumulates row j's dot product, and 16 rows finish in one
// register.
//
// One group of n_in elements per row (nb = n_in / 32 blocks):
//   quants: nb * kPackRows * kQuantBytes bytes (kQuantBytes = packed_quant_bytes). For
//           block b, chunk s (s < 4; Q8_0: s < 8) is 64 bytes at b * kPackRows * kQuantBytes
//           + s * 64; bytes 4j..4j+3 of it are bytes 4s..4s+3 of row j's block-b qs, exactly
//           as the file stores them (4-bit nibbles as they are, Q8_0 signed bytes).
//   high bits (Q5_0, Q5_1): chunk 4 of block b holds 8 little-endian 64-bit masks; bit
//           4j + k of mask t is the high bit of element 4t + k of row j (bit 4t + k of its
//           qh; packed_qh_bit). Mask t is then the AVX-512 byte mask of step t (elements
//           4t..4t+3 of every row) as it is; the file's order would cost a shuffle and a
//           test per step. Same 4 bytes per row and block as the file.
//   scales: then nb * kPackRows fp16 scales d, row j of block b at b * kPackRows + j;
//   mins (Q4_1, Q5_1): then nb * kPackRows fp16 offsets m in the same order.
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
//   Q2_K: qs chunk k (< 16) = qs[4k..4k+3]; scales [8 pairs][16 rows][2] u8, the file's
//         bytes (scale | min << 4) of sub-blocks 2i, 2i + 1; d [16] fp16; dmin [16] fp16.
//         1344 bytes, the file's size.
//   Q3_K: qs chunk k (< 16) = qs[4k..4k+3]; hmask chunk k (< 8) = hmask[4k..4k+3]; scales
//         [8 pairs][16 rows][2] u8 (sub-blocks 2i, 2i + 1, the file's 6-bit values with their
//         bias of 32, so that a zero block packs to zeros); d [16] fp16; 32 bytes of padding.
//         1856 bytes against the file's 1760.
//
// Codebook and ternary types (their kernels: kernels/packed_nonlinear_*.cpp):
//   IQ4_NL: as Q4_0 (the nibbles index the codebook instead of being offset by 8).
//   MXFP4:  quants as Q4_0, then nb * kPackRows E8M0 bytes e, row j of block b at
//           b * kPackRows + j. The file's size.
//   NVFP4:  the whole 36-byte block by 4-byte columns: for block b, chunk c (< 9) is 64 bytes
//           at b * 576 + 64 c, bytes 4j..4j+3 of it bytes 4c..4c+3 of row j's block. Chunk 0
//           holds the four UE4M3 scales (lane j: row j's d[0..3]), chunks 1..8 qs[0..31]. The
//           file's size.
//   IQ4_XS: one super-group per super-block: qs chunk k (< 32) = qs[4k..4k+3]; scales
//           [8 sub-blocks][16 rows] u8, the 6-bit ls with its bias of 32 (a zero block packs
//           to zeros); d [16] fp16; 32 bytes of padding. 2240 bytes against the file's 2176.
//   TQ2_0, TQ1_0: one super-group per super-block holding TQ2_0 bytes: chunk k (< 16) =
//           qs[4k..4k+3], d [16] fp16, 32 bytes of padding (1088 bytes against 1056). A TQ1_0
//           row is converted to TQ2_0's 2-bit trits at packing (1088 against the file's 864:
//           base-3 digits cost a multiply per trit to extract) and back to canonical TQ1_0
//           bytes by unpack_row (a file's non-canonical bytes keep their trits, not their bits).
//   Q1_0:   per block, 4 high-bit-style chunks (as Q5_0's): chunk k holds the 32 sign bits of
//           elements 32k..32k+31 as 8 masks, bit 4j + i of mask t = element 32k + 4t + i of
//           row j, the AVX-512 byte mask of that step as it is; then nb * kPackRows fp16 d.
//   Q2_0:   per block, 4 chunks: chunk 2k + c holds bytes 4c..4c+3 of sub-block k (elements
//           32k..32k+31) of each row, re-ordered so that bits 2l..2l+1 of byte b (< 8) are
//           element 8l + b: a step (chunk, l) covers 4 consecutive elements. Then the fp16 d.
//           Both the file's size.
//   Grid i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M): each super-block
//           rotated so that its fp16 d (the first 2 bytes; IQ1_M has none) comes last and every
//           field starts on a 4-byte word, padded to grid_packed_words(t) words, stored by
//           words as NVFP4: for super-block b, chunk c is 64 bytes at (b * words + c) * 64,
//           bytes 4j..4j+3 of it word c of row j's rotated block. 3-4% over the file's size
//           (IQ1_M: none).
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
struct PackedQ2K {
  static constexpr size_t kQs = 0, kScales = 1024, kD = 1280, kDmin = 1312, kBytes = 1344;
};
struct PackedQ3K {
  static constexpr size_t kQs = 0, kHmask = 1024, kScales = 1536, kD = 1792, kBytes = 1856;
};
struct PackedIQ4XS {
  static constexpr size_t kQs = 0, kScales = 2048, kD = 2176, kBytes = 2240;
};
struct PackedTQ {  // TQ1_0 and TQ2_0
  static constexpr size_t kQs = 0, kD = 1024, kBytes = 1088;
};
// Grid i-quants: 4-byte words of one rotated super-block (0 for other types).
constexpr int grid_packed_words(GgmlType t) {
  switch (t) {
    case GgmlType::IQ2_XXS: return 17;
    case GgmlType::IQ2_XS: return 19;
    case GgmlType::IQ2_S: return 21;
    case GgmlType::IQ3_XXS: return 25;
    case GgmlType::IQ3_S: return 28;
    case GgmlType::IQ1_S: return 13;
    case GgmlType::IQ1_M: return 14;
    default: return 0;
  }
}
// NVFP4: bytes of one block column of a group.
inline constexpr size_t kPackedNVFP4Block = 9 * 64;

// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K to Q6_K, IQ4_NL, IQ4_XS, MXFP4, NVFP4,
// TQ1_0, TQ2_0, Q1_0, Q2_0 and the grid i-quants.
bool packable(GgmlType t);
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, MXFP4 only: bytes of quants per row and block, high bits included:
// 16 (Q4_0, Q4_1, IQ4_NL, MXFP4), 20 (Q5_0, Q5_1) or 32 (Q8_0).
int packed_quant_bytes(GgmlType t);
// Q5_0 / Q5_1: the bit of a block's high-bit chunk that holds element e (< 32) of row j.
constexpr int packed_qh_bit(int64_t j, int e) { return 64 * (e / 4) + 4 * int(j) + e % 4; }
// Bytes of one group of kPackRows rows of n_in elements.
size_t packed_group_bytes(GgmlType t, int64_t n_in);

// Packs rows [0, rows) (rows <= kPackRows; rows past `rows` are zero) of a row-major tensor
// whose rows are src_stride bytes apart into one group at dst.
void pack_group(GgmlType t, const uint8_t* src, size_t src_stride, int64_t rows, int64_t n_in,
                uint8_t* dst);
// The inverse for one row: writes row j (< kPackRows) of a group back in file layout.
void unpack_row(GgmlType t, const uint8_t* group, int64_t j, int64_t n_in, uint8_t* dst);

}  // namespace trident
