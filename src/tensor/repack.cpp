#include "tensor/repack.h"

#include <cstring>

#include "tensor/blocks.h"
#include "tensor/quant_kquant_internal.h"
#include "tensor/types.h"

namespace trident {
namespace {

// ---- Q4_0 / Q8_0: where the block-b quants and scale of row j sit in a packed group.
struct Geometry {
  int qb;             // quant bytes per block
  size_t block_size;  // file bytes per block (2-byte scale first, then the quants)
  int64_t nb;
  size_t quant_at(int64_t b, int s, int64_t j) const {
    return size_t(b) * kPackRows * qb + size_t(s) * 64 + size_t(j) * 4;
  }
  size_t scale_at(int64_t b, int64_t j) const {
    return size_t(nb) * kPackRows * qb + (size_t(b) * kPackRows + size_t(j)) * sizeof(f16_bits);
  }
};

Geometry geometry(GgmlType t, int64_t n_in) {
  return {packed_quant_bytes(t), layout_of(t).type_size, n_in / 32};
}

// `toward` copies file -> packed when true, packed -> file otherwise. Every layout below moves
// a row both ways through this, so packing and unpacking cannot drift apart.
void copy(uint8_t* packed, uint8_t* file, size_t n, bool toward) {
  if (toward)
    std::memcpy(packed, file, n);
  else
    std::memcpy(file, packed, n);
}

void legacy_row(const Geometry& g, uint8_t* group, uint8_t* row, int64_t j, bool toward) {
  for (int64_t b = 0; b < g.nb; ++b) {
    uint8_t* blk = row + size_t(b) * g.block_size;
    copy(group + g.scale_at(b, j), blk, sizeof(f16_bits), toward);
    for (int s = 0; s < g.qb / 4; ++s) copy(group + g.quant_at(b, s, j), blk + 2 + 4 * s, 4, toward);
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
    case GgmlType::F32:
      return float_row<4>(group, row, j, n_in, toward);
    case GgmlType::F16:
    case GgmlType::BF16:
      return float_row<2>(group, row, j, n_in, toward);
    default:
      return legacy_row(geometry(t, n_in), group, row, j, toward);
  }
}

}  // namespace

bool packable(GgmlType t) {
  return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16 || t == GgmlType::Q4_0 || t == GgmlType::Q8_0 || t == GgmlType::Q4_K || t == GgmlType::Q5_K ||
         t == GgmlType::Q6_K;
}

int packed_quant_bytes(GgmlType t) { return t == GgmlType::Q4_0 ? QK4_0 / 2 : QK8_0; }

size_t packed_group_bytes(GgmlType t, int64_t n_in) {
  if (t == GgmlType::Q4_K) return size_t(n_in / QK_K) * PackedQ4K::kBytes;
  if (t == GgmlType::Q5_K) return size_t(n_in / QK_K) * PackedQ5K::kBytes;
  if (t == GgmlType::Q6_K) return size_t(n_in / QK_K) * PackedQ6K::kBytes;
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
