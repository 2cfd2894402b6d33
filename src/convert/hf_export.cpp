#include "convert/hf_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "format/error.h"
#include "format/gguf.h"
#include "format/output_guard.h"
#include "format/safetensors_writer.h"
#include "format/temp_files.h"
#include "model/arch.h"
#include "convert/hf_convert_arch.h"
#include "convert/hf_convert_stream.h"
#include "convert/hf_export_config.h"
#include "model/hparams.h"
#include "tokenizer/hf_tokenizer.h"

namespace trident {
namespace {

namespace fs = std::filesystem;

struct HfOut {
  std::string name;
  std::vector<int64_t> shape;  // HF order
  std::vector<RowPiece> pieces;
  GgmlType type = GgmlType::F32;
};

// The shared expert's width (qwen2moe), which no key states: its gate's rows; 0 without one.
int64_t shared_expert_width(const GgufFile& f) {
  const GgufTensorInfo* t = f.find_tensor("blk.0.ffn_gate_shexp.weight");
  return t && t->n_dims >= 2 ? t->ne[1] : 0;
}

// Finds each HF tensor's rows among the GGUF tensors: stored separately, or as a slice of a
// fused tensor (attn_qkv, ffn_gate_up_exps, trident's dense ffn_gate_up).
class ExportPlanner {
 public:
  ExportPlanner(const GgufFile& f, const ArchSpec& a, const HParams& hp) : f_(f), a_(a), hp_(hp) {
    s_.n_embd = hp.n_embd;
    s_.n_head = hp.n_head;
    s_.n_head_kv = hp.n_head_kv;
    s_.head_dim = hp.head_dim;
    s_.n_ff = hp.n_ff;
    s_.n_expert = hp.n_expert;
    s_.n_ff_exp = hp.n_ff_expert;
    s_.n_ff_shexp = shared_expert_width(f);
    s_.n_vocab = hp.n_vocab;
  }

  std::vector<HfOut> plan() {
    std::vector<HfOut> out;
    const auto globals = hf_global_rules(a_);
    add(out, globals[0], "", "model.");
    for (int64_t l = 0; l < hp_.n_layer; ++l)
      for (const TensorRule& r : hf_layer_rules(a_)) add(out, r, fmt::format("blk.{}.", l), fmt::format("model.layers.{}.", l));
    add(out, globals[1], "", "model.");
    if (a_.hf.drops_lm_head) {
      if (f_.find_tensor("output.weight"))
        fail("{}: tensor 'output.weight': {} ties its output to the embeddings (its converter drops lm_head), "
             "so a separate output matrix cannot be exported", f_.path(), a_.hf.classes[0]);
    } else {
      add(out, globals[2], "", "");
    }
    for (const GgufTensorInfo& t : f_.tensors())
      if (!used_.count(t.name))
        fail("{}: tensor '{}' has no Hugging Face {} counterpart (cannot export it)", f_.path(), t.name, a_.hf.classes[0]);
    return out;
  }

  bool attention_bias() const { return has_bias_; }
  std::vector<std::unique_ptr<RowSource>> sources_;

 private:
  const GgufFile& f_;
  const ArchSpec& a_;
  const HParams& hp_;
  HfSizes s_;
  std::set<std::string> used_;
  bool has_bias_ = false;

  // Rows [row0, row0 + n) of a GGUF tensor, checking its shape first.
  const RowSource* src(const std::string& name, const std::vector<int64_t>& ne) {
    const GgufTensorInfo* t = f_.find_tensor(name);
    if (!t) return nullptr;
    // Trailing dimensions of 1 are the same shape, as ggml compares them ({n} and {n, 1}).
    bool ok = t->n_dims <= 4 && ne.size() <= 4;
    for (size_t d = 0; ok && d < 4; ++d) ok = (d < t->n_dims ? t->ne[d] : 1) == (d < ne.size() ? ne[d] : 1);
    if (!ok) {
      std::string want = "[", found = "[";
      for (size_t d = 0; d < ne.size(); ++d) want += (d ? ", " : "") + std::to_string(ne[d]);
      for (uint32_t d = 0; d < t->n_dims; ++d) found += (d ? ", " : "") + std::to_string(t->ne[d]);
      fail("{}: tensor '{}': expected shape {}], found {}]", f_.path(), name, want, found);
    }
    for (const auto& s : sources_)
      if (s->name() == name) return s.get();
    used_.insert(name);
    // Rows as the rule sees them: a 1-D {n} file tensor read as the rule's {n, 1} is one row.
    sources_.push_back(gguf_rows(f_, *t, ne.size() >= 2 ? ne[0] : 0));
    return sources_.back().get();
  }

  RowPiece piece(const RowSource* s, int64_t row0, int64_t n, RopePerm perm) const {
    RowPiece p{s, row0, n};
    if (a_.hf.permute_qk && perm != RopePerm::None) {
      p.order = RowOrder::GgufToHf;
      p.head_rows = hp_.head_dim;
    }
    return p;
  }

