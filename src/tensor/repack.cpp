#include "tensor/repack.h"

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "tensor/blocks.h"
#include "tensor/quant_kquant_internal.h"
#include "tensor/ternary.h"
#include "tensor/types.h"

namespace trident {
namespace {

// `toward` copies file -> packed when true, packed -> file otherwise. Every layout below moves
// a row both ways through this, so packing and unpacking cannot drift apart.
void copy(uint8_t* packed, uint8_t* file, size_t n, bool toward) {
  if (toward)
    std::memcpy(packed, file, n);
  else
    std::memcpy(file, packed, n);
}

// ---- 32-element quants (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): a block column of kPackRows *
// packed_quant_bytes bytes per block, then the scales d and the mins m. The block type is a
// template argument so that the field copies inline (the on-the-fly path packs per call).

// Row j's high bits qh (bit e: element e) <-> the high-bit chunk: nibble t of qh (elements
// 4t..4t+3) is nibble j of mask t (packed_qh_bit), so 8 nibble moves rather than 32 bit moves.
inline void qh_row(uint8_t* chunk, uint8_t* qh, int64_t j, bool toward) {
  // packed_qh_bit(j, 4t) = 64t + 4j: byte 8t + j / 2 of the chunk, from bit 4 (j % 2). Packing
  // runs on every on-the-fly call, so it spreads the nibbles to bytes once (nibble t -> byte
  // t of a u64) rather than shifting each nibble by a variable amount: a fifth faster.
  static_assert(packed_qh_bit(5, 4 * 3) == 8 * (8 * 3 + 5 / 2) + 4);
  uint8_t* p = chunk + j / 2;
  const int shift = 4 * int(j % 2);
  const uint8_t keep = uint8_t(~(0x0F << shift));
  uint32_t h = 0;
  if (toward) {
    std::memcpy(&h, qh, 4);
    uint64_t s = h;
    s = (s | s << 16) & 0x0000FFFF0000FFFFull;
    s = (s | s << 8) & 0x00FF00FF00FF00FFull;
    s = ((s | s << 4) & 0x0F0F0F0F0F0F0F0Full) << shift;
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) p[8 * t] = uint8_t((p[8 * t] & keep) | uint8_t(s >> 8 * t));
  } else {
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) h |= uint32_t(p[8 * t] >> shift & 0x0F) << 4 * t;
    std::memcpy(qh, &h, 4);
  }
}

// Fields are reached by offset in the file's bytes: a local copy of the odd-sized block would
// cost store-forwarding stalls (it made Q4_0 packing twice as slow).
template <class Block>
void legacy_row(uint8_t* group, uint8_t* row, int64_t j, int64_t n_in, bool toward) {
  constexpr bool kQh = requires(Block b) { b.qh; };
  constexpr size_t kQs = sizeof(Block::qs), kCol = kPackRows * (kQs + (kQh ? 4 : 0));
  const int64_t nb = n_in / 32;
  uint8_t* scales = group + size_t(nb) * kCol;
  uint8_t* mins = scales + size_t(nb) * kPackRows * sizeof(f16_bits);
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* file = row + size_t(b) * sizeof(Block);
    uint8_t* col = group + size_t(b) * kCol;
    const size_t at = (size_t(b) * kPackRows + size_t(j)) * sizeof(f16_bits);
    copy(scales + at, file + offsetof(Block, d), sizeof(f16_bits), toward);
    if constexpr (requires(Block blk) { blk.m; }) copy(mins + at, file + offsetof(Block, m), sizeof(f16_bits), toward);
    for (size_t s = 0; s < kQs / 4; ++s) copy(col + 64 * s + 4 * size_t(j), file + offsetof(Block, qs) + 4 * s, 4, toward);
    if constexpr (kQh) qh_row(col + kQs / 4 * 64, file + offsetof(Block, qh), j, toward);
  }
}

// ---- Float types: element-major, 16 rows side by side. The element size is a template
// argument so that the copies inline (a 1B-parameter F16 model is 1.2 G of them).
template <size_t kEs>
void float_row(uint8_t* group, uint8_t* row, int64_t j, int64_t n_in, bool toward) {
  for (int64_t e = 0; e < n_in; ++e)
    copy(group + (size_t(e) * kPackRows + size_t(j)) * kEs, row + size_t(e) * kEs, kEs, toward);
}

// ---- K-quants: one super-group per super-block.

