#include "format/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "format/checked.h"
#include "format/error.h"
#include "format/hf_config.h"

namespace trident {
namespace {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB; a real header is a few hundred KB,
// so anything larger is a corrupt or hostile file and must not be allocated.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeInfo {
  StDtype type;
  std::string_view name;
  size_t size;
};
constexpr std::array<DtypeInfo, 15> kDtypes = {{
    {StDtype::F64, "F64", 8}, {StDtype::F32, "F32", 4}, {StDtype::F16, "F16", 2},
    {StDtype::BF16, "BF16", 2}, {StDtype::F8_E4M3, "F8_E4M3", 1}, {StDtype::F8_E5M2, "F8_E5M2", 1},
    {StDtype::I64, "I64", 8}, {StDtype::I32, "I32", 4}, {StDtype::I16, "I16", 2},
    {StDtype::I8, "I8", 1}, {StDtype::U64, "U64", 8}, {StDtype::U32, "U32", 4},
    {StDtype::U16, "U16", 2}, {StDtype::U8, "U8", 1}, {StDtype::BOOL, "BOOL", 1},
}};

const DtypeInfo& info(StDtype t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d;
  return kDtypes[1];
}

std::string known_dtypes() {
  std::string s;
  for (const auto& d : kDtypes) s += (s.empty() ? "" : ", ") + std::string(d.name);
  return s;
}

uint64_t as_u64(const json& j, const std::string& where) {
  if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<int64_t>() >= 0))
    fail("{}: expected a non-negative integer, found {}", where, json_snippet(j));
  return j.get<uint64_t>();
}

}  // namespace

std::string_view st_dtype_name(StDtype t) { return info(t).name; }
size_t st_dtype_size(StDtype t) { return info(t).size; }

std::optional<StDtype> st_dtype_from_name(std::string_view name) {
  for (const auto& d : kDtypes)
    if (d.name == name) return d.type;
  return std::nullopt;
}

std::optional<GgmlType> st_dtype_to_ggml(StDtype t) {
  switch (t) {
    case StDtype::F32: return GgmlType::F32;
    case StDtype::F16: return GgmlType::F16;
    case StDtype::BF16: return GgmlType::BF16;
    default: return std::nullopt;
  }
}

std::optional<StDtype> st_dtype_from_ggml(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return StDtype::F32;
    case GgmlType::F16: return StDtype::F16;
    case GgmlType::BF16: return StDtype::BF16;
    default: return std::nullopt;
  }
}

uint64_t StTensor::n_elements() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= uint64_t(d);  // validated at open: cannot overflow
  return n;
}

std::string StTensor::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path, size_t shard_index) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f->fd_ < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(f->fd_, &st) != 0) fail("{}: cannot stat: {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail("{}: not a regular file", path);
  f->size_ = uint64_t(st.st_size);
  f->parse(shard_index);
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (fd_ >= 0) ::close(fd_);
}

