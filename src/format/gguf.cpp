#include "format/gguf.h"

#include <algorithm>
#include <cstring>

#include "format/checked.h"
#include "format/error.h"

namespace trident {
namespace {

constexpr uint32_t kMaxArrayDepth = 8;      // nested arrays deeper than this are refused
constexpr uint64_t kMaxTensorName = 63;     // llama.cpp's limit (64 bytes with the NUL)
constexpr uint64_t kMaxAlignment = 1 << 20;

size_t scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16: case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::FLOAT32: return 4;
    case GgufValueType::UINT64: case GgufValueType::INT64: case GgufValueType::FLOAT64: return 8;
    case GgufValueType::STRING: return 8;  // at least the length prefix
    case GgufValueType::ARRAY: return 12;  // at least type + count
  }
  return 0;
}

// Bounds-checked little-endian cursor over the mapped header. Every failure names the file,
// the offset and what was being read.
class Cursor {
 public:
  Cursor(const MappedFile& m) : m_(m) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return m_.size() - pos_; }

  void need(uint64_t n, std::string_view what) const {
    if (n > remaining())
      fail("{}: offset {}: truncated while reading {} (need {} bytes, {} left)", m_.path(), pos_,
           what, n, remaining());
  }
  template <typename T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, m_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <typename T>
  T peek(std::string_view what) const {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, m_.data() + pos_, sizeof(T));
    return v;
  }
  // Checks that the string at the cursor fits in the file; returns its length.
  uint64_t peek_string(std::string_view what) const {
    const uint64_t len = peek<uint64_t>(what);
    if (len > remaining() - 8)
      fail("{}: offset {}: {} has length {} but only {} bytes remain", m_.path(), pos_, what, len,
           remaining() - 8);
    return len;
  }
  std::string read_string(std::string_view what) {
    const uint64_t len = peek_string(what);
    std::string s(reinterpret_cast<const char*>(m_.data() + pos_ + 8), len);
    pos_ += 8 + len;
    return s;
  }
  void skip(uint64_t n) { pos_ += n; }  // n checked by need() or a peek before
  const uint8_t* at(uint64_t pos) const { return m_.data() + pos; }

 private:
  const MappedFile& m_;
  uint64_t pos_ = 0;
};

// Keys and tensor names end up inside one-line error messages and lookups: refuse empty ones
// and control bytes (a newline would split the line, NUL would truncate it in C APIs).
void check_name(const std::string& name, std::string_view path, uint64_t at, std::string_view what) {
  if (name.empty()) fail("{}: offset {}: empty {}", path, at, what);
  for (size_t i = 0; i < name.size(); ++i) {
    const auto ch = static_cast<unsigned char>(name[i]);
    if (ch < 0x20 || ch == 0x7f)
      fail("{}: offset {}: {} contains control byte 0x{:02x} at position {} (expected printable text)",
           path, at, what, ch, i);
  }
}

GgufValueType read_type(Cursor& c, std::string_view path, std::string_view what) {
  uint64_t at = c.pos();
  uint32_t t = c.read<uint32_t>(what);
  if (t > uint32_t(GgufValueType::FLOAT64))
    fail("{}: offset {}: {} has unknown value type {} (expected 0..12)", path, at, what, t);
  return GgufValueType(t);
}

// Bytes of one fixed-size element, 0 for strings and arrays (whose size is in their encoding).
size_t fixed_size(GgufValueType t) {
  return t == GgufValueType::STRING || t == GgufValueType::ARRAY ? 0 : scalar_size(t);
}

// Moves p past one element encoded at p (already validated).
void skip_value(const uint8_t*& p, GgufValueType t) {
  if (const size_t n = fixed_size(t)) {
    p += n;
    return;
  }
  if (t == GgufValueType::STRING) {
    uint64_t len;
    std::memcpy(&len, p, 8);
    p += 8 + len;
    return;
  }
  uint32_t elem;
  uint64_t count;
  std::memcpy(&elem, p, 4);
  std::memcpy(&count, p + 4, 8);
  p += 12;
  if (const size_t n = fixed_size(GgufValueType(elem))) {
    p += count * n;
    return;
  }
  for (uint64_t i = 0; i < count; ++i) skip_value(p, GgufValueType(elem));
}

