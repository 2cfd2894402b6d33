#include "convert/quantize_rewrite.h"

#include "format/error.h"
#include "tensor/types.h"

namespace trident {

RewritePlan plan_quantize(const GgufFile& in, QuantMix mix) {
  RewritePlan plan;
  plan.operation = "quantize";
  const std::string arch = in.require_string("general.architecture");
  MixRules rules;
  rules.mix = mix;
  rules.n_layer = in.require_int(arch + ".block_count");
  rules.tied_output = in.find_tensor("output.weight") == nullptr;
  for (const GgufTensorInfo& t : in.tensors()) {
    RewriteTensor out;
    out.name = t.name;
    out.ne.assign(t.ne, t.ne + t.n_dims);
    GgmlType to = t.type;
    const bool matrix = t.n_dims >= 2 && t.name.size() > 7 && t.name.ends_with(".weight");
    if (matrix) {
      int64_t layer = -1;
      const WeightRole role = weight_role(t.name, &layer);
      if (role != WeightRole::Router) to = mix_tensor_type(rules, role, layer, t.ne[0]);
    }
    if (to != t.type) {
      if (!type_traits(t.type) || !type_traits(t.type)->dequantize_row)
        fail("{}: tensor '{}': cannot convert from {}", in.path(), t.name, layout_of(t.type).name);
      ++plan.groups_rewritten;
    }
    out.type = to;
    out.pieces.push_back({&t, t.n_bytes, 0, t.n_bytes, to, t.ne[0]});
    plan.tensors.push_back(std::move(out));
  }
  plan.set_u32 = {{"general.file_type", quant_mix_file_type(mix)}, {"general.quantization_version", 2}};
  return plan;
}

}  // namespace trident
