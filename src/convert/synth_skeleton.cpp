#include "convert/synth_skeleton.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <sstream>
#include <vector>

#include "convert/synth_random.h"
#include "format/error.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "model/arch.h"
#include "tensor/fp16.h"
#include "tensor/types.h"

namespace trident {
namespace {

// Normal(0, 0.01) by Box-Muller in double, one stream per (seed, tensor name).
// The name hash starts from FNV's offset basis with its last digit missing, as it always has:
// the committed skeleton fixtures' llama.cpp logits were taken on the weights it gives.
constexpr uint64_t kSkeletonHashBasis = 1469598103934665603ull;

class Normal {
 public:
  Normal(uint64_t seed, const std::string& name) : s_(seed ^ fnv1a(name, kSkeletonHashBasis)) {}
  float next() {
    const double u1 = (double(splitmix64(s_) >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = double(splitmix64(s_) >> 11) * 0x1.0p-53;
    return float(0.01 * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  uint64_t s_;
};

struct Entry {
  std::string name;
  GgmlType type;
  std::vector<int64_t> ne;
};

Entry parse_entry(const std::string& path, size_t index, const std::string& s) {
  std::istringstream in(s);
  Entry e;
  std::string type, dims;
  if (!(in >> e.name >> type >> dims))
    fail("{}: key '{}': entry {}: expected \"name type ne0,ne1,...\"", path, kSkeletonKey, index);
  if (type == "f32") e.type = GgmlType::F32;
  else if (type == "f16") e.type = GgmlType::F16;
  else fail("{}: key '{}': entry {}: type '{}' (expected f32 or f16)", path, kSkeletonKey, index, type);
  for (size_t i = 0; i <= dims.size();) {
    size_t j = dims.find(',', i);
    if (j == std::string::npos) j = dims.size();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(dims.data() + i, dims.data() + j, v);
    if (ec != std::errc() || p != dims.data() + j || v < 1 || v > (int64_t(1) << 32) || e.ne.size() == 4)
      fail("{}: key '{}': entry {}: bad shape '{}'", path, kSkeletonKey, index, dims);
    e.ne.push_back(v);
    i = j + 1;
  }
  return e;
}

}  // namespace

void write_skeleton(const std::string& model_path, const std::string& out_path, bool overwrite) {
  const auto f = GgufFile::open(model_path);
  GgufWriter w;
  w.copy_metadata(*f);
  std::vector<std::string> entries;
  for (const GgufTensorInfo& t : f->tensors()) {
    if (t.type != GgmlType::F32 && t.type != GgmlType::F16)
      fail("{}: tensor '{}' has type {}; a skeleton holds F32 and F16 tensors only", model_path, t.name,
           layout_of(t.type).name);
    std::string dims;
    for (uint32_t d = 0; d < std::max<uint32_t>(t.n_dims, 1); ++d) dims += (d ? "," : "") + std::to_string(t.ne[d]);
    entries.push_back(fmt::format("{} {} {}", t.name, t.type == GgmlType::F32 ? "f32" : "f16", dims));
  }
  w.set_string_array(kSkeletonKey, entries);
  GgufWriteOptions o;
  o.overwrite = overwrite;
  w.write(out_path, o);
}

void synth_from_skeleton(const std::string& skeleton_path, uint64_t seed, const std::string& out_path,
                         bool overwrite) {
  const auto f = GgufFile::open(skeleton_path);
  const GgufValue* list = f->find(kSkeletonKey);
  if (!list) fail("{}: missing key '{}' (not a skeleton written by trident)", skeleton_path, kSkeletonKey);
  GgufWriter w;
  for (const GgufKv& kv : f->metadata())
    if (kv.key != kSkeletonKey) w.set(kv.key, kv.value);
  // The architecture row's values for tensors a draw around 0 would break (ArchSpec::skeleton_inits).
  std::span<const SkeletonInit> inits;
  if (const auto arch = f->get_string("general.architecture"))
    if (const ArchSpec* a = find_arch(*arch)) inits = a->skeleton_inits;
  const GgufArray* arr = list->as_array();
  if (!arr) fail("{}: key '{}': expected an array of strings", skeleton_path, kSkeletonKey);
  size_t i = 0;
  for (const GgufValue v : *arr) {
    const std::string* s = v.as_string();
    if (!s) fail("{}: key '{}': entry {} is not a string", skeleton_path, kSkeletonKey, i);
    Entry e = parse_entry(skeleton_path, i++, *s);
    float offset = 0.0f, scale = 1.0f;
    for (const SkeletonInit& in : inits)
      if (e.name.ends_with(in.suffix)) offset = in.value, scale = in.scale;
    GgufWriteTensor t{e.name, e.type, e.ne, {}};
    t.write_data = [e, seed, offset, scale](const std::function<void(const void*, size_t)>& emit) {
      Normal rng(seed, e.name);
      int64_t count = 1;
      for (int64_t d : e.ne) count *= d;
      std::vector<float> row(size_t(e.ne[0]));
      std::vector<f16_bits> half(row.size());
      for (int64_t r = 0; r < count / e.ne[0]; ++r) {
        for (float& x : row) x = offset + scale * rng.next();
        if (e.type == GgmlType::F32) {
          emit(row.data(), row.size() * sizeof(float));
        } else {
          for (size_t k = 0; k < row.size(); ++k) half[k] = fp32_to_fp16(row[k]);
          emit(half.data(), half.size() * sizeof(f16_bits));
        }
      }
    };
    w.add_tensor(std::move(t));
  }
  GgufWriteOptions o;
  o.overwrite = overwrite;
  w.write(out_path, o);
}

}  // namespace trident
