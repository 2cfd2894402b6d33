#include "convert/imatrix.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "format/error.h"
#include "format/gguf.h"

namespace trident {
namespace {

constexpr std::string_view kSums = ".in_sum2", kCounts = ".counts";

void check_finite(const std::string& path, const std::string& name, const std::vector<float>& v) {
  for (float f : v)
    if (!std::isfinite(f)) fail("{}: entry '{}': non-finite value {}", path, printable(name), f);
}

Imatrix read_gguf(const std::string& path) {
  auto f = GgufFile::open(path);
  Imatrix m;
  if (const GgufArray* a = f->get_array("imatrix.datasets"))
    for (const GgufValue v : *a)
      if (const std::string* s = v.as_string()) m.datasets.push_back(*s);
  const auto chunks = f->get_int("imatrix.chunk_count");
  // llama-quantize refuses a GGUF imatrix without its three metadata keys.
  if (!f->find("imatrix.datasets") || !chunks || !f->get_int("imatrix.chunk_size"))
    fail("{}: missing imatrix metadata (imatrix.datasets, imatrix.chunk_count, imatrix.chunk_size)", path);
  m.chunk_count = int32_t(*chunks);
  std::map<std::string, std::pair<const GgufTensorInfo*, const GgufTensorInfo*>> pairs;
  for (const GgufTensorInfo& t : f->tensors()) {
    std::string_view n = t.name;
    if (n.ends_with(kSums)) pairs[std::string(n.substr(0, n.size() - kSums.size()))].first = &t;
    else if (n.ends_with(kCounts)) pairs[std::string(n.substr(0, n.size() - kCounts.size()))].second = &t;
  }
  if (pairs.empty()) fail("{}: no importance data (no <name>.in_sum2 / <name>.counts tensors)", path);
  for (const auto& [name, sc] : pairs) {
    const auto [sums, counts] = sc;
    if (!sums || !counts) fail("{}: entry '{}': {} without {}", path, printable(name), sums ? kSums : kCounts, sums ? kCounts : kSums);
    if (sums->type != GgmlType::F32 || counts->type != GgmlType::F32)
      fail("{}: entry '{}': sums and counts must be f32", path, printable(name));
    const int64_t n_val = int64_t(sums->n_elements), n_cnt = int64_t(counts->n_elements);
    if (n_cnt < 1 || n_val % n_cnt != 0)
      fail("{}: entry '{}': {} sums do not split into {} experts", path, printable(name), n_val, n_cnt);
    std::vector<float> s(static_cast<size_t>(n_val)), c(static_cast<size_t>(n_cnt));
    std::memcpy(s.data(), f->tensor_data(*sums), s.size() * 4);
    std::memcpy(c.data(), f->tensor_data(*counts), c.size() * 4);
    check_finite(path, name, s);
    check_finite(path, name, c);
    // As llama-quantize: counts are whole token numbers stored as floats; an expert that saw no
    // token gets weight 1 on every column.
    const int64_t ne0 = n_val / n_cnt;
    std::vector<float>& e = m.entries[name];
    e.resize(s.size());
    for (int64_t j = 0; j < n_cnt; ++j) {
      const float count = float(std::lround(c[size_t(j)]));
      for (int64_t i = 0; i < ne0; ++i) e[size_t(j * ne0 + i)] = count > 0.0f ? s[size_t(j * ne0 + i)] / count : 1.0f;
    }
  }
  return m;
}

// The legacy .dat layout, bounds-checked.
class Cursor {
 public:
  Cursor(const std::string& path, std::vector<char> bytes) : path_(path), b_(std::move(bytes)) {}
  bool at_end() const { return at_ == b_.size(); }
  template <class V>
  V take(const char* what) {
    V v;
    need(sizeof v, what);
    std::memcpy(&v, b_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  void read(void* dst, size_t n, const char* what) {
    need(n, what);
    std::memcpy(dst, b_.data() + at_, n);
    at_ += n;
  }
  size_t left() const { return b_.size() - at_; }

 private:
  void need(size_t n, const char* what) const {
    if (n > b_.size() - at_) fail("{}: truncated at byte {} reading {} ({} bytes needed, {} left)", path_, at_, what, n, b_.size() - at_);
  }
  const std::string& path_;
  std::vector<char> b_;
  size_t at_ = 0;
};

Imatrix read_legacy(const std::string& path, std::vector<char> bytes) {
  Cursor c(path, std::move(bytes));
  Imatrix m;
  m.legacy = true;
  const int32_t n_entries = c.take<int32_t>("the entry count");
  if (n_entries < 1) fail("{}: not an imatrix (neither GGUF nor a legacy file with entries)", path);
  for (int32_t k = 0; k < n_entries; ++k) {
    const int32_t len = c.take<int32_t>("a name length");
    if (len < 0 || size_t(len) > c.left()) fail("{}: entry {}: bad name length {}", path, k + 1, len);
    std::string name(size_t(len), '\0');
    c.read(name.data(), name.size(), "a name");
    name.resize(std::strlen(name.c_str()));  // llama.cpp reads the name up to its first NUL
    const int32_t ncall = c.take<int32_t>("a call count");
    const int32_t nval = c.take<int32_t>("a value count");
    if (nval < 1 || size_t(nval) > c.left() / 4) fail("{}: entry '{}': bad value count {}", path, printable(name), nval);
    std::vector<float> s(static_cast<size_t>(nval));
    c.read(s.data(), s.size() * 4, "values");
    check_finite(path, name, s);
    // Values were stored as (sum / count) * calls: divide the calls out again.
    std::vector<float>& e = m.entries[name];
    e.resize(s.size());
    for (size_t i = 0; i < s.size(); ++i) e[i] = ncall > 0 ? s[i] / float(int64_t(ncall)) : s[i];
  }
  if (c.left() >= 4) {
    m.chunk_count = c.take<int32_t>("the chunk count");
    if (c.left() >= 4) {
      const int32_t len = c.take<int32_t>("the dataset name length");
      if (len > 0 && size_t(len) <= c.left()) {
        std::string d(size_t(len), '\0');
        c.read(d.data(), d.size(), "the dataset name");
        m.datasets.push_back(d.substr(0, std::strlen(d.c_str())));
      }
    }
  }
  return m;
}

}  // namespace

Imatrix read_imatrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the importance matrix: {}", path, std::strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "GGUF", 4) == 0) return read_gguf(path);
  return read_legacy(path, std::move(bytes));
}

}  // namespace trident
