#include "convert/imatrix.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "format/error.h"
#include "format/fd_sink.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"

namespace trident {
namespace {

// The format's names, shared by the reader and the writer.
constexpr std::string_view kSums = ".in_sum2", kCounts = ".counts";
constexpr const char* kDatasets = "imatrix.datasets";
constexpr const char* kChunkCount = "imatrix.chunk_count";
constexpr const char* kChunkSize = "imatrix.chunk_size";

void check_finite(const std::string& path, const std::string& name, const std::vector<float>& v) {
  for (float f : v)
    if (!std::isfinite(f)) fail("{}: entry '{}': non-finite value {}", path, printable(name), f);
}

Imatrix read_gguf(const std::string& path) {
  auto f = GgufFile::open(path);
  Imatrix m;
  if (const GgufArray* a = f->get_array(kDatasets))
    for (const GgufValue v : *a)
      if (const std::string* s = v.as_string()) m.datasets.push_back(*s);
  const auto chunks = f->get_int(kChunkCount);
  // llama-quantize refuses a GGUF imatrix without its three metadata keys.
  if (!f->find(kDatasets) || !chunks || !f->get_int(kChunkSize))
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

// ggml writes a tensor's dimensions up to its last one above 1 (ggml_n_dims).
std::vector<int64_t> ggml_dims(int64_t ne0, int64_t ne1) {
  return ne1 > 1 ? std::vector<int64_t>{ne0, ne1} : std::vector<int64_t>{ne0};
}

void check_entry(const std::string& name, const ImatrixEntrySums& e) {
  if (e.counts.empty() || e.sums.empty() || e.sums.size() % e.counts.size() != 0)
    fail("imatrix: entry '{}': {} sums do not split into {} slices", name, e.sums.size(), e.counts.size());
}

void write_gguf(const ImatrixWriteData& d, const std::string& path, const OutputPolicy& policy) {
  GgufWriter w;
  w.set_string("general.type", "imatrix");
  w.set_string_array(kDatasets, d.datasets);
  w.set_u32(kChunkCount, uint32_t(d.chunk_count));
  w.set_u32(kChunkSize, uint32_t(d.chunk_size));
  for (const auto& [name, e] : d.entries) {
    check_entry(name, e);
    const int64_t n_mat = int64_t(e.counts.size()), per_row = int64_t(e.sums.size()) / n_mat;
    const ImatrixEntrySums* ep = &e;
    w.add_tensor({name + std::string(kSums), GgmlType::F32, ggml_dims(per_row, n_mat),
                  [ep](const auto& emit) { emit(ep->sums.data(), ep->sums.size() * 4); }});
    w.add_tensor({name + std::string(kCounts), GgmlType::F32, ggml_dims(1, n_mat), [ep](const auto& emit) {
                    std::vector<float> c(ep->counts.begin(), ep->counts.end());
                    emit(c.data(), c.size() * 4);
                  }});
  }
  GgufWriteOptions o;
  o.overwrite = policy.overwrite;
  o.inputs = policy.inputs;
  w.write(path, o);
}

// Values stored as (sum / count) * calls, calls being the chunks the most-used slice saw
// (rounded up); a slice without tokens stores 1 * calls.
void write_legacy(const ImatrixWriteData& d, const std::string& path, const OutputPolicy& policy) {
  if (d.chunk_size < 1) fail("imatrix: chunk size {} (expected >= 1)", d.chunk_size);
  std::vector<const std::pair<const std::string, ImatrixEntrySums>*> kept;
  for (const auto& kv : d.entries) {
    check_entry(kv.first, kv.second);
    if (std::any_of(kv.second.counts.begin(), kv.second.counts.end(), [](int64_t c) { return c != 0; })) kept.push_back(&kv);
  }
  write_file_atomically(path, policy, [&](FdSink& out) {
    out.pod<int32_t>(int32_t(kept.size()));
    for (const auto* kv : kept) {
      const auto& [name, e] = *kv;
      out.pod<int32_t>(int32_t(name.size()));
      out.put(name.data(), name.size());
      const int64_t max_count = *std::max_element(e.counts.begin(), e.counts.end());
      const int32_t ncall = int32_t((max_count + d.chunk_size - 1) / d.chunk_size);
      out.pod<int32_t>(ncall);
      out.pod<int32_t>(int32_t(e.sums.size()));
      const size_t per = e.sums.size() / e.counts.size();
      std::vector<float> v(e.sums.size());
      for (size_t i = 0; i < v.size(); ++i) {
        const float count = float(e.counts[i / per]);
        v[i] = count == 0.0f ? 1.0f * float(ncall) : (e.sums[i] / count) * float(ncall);
      }
      out.put(v.data(), v.size() * 4);
    }
    out.pod<int32_t>(d.chunk_count);
    const std::string dataset = d.datasets.empty() ? std::string() : d.datasets.back();
    out.pod<int32_t>(int32_t(dataset.size()));
    out.put(dataset.data(), dataset.size());
  });
}

}  // namespace

void write_imatrix(const ImatrixWriteData& d, const std::string& path, bool legacy, const OutputPolicy& policy) {
  if (d.entries.empty()) fail("imatrix: no weight saw any activation: nothing to write to {}", path);
  if (legacy) write_legacy(d, path, policy);
  else write_gguf(d, path, policy);
}

Imatrix read_imatrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the importance matrix: {}", path, std::strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "GGUF", 4) == 0) return read_gguf(path);
  return read_legacy(path, std::move(bytes));
}

}  // namespace trident
