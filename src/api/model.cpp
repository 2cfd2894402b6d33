// The public Model and Detokenizer over model/ and tokenizer/.
#include <fmt/format.h>

#include "api/model_impl.h"
#include "format/error.h"
#include "format/memory_budget.h"

namespace trident::api {
namespace {

std::unique_ptr<trident::Model> load(const std::string& path, const ModelOptions& opt) {
  if (opt.mem_limit > 0) set_memory_limit(opt.mem_limit);
  LoadOptions lo;
  lo.verbose = opt.verbose;
  lo.repack = opt.repack;
  return trident::Model::load(path, lo);
}

}  // namespace

Model::Model(const std::string& path, const ModelOptions& opt) {
  std::unique_ptr<trident::Model> m = load(path, opt);
  Tokenizer tok(vocab_from_gguf(m->file()));
  impl_ = std::make_unique<Impl>(Impl{std::move(m), std::move(tok)});
}

Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

std::string Model::path() const { return impl_->model->file().path(); }
std::string Model::architecture() const { return std::string(impl_->model->arch().name); }
std::string Model::name() const { return impl_->model->file().get_string("general.name").value_or(""); }
int64_t Model::n_vocab() const { return impl_->model->hp().n_vocab; }
int64_t Model::n_ctx_train() const { return impl_->model->hp().n_ctx_train; }
int64_t Model::n_embd() const { return impl_->model->hp().n_embd; }
int64_t Model::n_layer() const { return impl_->model->hp().n_layer; }
int64_t Model::n_head() const { return impl_->model->hp().n_head; }
int64_t Model::n_head_kv() const { return impl_->model->hp().n_head_kv; }
uint64_t Model::n_params() const { return impl_->model->n_params(); }

std::vector<std::string> Model::meta_keys() const {
  std::vector<std::string> keys;
  for (const GgufKv& kv : impl_->model->file().metadata()) keys.push_back(kv.key);
  return keys;
}

std::optional<std::string> Model::meta(std::string_view key) const {
  const GgufValue* v = impl_->model->file().find(key);
  if (!v) return std::nullopt;
  if (const std::string* s = v->as_string()) return *s;
  if (const GgufArray* a = v->as_array()) return fmt::format("[{} x {}]", a->size(), gguf_value_type_name(a->elem_type));
  if (v->type == GgufValueType::BOOL) return *v->as_bool() ? "true" : "false";
  if (v->is_float()) return fmt::format("{}", *v->as_float());
  if (const auto i = v->as_int()) return fmt::format("{}", *i);
  return fmt::format("{}", std::get<uint64_t>(v->v));  // uint64 above INT64_MAX
}

std::optional<std::string> Model::chat_template() const {
  return impl_->model->file().get_string("tokenizer.chat_template");
}

int32_t Model::bos() const { return impl_->tokenizer.bos(); }
int32_t Model::eos() const { return impl_->tokenizer.eos(); }
int32_t Model::eot() const { return impl_->tokenizer.eot(); }
bool Model::add_bos() const { return impl_->tokenizer.data().add_bos; }

bool Model::is_eog(int32_t id) const {
  return id >= 0 && id < impl_->tokenizer.n_vocab() && impl_->tokenizer.is_eog(id);
}

bool Model::is_control(int32_t id) const {
  if (id < 0 || id >= impl_->tokenizer.n_vocab()) return false;
  const TokenType t = impl_->tokenizer.token_type(id);
  return t == TokenType::Control || t == TokenType::Unknown;
}

std::optional<int32_t> Model::find_token(std::string_view text) const { return impl_->tokenizer.find_token(text); }

std::vector<int32_t> Model::tokenize(std::string_view text, bool add_special, bool parse_special) const {
  return impl_->tokenizer.encode(text, add_special, parse_special);
}

std::string Model::token_piece(int32_t id, bool special) const { return impl_->tokenizer.token_to_piece(id, special); }

std::string Model::detokenize(std::span<const int32_t> ids, bool special) const {
  return impl_->tokenizer.decode(ids, special);
}

struct Detokenizer::Impl {
  DecodeStream stream;
};

Detokenizer::Detokenizer(const Model& model, bool special)
    : impl_(std::make_unique<Impl>(Impl{DecodeStream(model.impl().tokenizer, special)})) {}
Detokenizer::~Detokenizer() = default;
Detokenizer::Detokenizer(Detokenizer&&) noexcept = default;
Detokenizer& Detokenizer::operator=(Detokenizer&&) noexcept = default;
std::string Detokenizer::push(int32_t id) { return impl_->stream.push(id); }
std::string Detokenizer::flush() { return impl_->stream.flush(); }

}  // namespace trident::api
