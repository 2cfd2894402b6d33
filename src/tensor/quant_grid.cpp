// The grid i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M): their blocks decoded
// to integer weights (tensor/grids.h) and dequantized bit-exactly as llama.cpp 3f545bec does
// (ggml-quants.c, dequantize_row_iq*): one scale db per 16 or 32 elements computed with ggml's
// float expression, then y = db * grid * sign, which equals db * (signed grid) since a product's
// rounding is symmetric in sign; for IQ1 y = db * (grid + shift), the shift +-1/8 making the sum
// exact, so it equals db * (w / 8) with w = 8 * grid + sign.
// The quantizers are in quant_grid_iq1.cpp, quant_grid_iq2.cpp and quant_grid_iq3.cpp.
#include <cstring>

#include "tensor/grids.h"
#include "tensor/quant_fns.h"

namespace trident {
namespace {

uint32_t load_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// 8 weights from an 8-byte grid point and a sign byte (bit j: element j negative).
void signed_point(const uint8_t* point, uint8_t signs, int8_t* w) {
  for (int j = 0; j < 8; ++j) w[j] = int8_t(signs >> j & 1 ? -point[j] : point[j]);
}
// IQ3: two 4-byte points make 8 weights.
void signed_points(const uint8_t* p1, const uint8_t* p2, uint8_t signs, int8_t* w) {
  uint8_t point[8];
  std::memcpy(point, p1, 4);
  std::memcpy(point + 4, p2, 4);
  signed_point(point, signs, w);
}
// IQ1: 8 weights 8 * level + shift sign.
void shifted_point(const int8_t* point, int shift, int8_t* w) {
  for (int j = 0; j < 8; ++j) w[j] = int8_t(8 * point[j] + shift);
}

}  // namespace

void grid_weights_iq2_xxs(const void* block, GridWeights& g) {
  const auto& b = *static_cast<const BlockIQ2_XXS*>(block);
  g.d = b.d;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const uint32_t idx = load_u32(b.qs + 4 * ib), aux = load_u32(b.qs + 4 * ib + 2);
    g.ls[2 * ib] = g.ls[2 * ib + 1] = uint8_t(2 * (aux >> 28) + 1);
    for (int l = 0; l < 4; ++l)
      signed_point(kIQ2XXSGrid.data() + 8 * (idx >> 8 * l & 0xFF), kIQ2Signs[aux >> 7 * l & 127], g.w + 32 * ib + 8 * l);
  }
}

void grid_weights_iq2_xs(const void* block, GridWeights& g) {
  const auto& b = *static_cast<const BlockIQ2_XS*>(block);
  g.d = b.d;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    g.ls[2 * ib] = uint8_t(2 * (b.scales[ib] & 0xF) + 1);
    g.ls[2 * ib + 1] = uint8_t(2 * (b.scales[ib] >> 4) + 1);
    for (int l = 0; l < 4; ++l) {
      const uint16_t q = b.qs[4 * ib + l];
      signed_point(kIQ2XSGrid.data() + 8 * (q & 511), kIQ2Signs[q >> 9], g.w + 32 * ib + 8 * l);
    }
  }
}

void grid_weights_iq2_s(const void* block, GridWeights& g) {
  const auto& b = *static_cast<const BlockIQ2_S*>(block);
  g.d = b.d;
  const uint8_t* signs = b.qs + QK_K / 8;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    g.ls[2 * ib] = uint8_t(2 * (b.scales[ib] & 0xF) + 1);
    g.ls[2 * ib + 1] = uint8_t(2 * (b.scales[ib] >> 4) + 1);
    for (int l = 0; l < 4; ++l) {
      const int idx = b.qs[4 * ib + l] | (b.qh[ib] << (8 - 2 * l) & 0x300);
      signed_point(kIQ2SGrid.data() + 8 * idx, signs[4 * ib + l], g.w + 32 * ib + 8 * l);
    }
  }
}

void grid_weights_iq3_xxs(const void* block, GridWeights& g) {
  const auto& b = *static_cast<const BlockIQ3_XXS*>(block);
  g.d = b.d;
  const uint8_t* q3 = b.qs;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const uint32_t aux = load_u32(b.qs + QK_K / 4 + 4 * ib);
    g.ls[2 * ib] = g.ls[2 * ib + 1] = uint8_t(2 * (aux >> 28) + 1);
    for (int l = 0; l < 4; ++l)
      signed_points(kIQ3XXSGrid.data() + 4 * q3[8 * ib + 2 * l], kIQ3XXSGrid.data() + 4 * q3[8 * ib + 2 * l + 1],
                    kIQ2Signs[aux >> 7 * l & 127], g.w + 32 * ib + 8 * l);
  }
}

