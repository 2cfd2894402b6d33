// The codebooks of the grid i-quants (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S),
// expanded at compile time from tensor/grid_tables.inc, and the decoding of their blocks to
// integer weights, which dequantization (tensor/quant_grid.cpp) and the dot products
// (kernels/dot_grid_scalar.cpp) share.
#pragma once
#include <array>
#include <cstdint>

#include "tensor/blocks.h"

namespace trident {

// Point p of a grid is bytes [8p, 8p + 8) (IQ3: [4p, 4p + 4)), the layout of llama.cpp's tables.
extern const std::array<uint8_t, 256 * 8> kIQ2XXSGrid;
// The same IQ2_XXS / IQ2_XS / IQ2_S points as 16-bit codes: bits 2c..2c+1 of point p's code
// index coordinate c's level in {8, 25, 43} (the kernels look points up in registers so).
extern const std::array<uint16_t, 256> kIQ2XXSCodes;
extern const std::array<uint16_t, 512> kIQ2XSCodes;
extern const std::array<uint16_t, 1024> kIQ2SCodes;
// IQ3_XXS / IQ3_S points as 12-bit codes: bits 3c..3c+2 index coordinate c's level.
extern const std::array<uint16_t, 256> kIQ3XXSCodes;
extern const std::array<uint16_t, 512> kIQ3SCodes;
extern const std::array<uint8_t, 512 * 8> kIQ2XSGrid;
extern const std::array<uint8_t, 1024 * 8> kIQ2SGrid;
extern const std::array<uint8_t, 256 * 4> kIQ3XXSGrid;
extern const std::array<uint8_t, 512 * 4> kIQ3SGrid;
extern const std::array<int8_t, 2048 * 8> kIQ1SGrid;
// 7 sign bits (bit j set: element j negative) completed by their parity as bit 7: the IQ2_XXS,
// IQ2_XS and IQ3_XXS blocks store only 7 signs per 8 elements, an even number being negative.
extern const std::array<uint8_t, 128> kIQ2Signs;

// One super-block as integers. Element e is d * step(ls[e / 16]) * w[e] where the step is the
// type's (tensor/quant_grid.cpp): for IQ2 / IQ3 w is a grid level with its sign; for IQ1 it is
// 8 * level + the sign of the block's shift of 1/8 (so w / 8 is the file's level + shift), and
// types with one scale per 32 elements repeat it in both halves.
struct GridWeights {
  f16_bits d;
  uint8_t ls[QK_K / 16];  // odd, 1..31
  int8_t w[QK_K];
};
using GridDecodeFn = void (*)(const void* block, GridWeights& g);
void grid_weights_iq2_xxs(const void* block, GridWeights& g);
void grid_weights_iq2_xs(const void* block, GridWeights& g);
void grid_weights_iq2_s(const void* block, GridWeights& g);
void grid_weights_iq3_xxs(const void* block, GridWeights& g);
void grid_weights_iq3_s(const void* block, GridWeights& g);
void grid_weights_iq1_s(const void* block, GridWeights& g);
void grid_weights_iq1_m(const void* block, GridWeights& g);
// IQ1_M's fp16 d, spread over the top nibbles of its four u16 scale words.
f16_bits iq1_m_scale(const BlockIQ1_M& b);

}  // namespace trident