  // Where this rule's rows live when its own GGUF tensor is absent: (fused tensor, first row).
  std::pair<const RowSource*, int64_t> fused_slice(const TensorRule& r, const std::string& blk, bool one_d) {
    const int64_t q = s_.get(Dim::Q), kv = s_.get(Dim::KV), ff = s_.n_ff;
    const std::string suffix = one_d ? ".bias" : ".weight";
    if (r.group == "qkv") {
      const int64_t total = q + 2 * kv;
      const RowSource* fused = src(blk + "attn_qkv" + suffix, one_d ? std::vector<int64_t>{total} : std::vector<int64_t>{s_.n_embd, total});
      const int64_t row0 = r.gguf.starts_with("attn_q") ? 0 : r.gguf.starts_with("attn_k") ? q : q + kv;
      return {fused, row0};
    }
    if (r.group == "gate_up" && !r.experts) {
      const RowSource* fused = src(blk + "ffn_gate_up.weight", {s_.n_embd, 2 * ff});
      return {fused, r.gguf.starts_with("ffn_gate") ? 0 : ff};
    }
    return {nullptr, 0};
  }

  void add(std::vector<HfOut>& out, const TensorRule& r, const std::string& blk, const std::string& hf_prefix) {
    const int64_t rows = s_.get(r.rows), cols = s_.get(r.cols);
    const bool one_d = r.cols == Dim::None;
    const std::string gname = blk + std::string(r.gguf);
    const float add = r.norm ? -a_.hf.norm_offset : 0.0f;
    if (r.experts) {
      const int64_t ne = s_.n_expert;
      const RowSource* own = src(gname, {cols, rows, ne});
      const RowSource* fused =
          own || r.group != "gate_up" ? nullptr : src(blk + "ffn_gate_up_exps.weight", {cols, 2 * rows, ne});
      if (!own && !fused) fail("{}: missing tensor '{}' (required to export {})", f_.path(), gname, a_.name);
      const bool up = r.gguf.starts_with("ffn_up");
      for (int64_t e = 0; e < ne; ++e) {
        HfOut o{hf_prefix + hf_name_for_expert(r.hf, e), {rows, cols}, {}};
        o.pieces.push_back(own ? piece(own, e * rows, rows, RopePerm::None)
                               : piece(fused, e * 2 * rows + (up ? rows : 0), rows, RopePerm::None));
        out.push_back(std::move(o));
      }
      return;
    }
    const std::vector<int64_t> ne = one_d ? std::vector<int64_t>{rows} : std::vector<int64_t>{cols, rows};
    HfOut o{hf_prefix + std::string(r.hf), one_d ? std::vector<int64_t>{rows} : std::vector<int64_t>{rows, cols}, {}};
    if (const RowSource* own = src(gname, ne)) {
      o.pieces.push_back(piece(own, 0, rows, r.perm));
    } else if (auto [fused, row0] = fused_slice(r, blk, one_d); fused) {
      o.pieces.push_back(piece(fused, row0, rows, r.perm));
    } else if (r.gguf == "attn_qkv.weight") {
      // phi3 keeps Q/K/V fused in HF; a GGUF that stores them apart is concatenated back.
      const int64_t q = s_.get(Dim::Q), kv = s_.get(Dim::KV);
      const RowSource* parts[] = {src(blk + "attn_q.weight", {cols, q}), src(blk + "attn_k.weight", {cols, kv}),
                                  src(blk + "attn_v.weight", {cols, kv})};
      for (const RowSource* p : parts) {
        if (!p) fail("{}: missing tensor '{}' (required to export {})", f_.path(), gname, a_.name);
        o.pieces.push_back(piece(p, 0, p->n_rows(), RopePerm::None));
      }
    } else {
      if (r.need == Need::Optional) return;
      fail("{}: missing tensor '{}' (required to export {})", f_.path(), gname, a_.name);
    }
    for (RowPiece& p : o.pieces) p.add = add;
    if (r.gguf.ends_with(".bias")) has_bias_ = true;
    out.push_back(std::move(o));
  }
};

void write_text(const fs::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("{}: cannot create: {}", path.string(), std::strerror(errno));
  const char* p = text.data();
  size_t n = text.size();
  while (n) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      const int e = errno;
      ::close(fd);
      fail("{}: write failed: {}", path.string(), std::strerror(e));
    }
    p += w;
    n -= size_t(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) fail("{}: write failed: {}", path.string(), std::strerror(errno));
}

}  // namespace

