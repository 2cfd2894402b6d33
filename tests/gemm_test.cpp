// Tile kernels (KernelTable::gemm), for every kernel table this CPU supports and every type
// that has one:
//  - every output element is bit-identical (memcmp) to the table's vec_dot on the same
//    (weight row, activation row), for row counts 1..16, token counts 1..64, rows of 1 to
//    64 blocks, misaligned pointers and an output stride wider than the tile; elements
//    outside the tile are left alone;
//  - where a gemm file also registers vec_dot (its 1 x 1 tile), that vec_dot is
//    bit-identical to the one the ISA's dot file registers, including on raw random weight
//    bytes (every quant pattern) and on rows whose dot is zero;
//  - matmul gives the same bits with and without the gemm entries.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/dot_register.h"
#include "kernels/matmul.h"
#include "tensor/fp16.h"
#include "tensor/types.h"

namespace trident {
namespace {

using T = GgmlType;
constexpr int kRowCounts[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
constexpr int kTokenCounts[] = {1, 2, 3, 4, 5, 7, 8, 13, 64};
constexpr int kBlockCounts[] = {1, 2, 7, 64};
constexpr int kMaxRows = 16, kMaxTokens = 64;

const char* name(T t) { return layout_of(t).name.data(); }

std::vector<float> random_floats(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = nd(rng);
  return v;
}

// rows x n elements of type t, rows `stride` bytes apart, starting 1 byte into the buffer so
// no row is aligned. `raw`: random bytes with small finite fp16 scales at block offset 0
// (the legacy quants' d) instead of quantized floats.
struct Rows {
  std::vector<uint8_t> buf;
  size_t stride = 0;
  const uint8_t* row(int64_t i) const { return buf.data() + 1 + size_t(i) * stride; }
};
Rows weight_rows(T t, int64_t rows, int64_t n, bool raw, std::mt19937& rng) {
  Rows r;
  r.stride = row_bytes(t, n) + 3;  // an odd stride keeps every row misaligned
  r.buf.assign(1 + size_t(rows) * r.stride, 0);
  for (int64_t i = 0; i < rows; ++i) {
    uint8_t* dst = r.buf.data() + 1 + size_t(i) * r.stride;
    if (!raw) {
      const auto f = random_floats(n, rng);
      type_traits(t)->quantize_row(f.data(), dst, n);
      continue;
    }
    std::uniform_int_distribution<int> byte(0, 255);
    for (size_t b = 0; b < row_bytes(t, n); ++b) dst[b] = uint8_t(byte(rng));
    std::normal_distribution<float> nd(0.0f, 0.01f);
    const size_t bs = layout_of(t).type_size;
    for (size_t off = 0; off < row_bytes(t, n); off += bs) {
      const f16_bits d = fp32_to_fp16(nd(rng));
      std::memcpy(dst + off, &d, 2);
    }
  }
  return r;
}
Rows act_rows(const KernelTable& k, T wt, int64_t rows, int64_t n, std::mt19937& rng) {
  const T at = type_traits(wt)->vec_dot_type;
  Rows r;
  r.stride = row_bytes(at, n) + 5;
  r.buf.assign(1 + size_t(rows) * r.stride, 0);
  for (int64_t i = 0; i < rows; ++i) {
    const auto f = random_floats(n, rng);
    k.quantize_act[uint32_t(at)](f.data(), r.buf.data() + 1 + size_t(i) * r.stride, n);
  }
  return r;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(GemmTile, EveryElementMatchesVecDotBitwise) {
  int checked = 0;
  for (const KernelTable* k : supported_kernel_tables())
    for (uint32_t ti = 0; ti < kGgmlTypeCount; ++ti) {
      if (!k->gemm[ti]) continue;
      const T t = T(ti);
      const int64_t bs = layout_of(t).block_size;
      for (int blocks : kBlockCounts) {
        const int64_t n = blocks * bs;
        std::mt19937 rng(uint32_t(1000 * ti + blocks));
        const Rows w = weight_rows(t, kMaxRows, n, false, rng);
        const Rows x = act_rows(*k, t, kMaxTokens, n, rng);
        // Reference: vec_dot per pair.
        std::vector<float> ref(size_t(kMaxRows) * kMaxTokens);
        for (int c = 0; c < kMaxTokens; ++c)
          for (int r = 0; r < kMaxRows; ++r)
            k->vec_dot[ti](n, &ref[size_t(c) * kMaxRows + r], w.row(r), x.row(c));
        for (int nr : kRowCounts)
          for (int nc : kTokenCounts) {
            // Start the tile at row/token 1 where there is room, so the tile's first rows
            // are not the buffers' first rows.
            const int r0 = nr < kMaxRows ? 1 : 0, c0 = nc < kMaxTokens ? 1 : 0;
            const int64_t ldy = nr + 3;
            const float kSentinel = -12345.0f;
            std::vector<float> y(size_t(nc) * ldy + 1, kSentinel);
            k->gemm[ti](n, w.row(r0), w.stride, nr, x.row(c0), x.stride, nc, y.data() + 1, ldy);
            for (int c = 0; c < nc; ++c)
              for (int64_t r = 0; r < ldy; ++r) {
                const float got = y[1 + size_t(c) * ldy + r];
                if (r >= nr) {
                  ASSERT_TRUE(same_bits(got, kSentinel)) << "wrote outside the tile";
                  continue;
                }
                const float want = ref[size_t(c0 + c) * kMaxRows + r0 + r];
                ASSERT_TRUE(same_bits(got, want))
                    << k->isa << " " << name(t) << " n=" << n << " nr=" << nr << " nc=" << nc
                    << " r=" << r << " c=" << c << ": gemm " << got << " vec_dot " << want;
              }
            ASSERT_TRUE(same_bits(y[0], kSentinel));
            ++checked;
          }
      }
    }
  if (checked == 0) GTEST_SKIP() << "no kernel table has a gemm on this CPU";
}

// The ISA's own dot file, before any gemm file overrides vec_dot.
bool dot_file_table(const char* isa, KernelTable& out) {
  out = scalar_kernel_table();
  if (std::strcmp(isa, "avx2") == 0) {
    register_legacy_avx2(out);
    register_kquant_avx2(out);
  } else if (std::strcmp(isa, "avx512") == 0) {
    register_legacy_avx512(out);
    register_kquant_avx512(out);
  } else {
    return false;
  }
  return true;
}

TEST(GemmTile, RegisteredVecDotMatchesDotFileBitwise) {
  for (const KernelTable* k : supported_kernel_tables()) {
    KernelTable dots;
    if (!dot_file_table(k->isa, dots)) continue;
    for (uint32_t ti = 0; ti < kGgmlTypeCount; ++ti) {
      if (!k->gemm[ti] || k->vec_dot[ti] == dots.vec_dot[ti]) continue;
      const T t = T(ti);
      const int64_t bs = layout_of(t).block_size;
      for (int blocks : {1, 2, 3, 4, 5, 7, 8, 9, 15, 64, 129}) {
        const int64_t n = blocks * bs;
        for (bool raw : {false, true}) {
          std::mt19937 rng(uint32_t(77 * ti + blocks + (raw ? 5000 : 0)));
          const Rows w = weight_rows(t, 8, n, raw, rng);
          Rows x = act_rows(*k, t, 9, n, rng);
          // Token 8 is all zero: every dot is a sum of zeros, whose sign the reductions fix.
          const std::vector<float> zeros(size_t(n), 0.0f);
          k->quantize_act[uint32_t(type_traits(t)->vec_dot_type)](zeros.data(), x.buf.data() + 1 + 8 * x.stride, n);
          for (int r = 0; r < 8; ++r)
            for (int c = 0; c < 9; ++c) {
              float a = 0, b = 0;
              k->vec_dot[ti](n, &a, w.row(r), x.row(c));
              dots.vec_dot[ti](n, &b, w.row(r), x.row(c));
              ASSERT_TRUE(same_bits(a, b)) << k->isa << " " << name(t) << " n=" << n << " raw=" << raw
                                           << " r=" << r << " c=" << c << ": " << a << " vs " << b;
            }
        }
      }
    }
  }
}

TEST(GemmTile, MatmulSameBitsWithAndWithoutGemm) {
  constexpr int64_t kN = 256, kRows = 37, kTokens = 11;
  for (const KernelTable* k : supported_kernel_tables())
    for (uint32_t ti = 0; ti < kGgmlTypeCount; ++ti) {
      if (!k->gemm[ti]) continue;
      const T t = T(ti);
      std::mt19937 rng(ti);
      const Rows w = weight_rows(t, kRows, kN, false, rng);
      const auto x = random_floats(kN * kTokens, rng);
      // Two segments over the same bytes, split mid-tile, as a fused projection would be.
      const RowSegment segs[] = {{t, w.row(0), 21, w.stride}, {t, w.row(21), kRows - 21, w.stride}};
      KernelTable no_gemm = *k;
      std::fill(std::begin(no_gemm.gemm), std::end(no_gemm.gemm), nullptr);
      std::vector<float> y1(kRows * kTokens), y2(kRows * kTokens);
      ActivationScratch s1, s2;
      matmul({segs, kN, x.data(), kN, kTokens, y1.data(), kRows}, *k, s1, 2);
      matmul({segs, kN, x.data(), kN, kTokens, y2.data(), kRows}, no_gemm, s2, 1);
      EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)), 0) << k->isa << " " << name(t);
    }
}

}  // namespace
}  // namespace trident