// Decodes one element encoded at p (already validated) and advances p past it.
GgufValue decode_value(const uint8_t*& p, GgufValueType t) {
  auto get = [&p]<typename T>(T) {
    T v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  };
  GgufValue v;
  v.type = t;
  switch (t) {
    case GgufValueType::UINT8: v.v = uint64_t(get(uint8_t{})); break;
    case GgufValueType::UINT16: v.v = uint64_t(get(uint16_t{})); break;
    case GgufValueType::UINT32: v.v = uint64_t(get(uint32_t{})); break;
    case GgufValueType::UINT64: v.v = get(uint64_t{}); break;
    case GgufValueType::INT8: v.v = int64_t(get(int8_t{})); break;
    case GgufValueType::INT16: v.v = int64_t(get(int16_t{})); break;
    case GgufValueType::INT32: v.v = int64_t(get(int32_t{})); break;
    case GgufValueType::INT64: v.v = get(int64_t{}); break;
    case GgufValueType::FLOAT32: v.v = double(get(float{})); break;
    case GgufValueType::FLOAT64: v.v = get(double{}); break;
    case GgufValueType::BOOL: v.v = get(uint8_t{}) != 0; break;
    case GgufValueType::STRING: {
      const uint64_t len = get(uint64_t{});
      v.v = std::string(reinterpret_cast<const char*>(p), size_t(len));
      p += len;
      break;
    }
    case GgufValueType::ARRAY: {
      const auto elem = GgufValueType(get(uint32_t{}));
      const uint64_t n = get(uint64_t{});
      const uint8_t* start = p;
      for (uint64_t i = 0; i < n; ++i) skip_value(p, elem);
      v.v = GgufArray::view(elem, n, start, uint64_t(p - start));
      break;
    }
  }
  return v;
}

// Validates the encoded value of type t at the cursor and moves past it, decoding nothing that
// is not needed: arrays become views (GgufArray) of the bytes validated here.
GgufValue read_value(Cursor& c, GgufValueType t, std::string_view path, const std::string& key,
                     uint32_t depth);

// Checks the elements of an array (each string's length, each bool's value, nested arrays)
// without storing them.
void validate_elements(Cursor& c, GgufValueType t, uint64_t n, std::string_view path, const std::string& key,
                       uint32_t depth) {
  if (t == GgufValueType::STRING) {
    for (uint64_t i = 0; i < n; ++i) c.skip(8 + c.peek_string(key));
  } else if (t == GgufValueType::ARRAY || t == GgufValueType::BOOL) {
    for (uint64_t i = 0; i < n; ++i) read_value(c, t, path, key, depth);
  } else {
    c.need(n * fixed_size(t), key);  // no overflow: n <= remaining / size was checked
    c.skip(n * fixed_size(t));
  }
}

GgufValue read_value(Cursor& c, GgufValueType t, std::string_view path, const std::string& key,
                     uint32_t depth) {
  if (t == GgufValueType::ARRAY) {
    if (depth >= kMaxArrayDepth)
      fail("{}: offset {}: key '{}': arrays nested deeper than {}", path, c.pos(), key, kMaxArrayDepth);
    const GgufValueType elem = read_type(c, path, key);
    const uint64_t at = c.pos();
    const uint64_t n = c.read<uint64_t>(key);
    // Each element takes at least scalar_size bytes: refuse counts the file cannot hold.
    if (n > c.remaining() / scalar_size(elem))
      fail("{}: offset {}: key '{}': array of {} {} elements does not fit in the {} bytes left",
           path, at, key, n, gguf_value_type_name(elem), c.remaining());
    const uint64_t start = c.pos();
    validate_elements(c, elem, n, path, key, depth + 1);
    GgufValue v;
    v.type = t;
    v.v = GgufArray::view(elem, n, c.at(start), c.pos() - start);
    return v;
  }
  if (t == GgufValueType::BOOL) {
    const uint8_t b = c.peek<uint8_t>(key);
    if (b > 1) fail("{}: offset {}: key '{}': bool value {} (expected 0 or 1)", path, c.pos(), key, b);
  }
  if (t == GgufValueType::STRING) c.peek_string(key);  // checks the length against the file
  else c.need(scalar_size(t), key);
  const uint8_t* p = c.at(c.pos());
  GgufValue v = decode_value(p, t);
  c.skip(uint64_t(p - c.at(c.pos())));
  return v;
}

}  // namespace

std::string_view gguf_value_type_name(GgufValueType t) {
  static constexpr std::string_view names[] = {"uint8", "int8", "uint16", "int16", "uint32",
                                               "int32", "float32", "bool", "string", "array",
                                               "uint64", "int64", "float64"};
  uint32_t i = uint32_t(t);
  return i < std::size(names) ? names[i] : "unknown";
}

GgufArray GgufArray::view(GgufValueType t, uint64_t count, const uint8_t* bytes, uint64_t n_bytes) {
  GgufArray a(t);
  a.count_ = count;
  a.n_bytes_ = n_bytes;
  // A non-null pointer marks a view, also for an empty one.
  static const uint8_t kEmpty = 0;
  a.bytes_ = bytes ? bytes : &kEmpty;
  return a;
}