// The inverse of unpack_scale_min_k4 (quant_kquant_internal.h): 16 six-bit values -> 12 bytes.
void pack_scale_min_k4(const uint8_t* sc, const uint8_t* mn, uint8_t* p) {
  for (int j = 0; j < 4; ++j) {
    p[j] = uint8_t(sc[j] | (sc[j + 4] >> 4) << 6);
    p[j + 4] = uint8_t(mn[j] | (mn[j + 4] >> 4) << 6);
    p[j + 8] = uint8_t((sc[j + 4] & 0x0F) | (mn[j + 4] & 0x0F) << 4);
  }
}

// Q4_K and Q5_K (which adds the high bits qh).
template <class L, class Block>
void q45_K_row(uint8_t* sg, Block& b, int64_t j, bool toward) {
  for (int k = 0; k < 32; ++k) copy(sg + L::kQuants + 64 * k + 4 * j, b.qs + 4 * k, 4, toward);
  if constexpr (requires { b.qh; })
    for (int k = 0; k < 8; ++k) copy(sg + L::kQh + 64 * k + 4 * j, b.qh + 4 * k, 4, toward);
  copy(sg + L::kD + 2 * j, reinterpret_cast<uint8_t*>(&b.d), 2, toward);
  copy(sg + L::kDmin + 2 * j, reinterpret_cast<uint8_t*>(&b.dmin), 2, toward);
  uint8_t sc[8], mn[8];
  if (toward) unpack_scale_min_k4(b.scales, sc, mn);
  for (int s = 0; s < 8; ++s) {
    copy(sg + L::kScales + 16 * s + j, sc + s, 1, toward);
    copy(sg + L::kMins + 32 * (s / 2) + 2 * j + s % 2, mn + s, 1, toward);
  }
  if (!toward) pack_scale_min_k4(sc, mn, b.scales);
}

void q6_K_row(uint8_t* sg, BlockQ6_K& b, int64_t j, bool toward) {
  using L = PackedQ6K;
  for (int k = 0; k < 32; ++k) copy(sg + L::kQl + 64 * k + 4 * j, b.ql + 4 * k, 4, toward);
  for (int k = 0; k < 16; ++k) copy(sg + L::kQh + 64 * k + 4 * j, b.qh + 4 * k, 4, toward);
  for (int s = 0; s < 16; ++s)
    copy(sg + L::kScales + 32 * (s / 2) + 2 * j + s % 2, reinterpret_cast<uint8_t*>(b.scales + s), 1, toward);
  copy(sg + L::kD + 2 * j, reinterpret_cast<uint8_t*>(&b.d), 2, toward);
}

void q2_K_row(uint8_t* sg, BlockQ2_K& b, int64_t j, bool toward) {
  using L = PackedQ2K;
  for (int k = 0; k < 16; ++k) copy(sg + L::kQs + 64 * k + 4 * j, b.qs + 4 * k, 4, toward);
  for (int s = 0; s < 16; ++s) copy(sg + L::kScales + 32 * (s / 2) + 2 * j + s % 2, b.scales + s, 1, toward);
  copy(sg + L::kD + 2 * j, reinterpret_cast<uint8_t*>(&b.d), 2, toward);
  copy(sg + L::kDmin + 2 * j, reinterpret_cast<uint8_t*>(&b.dmin), 2, toward);
}

// The inverse of unpack_scales_q3k_words (quant_kquant_internal.h): 16 six-bit scales (biased,
// 0..63) -> 12 bytes.
void pack_scales_q3k(const uint8_t* v, uint8_t* p) {
  for (int s = 0; s < 8; ++s) p[s] = uint8_t((v[s] & 0x0F) | (v[s + 8] & 0x0F) << 4);
  for (int s = 0; s < 4; ++s)
    p[8 + s] = uint8_t(v[s] >> 4 | (v[s + 4] >> 4) << 2 | (v[s + 8] >> 4) << 4 | (v[s + 12] >> 4) << 6);
}

void q3_K_row(uint8_t* sg, BlockQ3_K& b, int64_t j, bool toward) {
  using L = PackedQ3K;
  for (int k = 0; k < 16; ++k) copy(sg + L::kQs + 64 * k + 4 * j, b.qs + 4 * k, 4, toward);
  for (int k = 0; k < 8; ++k) copy(sg + L::kHmask + 64 * k + 4 * j, b.hmask + 4 * k, 4, toward);
  uint8_t sc[16];
  if (toward) {
    uint32_t words[4];
    unpack_scales_q3k_words(b.scales, words);
    std::memcpy(sc, words, 16);
  }
  for (int s = 0; s < 16; ++s) copy(sg + L::kScales + 32 * (s / 2) + 2 * j + s % 2, sc + s, 1, toward);
  if (!toward) pack_scales_q3k(sc, b.scales);
  copy(sg + L::kD + 2 * j, reinterpret_cast<uint8_t*>(&b.d), 2, toward);
}

