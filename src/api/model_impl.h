// Private to api/: what a public Model holds.
#pragma once
#include <trident/model.h>

#include <memory>

#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace trident::api {

struct Model::Impl {
  std::unique_ptr<trident::Model> model;
  trident::Tokenizer tokenizer;
};

}  // namespace trident::api
