// Block layouts of the quantized GGUF types, byte for byte as files store them.
// A row of n elements is n / block_size consecutive blocks.
#pragma once
#include <cstdint>

#include "tensor/fp16.h"

namespace trident {

inline constexpr int QK4_0 = 32, QK4_1 = 32, QK5_0 = 32, QK5_1 = 32, QK8_0 = 32, QK8_1 = 32;
inline constexpr int QK_K = 256;       // super-block of the K-quants
inline constexpr int K_SCALE_SIZE = 12;

// x = d * (q - 8), q in 0..15; qs[j] holds element j (low nibble) and j + 16 (high nibble).
struct BlockQ4_0 { f16_bits d; uint8_t qs[QK4_0 / 2]; };
// x = d * q + m
struct BlockQ4_1 { f16_bits d, m; uint8_t qs[QK4_1 / 2]; };
// x = d * (q - 16); bit 4 of element j is bit j of qh (little-endian uint32).
struct BlockQ5_0 { f16_bits d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; };
struct BlockQ5_1 { f16_bits d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; };
struct BlockQ8_0 { f16_bits d; int8_t qs[QK8_0]; };
// Activation block for Q4_1 / Q5_1 weights: s = d * sum(qs).
struct BlockQ8_1 { f16_bits d, s; int8_t qs[QK8_1]; };

struct BlockQ2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; f16_bits d, dmin; };
struct BlockQ3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; f16_bits d; };
struct BlockQ4_K { f16_bits d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; };
struct BlockQ5_K { f16_bits d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
struct BlockQ6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; f16_bits d; };
// Activation block for all K-quants: bsums[i] = sum of qs[16 i .. 16 i + 15].
struct BlockQ8_K { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; };

// Non-linear 4-bit quants: a nibble indexes a 16-value codebook (tensor/codebooks.h).
// IQ4_NL: x = d * kIQ4NLValues[q]; qs as Q4_0 (element j low nibble of qs[j], j + 16 high).
inline constexpr int QK4_NL = 32, QK_MXFP4 = 32, QK_NVFP4 = 64, QK_NVFP4_SUB = 16;
struct BlockIQ4_NL { f16_bits d; uint8_t qs[QK4_NL / 2]; };
// IQ4_XS: 8 sub-blocks of 32 with 6-bit scales ls (bias 32): low 4 bits in scales_l (nibble
// ib % 2 of byte ib / 2), high 2 bits at bits 2 ib of scales_h; sub-block ib's nibbles are
// qs[16 ib .. 16 ib + 15] as in IQ4_NL. x = d * (ls - 32) * kIQ4NLValues[q].
struct BlockIQ4_XS { f16_bits d; uint16_t scales_h; uint8_t scales_l[QK_K / 64]; uint8_t qs[QK_K / 2]; };
// MXFP4 (OCP microscaling): E8M0 exponent e, E2M1 nibbles laid out as Q4_0's.
// x = 2^(e - 127) * e2m1(q) = 2^(e - 128) * kFP4Values[q] (the table is doubled).
struct BlockMXFP4 { uint8_t e; uint8_t qs[QK_MXFP4 / 2]; };
// NVFP4: 4 sub-blocks of 16, each with a UE4M3 scale d[s]; sub-block s's nibbles are
// qs[8 s .. 8 s + 7], element j low nibble, j + 8 high. x = ue4m3(d[s]) / 2 * kFP4Values[q].
struct BlockNVFP4 { uint8_t d[QK_NVFP4 / QK_NVFP4_SUB]; uint8_t qs[QK_NVFP4 / 2]; };

// Q1_0: one sign bit per element, x = bit ? d : -d, bit j at bit j % 8 of qs[j / 8]; d is the
// block's mean |x|.
inline constexpr int QK1_0 = 128, QK2_0 = 64;
struct BlockQ1_0 { f16_bits d; uint8_t qs[QK1_0 / 8]; };
// Q2_0: x = d * (q - 1), q in 0..3 at bits 2 (j % 4) of qs[j / 4].
struct BlockQ2_0 { f16_bits d; uint8_t qs[QK2_0 / 4]; };

