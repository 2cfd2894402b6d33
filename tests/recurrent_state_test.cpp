// The per-sequence recurrent state (runtime/recurrent_state.h): sizes from the families'
// hyper-parameters, checked arithmetic, reset, copy, and the byte stream (round trip, and one
// test per bad-stream class with its message, the state left unchanged). Then a sequence whose
// state is saved after a few tokens, restored into another container and continued, equal bit
// for bit to the same tokens run without a break.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "format/error.h"
#include "format/fd_sink.h"
#include "kernels/recurrent.h"
#include "runtime/recurrent_state.h"
#include "test_util.h"

namespace trident {
namespace {

using test::error_of;

// A hybrid stack: delta net, attention, Mamba-2, Mamba-1, LFM2's convolution.
std::vector<RecurrentLayerShape> hybrid_shapes() {
  return {delta_net_layer_shape(2, 4, 16, 8, 4), RecurrentLayerShape{}, mamba2_layer_shape(64, 4, 2, 16, 4),
          mamba1_layer_shape(32, 16, 4), short_conv_layer_shape(24, 3)};
}

void fill(RecurrentState& s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  for (int64_t l = 0; l < s.n_layer(); ++l) {
    const RecurrentLayerShape& sh = s.shape(l);
    if (float* c = s.conv(l))
      for (int64_t i = 0; i < (sh.conv_width - 1) * sh.conv_channels; ++i) c[i] = d(rng);
    if (float* m = s.ssm(l))
      for (int64_t i = 0; i < sh.ssm_heads * sh.ssm_rows * sh.ssm_cols; ++i) m[i] = d(rng);
  }
}

TEST(RecurrentState, ShapesFromHyperParameters) {
  EXPECT_EQ(delta_net_layer_shape(2, 4, 16, 8, 4), (RecurrentLayerShape{2 * 2 * 16 + 4 * 8, 4, 4, 8, 16}));
  EXPECT_EQ(mamba2_layer_shape(64, 4, 2, 16, 4), (RecurrentLayerShape{64 + 2 * 2 * 16, 4, 4, 16, 16}));
  EXPECT_EQ(mamba1_layer_shape(32, 16, 4), (RecurrentLayerShape{32, 4, 32, 1, 16}));
  EXPECT_EQ(short_conv_layer_shape(24, 3), (RecurrentLayerShape{24, 3, 0, 0, 0}));
  EXPECT_EQ(error_of([] { mamba2_layer_shape(65, 4, 1, 16, 4); }),
            "Mamba-2 layer: d_inner 65 is not a multiple of the head count 4");
  EXPECT_EQ(error_of([] { delta_net_layer_shape(-1, 4, 16, 8, 4); }), "delta-net key heads: negative size -1");
  EXPECT_EQ(error_of([] { delta_net_layer_shape(int64_t(1) << 40, 4, int64_t(1) << 40, 8, 4); }),
            "delta-net conv channels: size overflow (2199023255552 * 1099511627776)");
}

TEST(RecurrentState, SizesAndPointers) {
  const RecurrentState s(hybrid_shapes());
  EXPECT_EQ(s.n_layer(), 5);
  EXPECT_EQ(s.conv(1), nullptr);  // attention layer
  EXPECT_EQ(s.ssm(1), nullptr);
  EXPECT_EQ(s.ssm(4), nullptr);  // convolution only
  EXPECT_NE(s.conv(4), nullptr);
  const uint64_t floats = 3 * 96 + 4 * 8 * 16 + 3 * 128 + 4 * 16 * 16 + 3 * 32 + 32 * 16 + 2 * 24;
  EXPECT_EQ(s.bytes(), floats * 4);
  EXPECT_EQ(s.ssm(0) - s.conv(0), 3 * 96);  // one buffer, layer by layer
  for (int64_t l : {0, 2, 3, 4}) EXPECT_EQ(s.conv(l)[0], 0.0f) << "a new state is zeros";
}

TEST(RecurrentState, BadSizes) {
  EXPECT_EQ(error_of([] { RecurrentState({RecurrentLayerShape{4, -2, 0, 0, 0}}); }),
            "recurrent state of layer 0: negative size -2");
  EXPECT_EQ(error_of([] {
              RecurrentState({RecurrentLayerShape{}, RecurrentLayerShape{0, 0, int64_t(1) << 32, int64_t(1) << 32, 1}});
            }),
            "recurrent state of layer 1: size overflow (4294967296 * 4294967296)");
  const std::string huge = error_of([] { RecurrentState({RecurrentLayerShape{0, 0, 1 << 20, 1 << 20, 1 << 16}}); });
  EXPECT_NE(huge.find("a recurrent state needs"), std::string::npos) << huge;
}

TEST(RecurrentState, ResetAndCopy) {
  RecurrentState a(hybrid_shapes()), b(hybrid_shapes());
  fill(a, 1);
  b.copy_from(a);
  EXPECT_EQ(b.save(), a.save());
  a.reset();
  EXPECT_EQ(a.ssm(0)[5], 0.0f);
  EXPECT_NE(b.ssm(0)[5], 0.0f);
  RecurrentState other({mamba1_layer_shape(32, 16, 4)});
  EXPECT_EQ(error_of([&] { other.copy_from(a); }), "recurrent state: 5 layers, expected 1");
  std::vector<RecurrentLayerShape> shapes = hybrid_shapes();
  shapes[2].ssm_cols = 8;
  RecurrentState narrower(shapes);
  EXPECT_EQ(error_of([&] { narrower.copy_from(a); }),
            "recurrent state: layer 2 is conv 4 x 128, state 4 x 16 x 16, expected conv 4 x 128, state 4 x 16 x 8");
}

TEST(RecurrentState, SaveRestoreRoundTrip) {
  RecurrentState a(hybrid_shapes()), b(hybrid_shapes());
  fill(a, 2);
  const std::vector<uint8_t> bytes = a.save();
  EXPECT_EQ(bytes.size(), a.serialized_size());
  EXPECT_EQ(std::memcmp(bytes.data(), "TRIDREC1", 8), 0);
  b.restore(bytes, "seq.bin");
  EXPECT_EQ(b.save(), bytes);
  // The FdSink path writes the same bytes.
  const std::string path = test::temp_path("recurrent_state.bin");
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  {
    FdSink sink(fd, path);
    a.save(sink);
    sink.flush();
  }
  ::close(fd);
  std::ifstream f(path, std::ios::binary);
  const std::vector<uint8_t> from_file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(from_file, bytes);
}

TEST(RecurrentState, BadStreams) {
  RecurrentState a(hybrid_shapes()), b(hybrid_shapes());
  fill(a, 3);
  fill(b, 4);
  const std::vector<uint8_t> good = a.save(), before = b.save();
  auto restore = [&](std::vector<uint8_t> bytes) { return error_of([&] { b.restore(bytes, "seq.bin"); }); };
  auto patched = [&](size_t at, uint32_t v) {
    std::vector<uint8_t> bytes = good;
    std::memcpy(bytes.data() + at, &v, 4);
    return bytes;
  };
  EXPECT_EQ(restore({}), "seq.bin: not a trident recurrent state (expected the magic TRIDREC1)");
  EXPECT_EQ(restore(patched(0, 0x4B4E554A)), "seq.bin: not a trident recurrent state (expected the magic TRIDREC1)");
  EXPECT_EQ(restore(patched(8, 2)), "seq.bin: recurrent state version 2 (expected 1)");
  EXPECT_EQ(restore(patched(12, 4)), "seq.bin: recurrent state of 4 layers, this model has 5");
  EXPECT_EQ(restore(patched(16 + 2 * 40 + 32, 8)),  // layer 2's ssm_cols
            "seq.bin: layer 2 recurrent state is conv 4 x 128, state 4 x 16 x 8, this model's is conv 4 x 128, "
            "state 4 x 16 x 16");
  const std::string size_msg = "seq.bin: {} bytes, expected " + std::to_string(good.size());
  std::vector<uint8_t> cut(good.begin(), good.end() - 1), longer = good, header_only(good.begin(), good.begin() + 20);
  longer.push_back(0);
  EXPECT_EQ(restore(cut), fmt::format(fmt::runtime(size_msg), cut.size()));
  EXPECT_EQ(restore(longer), fmt::format(fmt::runtime(size_msg), longer.size()));
  EXPECT_EQ(restore(header_only), fmt::format(fmt::runtime(size_msg), header_only.size()));
  EXPECT_EQ(b.save(), before) << "a refused stream leaves the state as it was";
}

// A delta-net sequence: 5 tokens in one run, vs 2 tokens, save, restore elsewhere, 3 tokens.
TEST(RecurrentState, SavedMidSequenceContinuesBitwise) {
  const DeltaNet op{4, 2, 16, 8, KHeadMap::Tiled};
  const RecurrentLayerShape shape = delta_net_layer_shape(2, 4, 16, 8, 4);
  const int64_t n = 5, qk = 2 * 16, vw = 4 * 8;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> q(size_t(n * qk)), k(q.size()), v(size_t(n * vw)), g(size_t(n * 4)), beta(g.size());
  for (auto* vec : {&q, &k, &v}) for (float& x : *vec) x = d(rng);
  for (int64_t r = 0; r < n * 2; ++r) {
    l2_norm(q.data() + r * 16, q.data() + r * 16, 16, 1e-6f);
    l2_norm(k.data() + r * 16, k.data() + r * 16, 16, 1e-6f);
  }
  for (size_t i = 0; i < g.size(); ++i) g[i] = -0.5f * (d(rng) + 1), beta[i] = 0.5f * (d(rng) + 1);
  auto run = [&](RecurrentState& st, int64_t t0, int64_t len, std::vector<float>& out) {
    delta_net(op, DeltaNetRows{q.data() + t0 * qk, qk, k.data() + t0 * qk, qk, v.data() + t0 * vw, vw, g.data() + t0 * 4,
                               beta.data() + t0 * 4, 4, out.data() + t0 * vw, vw, len, st.ssm(0)},
              nullptr);
  };
  RecurrentState whole({shape}), first({shape}), second({shape});
  std::vector<float> out_whole(size_t(n * vw)), out_split(out_whole.size());
  run(whole, 0, n, out_whole);
  run(first, 0, 2, out_split);
  second.restore(first.save(), "mid.bin");
  run(second, 2, 3, out_split);
  EXPECT_EQ(std::memcmp(out_split.data(), out_whole.data(), out_whole.size() * 4), 0);
  EXPECT_EQ(second.save(), whole.save());
}

}  // namespace
}  // namespace trident
