#include "convert/hf_convert.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "format/error.h"
#include "format/gguf_writer.h"
#include "format/hf_config.h"
#include "format/output_guard.h"
#include "format/safetensors.h"
#include "convert/hf_convert_arch.h"
#include "convert/hf_convert_meta.h"
#include "convert/hf_convert_stream.h"
#include "tokenizer/hf_tokenizer.h"

namespace trident {
namespace {

struct OutTensor {
  std::string name;
  std::vector<int64_t> ne;       // GGUF order
  std::vector<RowPiece> pieces;  // rows in GGUF order
  std::string group;             // fusable group of the rule it came from
  GgmlType type = GgmlType::F32;
};

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

class HfPlanner {
 public:
  HfPlanner(const HfModelConfig& cfg, const ArchSpec& arch, const SafetensorsModel& st, HfHParams& hp)
      : cfg_(cfg), arch_(arch), st_(st), hp_(hp) {}

  // Finds the tensors, checks them against the config, and lists the GGUF tensors in order.
  std::vector<OutTensor> plan() {
    find_prefix();
    const StTensor& embd = require(prefix_ + "embed_tokens.weight");
    if (embd.shape.size() != 2)
      fail("{}: tensor '{}': expected 2 dimensions [vocab, {}], found {}", st_.file_of(embd).path(), embd.name,
           hp_.sizes.n_embd, embd.shape_str());
    hp_.sizes.n_vocab = embd.shape[0];
    if (hp_.vocab_size && *hp_.vocab_size != hp_.sizes.n_vocab)
      fail("{}: {}, but tensor '{}' has {} rows", cfg_.config.where("vocab_size"), *hp_.vocab_size, embd.name,
           embd.shape[0]);
    std::vector<OutTensor> out;
    const auto globals = hf_global_rules(arch_);
    add_rule(out, globals[0], prefix_, "");
    if (auto f = llama3_rope_factors(hp_); !f.empty()) {
      const int64_t n = int64_t(f.size());
      sources_.push_back(memory_rows("rope_freqs.weight", std::move(f)));
      out.push_back({"rope_freqs.weight", {n}, {{sources_.back().get(), 0, n}}, ""});
    }
    const auto rules = hf_layer_rules(arch_);
    for (int64_t l = 0; l < hp_.n_layer; ++l) {
      std::vector<OutTensor> layer;
      for (const TensorRule& r : rules)
        add_rule(layer, r, fmt::format("{}layers.{}.", prefix_, l), fmt::format("blk.{}.", l));
      for (auto& t : layer) out.push_back(std::move(t));
    }
    add_rule(out, globals[1], prefix_, "");
    const std::string lm_head = lm_head_name();
    if (arch_.hf.drops_lm_head) {
      // As llama.cpp's converter: the family's output is its embeddings, whatever lm_head holds.
      if (st_.find(lm_head)) used_.insert(lm_head);
      check_all_used();
      return out;
    }
    if (!st_.find(lm_head) && hp_.tie_embeddings == false)
      fail("{}: missing tensor '{}' (config.json sets tie_word_embeddings false)", cfg_.dir, lm_head);
    add_rule(out, globals[2], lm_head.substr(0, lm_head.size() - std::string("lm_head.weight").size()), "");
    check_all_used();
    return out;
  }

  std::vector<std::unique_ptr<RowSource>> sources_;

 private:
  const HfModelConfig& cfg_;
  const ArchSpec& arch_;
  const SafetensorsModel& st_;
  HfHParams& hp_;
  std::string prefix_;
  std::set<std::string> used_;

  void find_prefix() {
    // Text models keep their decoder under "model."; multimodal checkpoints nest it.
    for (const char* p : {"model.", "model.language_model.", "language_model.model.", ""})
      if (st_.find(std::string(p) + "embed_tokens.weight")) {
        prefix_ = p;
        return;
      }
    prefix_ = "model.";
  }

  std::string lm_head_name() const {
    if (prefix_ == "language_model.model.") return "language_model.lm_head.weight";
    return "lm_head.weight";
  }

  const StTensor& require(const std::string& name) {
    const StTensor* t = st_.find(name);
    if (!t) fail("{}: missing tensor '{}' (required by {})", cfg_.dir, name, cfg_.architecture);
    return *t;
  }

  // The tensor as a row source, after checking dtype and shape against the config.
  const RowSource& use(const StTensor& t, const std::vector<int64_t>& want) {
    if (t.shape != want)
      fail("{}: tensor '{}': expected shape {} (from config.json), found {}", st_.file_of(t).path(), t.name,
           shape_str(want), t.shape_str());
    used_.insert(t.name);
    sources_.push_back(safetensors_rows(st_, t));
    return *sources_.back();
  }

  RowPiece piece(const RowSource& src, int64_t row0, int64_t n, RopePerm perm) const {
    RowPiece p{&src, row0, n};
    if (arch_.hf.permute_qk && perm != RopePerm::None) {
      p.order = RowOrder::HfToGguf;
      p.head_rows = hp_.sizes.head_dim;
    }
    return p;
  }