void SafetensorsFile::read(uint64_t offset, void* dst, size_t n) const {
  auto* p = static_cast<uint8_t*>(dst);
  while (n) {
    const ssize_t r = ::pread(fd_, p, n, off_t(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      fail("{}: read of {} bytes at offset {} failed: {}", path_, n, offset, std::strerror(errno));
    }
    if (r == 0) fail("{}: unexpected end of file at offset {} (file shrank while reading?)", path_, offset);
    p += r;
    n -= size_t(r);
    offset += uint64_t(r);
  }
}

void SafetensorsFile::parse(size_t shard_index) {
  if (size_ < 8)
    fail("{}: file is {} bytes; expected at least the 8-byte header length", path_, size_);
  uint64_t header_len = 0;
  read(0, &header_len, 8);  // little-endian u64, as is the host
  if (header_len > size_ - 8)
    fail("{}: header length {} exceeds the {} bytes that follow it (truncated file?)", path_,
         header_len, size_ - 8);
  if (header_len > kMaxHeaderBytes)
    fail("{}: header length {} exceeds the {}-byte limit", path_, header_len, kMaxHeaderBytes);
  std::string text(size_t(header_len), '\0');
  read(8, text.data(), text.size());
  json h = parse_json(text, path_, "header");
  if (!h.is_object()) fail("{}: header: expected a JSON object, found {}", path_, h.type_name());

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size_ - data_start;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const json& e = it.value();
    if (name == "__metadata__") {
      if (!e.is_object()) fail("{}: '__metadata__': expected an object, found {}", path_, e.type_name());
      for (auto m = e.begin(); m != e.end(); ++m) {
        if (!m->is_string())
          fail("{}: '__metadata__' key '{}': expected a string value, found {}", path_, printable(m.key()),
               m->type_name());
        metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    // Names end up in one-line messages and in the GGUF written from them.
    for (const char ch : name)
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
        fail("{}: tensor name '{}' contains a control byte (expected printable text)", path_, printable(name));
    const std::string where = fmt::format("{}: tensor '{}'", path_, name);
    if (!e.is_object()) fail("{}: expected an object, found {}", where, json_snippet(e));
    for (const char* k : {"dtype", "shape", "data_offsets"})
      if (!e.contains(k)) fail("{}: missing '{}'", where, k);
    const json& jd = e["dtype"];
    if (!jd.is_string()) fail("{}: dtype: expected a string, found {}", where, json_snippet(jd));
    const auto dtype = st_dtype_from_name(jd.get<std::string>());
    if (!dtype) fail("{}: unknown dtype '{}' (expected one of {})", where, printable(jd.get<std::string>()), known_dtypes());
    StTensor t;
    t.name = name;
    t.dtype = *dtype;
    t.shard = shard_index;
    const json& js = e["shape"];
    if (!js.is_array()) fail("{}: shape: expected an array, found {}", where, json_snippet(js));
    if (js.size() > 8) fail("{}: shape has {} dimensions (at most 8 supported)", where, js.size());
    uint64_t n_elem = 1;
    for (const json& d : js) {
      const uint64_t v = as_u64(d, where + ": shape");
      if (v > uint64_t(INT64_MAX)) fail("{}: shape dimension {} is too large", where, v);
      t.shape.push_back(int64_t(v));
      n_elem = checked_mul(n_elem, v, where);
    }
    const json& jo = e["data_offsets"];
    if (!jo.is_array() || jo.size() != 2)
      fail("{}: data_offsets: expected [begin, end], found {}", where, json_snippet(jo));
    const uint64_t begin = as_u64(jo[0], where + ": data_offsets");
    const uint64_t end = as_u64(jo[1], where + ": data_offsets");
    if (end < begin) fail("{}: data_offsets [{}, {}]: end before begin", where, begin, end);
    if (end > data_size)
      fail("{}: data_offsets [{}, {}] extend past the {} data bytes in the file (truncated?)", where,
           begin, end, data_size);
    const uint64_t want = checked_mul(n_elem, st_dtype_size(t.dtype), where);
    if (want != end - begin)
      fail("{}: shape {} x {} needs {} bytes, but data_offsets [{}, {}] hold {}", where, t.shape_str(),
           st_dtype_name(t.dtype), want, begin, end, end - begin);
    t.offset = data_start + begin;
    t.n_bytes = end - begin;
    tensors_.push_back(std::move(t));
  }

  // The data section must be exactly the tensors, back to back: a gap or an overlap means
  // the header lies about where the bytes are (or two tensors alias the same bytes).
  std::vector<const StTensor*> by_offset;
  for (const auto& t : tensors_) by_offset.push_back(&t);
  std::stable_sort(by_offset.begin(), by_offset.end(),
                   [](const StTensor* a, const StTensor* b) { return a->offset < b->offset; });
  uint64_t pos = data_start;
  const StTensor* prev = nullptr;
  for (const StTensor* t : by_offset) {
    if (t->offset < pos)
      fail("{}: tensors '{}' and '{}' overlap (data_offsets begin {} < previous end {})", path_,
           prev->name, t->name, t->offset - data_start, pos - data_start);
    if (t->offset > pos)
      fail("{}: {} unused bytes before tensor '{}' (data_offsets must be contiguous; expected begin {}, found {})",
           path_, t->offset - pos, t->name, pos - data_start, t->offset - data_start);
    pos = t->offset + t->n_bytes;
    prev = t;
  }
  if (pos != size_)
    fail("{}: {} bytes after the last tensor (expected the file to end at {})", path_, size_ - pos, pos);
}

std::unique_ptr<SafetensorsModel> SafetensorsModel::open_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  auto m = std::make_unique<SafetensorsModel>();
  const fs::path d(dir);
  const fs::path index = d / "model.safetensors.index.json";
  const fs::path single = d / "model.safetensors";
  if (fs::exists(index)) {
    std::ifstream in(index, std::ios::binary);
    if (!in) fail("{}: cannot open: {}", index.string(), std::strerror(errno));
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    json j = parse_json(text, index.string());
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      fail("{}: expected an object with a 'weight_map' object", index.string());
    std::map<std::string, std::vector<std::string>> by_file;  // sorted: stable shard order
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it->is_string())
        fail("{}: weight_map['{}']: expected a file name, found {}", index.string(), printable(it.key()), json_snippet(*it));
      const std::string file = it->get<std::string>();
      // A shard must be a plain file next to the index, never a path elsewhere.
      if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..")
        fail("{}: weight_map['{}']: '{}' is not a plain file name", index.string(), printable(it.key()), printable(file));
      by_file[file].push_back(it.key());
    }
    if (by_file.empty()) fail("{}: weight_map is empty", index.string());
    for (const auto& [file, names] : by_file) {
      m->add_file(SafetensorsFile::open((d / file).string(), m->files_.size()));
      const SafetensorsFile& f = *m->files_.back();
      for (const std::string& n : names) {
        const StTensor* t = m->find(n);
        if (!t || &m->file_of(*t) != &f)
          fail("{}: lists tensor '{}' in {}, but that file does not contain it", index.string(), n, file);
      }
      for (const StTensor& t : f.tensors())
        if (std::find(names.begin(), names.end(), t.name) == names.end())
          fail("{}: tensor '{}' in {} is not listed in the index", index.string(), t.name, file);
    }
  } else if (fs::exists(single)) {
    m->add_file(SafetensorsFile::open(single.string(), 0));
  } else {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(d, ec))
      if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
    if (ec) fail("{}: cannot list directory: {}", dir, ec.message());
    if (files.empty()) {
      const bool has_bin = fs::exists(d / "pytorch_model.bin") || fs::exists(d / "pytorch_model.bin.index.json");
      fail("{}: no model.safetensors, model.safetensors.index.json or *.safetensors file{}", dir,
           has_bin ? " (PyTorch .bin checkpoints are not supported; save the model as safetensors)" : "");
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) m->add_file(SafetensorsFile::open(f, m->files_.size()));
  }
  return m;
}

void SafetensorsModel::add_file(std::unique_ptr<SafetensorsFile> f) {
  files_.push_back(std::move(f));
  const SafetensorsFile& file = *files_.back();
  for (const StTensor& t : file.tensors()) {
    auto [it, inserted] = by_name_.emplace(t.name, &t);
    if (!inserted)
      fail("tensor '{}' appears in both {} and {}", t.name, files_[it->second->shard]->path(), file.path());
    order_.push_back(&t);
  }
}

const StTensor* SafetensorsModel::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : it->second;
}

void SafetensorsModel::read(const StTensor& t, uint64_t byte_offset, void* dst, size_t n) const {
  if (byte_offset > t.n_bytes || n > t.n_bytes - byte_offset)
    fail("{}: tensor '{}': read of {} bytes at {} outside its {} bytes", files_[t.shard]->path(), t.name,
         n, byte_offset, t.n_bytes);
  files_[t.shard]->read(t.offset + byte_offset, dst, n);
}

}  // namespace trident
