// `trident imatrix -m MODEL -f TEXT [-o imatrix.gguf]`: an importance matrix for the i-quants,
// computed as llama-imatrix (llama.cpp 3f545bec) does. The text is tokenized once (BOS as the
// vocabulary says), cut into chunks of -c tokens, and each chunk is evaluated as a fresh
// sequence whose first token is replaced by BOS; every projection's input is summed
// (runtime/imatrix_collect.h) and the running perplexity over the second half of each chunk
// is printed to stderr. The file is llama-imatrix's GGUF or, with --output-format dat, its
// legacy layout (convert/imatrix.h), read by `trident quantize --imatrix` and llama-quantize.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "cli/prompt_text.h"
#include "convert/imatrix.h"
#include "format/error.h"
#include "runtime/imatrix_collect.h"
#include "tokenizer/tokenizer.h"

namespace trident::cli {
namespace {

struct ImatrixFlags {
  ModelFlags model;
  std::string text_file, output = "imatrix.gguf", format = "gguf";
  int64_t chunks = -1, from_chunk = 0;
  bool process_output = false, no_ppl = false, parse_special = false, force = false;
};

// Negative log-likelihood sums over the second half of each chunk, as llama-imatrix's
// process_logits: log-softmax with the max subtracted and the exponentials summed in double.
struct Perplexity {
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  void add(const float* logits, int64_t n_vocab, int32_t next) {
    const float mx = *std::max_element(logits, logits + n_vocab);
    double sum_exp = 0.0;
    for (int64_t i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - mx);
    const double v = -(double(logits[next] - mx) - std::log(sum_exp));
    nll += v;
    nll2 += v * v;
    ++count;
  }
  double ppl() const { return std::exp(nll / double(count)); }
};

void run_imatrix(const ImatrixFlags& f) {
  if (f.text_file.empty()) fail("no text: give -f FILE (the text the importance matrix is computed from)");
  if (f.format != "gguf" && f.format != "dat") fail("--output-format: expected gguf or dat, found '{}'", f.format);
  ModelFlags mf = f.model;
  if (mf.ctx == 0) mf.ctx = 512;
  // llama-imatrix skips products of fewer than 16 rows; trident records every chunk's, so
  // shorter chunks would give a different matrix rather than llama.cpp's (none).
  if (mf.ctx < 16) fail("-c: expected a chunk size of at least 16 tokens, found {}", mf.ctx);
  if (f.from_chunk < 0) fail("--chunk: expected a chunk index >= 0, found {}", f.from_chunk);
  const std::string text = read_prompt(PromptFlags{.text = {}, .file = f.text_file, .escape = false});
  if (text.empty()) fail("-f {}: the text is empty", f.text_file);
  SessionOptions opt = session_options(mf);
  const std::string model_path = resolve_model_path(mf.model);
  const OutputPolicy policy{f.force, {model_path, f.text_file}};
  check_output_file(f.output, policy);  // before minutes of work, not after
  auto model = load_model(mf);
  warn_context_above_trained(mf, *model);
  VocabData vocab = vocab_from_gguf(model->file());
  const bool add_bos = vocab.add_bos;
  const Tokenizer tok(std::move(vocab));
  std::vector<int32_t> tokens = tok.encode(text, true, f.parse_special);

  const int64_t n_ctx = mf.ctx;
  if (f.from_chunk > 0) {
    if ((f.from_chunk + 2) * n_ctx >= int64_t(tokens.size()))
      fail("-f {}: {} tokens leave too few after skipping {} chunks of {} (--chunk)", f.text_file, tokens.size(),
           f.from_chunk, n_ctx);
    tokens.erase(tokens.begin(), tokens.begin() + f.from_chunk * n_ctx);
  }
  if (int64_t(tokens.size()) < 2 * n_ctx)
    fail("-f {}: the text is {} tokens; at least {} (two chunks of -c {}) are needed, as llama-imatrix requires",
         f.text_file, tokens.size(), 2 * n_ctx, n_ctx);
  const int64_t n_chunk_max = int64_t(tokens.size()) / n_ctx;
  const int64_t n_chunk = f.chunks < 0 ? n_chunk_max : std::min(f.chunks, n_chunk_max);
  if (n_chunk == 0) fail("--chunks 0: no chunk to evaluate");

  ImatrixCollector collector(model->file(), f.process_output);
  opt.n_ctx = n_ctx;
  opt.observer = &collector;
  Session s(*model, opt);
  fmt::print(stderr, "imatrix: computing over {} chunks of {} tokens, {} threads\n", n_chunk, n_ctx, s.n_threads());

  const int64_t nv = model->hp().n_vocab, first = n_ctx / 2, step = s.options().n_ubatch;
  Perplexity ppl;
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  std::vector<float> logits;
  for (int64_t c = 0; c < n_chunk; ++c) {
    std::copy_n(tokens.begin() + c * n_ctx, n_ctx, chunk.begin());
    if (add_bos) chunk[0] = tok.bos();
    s.reset();
    // A micro-batch at a time, so memory holds one micro-batch of logits.
    for (int64_t i0 = 0; i0 < n_ctx; i0 += step) {
      const int64_t n = std::min(step, n_ctx - i0);
      s.eval(std::span<const int32_t>(chunk).subspan(size_t(i0), size_t(n)), true, logits);
      if (f.no_ppl) continue;
      // Row i predicts token i + 1, scored for i in [n_ctx / 2, n_ctx - 1).
      for (int64_t i = std::max(i0, first); i < std::min(i0 + n, n_ctx - 1); ++i)
        ppl.add(logits.data() + (i - i0) * nv, nv, chunk[size_t(i + 1)]);
    }
    if (f.no_ppl) fmt::print(stderr, "[{}]", c + 1);
    else fmt::print(stderr, "[{}]{:.4f},", c + 1, ppl.ppl());
  }
  fmt::print(stderr, "\n");
  if (!f.no_ppl) {
    const double nll = ppl.nll / double(ppl.count), var = ppl.nll2 / double(ppl.count) - nll * nll;
    if (var > 0 && ppl.count > 1)
      fmt::print(stderr, "Final estimate: PPL = {:.4f} +/- {:.5f}\n", ppl.ppl(),
                 std::sqrt(var / double(ppl.count - 1)) * ppl.ppl());
  }

  ImatrixWriteData d;
  int64_t max_count = 0;
  for (const auto& [name, e] : collector.entries()) {
    d.entries[name] = {e.sums, e.counts};
    for (int64_t k : e.counts) max_count = std::max(max_count, k);
  }
  d.datasets = {f.text_file};
  d.chunk_size = int32_t(n_ctx);
  d.chunk_count = int32_t(max_count / n_ctx);  // llama-imatrix's m_last_chunk
  if (f.format == "gguf" && !f.output.ends_with(".gguf"))
    fmt::print(stderr, "trident: warning: {}: a GGUF imatrix without the .gguf suffix (--output-format dat "
               "writes the legacy format)\n", f.output);
  write_imatrix(d, f.output, f.format == "dat", policy);
  fmt::print(stderr, "imatrix: {} entries from {} chunks written to {}\n", d.entries.size(), n_chunk, f.output);
}

}  // namespace

void add_imatrix_command(CLI::App& app) {
  auto f = std::make_shared<ImatrixFlags>();
  auto* cmd = app.add_subcommand("imatrix", "compute an importance matrix (llama-imatrix's file) from a text");
  add_model_flags(cmd, f->model);
  cmd->get_option("-c")->description("chunk size in tokens: each chunk is evaluated as its own sequence (default: 512)");
  cmd->add_option("-f,--file", f->text_file, "text file to compute the importance matrix from (at least two chunks)");
  cmd->add_option("-o,--output,--output-file", f->output, "file to write (default: imatrix.gguf)");
  cmd->add_option("--output-format", f->format, "gguf (default) or dat (llama.cpp's legacy format)");
  cmd->add_option("--chunks", f->chunks, "at most N chunks (default: every whole chunk of the text)");
  cmd->add_option("--chunk,--from-chunk", f->from_chunk, "skip the first N chunks of the text");
  cmd->add_flag("--process-output", f->process_output, "also collect output.weight's input");
  cmd->add_flag("--no-ppl", f->no_ppl, "do not compute the perplexity");
  cmd->add_flag("--parse-special", f->parse_special, "recognise special tokens' texts in the text");
  cmd->add_flag("--force", f->force, "overwrite an existing output file");
  cmd->callback([f] { run_imatrix(*f); });
}

}  // namespace trident::cli