  void add_rule(std::vector<OutTensor>& out, const TensorRule& r, const std::string& hf_prefix,
                const std::string& gguf_prefix) {
    const HfSizes& s = hp_.sizes;
    const int64_t rows = s.get(r.rows), cols = s.get(r.cols);
    const bool one_d = r.cols == Dim::None;
    OutTensor t;
    t.name = gguf_prefix + std::string(r.gguf);
    t.group = std::string(r.group);
    if (!r.experts) {
      const std::string name = hf_prefix + std::string(r.hf);
      const StTensor* st = st_.find(name);
      if (!st) {
        if (r.need == Need::Optional) return;
        require(name);
      }
      const RowSource& src = use(*st, one_d ? std::vector<int64_t>{rows} : std::vector<int64_t>{rows, cols});
      RowPiece p = piece(src, 0, src.n_rows(), r.perm);
      if (r.norm) p.add = arch_.hf.norm_offset;
      t.pieces.push_back(p);
      t.ne = one_d ? std::vector<int64_t>{rows} : std::vector<int64_t>{cols, rows};
      out.push_back(std::move(t));
      return;
    }
    // Experts: one HF tensor each, or (newer transformers) stacked 3-D tensors.
    const int64_t n_exp = s.n_expert;
    t.ne = {cols, rows, n_exp};
    if (st_.find(hf_prefix + hf_name_for_expert(r.hf, 0))) {
      for (int64_t e = 0; e < n_exp; ++e) {
        const StTensor& st = require(hf_prefix + hf_name_for_expert(r.hf, e));
        const RowSource& src = use(st, {rows, cols});
        t.pieces.push_back(piece(src, 0, rows, RopePerm::None));
      }
    } else {
      const bool down = r.gguf.starts_with("ffn_down");
      const std::string base = hf_prefix + (down ? "mlp.experts.down_proj" : "mlp.experts.gate_up_proj");
      const StTensor* st = st_.find(base) ? st_.find(base) : st_.find(base + ".weight");
      if (!st) require(hf_prefix + hf_name_for_expert(r.hf, 0));
      // gate_up_proj is [experts, 2 * ff, embd]: gate rows then up rows per expert.
      const RowSource& src = used_.count(st->name) ? *find_source(st->name)
                                                   : use(*st, down ? std::vector<int64_t>{n_exp, rows, cols}
                                                                   : std::vector<int64_t>{n_exp, 2 * rows, cols});
      const bool up = r.gguf.starts_with("ffn_up");
      for (int64_t e = 0; e < n_exp; ++e)
        t.pieces.push_back(piece(src, down ? e * rows : e * 2 * rows + (up ? rows : 0), rows, RopePerm::None));
    }
    out.push_back(std::move(t));
  }

  const RowSource* find_source(const std::string& name) const {
    for (const auto& s : sources_)
      if (s->name() == name) return s.get();
    return nullptr;
  }

