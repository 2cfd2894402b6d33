// Trit-level access to the ternary block types, shared by their converters
// (quant_ternary.cpp) and the packed layout (repack.cpp), which stores TQ1_0 rows as TQ2_0.
#pragma once
#include <cstdint>

#include "tensor/blocks.h"

namespace trident {

// t[e] in {0, 1, 2} (the weight is d * (t - 1)) for the 256 elements of a block, in element
// order.
void tq1_0_trits(const BlockTQ1_0& b, uint8_t* t);
// The inverse: the canonical bytes for 256 trits (byte = ceil(v * 256 / 243) as llama.cpp
// writes them). A file's other byte values decode to the same trits but do not come back.
void tq1_0_from_trits(const uint8_t* t, f16_bits d, BlockTQ1_0& b);
// TQ2_0: t[e] in {0..3} (3 reads as +2).
void tq2_0_trits(const BlockTQ2_0& b, uint8_t* t);
void tq2_0_from_trits(const uint8_t* t, f16_bits d, BlockTQ2_0& b);

}  // namespace trident
