#include "convert/hf_convert_stream.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "format/error.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "convert/hf_convert_arch.h"
#include "tensor/types.h"

namespace trident {
namespace {

// Source bytes read per step. Small enough that the buffers (source, F32, output) stay a few
// tens of MB; large enough that pread and write calls are not the cost.
constexpr size_t kChunkBytes = 8u << 20;

size_t elem_bytes(GgmlType t) { return layout_of(t).type_size; }  // block size 1 for F32/F16/BF16

class StRows final : public RowSource {
 public:
  StRows(const SafetensorsModel& m, const StTensor& t) : m_(m), t_(t) {
    auto g = st_dtype_to_ggml(t.dtype);
    if (!g) fail("{}: tensor '{}' has dtype {}; weights must be F32, F16 or BF16", m.file_of(t).path(), t.name,
                 st_dtype_name(t.dtype));
    type_ = *g;
    row_len_ = t.shape.size() >= 2 ? t.shape.back() : 1;
    n_rows_ = row_len_ ? int64_t(t.n_elements() / uint64_t(row_len_)) : 0;
  }
  GgmlType type() const override { return type_; }
  int64_t n_rows() const override { return n_rows_; }
  int64_t row_len() const override { return row_len_; }
  void read_rows(int64_t row0, int64_t n, void* dst) const override {
    const uint64_t rb = uint64_t(row_len_) * elem_bytes(type_);
    m_.read(t_, uint64_t(row0) * rb, dst, size_t(uint64_t(n) * rb));
  }
  const std::string& name() const override { return t_.name; }

 private:
  const SafetensorsModel& m_;
  const StTensor& t_;
  GgmlType type_;
  int64_t row_len_, n_rows_;
};

class GgufRows final : public RowSource {
 public:
  GgufRows(const GgufFile& f, const GgufTensorInfo& t, int64_t row_len) : f_(f), t_(t) {
    if (layout_of(t.type).block_size != 1 || !st_dtype_from_ggml(t.type))
      fail("{}: tensor '{}' has type {}; only F32, F16 and BF16 tensors can be exported", f.path(), t.name,
           layout_of(t.type).name);
    row_len_ = row_len > 0 ? row_len : t.n_dims >= 2 ? t.ne[0] : 1;
    n_rows_ = int64_t(t.n_elements / uint64_t(row_len_));
  }
  GgmlType type() const override { return t_.type; }
  int64_t n_rows() const override { return n_rows_; }
  int64_t row_len() const override { return row_len_; }
  void read_rows(int64_t row0, int64_t n, void* dst) const override {
    std::memcpy(dst, f_.tensor_data(t_) + row0 * row_bytes_(), size_t(n * row_bytes_()));
  }
  void done_with(int64_t row0, int64_t n) const override {
    // Drop the pages of a read-only file mapping; touching them again would just re-read them.
    const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
    const uintptr_t a = uintptr_t(f_.tensor_data(t_) + row0 * row_bytes_());
    const uintptr_t b = a + uintptr_t(n * row_bytes_());
    const uintptr_t lo = (a + page - 1) / page * page, hi = b / page * page;
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
  }
  const std::string& name() const override { return t_.name; }

 private:
  int64_t row_bytes_() const { return row_len_ * int64_t(elem_bytes(t_.type)); }
  const GgufFile& f_;
  const GgufTensorInfo& t_;
  int64_t row_len_, n_rows_;
};

class MemRows final : public RowSource {
 public:
  MemRows(std::string name, std::vector<float> d) : name_(std::move(name)), d_(std::move(d)) {}
  GgmlType type() const override { return GgmlType::F32; }
  int64_t n_rows() const override { return int64_t(d_.size()); }
  int64_t row_len() const override { return 1; }
  void read_rows(int64_t row0, int64_t n, void* dst) const override {
    std::memcpy(dst, d_.data() + row0, size_t(n) * sizeof(float));
  }
  const std::string& name() const override { return name_; }