ExportResult export_gguf_to_hf(const std::string& gguf_path, const std::string& out_dir, const ExportOptions& opt) {
  const auto f = GgufFile::open(gguf_path);
  const std::string arch_name = f->require_string("general.architecture");
  const ArchSpec* a = find_arch(arch_name);
  if (!a || !a->has_hf())
    fail("{}: key 'general.architecture': '{}' cannot be exported (supported: {})", gguf_path, arch_name,
         supported_hf_archs());
  for (const GgufTensorInfo& t : f->tensors())
    if (t.type != GgmlType::F32 && t.type != GgmlType::F16 && t.type != GgmlType::BF16)
      fail("{}: tensor '{}' has type {}; export-hf writes only F32, F16 and BF16 tensors (a quantized file has no "
           "exact Hugging Face form)",
           gguf_path, t.name, layout_of(t.type).name);
  HParams hp = read_hparams(*f, *a);
  const GgufTensorInfo* embd = f->find_tensor("token_embd.weight");
  if (!embd || embd->n_dims != 2) fail("{}: missing tensor 'token_embd.weight' (2-D)", gguf_path);
  hp.n_vocab = embd->ne[1];
  const VocabData vocab = vocab_from_gguf(*f);
  if (int64_t(vocab.tokens.size()) != hp.n_vocab)
    fail("{}: key 'tokenizer.ggml.tokens': {} tokens, but token_embd.weight has {} rows", gguf_path, vocab.tokens.size(),
         hp.n_vocab);

  ExportPlanner planner(*f, *a, hp);
  std::vector<HfOut> outs = planner.plan();
  HfExportFacts facts;
  facts.tied = f->find_tensor("output.weight") == nullptr;
  facts.n_ff_shexp = shared_expert_width(*f);
  facts.attention_bias = planner.attention_bias();
  facts.dtype = embd->type;
  const auto config = make_hf_config(*f, *a, hp, vocab, facts);
  const HfTokenizerFiles tok = make_hf_tokenizer_files(vocab, f->get_string("tokenizer.chat_template").value_or(""),
                                                       hp.n_ctx_train);

  std::vector<StWriteTensor> st;
  ExportResult res;
  res.arch = arch_name;
  res.hf_class = std::string(a->hf.classes[0]);
  for (HfOut& o : outs) {
    StWriteTensor t;
    t.name = o.name;
    o.type = o.pieces.front().src->type();  // stored as in the GGUF
    t.dtype = *st_dtype_from_ggml(o.type);
    t.shape = o.shape;
    t.write_data = [pieces = o.pieces, type = o.type, ne0 = o.shape.back()](const EmitFn& emit) {
      stream_rows(pieces, type, ne0, emit);
    };
    uint64_t n = st_dtype_size(t.dtype);
    for (int64_t d : o.shape) n *= uint64_t(d);
    res.n_bytes += n;
    st.push_back(std::move(t));
  }
  res.n_tensors = st.size();

  // Assemble the directory under a temporary name next to the target, then rename it in. An
  // existing directory (--force) keeps everything but the files written here, each replaced by
  // a rename; a directory holding the input is refused whatever the flags.
  const fs::path target = fs::path(out_dir).lexically_normal();
  std::error_code ec;
  const bool exists = fs::exists(fs::symlink_status(target, ec));
  if (exists && !opt.overwrite) fail("{}: output exists (use --force to overwrite)", out_dir);
  if (exists && !fs::is_directory(target, ec)) fail("{}: exists and is not a directory", out_dir);
  if (exists && directory_holds(target.string(), gguf_path))
    fail("{}: holds the input file '{}' (export to another directory)", out_dir, gguf_path);
  const fs::path tmp(create_temp_dir(target.string()));
  try {
    StWriteOptions so;
    so.metadata = {{"format", "pt"}};
    so.progress = opt.progress;
    write_safetensors((tmp / "model.safetensors").string(), st, so);
    write_text(tmp / "config.json", config.dump(2) + "\n");
    write_text(tmp / "generation_config.json", make_hf_generation_config(vocab).dump(2) + "\n");
    write_text(tmp / "tokenizer.json", tok.tokenizer_json);
    write_text(tmp / "tokenizer_config.json", tok.tokenizer_config_json);
    if (!tok.tokenizer_model.empty()) write_text(tmp / "tokenizer.model", tok.tokenizer_model);
    ::chmod(tmp.c_str(), 0755);
    if (exists) {
      std::vector<fs::path> written;
      for (const auto& e : fs::directory_iterator(tmp)) written.push_back(e.path().filename());
      for (const fs::path& name : written)  // all checked before the first is replaced
        check_output_file((target / name).string(), {true, {gguf_path}});
      for (const fs::path& name : written)
        if (::rename((tmp / name).c_str(), (target / name).c_str()) != 0)
          fail("{}: cannot replace '{}': {}", out_dir, name.string(), std::strerror(errno));
      fs::remove(tmp, ec);
    } else if (::rename(tmp.c_str(), target.c_str()) != 0) {
      fail("{}: cannot rename the temporary directory: {}", out_dir, std::strerror(errno));
    }
    forget_temp(tmp.string());
  } catch (const Error& e) {
    fs::remove_all(tmp, ec);
    forget_temp(tmp.string());
    // Name the directory the user asked for, not the temporary one that no longer exists.
    std::string msg = e.what();
    for (size_t p = msg.find(tmp.string()); p != std::string::npos; p = msg.find(tmp.string(), p))
      msg.replace(p, tmp.string().size(), target.string());
    throw Error(msg);
  } catch (...) {
    fs::remove_all(tmp, ec);
    forget_temp(tmp.string());
    throw;
  }
  if (opt.note && a->hf.native_fused)
    opt.note(fmt::format("{}: qkv_proj and gate_up_proj stay fused, as Hugging Face's {} stores them", a->name,
                         a->hf.classes[0]));
  return res;
}

}  // namespace trident
