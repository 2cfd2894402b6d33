#include "tensor/repack.h"

#include <cstring>

#include "tensor/blocks.h"
#include "tensor/types.h"

namespace trident {
namespace {

// Where the block-b quants and scale of row j sit: in the file (row-major blocks) and in a
// packed group.
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

}  // namespace

bool packable(GgmlType t) { return t == GgmlType::Q4_0 || t == GgmlType::Q8_0; }

int packed_quant_bytes(GgmlType t) { return t == GgmlType::Q4_0 ? QK4_0 / 2 : QK8_0; }

size_t packed_group_bytes(GgmlType t, int64_t n_in) {
  return size_t(kPackRows) * row_bytes(t, n_in);
}

void pack_group(GgmlType t, const uint8_t* src, size_t src_stride, int64_t rows, int64_t n_in,
                uint8_t* dst) {
  const Geometry g = geometry(t, n_in);
  std::memset(dst, 0, packed_group_bytes(t, n_in));
  for (int64_t j = 0; j < rows; ++j) {
    const uint8_t* row = src + size_t(j) * src_stride;
    for (int64_t b = 0; b < g.nb; ++b) {
      const uint8_t* blk = row + size_t(b) * g.block_size;
      std::memcpy(dst + g.scale_at(b, j), blk, sizeof(f16_bits));
      for (int s = 0; s < g.qb / 4; ++s) std::memcpy(dst + g.quant_at(b, s, j), blk + 2 + 4 * s, 4);
    }
  }
}

void unpack_row(GgmlType t, const uint8_t* group, int64_t j, int64_t n_in, uint8_t* dst) {
  const Geometry g = geometry(t, n_in);
  for (int64_t b = 0; b < g.nb; ++b) {
    uint8_t* blk = dst + size_t(b) * g.block_size;
    std::memcpy(blk, group + g.scale_at(b, j), sizeof(f16_bits));
    for (int s = 0; s < g.qb / 4; ++s) std::memcpy(blk + 2 + 4 * s, group + g.quant_at(b, s, j), 4);
  }
}

}  // namespace trident