// Ternary quants (BitNet b1.58, TriLMs): x = d * (t - 1), t in {0, 1, 2}.
// TQ1_0: five trits per byte in qs (base 3, scaled to a byte: byte = ceil(v * 256 / 243)),
// four in each qh byte; element order in tensor/quant_ternary.cpp.
struct BlockTQ1_0 { uint8_t qs[(QK_K - 4 * QK_K / 64) / 5]; uint8_t qh[QK_K / 64]; f16_bits d; };
// TQ2_0: element 128 h + 32 l + m is bits 2l..2l+1 of qs[32 h + m] (values 0..3; 3 reads as +2).
struct BlockTQ2_0 { uint8_t qs[QK_K / 4]; f16_bits d; };

// Grid i-quants (llama.cpp's IQ1/IQ2/IQ3 families): every 8 (IQ3: 4) elements are one point of a
// fixed codebook of 8- (4-) element vectors (tensor/grids.h), a sign per element (IQ1: none), and
// a small odd integer scale ls per 16 or 32 elements times the block's fp16 d. Field order as the
// file stores them; the decoding of each is in tensor/quant_grid.cpp.
// IQ2_XXS: per 32 elements two u32 (qs[4 ib .. 4 ib + 3]): bytes 0..3 of the first are 4 grid
// indices, the second holds 4 x 7 sign bits and ls = 2 * (bits 28..31) + 1.
struct BlockIQ2_XXS { f16_bits d; uint16_t qs[QK_K / 8]; };
// IQ2_XS: per 8 elements a u16, 9-bit grid index and 7 sign bits; per 16 a 4-bit scale.
struct BlockIQ2_XS { f16_bits d; uint16_t qs[QK_K / 8]; uint8_t scales[QK_K / 32]; };
// IQ2_S: per 8 elements a 10-bit index (qs byte + 2 bits of qh), a sign byte (second half of
// qs); per 16 a 4-bit scale.
struct BlockIQ2_S { f16_bits d; uint8_t qs[QK_K / 4]; uint8_t qh[QK_K / 32]; uint8_t scales[QK_K / 32]; };
// IQ3_XXS: per 4 elements an 8-bit index into a 4-element grid (qs[0..63]), then per 32 a u32 of
// 4 x 7 sign bits and a 4-bit scale.
struct BlockIQ3_XXS { f16_bits d; uint8_t qs[3 * QK_K / 8]; };
// IQ3_S: per 4 elements a 9-bit index (qs byte + a bit of qh), a sign bit per element, per 32 a
// 4-bit scale.
struct BlockIQ3_S { f16_bits d; uint8_t qs[QK_K / 4]; uint8_t qh[QK_K / 32]; uint8_t signs[QK_K / 8]; uint8_t scales[QK_K / 64]; };
// IQ1_S: per 8 elements an 11-bit index into the {-1, 0, 1} grid (qs byte + 3 bits of qh); per
// 32 a u16 qh with the 3-bit scale and the sign of a shift of 1/8 step.
struct BlockIQ1_S { f16_bits d; uint8_t qs[QK_K / 8]; uint16_t qh[QK_K / 32]; };
// IQ1_M: as IQ1_S with the shift sign per 8 elements, 3-bit scales per 16, and the fp16 d spread
// over the top nibbles of the four u16 of scales.
struct BlockIQ1_M { uint8_t qs[QK_K / 8]; uint8_t qh[QK_K / 16]; uint8_t scales[QK_K / 32]; };

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockIQ4_NL) == 18);
static_assert(sizeof(BlockIQ4_XS) == 136);
static_assert(sizeof(BlockMXFP4) == 17);
static_assert(sizeof(BlockNVFP4) == 36);
static_assert(sizeof(BlockTQ1_0) == 54);
static_assert(sizeof(BlockTQ2_0) == 66);
static_assert(sizeof(BlockQ1_0) == 18);
static_assert(sizeof(BlockQ2_0) == 18);
static_assert(sizeof(BlockIQ2_XXS) == 66);
static_assert(sizeof(BlockIQ2_XS) == 74);
static_assert(sizeof(BlockIQ2_S) == 82);
static_assert(sizeof(BlockIQ3_XXS) == 98);
static_assert(sizeof(BlockIQ3_S) == 110);
static_assert(sizeof(BlockIQ1_S) == 50);
static_assert(sizeof(BlockIQ1_M) == 56);

}  // namespace trident