 private:
  std::string name_;
  std::vector<float> d_;
};

}  // namespace

std::unique_ptr<RowSource> safetensors_rows(const SafetensorsModel& m, const StTensor& t) {
  return std::make_unique<StRows>(m, t);
}
std::unique_ptr<RowSource> gguf_rows(const GgufFile& f, const GgufTensorInfo& t, int64_t row_len) {
  return std::make_unique<GgufRows>(f, t, row_len);
}
std::unique_ptr<RowSource> memory_rows(std::string name, std::vector<float> data) {
  return std::make_unique<MemRows>(std::move(name), std::move(data));
}

uint64_t stream_rows(const std::vector<RowPiece>& pieces, GgmlType out_type, int64_t out_row_len,
                     const EmitFn& emit) {
  const TypeTraits* out_traits = type_traits(out_type);
  if (!out_traits || !out_traits->quantize_row) fail("no quantizer for output type {}", layout_of(out_type).name);
  const bool blocked = layout_of(out_type).block_size > 1;
  std::vector<uint8_t> raw, reordered, out;
  std::vector<float> f32;
  uint64_t emitted = 0;
  for (const RowPiece& p : pieces) {
    const RowSource& src = *p.src;
    const GgmlType st = src.type();
    const int64_t rl = src.row_len();
    const size_t rb = size_t(rl) * elem_bytes(st);
    const int64_t group = p.order == RowOrder::Same ? 1 : p.head_rows;
    // Internal invariants of the plans built by convert / export; the inputs were validated.
    if (blocked && rl != out_row_len)
      fail("internal: '{}' rows of {} elements cannot form {} rows of {}", src.name(), rl,
           layout_of(out_type).name, out_row_len);
    if (group <= 0 || (group > 1 && group % 2) || p.row0 % group || p.n_rows % group || p.row0 < 0 ||
        p.row0 + p.n_rows > src.n_rows())
      fail("internal: bad row piece of '{}' (rows {}+{} of {}, group {})", src.name(), p.row0, p.n_rows,
           src.n_rows(), group);
    const int64_t chunk = std::max<int64_t>(group, int64_t(kChunkBytes / std::max<size_t>(rb, 1)) / group * group);
    for (int64_t r = 0; r < p.n_rows; r += chunk) {
      const int64_t m = std::min(chunk, p.n_rows - r);
      raw.resize(size_t(m) * rb);
      src.read_rows(p.row0 + r, m, raw.data());
      if (group > 1) {
        reordered.resize(raw.size());
        for (int64_t i = 0; i < m; ++i) {
          const int64_t from = p.order == RowOrder::HfToGguf ? hf_row_for_gguf_row(i, group)
                                                             : gguf_row_for_hf_row(i, group);
          std::memcpy(reordered.data() + size_t(i) * rb, raw.data() + size_t(from) * rb, rb);
        }
        raw.swap(reordered);
      }
      if (st == out_type && p.add == 0.0f) {
        emit(raw.data(), raw.size());
        emitted += raw.size();
      } else {
        const int64_t n = m * rl;
        f32.resize(size_t(n));
        type_traits(st)->dequantize_row(raw.data(), f32.data(), n);
        if (p.add != 0.0f)
          for (float& x : f32) x += p.add;
        if (blocked) {
          const size_t orb = row_bytes(out_type, rl);
          out.resize(size_t(m) * orb);
          for (int64_t i = 0; i < m; ++i)
            out_traits->quantize_row(f32.data() + i * rl, out.data() + size_t(i) * orb, rl);
        } else {
          out.resize(row_bytes(out_type, n));
          out_traits->quantize_row(f32.data(), out.data(), n);
        }
        emit(out.data(), out.size());
        emitted += out.size();
      }
      src.done_with(p.row0 + r, m);
    }
  }
  return emitted;
}

}  // namespace trident
