// The grid i-quant codebooks, expanded from their compact statement in grid_tables.inc (generated
// from llama.cpp's ggml-common.h by scripts/gen-grid-tables.py) into the byte tables the decoders
// and kernels index. tests/grid_tables_test.cpp checks each against llama.cpp's bytes (sha256).
#include <array>
#include <cstddef>

#include "tensor/grids.h"

namespace trident {
namespace {

#include "tensor/grid_tables.inc"

// Point p's coordinate c is levels[(points[p] >> bits * c) & mask].
template <class T, size_t kPoints, size_t kCoords, size_t kLevels>
constexpr std::array<T, kPoints * kCoords> expand(const uint16_t (&points)[kPoints], const int (&levels)[kLevels], int bits) {
  std::array<T, kPoints * kCoords> out{};
  for (size_t p = 0; p < kPoints; ++p)
    for (size_t c = 0; c < kCoords; ++c) out[p * kCoords + c] = T(levels[(points[p] >> (bits * int(c))) & ((1 << bits) - 1)]);
  return out;
}

constexpr int kIQ2Levels[3] = {8, 25, 43};
constexpr int kIQ3XXSLevels[8] = {4, 12, 20, 28, 36, 44, 52, 62};
constexpr int kIQ3SLevels[8] = {1, 3, 5, 7, 9, 11, 13, 15};
constexpr int kIQ1Levels[3] = {-1, 0, 1};

constexpr std::array<uint8_t, 128> make_signs() {
  std::array<uint8_t, 128> s{};
  for (int i = 0; i < 128; ++i) s[size_t(i)] = uint8_t(i | (__builtin_popcount(unsigned(i)) & 1) << 7);
  return s;
}

}  // namespace

extern const std::array<uint8_t, 256 * 8> kIQ2XXSGrid = expand<uint8_t, 256, 8>(kIQ2XXSPoints, kIQ2Levels, 2);
extern const std::array<uint16_t, 256> kIQ2XXSCodes = std::to_array(kIQ2XXSPoints);
extern const std::array<uint16_t, 512> kIQ2XSCodes = std::to_array(kIQ2XSPoints);
extern const std::array<uint16_t, 1024> kIQ2SCodes = std::to_array(kIQ2SPoints);
extern const std::array<uint16_t, 256> kIQ3XXSCodes = std::to_array(kIQ3XXSPoints);
extern const std::array<uint16_t, 512> kIQ3SCodes = std::to_array(kIQ3SPoints);
extern const std::array<uint8_t, 512 * 8> kIQ2XSGrid = expand<uint8_t, 512, 8>(kIQ2XSPoints, kIQ2Levels, 2);
extern const std::array<uint8_t, 1024 * 8> kIQ2SGrid = expand<uint8_t, 1024, 8>(kIQ2SPoints, kIQ2Levels, 2);
extern const std::array<uint8_t, 256 * 4> kIQ3XXSGrid = expand<uint8_t, 256, 4>(kIQ3XXSPoints, kIQ3XXSLevels, 3);
extern const std::array<uint8_t, 512 * 4> kIQ3SGrid = expand<uint8_t, 512, 4>(kIQ3SPoints, kIQ3SLevels, 3);
extern const std::array<int8_t, 2048 * 8> kIQ1SGrid = expand<int8_t, 2048, 8>(kIQ1SPoints, kIQ1Levels, 2);
extern const std::array<uint8_t, 128> kIQ2Signs = make_signs();

}  // namespace trident
