// The public Context over runtime/'s Session: option mapping and sequence operations.
#include <trident/context.h>

#include "api/model_impl.h"
#include "format/error.h"
#include "runtime/session.h"

namespace trident::api {
namespace {

trident::KvType kv_type(KvType t) { return t == KvType::F32 ? trident::KvType::F32 : trident::KvType::F16; }

FusionMode fusion_mode(Fusion f) {
  return f == Fusion::Off ? FusionMode::Off : f == Fusion::On ? FusionMode::On : FusionMode::Auto;
}

SessionOptions session_options(const ContextOptions& o) {
  SessionOptions s;
  s.n_ctx = o.n_ctx;
  s.n_seq_max = o.n_seq_max;
  s.n_ubatch = o.n_ubatch;
  s.n_threads = o.n_threads;
  s.k_type = kv_type(o.k_type);
  s.v_type = kv_type(o.v_type);
  s.fuse_qkv = fusion_mode(o.fuse_qkv);
  s.fuse_gate_up = fusion_mode(o.fuse_gate_up);
  s.verbose = o.verbose;
  return s;
}

}  // namespace

struct Context::Impl {
  Impl(const Model& m, const ContextOptions& o) : model(&m), session(*m.impl().model, session_options(o)) {}
  const Model* model;
  Session session;
};

Context::Context(const Model& model, const ContextOptions& opt) : impl_(std::make_unique<Impl>(model, opt)) {}
Context::~Context() = default;
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;

int64_t Context::n_ctx() const { return impl_->session.options().n_ctx; }
int64_t Context::n_seq_max() const { return impl_->session.seqs().n_seq_max(); }
int64_t Context::n_ubatch() const { return impl_->session.options().n_ubatch; }
int Context::n_threads() const { return impl_->session.n_threads(); }
int64_t Context::n_vocab() const { return impl_->model->n_vocab(); }
const Model& Context::model() const { return *impl_->model; }

SeqId Context::seq_create() { return impl_->session.seqs().create(); }
void Context::seq_remove(SeqId s) { impl_->session.seqs().remove(s); }
void Context::seq_clear(SeqId s) { impl_->session.seqs().truncate(s, 0); }
void Context::seq_truncate(SeqId s, int64_t n) { impl_->session.seqs().truncate(s, n); }
bool Context::seq_can_keep(SeqId s, int64_t n) const { return impl_->session.seqs().can_keep(s, n); }
SeqId Context::seq_copy_prefix(SeqId src, int64_t n) { return impl_->session.seqs().copy_prefix(src, n); }
void Context::seq_copy_prefix(SeqId src, int64_t n, SeqId dst) { impl_->session.seqs().copy_prefix(src, n, dst); }

PrefixMatch Context::seq_longest_prefix(std::span<const int32_t> tokens) const {
  const trident::PrefixMatch m = impl_->session.seqs().longest_prefix(tokens);
  return {m.seq, m.n};
}

bool Context::seq_exists(SeqId s) const { return impl_->session.seqs().exists(s); }
int64_t Context::seq_length(SeqId s) const { return impl_->session.seqs().length(s); }

std::vector<int32_t> Context::seq_tokens(SeqId s) const {
  const std::span<const int32_t> t = impl_->session.seqs().tokens(s);
  return {t.begin(), t.end()};
}

int64_t Context::n_seq_active() const { return impl_->session.seqs().n_active(); }
void Context::seq_save(SeqId s, const std::string& path) const { impl_->session.save_sequence(s, path); }
SeqId Context::seq_restore(const std::string& path) { return impl_->session.restore_sequence(path); }

void Context::decode(const Batch& batch, std::vector<float>& logits) {
  impl_->session.decode({batch.token, batch.pos, batch.seq, batch.logits}, logits);
}

void Context::decode_hidden(const Batch& batch, std::vector<float>& hidden) {
  impl_->session.decode_hidden({batch.token, batch.pos, batch.seq, batch.logits}, hidden);
}

std::vector<float> Context::decode(const Batch& batch) {
  std::vector<float> logits;
  decode(batch, logits);
  return logits;
}

std::string Context::fusion_report() const { return impl_->session.fusion().describe(); }

}  // namespace trident::api
