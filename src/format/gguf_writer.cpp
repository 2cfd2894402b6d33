#include "format/gguf_writer.h"

#include <cstring>

#include "format/checked.h"
#include "format/error.h"
#include "format/fd_sink.h"

namespace trident {
namespace {

// GGUF strings: a uint64 byte count, then the bytes.
void put_string(FdSink& s, const std::string& str) {
  s.pod<uint64_t>(str.size());
  s.put(str.data(), str.size());
}

void write_scalar(FdSink& s, GgufValueType t, const GgufValue& v) {
  auto u = [&] { return std::get<uint64_t>(v.v); };
  auto i = [&] { return std::get<int64_t>(v.v); };
  auto f = [&] { return std::get<double>(v.v); };
  switch (t) {
    case GgufValueType::UINT8: s.pod<uint8_t>(uint8_t(u())); break;
    case GgufValueType::UINT16: s.pod<uint16_t>(uint16_t(u())); break;
    case GgufValueType::UINT32: s.pod<uint32_t>(uint32_t(u())); break;
    case GgufValueType::UINT64: s.pod<uint64_t>(u()); break;
    case GgufValueType::INT8: s.pod<int8_t>(int8_t(i())); break;
    case GgufValueType::INT16: s.pod<int16_t>(int16_t(i())); break;
    case GgufValueType::INT32: s.pod<int32_t>(int32_t(i())); break;
    case GgufValueType::INT64: s.pod<int64_t>(i()); break;
    case GgufValueType::FLOAT32: s.pod<float>(float(f())); break;
    case GgufValueType::FLOAT64: s.pod<double>(f()); break;
    case GgufValueType::BOOL: s.pod<uint8_t>(std::get<bool>(v.v) ? 1 : 0); break;
    case GgufValueType::STRING: put_string(s, std::get<std::string>(v.v)); break;
    case GgufValueType::ARRAY: {
      const GgufArray& a = std::get<GgufArray>(v.v);
      s.pod<uint32_t>(uint32_t(a.elem_type));
      s.pod<uint64_t>(a.size());
      // A view read from a GGUF file is already in this encoding: copied, not re-encoded.
      if (a.is_view()) s.put(a.encoded(), a.encoded_size());
      else
        for (const GgufValue& item : a) write_scalar(s, a.elem_type, item);
      break;
    }
  }
}

GgufValue scalar(GgufValueType t, decltype(GgufValue::v) v) {
  GgufValue g;
  g.type = t;
  g.v = std::move(v);
  return g;
}

}  // namespace

uint64_t tensor_nbytes(GgmlType type, const std::vector<int64_t>& ne, const std::string& what) {
  const GgmlTypeLayout* l = ggml_type_layout(uint32_t(type));
  if (!l) fail("{}: unknown type {}", what, uint32_t(type));
  if (ne.empty() || ne.size() > 4) fail("{}: {} dimensions (expected 1..4)", what, ne.size());
  uint64_t n = 1;
  for (int64_t d : ne) {
    if (d <= 0) fail("{}: dimension {} (must be > 0)", what, d);
    n = checked_mul(n, uint64_t(d), what);
  }
  if (ne[0] % l->block_size != 0)
    fail("{}: row length {} is not a multiple of the {} block size {}", what, ne[0], l->name, l->block_size);
  return checked_mul(n / uint64_t(l->block_size), l->type_size, what);
}

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (GgufKv& kv : kvs_)
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  kvs_.push_back({key, std::move(value)});
}

void GgufWriter::set_u32(const std::string& k, uint32_t v) { set(k, scalar(GgufValueType::UINT32, uint64_t(v))); }
void GgufWriter::set_i32(const std::string& k, int32_t v) { set(k, scalar(GgufValueType::INT32, int64_t(v))); }
void GgufWriter::set_f32(const std::string& k, float v) { set(k, scalar(GgufValueType::FLOAT32, double(v))); }
void GgufWriter::set_bool(const std::string& k, bool v) { set(k, scalar(GgufValueType::BOOL, v)); }
void GgufWriter::set_string(const std::string& k, const std::string& v) { set(k, scalar(GgufValueType::STRING, v)); }

