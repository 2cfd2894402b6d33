// Packed-group kernels (tensor/repack.h, KernelTable::packed_gemm), for every kernel table
// this CPU supports:
//  - pack_group / unpack_row round-trip a tensor byte for byte, padding rows are zero;
//  - every output element is bit-identical (memcmp) to the scalar reference vec_dot of the
//    same type on the same (row, activation row): row counts 1..16, token counts 1..13 and
//    64, rows of 1 to 64 blocks (1 to 8 super-blocks for the 256-element types, 1 to 2048
//    elements for the float types), raw random weight bytes for the quants (every quant,
//    including Q8_0's -128, every K-quant / IQ4_XS scale, every UE4M3 scale, E8M0 exponents
//    within 2^+-20) and an all-zero activation row; elements outside the group's rows are left alone;
//  - matmul gives the same bits with load-time packed segments, with rows packed on the fly,
//    and with segments split off group boundaries, on 1 and 2 threads;
//  - matmul over segments whose types read different activation formats (Q8_0 and Q8_1, as
//    a fused QKV with Q5_0 Q/K and a Q5_1 V) equals the per-row reference, element by element.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "tensor/fp16.h"
#include "tensor/repack.h"
#include "tensor/types.h"

namespace trident {
namespace {

using T = GgmlType;
constexpr T kTypes[] = {T::F32,  T::F16,  T::BF16,   T::Q4_0,   T::Q4_1,  T::Q5_0,  T::Q5_1,  T::Q8_0,
                        T::Q4_K, T::Q5_K, T::Q6_K,   T::Q2_K,   T::Q3_K,  T::IQ4_NL, T::IQ4_XS, T::MXFP4,
                        T::NVFP4, T::TQ1_0, T::TQ2_0,  T::Q1_0,   T::Q2_0,
                        T::IQ2_XXS, T::IQ2_XS, T::IQ2_S, T::IQ3_XXS, T::IQ3_S, T::IQ1_S, T::IQ1_M};
bool is_k(T t) { return layout_of(t).block_size == 256; }  // K-quants, IQ4_XS, TQ, grid i-quants
bool is_float(T t) { return t == T::F32 || t == T::F16 || t == T::BF16; }
std::vector<int> block_counts(T t) {
  if (is_k(t)) return {1, 2, 3, 8};
  if (is_float(t)) return {1, 5, 33, 100, 2048};
  return {1, 2, 3, 7, 64};
}
int64_t block_elems(T t) { return layout_of(t).block_size; }
T act_type(T t) { return type_traits(t)->vec_dot_type; }
// Byte offsets of a block's fp16 scale fields.
std::vector<size_t> fp16_fields(T t) {
  if (t == T::Q4_K || t == T::Q5_K) return {0, 2};
  if (t == T::Q6_K) return {208};
  if (t == T::Q4_1 || t == T::Q5_1) return {0, 2};  // d, m
  if (t == T::Q2_K) return {80, 82};
  if (t == T::Q3_K) return {108};
  if (t == T::TQ1_0) return {52};
  if (t == T::TQ2_0) return {64};
  if (t == T::MXFP4 || t == T::NVFP4) return {};  // byte scales: every value is finite
  if (t == T::IQ1_M) return {};  // its d is spread over four nibbles: weights() sets it
  return {0};
}
// TQ1_0 packs through its trits, so only canonical bytes (a quantizer's) come back as they were.
bool raw_round_trips(T t) { return t != T::TQ1_0; }
constexpr int kTokenCounts[] = {1, 2, 3, 4, 5, 7, 8, 13, 64};

const char* name(T t) { return layout_of(t).name.data(); }
bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::vector<float> random_floats(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = nd(rng);
  return v;
}

// rows x n elements, row-major. raw: random bytes with small finite fp16 scales.
std::vector<uint8_t> weights(T t, int64_t rows, int64_t n, bool raw, std::mt19937& rng) {
  const size_t rb = row_bytes(t, n), bs = layout_of(t).type_size;
  std::vector<uint8_t> w(rb * size_t(rows));
  std::uniform_int_distribution<int> byte(0, 255);
  std::normal_distribution<float> nd(0.0f, 0.01f);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* dst = w.data() + size_t(r) * rb;
    // Random float bits would bring NaN payloads into the compare; the grid i-quants have no
    // quantizer (every byte pattern is a valid block).
    if ((!raw && type_traits(t)->quantize_row) || is_float(t)) {
      type_traits(t)->quantize_row(random_floats(n, rng).data(), dst, n);
      continue;
    }
    for (size_t i = 0; i < rb; ++i) dst[i] = uint8_t(byte(rng));
    if (t == T::MXFP4)  // exponents within 2^+-20: raw ones reach 2^127, and inf - inf makes NaNs
      for (size_t off = 0; off < rb; off += bs) dst[off] = uint8_t(108 + byte(rng) % 40);
    if (t == T::IQ1_M)  // d's nibbles at the top of the four u16 scale words (bytes 48..55)
      for (size_t off = 0; off < rb; off += bs) {
        const f16_bits d = fp32_to_fp16(nd(rng));
        for (size_t k = 0; k < 4; ++k) dst[off + 49 + 2 * k] = uint8_t((dst[off + 49 + 2 * k] & 0x0F) | ((d >> 4 * k) & 0xF) << 4);
      }
    for (size_t off = 0; off < rb; off += bs)
      for (size_t field : fp16_fields(t)) {
        const f16_bits d = fp32_to_fp16(nd(rng));
        std::memcpy(dst + off + field, &d, 2);
      }
  }
  return w;
}

// nc activation rows of type at; the last one all zero.
std::vector<uint8_t> activations(T at, int64_t nc, int64_t n, std::mt19937& rng) {
  const size_t rb = row_bytes(at, n);
  std::vector<uint8_t> x(rb * size_t(nc));
  for (int64_t c = 0; c < nc; ++c) {
    auto f = random_floats(n, rng);
    if (c == nc - 1 && nc > 1) std::fill(f.begin(), f.end(), 0.0f);
    scalar_kernel_table().quantize_act[uint32_t(at)](f.data(), x.data() + size_t(c) * rb, n);
  }
  return x;
}

TEST(Repack, PackUnpackRoundTrip) {
  for (T t : kTypes)
    for (int rows : {1, 5, 16}) {
      std::mt19937 rng{uint32_t(rows)};
      const int64_t n = (is_k(t) ? 3 : is_float(t) ? 37 : 7) * block_elems(t);
      const auto w = weights(t, rows, n, raw_round_trips(t), rng);
      const size_t rb = row_bytes(t, n);
      std::vector<uint8_t> g(packed_group_bytes(t, n), 0xAB), back(rb);
      pack_group(t, w.data(), rb, rows, n, g.data());
      for (int64_t j = 0; j < kPackRows; ++j) {
        unpack_row(t, g.data(), j, n, back.data());
        if (j < rows) {
          EXPECT_EQ(std::memcmp(back.data(), w.data() + size_t(j) * rb, rb), 0) << name(t) << " row " << j;
        } else {
          EXPECT_EQ(std::count(back.begin(), back.end(), 0), int64_t(rb)) << name(t) << " padding row " << j;
        }
      }
    }
}

TEST(PackedGemm, EveryElementMatchesReferenceVecDotBitwise) {
  for (const KernelTable* k : supported_kernel_tables())
    for (T t : kTypes)
      for (int blocks : block_counts(t))
        for (bool raw : {false, true}) {
          const int64_t n = block_elems(t) * blocks, nb = std::max<int64_t>(1, n / 32), max_tokens = 64;
          std::mt19937 rng(uint32_t(100 * blocks + (raw ? 1 : 0) + 7 * uint32_t(t)));
          const auto w = weights(t, kPackRows, n, raw, rng);
          const auto x = activations(act_type(t), max_tokens, n, rng);
          const size_t rb = row_bytes(t, n), xb = row_bytes(act_type(t), n);
          std::vector<PackedActInfo> info(size_t(max_tokens * nb));
          if (!is_k(t)) packed_act_info(act_type(t), x.data(), xb, max_tokens, nb, info.data());
          for (int rows = 1; rows <= kPackRows; ++rows) {
            std::vector<uint8_t> g(packed_group_bytes(t, n));
            pack_group(t, w.data(), rb, rows, n, g.data());
            for (int nc : kTokenCounts) {
              const int64_t ldy = kPackRows + 3;
              const float kSentinel = -12345.0f;
              std::vector<float> y(size_t(nc * ldy), kSentinel);
              k->packed_gemm[uint32_t(t)](n, g.data(), x.data(), xb, info.data(), nc, rows, y.data(), ldy);
              for (int c = 0; c < nc; ++c)
                for (int64_t r = 0; r < ldy; ++r) {
                  const float got = y[size_t(c * ldy + r)];
                  if (r >= rows) {
                    ASSERT_TRUE(same_bits(got, kSentinel)) << k->isa << " wrote outside the rows";
                    continue;
                  }
                  float want = 0;
                  scalar_kernel_table().vec_dot[uint32_t(t)](n, &want, w.data() + size_t(r) * rb, x.data() + size_t(c) * xb);
                  ASSERT_TRUE(same_bits(got, want)) << k->isa << " " << name(t) << " n=" << n << " rows=" << rows
                                                    << " nc=" << nc << " r=" << r << " c=" << c << ": " << got
                                                    << " vs " << want;
                }
            }
          }
        }
}

TEST(PackedGemm, MatmulSameBitsPackedOnTheFlyAndSplit) {
  constexpr int64_t kN = 512, kRows = 53;
  for (const int64_t kTokens : {int64_t(11), int64_t(2)})
  for (const KernelTable* k : supported_kernel_tables())
    for (T t : kTypes) {
      std::mt19937 rng{uint32_t(t)};
      const auto w = weights(t, kRows, kN, false, rng);
      const auto x = random_floats(kN * kTokens, rng);
      const size_t rb = row_bytes(t, kN), gb = packed_group_bytes(t, kN);
      const int64_t groups = (kRows + kPackRows - 1) / kPackRows;
      std::vector<uint8_t> packed(size_t(groups) * gb);
      for (int64_t g = 0; g < groups; ++g)
        pack_group(t, w.data() + size_t(g * kPackRows) * rb, rb, std::min(kPackRows, kRows - g * kPackRows), kN,
                   packed.data() + size_t(g) * gb);
      // One packed segment; the same rows as two segments split on a group boundary (packed);
      // and split off a group boundary (packed on the fly).
      const RowSegment whole[] = {{t, w.data(), kRows, rb, packed.data()}};
      const RowSegment aligned[] = {{t, w.data(), 32, rb, packed.data()},
                                    {t, w.data() + 32 * rb, kRows - 32, rb, packed.data() + 2 * gb}};
      const RowSegment unaligned[] = {{t, w.data(), 21, rb, nullptr}, {t, w.data() + 21 * rb, kRows - 21, rb, nullptr}};
      std::vector<float> ref(kRows * kTokens);
      ActivationScratch s;
      ThreadPool one(1);
      matmul({whole, kN, x.data(), kN, kTokens, ref.data(), kRows}, *k, s, one);
      for (std::span<const RowSegment> segs : {std::span<const RowSegment>(aligned), std::span<const RowSegment>(unaligned)})
        for (int threads : {1, 2}) {
          std::vector<float> y(kRows * kTokens);
          ThreadPool pool(threads);
          matmul({segs, kN, x.data(), kN, kTokens, y.data(), kRows}, *k, s, pool);
          EXPECT_EQ(std::memcmp(y.data(), ref.data(), y.size() * sizeof(float)), 0)
              << k->isa << " " << name(t) << " segments=" << segs.size() << " threads=" << threads;
        }
      // And the same bits as the reference vec_dot, row by row.
      std::vector<uint8_t> xq(row_bytes(act_type(t), kN));
      for (int64_t c = 0; c < kTokens; ++c) {
        k->quantize_act[uint32_t(act_type(t))](x.data() + c * kN, xq.data(), kN);
        for (int64_t r = 0; r < kRows; ++r) {
          float want = 0;
          scalar_kernel_table().vec_dot[uint32_t(t)](kN, &want, w.data() + size_t(r) * rb, xq.data());
          ASSERT_TRUE(same_bits(ref[size_t(c * kRows + r)], want)) << k->isa << " " << name(t);
        }
      }
    }
}

TEST(PackedGemm, MatmulMixedActivationFormatsMatchReference) {
  constexpr int64_t kN = 256, kTokens = 9;
  // Q8_0 readers (Q5_0, Q4_0, Q8_0) and Q8_1 readers (Q5_1, Q4_1) interleaved, each format's
  // packed info must survive the other's; even segments packed at load, odd ones on the fly.
  const T types[] = {T::Q5_0, T::Q5_0, T::Q5_1, T::Q4_1, T::Q4_0, T::Q5_1, T::Q8_0};
  const int64_t rows[] = {32, 19, 16, 21, 16, 37, 5};
  constexpr size_t kSegs = std::size(types);
  for (const KernelTable* k : supported_kernel_tables()) {
    std::mt19937 rng{11};
    std::vector<uint8_t> w[kSegs], packed[kSegs];
    RowSegment segs[kSegs];
    int64_t width = 0;
    for (size_t i = 0; i < kSegs; ++i) {
      const T t = types[i];
      const size_t rb = row_bytes(t, kN), gb = packed_group_bytes(t, kN);
      w[i] = weights(t, rows[i], kN, true, rng);
      const int64_t groups = (rows[i] + kPackRows - 1) / kPackRows;
      packed[i].resize(size_t(groups) * gb);
      for (int64_t g = 0; g < groups; ++g)
        pack_group(t, w[i].data() + size_t(g * kPackRows) * rb, rb, std::min(kPackRows, rows[i] - g * kPackRows), kN,
                   packed[i].data() + size_t(g) * gb);
      segs[i] = {t, w[i].data(), rows[i], rb, i % 2 == 0 ? packed[i].data() : nullptr};
      width += rows[i];
    }
    const auto x = random_floats(kN * kTokens, rng);
    ActivationScratch s;
    for (int threads : {1, 2}) {
      std::vector<float> y(size_t(width * kTokens));
      ThreadPool pool(threads);
      matmul({segs, kN, x.data(), kN, kTokens, y.data(), width}, *k, s, pool);
      int64_t col = 0;
      for (size_t i = 0; i < kSegs; ++i) {
        const T t = types[i];
        std::vector<uint8_t> xq(row_bytes(act_type(t), kN));
        for (int64_t c = 0; c < kTokens; ++c) {
          k->quantize_act[uint32_t(act_type(t))](x.data() + c * kN, xq.data(), kN);
          for (int64_t r = 0; r < rows[i]; ++r) {
            float want = 0;
            scalar_kernel_table().vec_dot[uint32_t(t)](kN, &want, w[i].data() + size_t(r) * row_bytes(t, kN), xq.data());
            ASSERT_TRUE(same_bits(y[size_t(c * width + col + r)], want))
                << k->isa << " segment " << i << " (" << name(t) << ") row " << r << " token " << c
                << " threads=" << threads;
          }
        }
        col += rows[i];
      }
    }
  }
}

// Several calls in one loop (the experts a token was routed to): widths, token counts and
// activation formats differ between calls (and inside one), and each call's outputs have the
// bits matmul gives it alone, at 1 and 2 threads.
TEST(PackedGemm, MatmulManySameBitsAsSeparateCalls) {
  struct Call {
    std::vector<T> types;
    int64_t n, tokens;
  };
  const Call spec[] = {{{T::Q5_0, T::Q5_1, T::Q4_0}, 256, 1},
                       {{T::Q4_1}, 512, 3},
                       {{T::Q4_0, T::Q8_0, T::F16}, 256, 9},
                       {{T::Q4_K, T::Q6_K}, 512, 2},
                       {{T::Q4_0}, 512, 1}};
  for (const KernelTable* k : supported_kernel_tables()) {
    std::mt19937 rng{5};
    std::vector<std::vector<uint8_t>> w, packed;
    std::vector<std::vector<RowSegment>> segs(std::size(spec));
    std::vector<std::vector<float>> x, want, got;
    std::vector<MatmulArgs> calls;
    w.reserve(32);
    packed.reserve(32);
    for (size_t c = 0; c < std::size(spec); ++c) {
      int64_t width = 0;
      for (T t : spec[c].types) {
        const int64_t rows = 40 + int64_t(rng() % 90);  // 3-8 groups: the 9-token call is worth 2 threads
        const size_t rb = row_bytes(t, spec[c].n), gb = packed_group_bytes(t, spec[c].n);
        w.push_back(weights(t, rows, spec[c].n, false, rng));
        const int64_t groups = (rows + kPackRows - 1) / kPackRows;
        packed.emplace_back(size_t(groups) * gb);
        for (int64_t g = 0; g < groups; ++g)
          pack_group(t, w.back().data() + size_t(g * kPackRows) * rb, rb, std::min(kPackRows, rows - g * kPackRows),
                     spec[c].n, packed.back().data() + size_t(g) * gb);
        segs[c].push_back({t, w.back().data(), rows, rb, rng() % 2 ? packed.back().data() : nullptr});
        width += rows;
      }
      x.push_back(random_floats(spec[c].n * spec[c].tokens, rng));
      want.emplace_back(size_t(width * spec[c].tokens));
      got.emplace_back(size_t(width * spec[c].tokens));
      calls.push_back({segs[c], spec[c].n, x[c].data(), spec[c].n, spec[c].tokens, nullptr, width});
    }
    ActivationScratch s;
    ThreadPool one(1);
    for (size_t c = 0; c < calls.size(); ++c) {
      MatmulArgs a = calls[c];
      a.y = want[c].data();
      matmul(a, *k, s, one);
    }
    for (int threads : {1, 2}) {
      ThreadPool pool(threads);
      for (size_t c = 0; c < calls.size(); ++c) {
        std::fill(got[c].begin(), got[c].end(), -1.0f);
        calls[c].y = got[c].data();
      }
      matmul_many(calls, *k, s, pool);
      for (size_t c = 0; c < calls.size(); ++c)
        EXPECT_EQ(std::memcmp(got[c].data(), want[c].data(), 4 * want[c].size()), 0)
            << k->isa << " call " << c << " threads=" << threads;
    }
  }
}

}  // namespace
}  // namespace trident
