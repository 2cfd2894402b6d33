#include "convert/quantize_rewrite.h"

#include "format/error.h"
#include "model/arch.h"
#include "tensor/types.h"

namespace trident {
namespace {

// A per-layer key (an integer or one value per layer): layer 0's value, as llama.cpp's n_gqa() reads it.
std::optional<int64_t> first_int(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (!v) return std::nullopt;
  if (const GgufArray* a = v->as_array()) return a->empty() ? std::nullopt : a->at(0).as_int();
  return v->as_int();
}

}  // namespace

MixModel mix_model_of(const GgufFile& in, bool has_imatrix) {
  const std::string arch = in.require_string("general.architecture");
  MixModel m;
  m.n_layer = in.require_int(arch + ".block_count");
  const int64_t n_head = first_int(in, arch + ".attention.head_count").value_or(0);
  const int64_t n_head_kv = first_int(in, arch + ".attention.head_count_kv").value_or(n_head);
  m.n_gqa = n_head_kv > 0 ? n_head / n_head_kv : 0;
  m.n_expert = in.get_int(arch + ".expert_count").value_or(0);
  m.tied_output = in.find_tensor("output.weight") == nullptr;
  m.has_imatrix = has_imatrix;
  const LlamaCppQuantFacts q = llamacpp_quant_facts(arch, m.n_layer, n_head, n_head_kv);
  m.falcon = q.falcon;
  m.is_70b = q.is_70b;
  m.mxfp4_experts_only = q.mxfp4_experts_only;
  return m;
}

RewritePlan plan_quantize(const GgufFile& in, const QuantizeOptions& opt) {
  RewritePlan plan;
  plan.operation = "quantize";
  const Imatrix* im = opt.imatrix && !opt.imatrix->entries.empty() ? opt.imatrix : nullptr;
  const MixModel model = mix_model_of(in, im != nullptr);
  std::vector<MixTensor> mt;
  for (const GgufTensorInfo& t : in.tensors())
    mt.push_back({t.name, t.type, t.n_dims, {t.ne[0], t.ne[1], t.ne[2], t.ne[3]}});
  const std::vector<MixChoice> choice = choose_mix_types(opt.mix, model, opt.mix_options, mt);
  int fell_back = 0;
  for (size_t k = 0; k < in.tensors().size(); ++k) {
    const GgufTensorInfo& t = in.tensors()[k];
    const MixChoice& c = choice[k];
    RewriteTensor out;
    out.name = t.name;
    out.ne.assign(t.ne, t.ne + t.n_dims);
    out.type = c.type;
    RewritePiece piece{&t, t.n_bytes, 0, t.n_bytes, c.type, t.ne[0]};
    if (c.type != t.type) {
      if (!type_is_computable(t.type))
        fail("{}: tensor '{}': cannot convert from {}", in.path(), t.name, layout_of(t.type).name);
      fell_back += c.fell_back;
      const std::vector<float>* w = nullptr;
      if (im) {
        const auto it = im->entries.find(t.name);
        if (it != im->entries.end()) {
          // One set of weights per expert; token_embd's entry (from get_rows) never fits and is skipped.
          if (it->second.size() == size_t(t.ne[0] * t.ne[2]))
            w = &it->second;
          else if (tensor_category(t.name) != TensorCategory::TokenEmbd)
            fail("{}: tensor '{}': the importance matrix has {} values for it, expected {} (row length x experts)",
                 in.path(), t.name, it->second.size(), t.ne[0] * t.ne[2]);
        }
      }
      if (c.needs_imatrix && !w)
        fail("{}: tensor '{}': the {} mix writes it as {}, which needs an importance matrix{} (--imatrix FILE)",
             in.path(), t.name, quant_mix_name(opt.mix), layout_of(c.type).name,
             im ? " entry for it: the given one has none" : "");
      if (w) {
        piece.imatrix = w->data();
        piece.imatrix_rows = t.ne[1];
      }
      ++plan.groups_rewritten;
    }
    out.pieces.push_back(piece);
    plan.tensors.push_back(std::move(out));
  }
  if (fell_back > 0)
    plan.notes.push_back(fmt::format("{} of {} tensor(s) have rows that do not divide the {} block: a fallback type "
                                     "was used, as llama-quantize does",
                                     fell_back, in.tensors().size(), quant_mix_name(opt.mix)));
  plan.set_u32 = {{"general.quantization_version", 2}, {"general.file_type", quant_mix_file_type(opt.mix)}};
  if (im) {
    // The provenance keys llama-quantize adds.
    plan.set_string.push_back({"quantize.imatrix.file", opt.imatrix_path.substr(0, 127)});
    if (!im->datasets.empty()) plan.set_string.push_back({"quantize.imatrix.dataset", im->datasets[0].substr(0, 127)});
    plan.set_u32.push_back({"quantize.imatrix.entries_count", uint32_t(im->entries.size())});
    if (im->chunk_count > 0) plan.set_u32.push_back({"quantize.imatrix.chunks_count", uint32_t(im->chunk_count)});
  }
  return plan;
}

}  // namespace trident