void GgufWriter::set_string_array(const std::string& k, const std::vector<std::string>& v) {
  GgufArray a;
  a.elem_type = GgufValueType::STRING;
  for (const auto& s : v) a.push_back(scalar(GgufValueType::STRING, s));
  set(k, scalar(GgufValueType::ARRAY, std::move(a)));
}
void GgufWriter::set_f32_array(const std::string& k, const std::vector<float>& v) {
  GgufArray a;
  a.elem_type = GgufValueType::FLOAT32;
  for (float x : v) a.push_back(scalar(GgufValueType::FLOAT32, double(x)));
  set(k, scalar(GgufValueType::ARRAY, std::move(a)));
}
void GgufWriter::set_i32_array(const std::string& k, const std::vector<int32_t>& v) {
  GgufArray a;
  a.elem_type = GgufValueType::INT32;
  for (int32_t x : v) a.push_back(scalar(GgufValueType::INT32, int64_t(x)));
  set(k, scalar(GgufValueType::ARRAY, std::move(a)));
}

void GgufWriter::set_bool_array(const std::string& k, const std::vector<bool>& v) {
  GgufArray a;
  a.elem_type = GgufValueType::BOOL;
  for (bool x : v) a.push_back(scalar(GgufValueType::BOOL, x));
  set(k, scalar(GgufValueType::ARRAY, std::move(a)));
}

void GgufWriter::copy_metadata(const GgufFile& from) {
  for (const GgufKv& kv : from.metadata()) set(kv.key, kv.value);
}

void GgufWriter::add_tensor(GgufWriteTensor t) {
  if (t.name.empty() || t.name.size() > 63) fail("tensor name '{}': expected 1..63 bytes", t.name);
  for (const auto& o : tensors_)
    if (o.name == t.name) fail("duplicate tensor name '{}'", t.name);
  tensor_nbytes(t.type, t.ne, "tensor '" + t.name + "'");
  tensors_.push_back(std::move(t));
}

void GgufWriter::write(const std::string& path, const GgufWriteOptions& opt) const {
  write_file_atomically(path, {opt.overwrite, opt.inputs}, [&](FdSink& s) {
    std::vector<uint64_t> offsets;
    uint64_t off = 0, total_bytes = 0;
    for (const auto& t : tensors_) {
      off = checked_round_up(off, opt.alignment, path);
      offsets.push_back(off);
      const uint64_t nb = tensor_nbytes(t.type, t.ne, t.name);
      off = checked_add(off, nb, path);
      total_bytes += nb;
    }
    s.put("GGUF", 4);
    s.pod<uint32_t>(3);
    s.pod<uint64_t>(tensors_.size());
    s.pod<uint64_t>(kvs_.size());
    for (const GgufKv& kv : kvs_) {
      put_string(s, kv.key);
      s.pod<uint32_t>(uint32_t(kv.value.type));
      write_scalar(s, kv.value.type, kv.value);
    }
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const auto& t = tensors_[i];
      put_string(s, t.name);
      s.pod<uint32_t>(uint32_t(t.ne.size()));
      for (int64_t d : t.ne) s.pod<int64_t>(d);
      s.pod<uint32_t>(uint32_t(t.type));
      s.pod<uint64_t>(offsets[i]);
    }
    s.pad_to(opt.alignment);
    const uint64_t data_start = s.pos();
    uint64_t done = 0;
    auto emit = [&](const void* p, size_t n) { s.put(p, n); };
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const auto& t = tensors_[i];
      s.pad_to(opt.alignment);
      const uint64_t nb = tensor_nbytes(t.type, t.ne, t.name);
      const uint64_t before = s.pos();
      if (before - data_start != offsets[i]) fail("{}: internal offset mismatch at tensor '{}'", path, t.name);
      t.write_data(emit);
      if (s.pos() - before != nb)
        fail("{}: tensor '{}' produced {} bytes, expected {}", path, t.name, s.pos() - before, nb);
      done += nb;
      if (opt.progress) opt.progress(i + 1, tensors_.size(), done, total_bytes);
    }
    // ggml pads the last tensor too and reads the data section whole, padding included:
    // llama.cpp refuses a file that ends at an unaligned last tensor (an imatrix's counts).
    s.pad_to(opt.alignment);
  });
}

}  // namespace trident