// ---- Codebook and ternary types.

// MXFP4: the nibbles as Q4_0's, the exponents one byte per row after them.
void mxfp4_row(uint8_t* group, uint8_t* row, int64_t j, int64_t n_in, bool toward) {
  const int64_t nb = n_in / QK_MXFP4;
  uint8_t* exps = group + size_t(nb) * kPackRows * 16;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* file = row + size_t(b) * sizeof(BlockMXFP4);
    uint8_t* col = group + size_t(b) * kPackRows * 16;
    copy(exps + size_t(b) * kPackRows + size_t(j), file + offsetof(BlockMXFP4, e), 1, toward);
    for (size_t s = 0; s < 4; ++s) copy(col + 64 * s + 4 * size_t(j), file + offsetof(BlockMXFP4, qs) + 4 * s, 4, toward);
  }
}

// NVFP4: every 4 bytes of the block, scales included, in their own chunk.
void nvfp4_row(uint8_t* group, uint8_t* row, int64_t j, int64_t n_in, bool toward) {
  for (int64_t b = 0; b < n_in / QK_NVFP4; ++b)
    for (size_t c = 0; c < 9; ++c)
      copy(group + size_t(b) * kPackedNVFP4Block + 64 * c + 4 * size_t(j), row + size_t(b) * sizeof(BlockNVFP4) + 4 * c, 4, toward);
}

void iq4_xs_row(uint8_t* sg, BlockIQ4_XS& b, int64_t j, bool toward) {
  using L = PackedIQ4XS;
  for (int k = 0; k < 32; ++k) copy(sg + L::kQs + 64 * k + 4 * j, b.qs + 4 * k, 4, toward);
  uint8_t ls[8];
  if (toward)
    for (int s = 0; s < 8; ++s) ls[s] = uint8_t(((b.scales_l[s / 2] >> 4 * (s % 2)) & 0xF) | ((b.scales_h >> 2 * s) & 3) << 4);
  for (int s = 0; s < 8; ++s) copy(sg + L::kScales + 16 * s + j, ls + s, 1, toward);
  if (!toward) {
    b.scales_h = 0;
    for (int s = 0; s < 8; ++s) {
      if (s % 2 == 0) b.scales_l[s / 2] = 0;
      b.scales_l[s / 2] = uint8_t(b.scales_l[s / 2] | (ls[s] & 0xF) << 4 * (s % 2));
      b.scales_h = uint16_t(b.scales_h | (ls[s] >> 4 & 3) << 2 * s);
    }
  }
  copy(sg + L::kD + 2 * j, reinterpret_cast<uint8_t*>(&b.d), 2, toward);
}

void tq2_0_row(uint8_t* sg, BlockTQ2_0& b, int64_t j, bool toward) {
  for (int k = 0; k < 16; ++k) copy(sg + PackedTQ::kQs + 64 * k + 4 * j, b.qs + 4 * k, 4, toward);
  copy(sg + PackedTQ::kD + 2 * j, reinterpret_cast<uint8_t*>(&b.d), 2, toward);
}

// TQ1_0 goes through TQ2_0: same trits, 2 bits each.
void tq1_0_row(uint8_t* sg, BlockTQ1_0& b, int64_t j, bool toward) {
  uint8_t t[QK_K];
  BlockTQ2_0 b2;
  if (toward) {
    tq1_0_trits(b, t);
    tq2_0_from_trits(t, b.d, b2);
  }
  tq2_0_row(sg, b2, j, toward);
  if (!toward) {
    tq2_0_trits(b2, t);
    tq1_0_from_trits(t, b2.d, b);
  }
}

