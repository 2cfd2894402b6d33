// Sequence state files: one sequence's tokens and K/V rows, to continue it later.
//
// Layout (little-endian, as the machine writes it):
//   char[8]  "TRIDSEQ1"
//   u32      format version (1)
//   u32      K type, u32 V type (KvType: 0 f32, 1 f16)
//   u32      n_layer
//   u64      K row elements (n_head_kv * head_dim; the V rows' count follows from the model)
//   u64      model identity (FNV-1a over the file size and every tensor's name, type, shape, offset)
//   u64      n_tokens
//   i32      tokens[n_tokens]
//   per layer: K rows [n_tokens][row bytes], then V rows
//   models with recurrent layers: the sequence's RecurrentState stream (runtime/recurrent_state.h)
// The size must match exactly; anything else is refused with the file's name and the field.
#include <algorithm>
#include <cstring>
#include <string>

#include "format/checked.h"
#include "format/error.h"
#include "format/fd_sink.h"
#include "format/mapped_file.h"
#include "runtime/session.h"

namespace trident {
namespace {

constexpr char kSeqMagic[8] = {'T', 'R', 'I', 'D', 'S', 'E', 'Q', '1'};
constexpr uint32_t kSeqVersion = 1;

struct SeqFileHeader {
  char magic[8];
  uint32_t version, k_type, v_type, n_layer;
  uint64_t row_elems, model_id, n_tokens;
};
static_assert(sizeof(SeqFileHeader) == 48);

uint64_t fnv1a(uint64_t h, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

// Identifies the weights a cache was computed from, without reading them.
uint64_t model_identity(const Model& m) {
  uint64_t h = 14695981039346656037ull;
  const uint64_t size = m.file().file_size();
  h = fnv1a(h, &size, sizeof size);
  for (const GgufTensorInfo& t : m.file().tensors()) {
    h = fnv1a(h, t.name.data(), t.name.size() + 1);
    h = fnv1a(h, &t.type, sizeof t.type);
    h = fnv1a(h, t.ne, sizeof t.ne);
    h = fnv1a(h, &t.offset, sizeof t.offset);
  }
  return h;
}

const char* kv_name(uint32_t t) { return t == uint32_t(KvType::F32) ? "f32" : t == uint32_t(KvType::F16) ? "f16" : "?"; }

}  // namespace

void Session::save_sequence(int32_t id, const std::string& path) const {
  const KvCache& kv = seqs_->cache(id);
  const std::span<const int32_t> tokens = seqs_->tokens(id);
  SeqFileHeader hd{};
  std::memcpy(hd.magic, kSeqMagic, sizeof kSeqMagic);
  hd.version = kSeqVersion;
  hd.k_type = uint32_t(seqs_->k_type());
  hd.v_type = uint32_t(seqs_->v_type());
  hd.n_layer = uint32_t(kv.n_layer());
  hd.row_elems = uint64_t(model_.hp().kv_row_elems());
  hd.model_id = model_identity(model_);
  hd.n_tokens = tokens.size();
  OutputPolicy policy;
  policy.overwrite = true;
  policy.inputs.push_back(model_.file().path());
  write_file_atomically(path, policy, [&](FdSink& out) {
    out.put(&hd, sizeof hd);
    out.put(tokens.data(), tokens.size_bytes());
    for (int64_t l = 0; l < kv.n_layer(); ++l)
      for (bool v : {false, true}) out.put(kv.rows(l, v), tokens.size() * kv.row_bytes(v));
    if (seqs_->recurrent()) seqs_->state(id).save(out);
  });
}

int32_t Session::restore_sequence(const std::string& path) {
  MappedFile file(path);
  SeqFileHeader hd{};
  if (file.size() < sizeof hd || std::memcmp(file.data(), kSeqMagic, sizeof kSeqMagic) != 0)
    fail("{}: not a trident sequence file (expected the magic TRIDSEQ1)", path);
  std::memcpy(&hd, file.data(), sizeof hd);
  if (hd.version != kSeqVersion) fail("{}: sequence file version {} (expected {})", path, hd.version, kSeqVersion);
  if (hd.model_id != model_identity(model_) || hd.n_layer != uint64_t(model_.hp().n_layer) ||
      hd.row_elems != uint64_t(model_.hp().kv_row_elems()))
    fail("{}: saved from a different model than {}", path, model_.file().path());
  if (hd.k_type != uint32_t(seqs_->k_type()) || hd.v_type != uint32_t(seqs_->v_type()))
    fail("{}: K/V types {}/{} differ from this context's {}/{}", path, kv_name(hd.k_type), kv_name(hd.v_type),
         kv_name(uint32_t(seqs_->k_type())), kv_name(uint32_t(seqs_->v_type())));
  if (hd.n_tokens > uint64_t(opt_.n_ctx))
    fail("{}: {} tokens do not fit the context of {}", path, hd.n_tokens, opt_.n_ctx);
  const size_t n = size_t(hd.n_tokens);
  const int64_t n_layer = model_.hp().n_layer;
  const size_t row_bytes = hd.row_elems * (hd.k_type == 0 ? 4 : 2) +
                           size_t(model_.hp().kv_v_elems()) * (hd.v_type == 0 ? 4 : 2);
  const uint64_t kv_end = sizeof hd + n * 4 + uint64_t(n_layer) * n * row_bytes;
  // The recurrent state's own header checks its shapes; its size is checked by restore below.
  const uint64_t want = seqs_->recurrent() ? std::max<uint64_t>(kv_end, file.size()) : kv_end;
  if (file.size() != want || (seqs_->recurrent() && file.size() == kv_end)) fail("{}: {} bytes, expected {} for {} tokens", path, file.size(), want, n);
  std::vector<int32_t> tokens(n);
  if (n > 0) std::memcpy(tokens.data(), file.data() + sizeof hd, n * 4);  // data() of an empty vector may be null
  for (size_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= model_.hp().n_vocab)
      fail("{}: token {} is id {}, outside the vocabulary (0..{})", path, i, tokens[i], model_.hp().n_vocab - 1);
  const int32_t id = seqs_->create();
  if (seqs_->recurrent()) {
    try {
      seqs_->state(id).restore({file.data() + kv_end, size_t(file.size() - kv_end)}, path);
    } catch (...) {
      seqs_->remove(id);
      throw;
    }
  }
  KvCache& kv = seqs_->cache(id);
  const uint8_t* p = file.data() + sizeof hd + n * 4;
  for (int64_t l = 0; l < n_layer; ++l)
    for (bool v : {false, true}) {
      if (n > 0) std::memcpy(kv.rows(l, v), p, n * kv.row_bytes(v));
      p += n * kv.row_bytes(v);
    }
  seqs_->set_tokens(id, std::move(tokens));
  return id;
}

}  // namespace trident
