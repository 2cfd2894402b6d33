// Synthetic GGUF models: tokenizer metadata and streamed random weights for the plan of
// synth_plan.cpp (shapes: synth_shapes.cpp). See synth.h for the determinism and scaling rules.
#include "convert/synth.h"
#include "convert/synth_plan.h"

#include <fmt/format.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>

#include "convert/synth_random.h"
#include "format/error.h"
#include "format/gguf_writer.h"
#include "kernels/dispatch.h"
#include "kernels/thread_pool.h"
#include "tensor/quant_fns.h"
#include "tensor/types.h"

namespace trident {
namespace {

using synth_detail::Init;
using synth_detail::Planned;

// ---- tokenizer -------------------------------------------------------------------------

// A SentencePiece-style vocabulary: <unk>, <s>, </s>, the 256 byte tokens, then filler pieces
// ("▁", single letters and digits, then "▁a", "▁b", ..., "▁aa", ...), all distinct.
void set_tokenizer(GgufWriter& w, int64_t n_vocab) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};  // unknown, control, control
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    types.push_back(6);  // byte
  }
  static constexpr std::string_view kChars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const std::string space = "\xE2\x96\x81";  // SentencePiece's word-start mark
  const int64_t n_chars = int64_t(kChars.size());
  for (int64_t k = 0; int64_t(tokens.size()) < n_vocab; ++k) {
    std::string piece;
    if (k == 0) {
      piece = space;  // so a leading space is one token, and decodes as a space
    } else if (k <= n_chars) {
      piece = std::string(1, kChars[size_t(k - 1)]);
    } else {
      std::string word;  // bijective base 26: a..z, aa..zz, ...
      for (int64_t v = k - n_chars; v > 0; v = (v - 1) / 26) word.insert(word.begin(), char('a' + (v - 1) % 26));
      piece = space + word;
    }
    tokens.push_back(std::move(piece));
    types.push_back(1);  // normal
  }
  std::vector<float> scores(tokens.size(), 0.0f);
  for (size_t i = 259; i < scores.size(); ++i) scores[i] = -float(i - 259);  // earlier pieces merge first
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string("tokenizer.ggml.pre", "default");
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_f32_array("tokenizer.ggml.scores", scores);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  w.set_bool("tokenizer.ggml.add_eos_token", false);
}

// ---- random values ---------------------------------------------------------------------

// x[i] ~ zero-mean, unit-variance, bell-shaped: the sum of four 16-bit uniforms from one
// 64-bit draw (Irwin-Hall), which is several times cheaper than Box-Muller and bounded at
// +-3.46 std, so no outlier dominates a quantization block.
void fill_unit(float* x, int64_t n, uint64_t stream) {
  constexpr float kMean = 2.0f * 65535.0f;
  constexpr float kInvStd = 1.0f / 37837.23f;  // 65536 / sqrt(3)
  uint64_t s = stream;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t v = splitmix64(s);
    const uint32_t sum = uint32_t(v & 0xffff) + uint32_t((v >> 16) & 0xffff) + uint32_t((v >> 32) & 0xffff) + uint32_t(v >> 48);
    x[i] = (float(sum) - kMean) * kInvStd;
  }
}

void fill_rope_freqs(float* x, int64_t n, const SynthShape& s) {
  const double low_wavelen = double(s.llama3_orig_ctx) / s.llama3_low_freq;
  const double high_wavelen = double(s.llama3_orig_ctx) / s.llama3_high_freq;
  for (int64_t i = 0; i < n; ++i) {
    const double freq = 1.0 / std::pow(double(s.rope_base), double(2 * i) / double(s.head_dim));
    const double wavelen = 2.0 * std::numbers::pi / freq;
    double f;
    if (wavelen < high_wavelen) {
      f = 1.0;  // high frequencies are not scaled
    } else if (wavelen > low_wavelen) {
      f = s.llama3_rope_factor;
    } else {  // smooth blend between the two
      const double smooth = (double(s.llama3_orig_ctx) / wavelen - s.llama3_low_freq) / (s.llama3_high_freq - s.llama3_low_freq);
      f = 1.0 / ((1.0 - smooth) / s.llama3_rope_factor + smooth);
    }
    x[i] = float(f);
  }
}

// F32 -> F16 with the F16C instructions: the portable reference converter is half of the
// time of an f16 synth. Both round to nearest even, so the bytes are identical either way.
__attribute__((target("avx,f16c"))) void to_f16_f16c(const float* src, void* dst, int64_t n) {
  auto* out = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  if (i < n) quantize_row_f16(src + i, out + i, n - i);
}