void GgufArray::push_back(GgufValue v) {
  if (is_view()) fail("internal: push_back on a GGUF array view");
  owned_.push_back(std::move(v));
}

GgufValue GgufArray::at(uint64_t i) const {
  if (!is_view()) return owned_.at(size_t(i));
  if (i >= count_) fail("internal: GGUF array index {} of {}", i, count_);
  const size_t fixed = fixed_size(elem_type);
  const uint8_t* p = bytes_ + i * fixed;
  if (!fixed)
    for (uint64_t k = 0; k < i; ++k) skip_value(p, elem_type);
  return decode_value(p, elem_type);
}

GgufValue GgufArray::Iterator::operator*() const {
  if (!a_->is_view()) return a_->owned_[size_t(i_)];
  const uint8_t* p = p_;
  return decode_value(p, a_->elem_type);
}

GgufArray::Iterator& GgufArray::Iterator::operator++() {
  if (a_->is_view()) skip_value(p_, a_->elem_type);
  ++i_;
  return *this;
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::UINT16:
    case GgufValueType::INT16: case GgufValueType::UINT32: case GgufValueType::INT32:
    case GgufValueType::UINT64: case GgufValueType::INT64: return true;
    default: return false;
  }
}

std::optional<int64_t> GgufValue::as_int() const {
  if (auto* u = std::get_if<uint64_t>(&v)) {
    if (*u > uint64_t(INT64_MAX)) return std::nullopt;
    return int64_t(*u);
  }
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  return std::nullopt;
}

std::optional<double> GgufValue::as_float() const {
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* u = std::get_if<uint64_t>(&v)) return double(*u);
  if (auto* i = std::get_if<int64_t>(&v)) return double(*i);
  return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
  if (auto* b = std::get_if<bool>(&v)) return *b;
  return std::nullopt;
}
const std::string* GgufValue::as_string() const { return std::get_if<std::string>(&v); }
const GgufArray* GgufValue::as_array() const { return std::get_if<GgufArray>(&v); }

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  std::unique_ptr<GgufFile> f(new GgufFile(path));
  f->parse();
  return f;
}

