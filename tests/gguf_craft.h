// Builds GGUF files byte by byte for the bad-input tests: a valid minimal file by default,
// with every field open to corruption (counts, types, lengths, offsets), and the file offset
// of each part recorded so a test can truncate or patch exactly where it means to.
#pragma once
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace trident::test {

// Little-endian encoding of a scalar (the host is little-endian, as GGUF is).
template <typename T>
std::string le(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));
  return s;
}
// GGUF string: u64 length, then the bytes.
std::string gguf_str(const std::string& s);

// GGUF value type ids (format/gguf.h spells them as an enum; raw ids let tests use bad ones).
enum : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8,
  kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

struct CraftKv {
  std::string key;
  uint32_t type;
  std::string value;  // encoded value bytes, exactly as they follow the type id
};

struct CraftTensor {
  std::string name;
  std::vector<int64_t> ne;
  uint32_t type = 0;                  // ggml type id (0 = f32)
  std::optional<uint64_t> offset;     // default: packed, aligned
  std::optional<uint64_t> data_size;  // default: computed from type and shape (0 if invalid)
};

// Where each part of a built file starts.
struct CraftLayout {
  std::vector<size_t> kv_at;           // start of each key-value pair
  std::vector<size_t> tensor_info_at;  // start of each tensor info
  size_t data_at = 0;                  // start of the data section
  size_t size = 0;
};

class GgufCraft {
 public:
  std::string magic = "GGUF";
  uint32_t version = 3;
  std::optional<uint64_t> n_tensors;  // default: the real count
  std::optional<uint64_t> n_kv;
  uint64_t alignment = 32;            // layout only; add general.alignment yourself to change it
  std::optional<uint64_t> data_bytes; // default: up to the end of the last (sane) tensor

  GgufCraft& kv(const std::string& key, uint32_t type, std::string value);
  GgufCraft& kv_u32(const std::string& key, uint32_t v) { return kv(key, kU32, le(v)); }
  GgufCraft& kv_f32(const std::string& key, float v) { return kv(key, kF32, le(v)); }
  GgufCraft& kv_string(const std::string& key, const std::string& v) { return kv(key, kString, gguf_str(v)); }
  GgufCraft& tensor(CraftTensor t);

  std::string build(CraftLayout* layout = nullptr) const;

  std::vector<CraftKv> kvs;
  std::vector<CraftTensor> tensors;
};

// A valid file: a few metadata keys of each common type and two small F32 tensors.
GgufCraft minimal_gguf();
// Encoded array value: element type, count, then the given element bytes.
std::string gguf_array(uint32_t elem_type, uint64_t count, const std::string& elems);

// Seeded mutants of a file for robustness tests. The copy at `work_path` is patched in place
// (one to three small patches, sometimes a truncation) and restored before the next round, so
// thousands of mutants cost a few written bytes each. Patches favour the first `hot_bytes`
// (the header), where the parser lives.
class FileMutator {
 public:
  FileMutator(const std::string& src_path, std::string work_path, uint64_t hot_bytes, uint64_t seed);
  ~FileMutator();
  FileMutator(const FileMutator&) = delete;
  FileMutator& operator=(const FileMutator&) = delete;

  // Undoes the previous mutant, applies a new one, and describes it ("@offset:hexbytes cut@n").
  std::string next();
  void restore();
  const std::string& path() const { return path_; }

 private:
  struct Patch {
    uint64_t at;
    std::string bytes;
  };
  void put(uint64_t at, const char* p, size_t n);
  std::string src_, path_;
  uint64_t hot_;
  uint64_t state_;
  int fd_ = -1;
  std::vector<Patch> patches_;
  std::optional<uint64_t> cut_;
  uint64_t rand();
};

void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);

}  // namespace trident::test