QuantizeRowFn row_converter(GgmlType t) {
  if (t == GgmlType::F16 && cpu_has_f16c()) return to_f16_f16c;
  return type_traits(t)->quantize_row;
}

void fill_row(const Planned& p, const SynthShape& s, uint64_t stream, float* x, int64_t n) {
  switch (p.init) {
    case Init::RopeFreqs: fill_rope_freqs(x, n, s); return;
    case Init::One: std::fill(x, x + n, 1.0f); return;
    case Init::Norm:
      fill_unit(x, n, stream);
      for (int64_t i = 0; i < n; ++i) x[i] = p.scale * (1.0f + 0.05f * x[i]);
      return;
    case Init::Matrix:
    case Init::Bias:
      fill_unit(x, n, stream);
      for (int64_t i = 0; i < n; ++i) x[i] *= p.scale;
      return;
  }
}

// Generates a tensor a chunk of rows at a time (rows in parallel, each from its own stream)
// and hands each chunk to `emit`, so memory stays at one chunk whatever the tensor's size.
void generate(const Planned& p, const SynthShape& s, uint64_t seed, ThreadPool& pool,
              const std::function<void(const void*, size_t)>& emit) {
  const int64_t row_len = p.t.ne[0];
  int64_t rows = 1;
  for (size_t d = 1; d < p.t.ne.size(); ++d) rows *= p.t.ne[d];
  const size_t out_row = row_bytes(p.t.type, row_len);
  const QuantizeRowFn quantize = row_converter(p.t.type);
  if (!quantize) fail("synth: no quantizer for type {} (tensor '{}')", layout_of(p.t.type).name, p.t.name);
  uint64_t base = seed ^ fnv1a(p.t.name);
  const uint64_t tensor_stream = splitmix64(base);
  const int64_t chunk_rows = std::clamp<int64_t>(int64_t((16u << 20) / out_row), 1, rows);
  std::vector<uint8_t> buf(size_t(chunk_rows) * out_row);
  for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
    const int64_t n = std::min(chunk_rows, rows - r0);
    try {
      pool.parallel_for(n, [&](int64_t i) {
        thread_local std::vector<float> x;
        x.resize(size_t(row_len));
        uint64_t row_state = tensor_stream + uint64_t(r0 + i) * 0xd1b54a32d192ed03ull;
        fill_row(p, s, splitmix64(row_state), x.data(), row_len);
        quantize(x.data(), buf.data() + size_t(i) * out_row, row_len);
      });
    } catch (const std::exception& e) {
      fail("synth: tensor '{}': {}", p.t.name, e.what());
    }
    emit(buf.data(), size_t(n) * out_row);
  }
}

}  // namespace

using synth_detail::build_plan;
using synth_detail::resolve;
using synth_detail::Resolved;
using synth_detail::set_hparams;

std::vector<SynthTensor> synth_plan(const SynthOptions& opt) {
  std::vector<SynthTensor> out;
  for (Planned& p : build_plan(resolve(opt))) out.push_back(std::move(p.t));
  return out;
}

SynthSummary synth_model(const SynthOptions& opt, const std::string& path) {
  const Resolved r = resolve(opt);
  // Shared so each tensor's callback can refer to its plan entry after build_plan returns.
  auto plan = std::make_shared<const std::vector<Planned>>(build_plan(r));
  GgufWriter w;
  set_hparams(w, r, opt);
  set_tokenizer(w, r.n_vocab);
  SynthSummary sum;
  sum.arch = std::string(r.arch->name);
  const SynthShape* shape = r.shape;
  const uint64_t seed = opt.seed;
  auto pool = std::make_shared<ThreadPool>(opt.threads);
  for (const Planned& p : *plan) {
    uint64_t n = 1;
    for (int64_t e : p.t.ne) n *= uint64_t(e);
    sum.n_params += n;
    const Planned* pp = &p;
    w.add_tensor({p.t.name, p.t.type, p.t.ne,
                  [plan, pp, shape, seed, pool](const auto& emit) { generate(*pp, *shape, seed, *pool, emit); }});
  }
  sum.n_tensors = plan->size();
  GgufWriteOptions wo;
  wo.overwrite = opt.overwrite;
  wo.progress = opt.progress;
  w.write(path, wo);
  sum.bytes = std::filesystem::file_size(path);
  return sum;
}

}  // namespace trident