void grid_weights_iq3_s(const void* block, GridWeights& g) {
  const auto& b = *static_cast<const BlockIQ3_S*>(block);
  g.d = b.d;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    g.ls[2 * ib] = g.ls[2 * ib + 1] = uint8_t(2 * (b.scales[ib / 2] >> 4 * (ib % 2) & 0xF) + 1);
    const uint8_t* qs = b.qs + 8 * ib;
    for (int l = 0; l < 4; ++l) {
      const int i1 = qs[2 * l] | (b.qh[ib] << (8 - 2 * l) & 256), i2 = qs[2 * l + 1] | (b.qh[ib] << (7 - 2 * l) & 256);
      signed_points(kIQ3SGrid.data() + 4 * i1, kIQ3SGrid.data() + 4 * i2, b.signs[4 * ib + l], g.w + 32 * ib + 8 * l);
    }
  }
}

void grid_weights_iq1_s(const void* block, GridWeights& g) {
  const auto& b = *static_cast<const BlockIQ1_S*>(block);
  g.d = b.d;
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    const int qh = b.qh[ib];
    g.ls[2 * ib] = g.ls[2 * ib + 1] = uint8_t(2 * (qh >> 12 & 7) + 1);
    const int shift = qh & 0x8000 ? -1 : 1;
    for (int l = 0; l < 4; ++l)
      shifted_point(kIQ1SGrid.data() + 8 * (b.qs[4 * ib + l] | (qh >> 3 * l & 7) << 8), shift, g.w + 32 * ib + 8 * l);
  }
}

f16_bits iq1_m_scale(const BlockIQ1_M& b) {
  uint16_t sc[4];
  std::memcpy(sc, b.scales, 8);
  return f16_bits((sc[0] >> 12) | (sc[1] >> 8 & 0x00F0) | (sc[2] >> 4 & 0x0F00) | (sc[3] & 0xF000));
}

void grid_weights_iq1_m(const void* block, GridWeights& g) {
  const auto& b = *static_cast<const BlockIQ1_M*>(block);
  uint16_t sc[4];
  std::memcpy(sc, b.scales, 8);
  g.d = iq1_m_scale(b);
  for (int ib = 0; ib < QK_K / 32; ++ib) {
    g.ls[2 * ib] = uint8_t(2 * (sc[ib / 2] >> 6 * (ib % 2) & 7) + 1);
    g.ls[2 * ib + 1] = uint8_t(2 * (sc[ib / 2] >> (6 * (ib % 2) + 3) & 7) + 1);
    for (int l = 0; l < 4; ++l) {
      const int qh = b.qh[2 * ib + l / 2] >> 4 * (l % 2);  // this point's nibble: 3 index bits, shift sign
      shifted_point(kIQ1SGrid.data() + 8 * (b.qs[4 * ib + l] | (qh & 7) << 8), qh & 8 ? -1 : 1, g.w + 32 * ib + 8 * l);
    }
  }
}

namespace {

// ggml's scale per 16 elements from the odd scale ls = 2 u + 1 (u the file's field).
float step_iq2(float d, int ls) { return d * (0.5f + float(ls >> 1)) * 0.25f; }
float step_iq3_xxs(float d, int ls) { return d * (0.5f + float(ls >> 1)) * 0.5f; }
float step_odd(float d, int ls) { return d * float(ls); }  // IQ3_S, IQ1_S, IQ1_M

template <class Block, GridDecodeFn Decode, float (*Step)(float, int), bool kShifted>
void dequantize_grid(const void* src, float* y, int64_t n) {
  const auto* b = static_cast<const Block*>(src);
  GridWeights g;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    Decode(b + i, g);
    const float d = fp16_to_fp32(g.d);
    for (int s = 0; s < QK_K / 16; ++s) {
      const float db = Step(d, g.ls[s]);
      for (int j = 0; j < 16; ++j) {
        const int8_t w = g.w[16 * s + j];
        *y++ = kShifted ? db * (float(w) * 0.125f) : db * float(w);
      }
    }
  }
}

}  // namespace

void dequantize_row_iq2_xxs(const void* s, float* y, int64_t n) { dequantize_grid<BlockIQ2_XXS, grid_weights_iq2_xxs, step_iq2, false>(s, y, n); }
void dequantize_row_iq2_xs(const void* s, float* y, int64_t n) { dequantize_grid<BlockIQ2_XS, grid_weights_iq2_xs, step_iq2, false>(s, y, n); }
void dequantize_row_iq2_s(const void* s, float* y, int64_t n) { dequantize_grid<BlockIQ2_S, grid_weights_iq2_s, step_iq2, false>(s, y, n); }
void dequantize_row_iq3_xxs(const void* s, float* y, int64_t n) { dequantize_grid<BlockIQ3_XXS, grid_weights_iq3_xxs, step_iq3_xxs, false>(s, y, n); }
void dequantize_row_iq3_s(const void* s, float* y, int64_t n) { dequantize_grid<BlockIQ3_S, grid_weights_iq3_s, step_odd, false>(s, y, n); }
void dequantize_row_iq1_s(const void* s, float* y, int64_t n) { dequantize_grid<BlockIQ1_S, grid_weights_iq1_s, step_odd, true>(s, y, n); }
void dequantize_row_iq1_m(const void* s, float* y, int64_t n) { dequantize_grid<BlockIQ1_M, grid_weights_iq1_m, step_odd, true>(s, y, n); }

}  // namespace trident
