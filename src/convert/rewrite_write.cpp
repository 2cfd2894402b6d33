// Writing a RewritePlan (fuse_rewrite.h): pieces copied straight from the input's map, converted
// pieces dequantized and quantized again in batches of rows, the rows of a batch spread over a
// thread pool. Each row is quantized on its own (with its expert's importance weights), so the
// bytes are the same for any thread count.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "convert/fuse_rewrite.h"
#include "format/error.h"
#include "format/output_guard.h"
#include "kernels/thread_pool.h"
#include "tensor/types.h"

namespace trident {
namespace {

using EmitFn = std::function<void(const void*, size_t)>;

// About 4 MiB of floats per batch: enough rows to keep the threads busy, little memory.
constexpr int64_t kBatchFloats = int64_t(1) << 20;

void convert_piece(const RewritePiece& p, const uint8_t* base, ThreadPool& pool, const EmitFn& emit) {
  const TypeTraits* from = type_traits(p.src->type);
  const TypeTraits* to = type_traits(p.to);
  const int64_t n = p.row_elems;
  const size_t src_row = row_bytes(p.src->type, n), dst_row = row_bytes(p.to, n);
  const int64_t rows = int64_t(p.len / src_row);
  const int64_t batch = std::max<int64_t>(1, std::min<int64_t>(rows, kBatchFloats / std::max<int64_t>(n, 1)));
  std::vector<float> f32(size_t(batch * n));
  std::vector<uint8_t> q(size_t(batch) * dst_row);
  for (int64_t r0 = 0; r0 < rows; r0 += batch) {
    const int64_t nb = std::min(batch, rows - r0);
    pool.parallel_for(nb, [&](int64_t i) {
      const int64_t r = r0 + i;
      float* x = f32.data() + i * n;
      from->dequantize_row(base + size_t(r) * src_row, x, n);
      const float* imatrix = p.imatrix ? p.imatrix + (r / p.imatrix_rows) * n : nullptr;
      to->quantize_rows(x, q.data() + size_t(i) * dst_row, 1, n, imatrix);
    }, nb * n >= 4096);
    emit(q.data(), size_t(nb) * dst_row);
  }
}

// Streams one planned tensor.
void emit_tensor(const GgufFile& f, const RewriteTensor& t, ThreadPool& pool, const EmitFn& emit) {
  for (uint64_t o = 0; o < t.outer; ++o)
    for (const RewritePiece& p : t.pieces) {
      const uint8_t* base = f.tensor_data(*p.src) + o * p.src_slice_bytes + p.begin;
      if (p.to == p.src->type)
        emit(base, size_t(p.len));
      else
        convert_piece(p, base, pool, emit);
    }
}

}  // namespace

void write_rewrite(const GgufFile& in, const RewritePlan& plan, const std::string& out_path,
                   const GgufWriteOptions& opt, int threads) {
  GgufWriteOptions o = opt;
  o.inputs.push_back(in.path());
  check_output_file(out_path, {o.overwrite, o.inputs});  // before the "nothing to do" messages
  if (plan.groups_rewritten == 0) {
    if (plan.operation == "quantize")
      fail("{}: nothing to quantize (every weight matrix already has its target type)", in.path());
    if (plan.operation == "unfuse" && plan.groups_left > 0)
      fail("{}: nothing to unfuse ({} group(s) left fused, see above)", in.path(), plan.groups_left);
    if (plan.operation == "unfuse")
      fail("{}: nothing to unfuse (no attn_qkv, ffn_gate_up_exps or ffn_gate_up tensors)", in.path());
    if (plan.groups_left > 0)
      fail("{}: nothing to fuse ({} group(s) left unfused, see above)", in.path(), plan.groups_left);
    fail("{}: nothing to fuse (no layer stores Q/K/V or gate/up experts as separate tensors)", in.path());
  }
  for (const RewriteTensor& t : plan.tensors)
    for (const RewritePiece& p : t.pieces)
      if (p.to != p.src->type && (!type_traits(p.to) || !type_traits(p.to)->quantize_rows))
        fail("{}: tensor '{}': trident cannot write {} yet", in.path(), t.name, layout_of(p.to).name);
  GgufWriter w;
  w.copy_metadata(in);
  for (const auto& [key, v] : plan.set_u32) w.set_u32(key, v);
  for (const auto& [key, v] : plan.set_string) w.set_string(key, v);
  auto pool = std::make_shared<ThreadPool>(threads);
  const GgufFile* fp = &in;
  for (const RewriteTensor& t : plan.tensors) {
    const RewriteTensor* tp = &t;
    w.add_tensor({t.name, t.type, t.ne, [fp, tp, pool](const auto& emit) { emit_tensor(*fp, *tp, *pool, emit); }});
  }
  o.alignment = in.alignment();
  w.write(out_path, o);
}

}  // namespace trident