// Q1_0 / Q2_0: 4 chunks of 64 bytes per block (repack.h), then the fp16 scales.
template <class Block>
void lowbit_row(uint8_t* group, uint8_t* row, int64_t j, int64_t n_in, bool toward) {
  constexpr int64_t kElems = sizeof(Block::qs) * (std::is_same_v<Block, BlockQ1_0> ? 8 : 4);
  const int64_t nb = n_in / kElems;
  uint8_t* scales = group + size_t(nb) * 4 * 64;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* file = row + size_t(b) * sizeof(Block);
    uint8_t* col = group + size_t(b) * 4 * 64;
    copy(scales + (size_t(b) * kPackRows + size_t(j)) * 2, file + offsetof(Block, d), 2, toward);
    uint8_t* qs = file + offsetof(Block, qs);
    if constexpr (std::is_same_v<Block, BlockQ1_0>) {
      for (int k = 0; k < 4; ++k) qh_row(col + 64 * k, qs + 4 * k, j, toward);
    } else {
      for (int k = 0; k < 2; ++k) {  // sub-block k: file bytes qs[8k..8k+7], element e at byte e / 4
        uint8_t p[8] = {};
        if (toward)
          for (int e = 0; e < 32; ++e) p[e % 8] = uint8_t(p[e % 8] | ((qs[8 * k + e / 4] >> 2 * (e % 4)) & 3) << 2 * (e / 8));
        for (int c = 0; c < 2; ++c) copy(col + 64 * (2 * k + c) + 4 * size_t(j), p + 4 * c, 4, toward);
        if (!toward) {
          for (int i = 0; i < 8; ++i) qs[8 * k + i] = 0;
          for (int e = 0; e < 32; ++e) qs[8 * k + e / 4] = uint8_t(qs[8 * k + e / 4] | ((p[e % 8] >> 2 * (e / 8)) & 3) << 2 * (e % 4));
        }
      }
    }
  }
}

// Grid i-quants: each super-block rotated by `shift` bytes (the fp16 d to the end), by words.
void grid_row(uint8_t* group, uint8_t* row, int64_t j, int64_t n_in, GgmlType t, bool toward) {
  const size_t bs = layout_of(t).type_size, words = size_t(grid_packed_words(t));
  const size_t shift = t == GgmlType::IQ1_M ? 0 : sizeof(f16_bits);
  for (int64_t b = 0; b < n_in / QK_K; ++b) {
    uint8_t rot[128] = {};
    uint8_t* file = row + size_t(b) * bs;
    if (toward) {
      std::memcpy(rot, file + shift, bs - shift);
      std::memcpy(rot + bs - shift, file, shift);
    }
    for (size_t c = 0; c < words; ++c) copy(group + (size_t(b) * words + c) * 64 + 4 * size_t(j), rot + 4 * c, 4, toward);
    if (!toward) {
      std::memcpy(file + shift, rot, bs - shift);
      std::memcpy(file, rot + bs - shift, shift);
    }
  }
}

template <class Block, class Row>
void k_rows(uint8_t* group, uint8_t* row, int64_t j, int64_t n_in, size_t sg_bytes, bool toward, Row per_row) {
  for (int64_t s = 0; s < n_in / QK_K; ++s) {
    Block b;
    if (toward) std::memcpy(&b, row + s * sizeof(Block), sizeof(Block));
    per_row(group + size_t(s) * sg_bytes, b, j, toward);
    if (!toward) std::memcpy(row + s * sizeof(Block), &b, sizeof(Block));
  }
}

