// Qwen2's vocabulary as its GGUF conversion would carry it: vocab.json ids, merges.txt order,
// and the three special tokens that follow the regular vocabulary. From
// ../shared/models/qwen2-tokenizer; shared by the tokenizer and grammar tests and the grammar
// mask benchmark.
#pragma once
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tokenizer/tokenizer.h"

namespace trident::test {

// dir: the qwen2-tokenizer directory (vocab.json, merges.txt).
inline VocabData qwen2_vocab(const std::string& dir) {
  const auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  VocabData v;
  v.kind = TokenizerKind::Bpe;
  v.pre = "qwen2";
  const auto vocab = nlohmann::json::parse(slurp(dir + "/vocab.json"));
  v.tokens.resize(vocab.size());
  for (const auto& [text, id] : vocab.items()) v.tokens.at(id.get<size_t>()) = text;
  v.token_types.assign(v.tokens.size(), int32_t(TokenType::Normal));
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
    v.tokens.push_back(special);
    v.token_types.push_back(int32_t(TokenType::Control));
  }
  std::istringstream merges(slurp(dir + "/merges.txt"));
  for (std::string line; std::getline(merges, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    v.merges.push_back(line);
  }
  v.bos = v.pad = 151643;
  v.eos = 151645;
  v.add_bos = false;
  v.add_space_prefix = false;
  return v;
}

}  // namespace trident::test