void GgufFile::parse() {
  const std::string& p = map_.path();
  Cursor c(map_);
  if (map_.size() < 4 || std::memcmp(map_.data(), "GGUF", 4) != 0) {
    std::string found;
    for (uint64_t i = 0; i < std::min<uint64_t>(4, map_.size()); ++i)
      found += fmt::format("{:02x}", map_.data()[i]);
    fail("{}: offset 0: not a GGUF file (expected magic 'GGUF', found {})", p,
         found.empty() ? "an empty file" : "bytes " + found);
  }
  c.read<uint32_t>("magic");
  version_ = c.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3)
    fail("{}: offset 4: unsupported GGUF version {} (expected 2 or 3)", p, version_);
  uint64_t n_tensors = c.read<uint64_t>("tensor count");
  uint64_t n_kv = c.read<uint64_t>("metadata count");
  // A key-value pair needs >= 13 bytes and a tensor info >= 28: bound counts by the file size.
  if (n_kv > c.remaining() / 13)
    fail("{}: offset 16: metadata count {} cannot fit in a {}-byte file", p, n_kv, map_.size());
  if (n_tensors > c.remaining() / 28)
    fail("{}: offset 8: tensor count {} cannot fit in a {}-byte file", p, n_tensors, map_.size());

  kvs_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    uint64_t at = c.pos();
    std::string key = c.read_string("metadata key");
    check_name(key, p, at, "metadata key");
    GgufValueType t = read_type(c, p, fmt::format("type of key '{}'", key));
    GgufValue v = read_value(c, t, p, key, 0);
    if (!kv_index_.emplace(key, kvs_.size()).second)
      fail("{}: offset {}: duplicate metadata key '{}'", p, at, key);
    kvs_.push_back({std::move(key), std::move(v)});
  }

  if (const GgufValue* a = find("general.alignment")) {
    auto n = a->as_int();
    if (!n || *n <= 0 || uint64_t(*n) > kMaxAlignment || (*n & (*n - 1)) != 0)
      fail("{}: key 'general.alignment': expected a power of two up to {}, found {}", p,
           kMaxAlignment, n ? std::to_string(*n) : std::string(gguf_value_type_name(a->type)));
    alignment_ = uint64_t(*n);
  }

  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.info_offset = c.pos();
    t.name = c.read_string("tensor name");
    check_name(t.name, p, t.info_offset, "tensor name");
    if (t.name.size() > kMaxTensorName)
      fail("{}: offset {}: tensor name of {} bytes (at most {} allowed)", p, t.info_offset,
           t.name.size(), kMaxTensorName);
    // Cursor messages already start with the path; `ctx` is for the messages below.
    const std::string what = fmt::format("tensor '{}'", t.name);
    const std::string ctx = p + ": " + what;
    t.n_dims = c.read<uint32_t>(what);
    if (t.n_dims > 4) fail("{} (offset {}): {} dimensions (at most 4)", ctx, t.info_offset, t.n_dims);
    uint64_t n_el = 1;
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      int64_t ne = c.read<int64_t>(what);
      if (ne <= 0) fail("{} (offset {}): dimension {} is {} (must be > 0)", ctx, t.info_offset, d, ne);
      t.ne[d] = ne;
      n_el = checked_mul(n_el, uint64_t(ne), ctx + " element count");
    }
    if (n_el > uint64_t(INT64_MAX)) fail("{}: element count {} too large", ctx, n_el);
    t.n_elements = n_el;
    uint32_t type_id = c.read<uint32_t>(what);
    const GgmlTypeLayout* layout = ggml_type_layout(type_id);
    if (!layout) fail("{} (offset {}): unknown tensor type {}", ctx, t.info_offset, type_id);
    t.type = GgmlType(type_id);
    if (t.ne[0] % layout->block_size != 0)
      fail("{}: row length {} is not a multiple of the {} block size {}", ctx, t.ne[0],
           layout->name, layout->block_size);
    t.n_bytes = checked_mul(n_el / uint64_t(layout->block_size), layout->type_size, ctx + " byte size");
    t.offset = c.read<uint64_t>(what);
    if (t.offset % alignment_ != 0)
      fail("{}: data offset {} is not a multiple of the alignment {}", ctx, t.offset, alignment_);
    if (!tensor_index_.emplace(t.name, tensors_.size()).second)
      fail("{}: offset {}: duplicate tensor name '{}'", p, t.info_offset, t.name);
    tensors_.push_back(std::move(t));
  }

  data_offset_ = checked_round_up(c.pos(), alignment_, p + ": data section offset");
  const uint64_t data_size = data_offset_ <= map_.size() ? map_.size() - data_offset_ : 0;
  if (!tensors_.empty() && data_offset_ > map_.size())
    fail("{}: data section starts at {} but the file has only {} bytes", p, data_offset_, map_.size());
  for (const GgufTensorInfo& t : tensors_) {
    uint64_t end = checked_add(t.offset, t.n_bytes, p + ": tensor '" + t.name + "' end");
    if (end > data_size)
      fail("{}: tensor '{}' data [{}, {}) runs past the end of the file (data section holds {} "
           "bytes)", p, t.name, data_offset_ + t.offset, data_offset_ + end, data_size);
  }
  std::vector<const GgufTensorInfo*> by_off;
  for (const auto& t : tensors_) by_off.push_back(&t);
  // Stable, so that ties are reported in file order (the same message on every run).
  std::stable_sort(by_off.begin(), by_off.end(),
                   [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_off.size(); ++i) {
    const GgufTensorInfo& a = *by_off[i - 1];
    const GgufTensorInfo& b = *by_off[i];
    if (a.offset + a.n_bytes > b.offset)
      fail("{}: tensor '{}' data [{}, {}) overlaps tensor '{}' data [{}, {})", p, a.name,
           data_offset_ + a.offset, data_offset_ + a.offset + a.n_bytes, b.name,
           data_offset_ + b.offset, data_offset_ + b.offset + b.n_bytes);
  }
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  auto r = v->as_int();
  if (!r || !v->is_integer())
    fail("{}: key '{}': expected an integer, found {}", path(), key, gguf_value_type_name(v->type));
  return r;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  auto r = v->as_float();
  if (!r) fail("{}: key '{}': expected a number, found {}", path(), key, gguf_value_type_name(v->type));
  return r;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  auto r = v->as_bool();
  if (!r) fail("{}: key '{}': expected a bool, found {}", path(), key, gguf_value_type_name(v->type));
  return r;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  const std::string* s = v->as_string();
  if (!s) fail("{}: key '{}': expected a string, found {}", path(), key, gguf_value_type_name(v->type));
  return *s;
}

const GgufArray* GgufFile::get_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return nullptr;
  const GgufArray* a = v->as_array();
  if (!a) fail("{}: key '{}': expected an array, found {}", path(), key, gguf_value_type_name(v->type));
  return a;
}

int64_t GgufFile::require_int(std::string_view key) const {
  auto r = get_int(key);
  if (!r) fail("{}: missing required key '{}'", path(), key);
  return *r;
}

std::string GgufFile::require_string(std::string_view key) const {
  auto r = get_string(key);
  if (!r) fail("{}: missing required key '{}'", path(), key);
  return *r;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace trident