// Moves row j between file layout (row) and the group, in the direction `toward`; only the
// destination side is written (pack_group / unpack_row cast away const on their source).
void move_row(GgmlType t, uint8_t* group, uint8_t* row, int64_t j, int64_t n_in, bool toward) {
  switch (t) {
    case GgmlType::Q4_K:
      return k_rows<BlockQ4_K>(group, row, j, n_in, PackedQ4K::kBytes, toward, q45_K_row<PackedQ4K, BlockQ4_K>);
    case GgmlType::Q5_K:
      return k_rows<BlockQ5_K>(group, row, j, n_in, PackedQ5K::kBytes, toward, q45_K_row<PackedQ5K, BlockQ5_K>);
    case GgmlType::Q6_K:
      return k_rows<BlockQ6_K>(group, row, j, n_in, PackedQ6K::kBytes, toward, q6_K_row);
    case GgmlType::Q2_K:
      return k_rows<BlockQ2_K>(group, row, j, n_in, PackedQ2K::kBytes, toward, q2_K_row);
    case GgmlType::Q3_K:
      return k_rows<BlockQ3_K>(group, row, j, n_in, PackedQ3K::kBytes, toward, q3_K_row);
    case GgmlType::IQ4_XS:
      return k_rows<BlockIQ4_XS>(group, row, j, n_in, PackedIQ4XS::kBytes, toward, iq4_xs_row);
    case GgmlType::TQ1_0:
      return k_rows<BlockTQ1_0>(group, row, j, n_in, PackedTQ::kBytes, toward, tq1_0_row);
    case GgmlType::TQ2_0:
      return k_rows<BlockTQ2_0>(group, row, j, n_in, PackedTQ::kBytes, toward, tq2_0_row);
    case GgmlType::IQ4_NL:
      return legacy_row<BlockIQ4_NL>(group, row, j, n_in, toward);
    case GgmlType::MXFP4:
      return mxfp4_row(group, row, j, n_in, toward);
    case GgmlType::NVFP4:
      return nvfp4_row(group, row, j, n_in, toward);
    case GgmlType::Q1_0:
      return lowbit_row<BlockQ1_0>(group, row, j, n_in, toward);
    case GgmlType::Q2_0:
      return lowbit_row<BlockQ2_0>(group, row, j, n_in, toward);
    case GgmlType::IQ2_XXS: case GgmlType::IQ2_XS: case GgmlType::IQ2_S: case GgmlType::IQ3_XXS:
    case GgmlType::IQ3_S: case GgmlType::IQ1_S: case GgmlType::IQ1_M:
      return grid_row(group, row, j, n_in, t, toward);
    case GgmlType::F32:
      return float_row<4>(group, row, j, n_in, toward);
    case GgmlType::F16:
    case GgmlType::BF16:
      return float_row<2>(group, row, j, n_in, toward);
    case GgmlType::Q4_0:
      return legacy_row<BlockQ4_0>(group, row, j, n_in, toward);
    case GgmlType::Q4_1:
      return legacy_row<BlockQ4_1>(group, row, j, n_in, toward);
    case GgmlType::Q5_0:
      return legacy_row<BlockQ5_0>(group, row, j, n_in, toward);
    case GgmlType::Q5_1:
      return legacy_row<BlockQ5_1>(group, row, j, n_in, toward);
    default:  // Q8_0
      return legacy_row<BlockQ8_0>(group, row, j, n_in, toward);
  }
}

}  // namespace

bool packable(GgmlType t) {
  switch (t) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
    case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1: case GgmlType::Q8_0:
    case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q4_K: case GgmlType::Q5_K: case GgmlType::Q6_K:
    case GgmlType::IQ4_NL: case GgmlType::IQ4_XS: case GgmlType::MXFP4: case GgmlType::NVFP4:
    case GgmlType::TQ1_0: case GgmlType::TQ2_0: case GgmlType::Q1_0: case GgmlType::Q2_0:
    case GgmlType::IQ2_XXS: case GgmlType::IQ2_XS: case GgmlType::IQ2_S: case GgmlType::IQ3_XXS:
    case GgmlType::IQ3_S: case GgmlType::IQ1_S: case GgmlType::IQ1_M:
      return true;
    default:
      return false;
  }
}

int packed_quant_bytes(GgmlType t) {
  if (t == GgmlType::Q8_0) return QK8_0;
  return t == GgmlType::Q5_0 || t == GgmlType::Q5_1 ? QK5_0 / 2 + 4 : QK4_0 / 2;
}

size_t packed_group_bytes(GgmlType t, int64_t n_in) {
  if (t == GgmlType::Q4_K) return size_t(n_in / QK_K) * PackedQ4K::kBytes;
  if (t == GgmlType::Q5_K) return size_t(n_in / QK_K) * PackedQ5K::kBytes;
  if (t == GgmlType::Q6_K) return size_t(n_in / QK_K) * PackedQ6K::kBytes;
  if (t == GgmlType::Q2_K) return size_t(n_in / QK_K) * PackedQ2K::kBytes;
  if (t == GgmlType::Q3_K) return size_t(n_in / QK_K) * PackedQ3K::kBytes;
  if (t == GgmlType::IQ4_XS) return size_t(n_in / QK_K) * PackedIQ4XS::kBytes;
  if (t == GgmlType::TQ1_0 || t == GgmlType::TQ2_0) return size_t(n_in / QK_K) * PackedTQ::kBytes;
  if (const int words = grid_packed_words(t)) return size_t(n_in / QK_K) * size_t(words) * 64;
  return size_t(kPackRows) * row_bytes(t, n_in);
}

void pack_group(GgmlType t, const uint8_t* src, size_t src_stride, int64_t rows, int64_t n_in,
                uint8_t* dst) {
  std::memset(dst, 0, packed_group_bytes(t, n_in));
  for (int64_t j = 0; j < rows; ++j)
    move_row(t, dst, const_cast<uint8_t*>(src + size_t(j) * src_stride), j, n_in, true);
}

void unpack_row(GgmlType t, const uint8_t* group, int64_t j, int64_t n_in, uint8_t* dst) {
  move_row(t, const_cast<uint8_t*>(group), dst, j, n_in, false);
}

}  // namespace trident
