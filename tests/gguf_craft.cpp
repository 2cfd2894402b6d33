#include "gguf_craft.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

#include "format/ggml_type.h"

namespace trident::test {

std::string gguf_str(const std::string& s) { return le<uint64_t>(s.size()) + s; }

std::string gguf_array(uint32_t elem_type, uint64_t count, const std::string& elems) {
  return le<uint32_t>(elem_type) + le<uint64_t>(count) + elems;
}

GgufCraft& GgufCraft::kv(const std::string& key, uint32_t type, std::string value) {
  kvs.push_back({key, type, std::move(value)});
  return *this;
}

GgufCraft& GgufCraft::tensor(CraftTensor t) {
  tensors.push_back(std::move(t));
  return *this;
}

namespace {

// Bytes a tensor takes, or 0 when its type or shape is invalid (the reader must refuse it
// before it ever looks at the data).
uint64_t natural_size(const CraftTensor& t) {
  const GgmlTypeLayout* l = ggml_type_layout(t.type);
  if (!l || t.ne.empty() || t.ne[0] % l->block_size != 0) return 0;
  unsigned __int128 n = 1;
  for (int64_t d : t.ne) {
    if (d <= 0) return 0;
    n *= uint64_t(d);
    if (n > (unsigned __int128)(1) << 40) return 0;
  }
  return uint64_t(n) / uint64_t(l->block_size) * l->type_size;
}

uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

std::string GgufCraft::build(CraftLayout* layout) const {
  CraftLayout lay;
  std::string b = magic + le<uint32_t>(version) + le<uint64_t>(n_tensors.value_or(tensors.size())) +
                  le<uint64_t>(n_kv.value_or(kvs.size()));
  for (const CraftKv& kv : kvs) {
    lay.kv_at.push_back(b.size());
    b += gguf_str(kv.key) + le<uint32_t>(kv.type) + kv.value;
  }
  std::vector<uint64_t> offsets, sizes;
  uint64_t next = 0;
  for (const CraftTensor& t : tensors) {
    const uint64_t size = t.data_size.value_or(natural_size(t));
    const uint64_t off = t.offset.value_or(round_up(next, alignment));
    offsets.push_back(off);
    sizes.push_back(size);
    next = std::max(next, off + size);
    lay.tensor_info_at.push_back(b.size());
    b += gguf_str(t.name) + le<uint32_t>(uint32_t(t.ne.size()));
    for (int64_t d : t.ne) b += le<int64_t>(d);
    b += le<uint32_t>(t.type) + le<uint64_t>(off);
  }
  b.resize(round_up(b.size(), alignment), '\0');
  lay.data_at = b.size();
  // Data bytes: a recognizable ramp, so overlaps and truncations are visible in a hex dump.
  uint64_t data_end = 0;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (offsets[i] < (uint64_t(1) << 30) && sizes[i] < (uint64_t(1) << 30))
      data_end = std::max(data_end, offsets[i] + sizes[i]);
  data_end = data_bytes.value_or(data_end);
  for (uint64_t i = 0; i < data_end; ++i) b.push_back(char(i * 7 + 1));
  lay.size = b.size();
  if (layout) *layout = lay;
  return b;
}

GgufCraft minimal_gguf() {
  GgufCraft c;
  c.kv_string("general.architecture", "llama");
  c.kv_string("general.name", "crafted");
  c.kv_u32("llama.block_count", 1);
  c.kv_f32("llama.rope.freq_base", 10000.0f);
  c.kv("tokenizer.ggml.scores", kArray, gguf_array(kF32, 4, le(0.0f) + le(-1.0f) + le(-2.0f) + le(-3.0f)));
  c.tensor({"token_embd.weight", {32, 4}, 0, {}, {}});
  c.tensor({"output_norm.weight", {32}, 0, {}, {}});
  return c;
}

FileMutator::FileMutator(const std::string& src_path, std::string work_path, uint64_t hot_bytes, uint64_t seed)
    : src_(read_bytes(src_path)), path_(std::move(work_path)), hot_(hot_bytes), state_(seed) {
  if (src_.empty() || hot_ == 0 || hot_ > src_.size()) throw std::runtime_error("FileMutator: bad sizes");
  write_bytes(path_, src_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("cannot open " + path_);
}

FileMutator::~FileMutator() {
  if (fd_ >= 0) ::close(fd_);
  ::unlink(path_.c_str());
}

// splitmix64: fixed output for a seed on every platform (std distributions are not).
uint64_t FileMutator::rand() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void FileMutator::put(uint64_t at, const char* p, size_t n) {
  if (::pwrite(fd_, p, n, off_t(at)) != ssize_t(n)) throw std::runtime_error("cannot write " + path_);
}

void FileMutator::restore() {
  // Patches first (a patch past a truncation point extends the file), then the cut-off tail.
  for (const Patch& p : patches_) put(p.at, src_.data() + p.at, p.bytes.size());
  if (cut_) put(*cut_, src_.data() + *cut_, src_.size() - *cut_);
  patches_.clear();
  cut_.reset();
}

std::string FileMutator::next() {
  restore();
  // Values that sit on the edges of counts, lengths, types and offsets.
  static constexpr uint64_t kInteresting[] = {0, 1, 2, 13, 64, 255, 4096, 65535, 0x7fffffff, 0x80000000,
                                              0xffffffff, uint64_t(1) << 32, uint64_t(1) << 62,
                                              uint64_t(1) << 63, ~uint64_t(0)};
  const int n = 1 + int(rand() % 3);
  for (int k = 0; k < n; ++k) {
    const uint64_t hot = rand() % hot_, anywhere = rand() % src_.size();
    const uint64_t v = kInteresting[rand() % std::size(kInteresting)];
    switch (rand() % 6) {
      case 0: patches_.push_back({hot, std::string(1, char(rand()))}); break;
      case 1: patches_.push_back({hot, std::string(1, char(src_[hot] ^ (1 << (rand() % 8))))}); break;
      case 2: patches_.push_back({hot, le<uint32_t>(uint32_t(v))}); break;
      case 3: patches_.push_back({hot, le<uint64_t>(v)}); break;
      case 4: patches_.push_back({hot & ~uint64_t(7), le<uint64_t>(v)}); break;  // often a whole field
      default: patches_.push_back({anywhere, std::string(1, char(rand()))}); break;
    }
    Patch& p = patches_.back();
    p.bytes.resize(std::min<uint64_t>(p.bytes.size(), src_.size() - p.at));
  }
  if (rand() % 5 == 0) cut_ = rand() % 2 ? rand() % hot_ : rand() % src_.size();
  std::string d;
  for (const Patch& p : patches_) {
    d += fmt::format("@{}:", p.at);
    for (char ch : p.bytes) d += fmt::format("{:02x}", uint8_t(ch));
    d += " ";
  }
  if (cut_) d += fmt::format("cut@{}", *cut_);
  for (const Patch& p : patches_) put(p.at, p.bytes.data(), p.bytes.size());
  if (cut_ && ::ftruncate(fd_, off_t(*cut_)) != 0) throw std::runtime_error("cannot truncate " + path_);
  return d;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace trident::test
