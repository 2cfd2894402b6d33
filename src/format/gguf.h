// GGUF v2/v3 reader over a memory map. Everything in the header is validated when the file
// is opened (counts, string lengths, nesting, tensor shapes, types, sizes, data ranges and
// overlaps), so later accessors never read outside the file.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "format/ggml_type.h"
#include "format/mapped_file.h"

namespace trident {

enum class GgufValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
std::string_view gguf_value_type_name(GgufValueType t);

struct GgufValue;

// A metadata array. One read from a file is a view of its encoded elements inside the mapping,
// decoded one at a time on access, so it costs no memory however long it is (a vocabulary, or
// a hostile 50 MB uint8 array); one built in memory (by a writer) holds its elements.
class GgufArray {
 public:
  GgufValueType elem_type = GgufValueType::UINT8;

  GgufArray() = default;
  explicit GgufArray(GgufValueType t);
  // A view of `count` validated elements of type t encoded in [bytes, bytes + n_bytes).
  static GgufArray view(GgufValueType t, uint64_t count, const uint8_t* bytes, uint64_t n_bytes);
  void push_back(GgufValue v);

  uint64_t size() const;
  bool empty() const { return size() == 0; }
  // Element i (i < size()): direct for fixed-size elements, a walk from the start for
  // strings and nested arrays.
  GgufValue at(uint64_t i) const;
  bool is_view() const { return bytes_ != nullptr; }
  // The encoded elements of a view, exactly as in the file (what a writer copies).
  const uint8_t* encoded() const { return bytes_; }
  uint64_t encoded_size() const { return n_bytes_; }

  // Forward iteration yields each element by value.
  class Iterator {
   public:
    Iterator(const GgufArray* a, uint64_t i, const uint8_t* p) : a_(a), i_(i), p_(p) {}
    GgufValue operator*() const;
    Iterator& operator++();
    bool operator!=(const Iterator& o) const { return i_ != o.i_; }
    bool operator==(const Iterator& o) const { return i_ == o.i_; }

   private:
    const GgufArray* a_;
    uint64_t i_;
    const uint8_t* p_;  // next encoded element (views only)
  };
  Iterator begin() const { return Iterator(this, 0, bytes_); }
  Iterator end() const { return Iterator(this, size(), nullptr); }

 private:
  std::vector<GgufValue> owned_;
  const uint8_t* bytes_ = nullptr;
  uint64_t n_bytes_ = 0, count_ = 0;
};

// One metadata value. `type` is the type as stored, so a writer can reproduce it exactly.
struct GgufValue {
  GgufValueType type = GgufValueType::UINT8;
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v;

  bool is_integer() const;  // any of the 8 integer types
  bool is_float() const { return type == GgufValueType::FLOAT32 || type == GgufValueType::FLOAT64; }
  // Accessors return nullopt / nullptr when the stored type does not fit.
  std::optional<int64_t> as_int() const;     // integer types (uint64 > INT64_MAX -> nullopt)
  std::optional<double> as_float() const;    // float or integer types
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;
  const GgufArray* as_array() const;
};

// Defined here, where GgufValue is complete (std::vector<GgufValue> needs it).
inline GgufArray::GgufArray(GgufValueType t) : elem_type(t) {}
inline uint64_t GgufArray::size() const { return is_view() ? count_ : owned_.size(); }

struct GgufKv {
  std::string key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string name;
  uint32_t n_dims = 0;
  int64_t ne[4] = {1, 1, 1, 1};  // ne[0] is the row length (fastest-varying)
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;      // relative to the start of the data section
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  uint64_t info_offset = 0; // file offset of this tensor's info record (for messages)

  int64_t rows() const { return int64_t(n_elements / uint64_t(ne[0])); }
};

class GgufFile {
 public:
  // Opens and validates; throws Error naming the file, offset / key / tensor and the problem.
  static std::unique_ptr<GgufFile> open(const std::string& path);

  const std::string& path() const { return map_.path(); }
  uint64_t file_size() const { return map_.size(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }

  const std::vector<GgufKv>& metadata() const { return kvs_; }
  const GgufValue* find(std::string_view key) const;

  // Typed getters. The optional ones return nullopt when the key is absent and throw when it
  // is present with an unsuitable type; the required ones also throw when it is absent.
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  const GgufArray* get_array(std::string_view key) const;
  int64_t require_int(std::string_view key) const;
  std::string require_string(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // Start of a tensor's bytes inside the map (range validated at open).
  // Drops the process's resident pages of a tensor whose bytes were copied (MappedFile::release).
  void release_tensor(const GgufTensorInfo& t) const { map_.release(tensor_data(t), t.n_bytes); }
  // Maps a tensor's pages before a pass over them (MappedFile::prefault).
  void prefault_tensor(const GgufTensorInfo& t) const { map_.prefault(tensor_data(t), t.n_bytes); }
  const uint8_t* tensor_data(const GgufTensorInfo& t) const {
    return map_.data() + data_offset_ + t.offset;
  }

 private:
  explicit GgufFile(const std::string& path) : map_(path) {}
  void parse();

  MappedFile map_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKv> kvs_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace trident