  void check_all_used() const {
    for (const StTensor* t : st_.tensors()) {
      if (used_.count(t->name)) continue;
      const std::string& n = t->name;
      if (n.ends_with("rotary_emb.inv_freq")) continue;  // recomputed from rope_theta
      // The vision half of a multimodal checkpoint is not part of the text model.
      if (cfg_.architecture.ends_with("ForConditionalGeneration") &&
          (n.find("vision_tower.") != std::string::npos || n.find("multi_modal_projector.") != std::string::npos))
        continue;
      fail("{}: unexpected tensor '{}' with shape {} (not part of a {} model as converted here)",
           st_.file_of(*t).path(), n, t->shape_str(), cfg_.architecture);
    }
  }
};

// Replaces each layer's group members (e.g. attn_q/k/v.weight) with one fused tensor whose
// rows are the members' rows in order. Experts interleave: per expert, each member's rows.
void fuse_group(std::vector<OutTensor>& ts, const std::string& group, const std::string& suffix,
                const std::string& fused_suffix, bool per_expert) {
  std::vector<OutTensor> out;
  for (size_t i = 0; i < ts.size();) {
    if (ts[i].group != group || !ts[i].name.ends_with(suffix)) {
      out.push_back(std::move(ts[i++]));
      continue;
    }
    size_t j = i;
    while (j < ts.size() && ts[j].group == group && ts[j].name.ends_with(suffix)) ++j;
    const std::string prefix = ts[i].name.substr(0, ts[i].name.find('.', ts[i].name.find('.') + 1) + 1);
    OutTensor f;
    f.name = prefix + fused_suffix;
    f.ne = ts[i].ne;
    if (per_expert) {
      const int64_t n_exp = ts[i].ne[2];
      f.ne[1] = 0;
      for (size_t k = i; k < j; ++k) f.ne[1] += ts[k].ne[1];
      for (int64_t e = 0; e < n_exp; ++e)
        for (size_t k = i; k < j; ++k) f.pieces.push_back(ts[k].pieces[size_t(e)]);
    } else {
      const size_t d = f.ne.size() - 1;  // rows are the last GGUF dimension
      f.ne[d] = 0;
      for (size_t k = i; k < j; ++k) {
        f.ne[d] += ts[k].ne[d];
        f.pieces.insert(f.pieces.end(), ts[k].pieces.begin(), ts[k].pieces.end());
      }
    }
    out.push_back(std::move(f));
    i = j;
  }
  ts = std::move(out);
}

}  // namespace

GgmlType parse_outtype(const std::string& name) {
  static const std::pair<const char*, GgmlType> kTypes[] = {
      {"f32", GgmlType::F32}, {"f16", GgmlType::F16}, {"bf16", GgmlType::BF16},
      {"q8_0", GgmlType::Q8_0}, {"q4_0", GgmlType::Q4_0}};
  for (const auto& [n, t] : kTypes)
    if (name == n) return t;
  fail("--outtype '{}': expected one of f32, f16, bf16, q8_0, q4_0", name);
}

ConvertResult convert_hf_to_gguf(const std::string& model_dir, const std::string& out_path,
                                 const ConvertOptions& opt) {
  auto note = [&](const std::string& s) {
    if (opt.note) opt.note(s);
  };
  const HfModelConfig cfg = read_hf_model_config(model_dir);
  const ArchSpec* arch = find_arch_by_hf_class(cfg.architecture);
  if (!arch)
    fail("{}: architecture '{}' is not supported (supported: {})", cfg.config.where("architectures"),
         cfg.architecture, supported_hf_archs());
  HfHParams hp = read_hf_hparams(cfg, *arch);
  const auto st = SafetensorsModel::open_dir(model_dir);
  HfPlanner planner(cfg, *arch, *st, hp);
  std::vector<OutTensor> tensors = planner.plan();
  const HfTokenizer tok = read_hf_tokenizer(cfg, hp.sizes.n_vocab);

  if (opt.fuse_qkv) {
    if (arch->hf.native_fused) {
      note(fmt::format("--fuse-qkv: {} stores Q/K/V as one tensor already", arch->name));
    } else {
      fuse_group(tensors, "qkv", ".weight", "attn_qkv.weight", false);
      fuse_group(tensors, "qkv", ".bias", "attn_qkv.bias", false);
    }
  }
  if (opt.fuse_gate_up) {
    if (arch->moe()) {
      fuse_group(tensors, "gate_up", "_exps.weight", "ffn_gate_up_exps.weight", true);
      note(fmt::format("--fuse-gate-up: wrote blk.N.ffn_gate_up_exps; trident loads it, llama.cpp (3f545bec) "
                       "does not for {} (it wants ffn_gate_exps + ffn_up_exps)", arch->name));
    } else if (arch->hf.native_fused) {
      note(fmt::format("--fuse-gate-up: {} stores gate/up as one tensor already (ffn_up)", arch->name));
    } else {
      note(fmt::format("--fuse-gate-up: llama.cpp has no fused dense gate/up tensor for {}; gate and up stay "
                       "separate (trident fuses them at load time)", arch->name));
    }
  }

  const bool tied = std::none_of(tensors.begin(), tensors.end(), [](const OutTensor& t) { return t.name == "output.weight"; });
  GgufWriter w;
  add_arch_metadata(w, *arch, hp, opt.outtype);
  add_tokenizer_metadata(w, tok);
  ConvertResult res;
  res.arch = std::string(arch->name);
  res.hf_class = cfg.architecture;
  size_t n_fallback = 0;
  for (OutTensor& t : tensors) {
    t.type = choose_tensor_type(t.name, t.ne.size(), t.ne[0], opt.outtype, tied, hp.sizes.n_expert);
    if (t.type == GgmlType::F16 && opt.outtype != GgmlType::F16 && t.ne.size() > 1 &&
        layout_of(opt.outtype).block_size > 1)
      ++n_fallback;
    GgufWriteTensor wt;
    wt.name = t.name;
    wt.type = t.type;
    wt.ne = t.ne;
    wt.write_data = [pieces = t.pieces, type = t.type, ne0 = t.ne[0]](const EmitFn& emit) {
      stream_rows(pieces, type, ne0, emit);
    };
    res.n_bytes += tensor_nbytes(t.type, t.ne, t.name);
    w.add_tensor(std::move(wt));
  }
  if (n_fallback)
    note(fmt::format("{} tensor(s) have rows that are not a multiple of the {} block size and were stored as F16",
                     n_fallback, layout_of(opt.outtype).name));
  GgufWriteOptions wo;
  wo.overwrite = opt.overwrite;
  wo.inputs = regular_files_in(model_dir);  // weights, configs and tokenizer files alike
  wo.progress = opt.progress;
  w.write(out_path, wo);
  res.n_tensors = tensors.size();
  return res;
}

}  // namespace trident
