// trident's public C++ API: load a GGUF model, tokenize, evaluate batches of tokens from several
// sequences, sample. docs/api.md has the overview and an example; each header documents its
// functions (what they do, what they throw, thread-safety).
#pragma once
#include <trident/batch.h>
#include <trident/chat.h>
#include <trident/context.h>
#include <trident/error.h>
#include <trident/grammar.h>
#include <trident/model.h>
#include <trident/sampler.h>
