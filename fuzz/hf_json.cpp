// Fuzz target: a Hugging Face model directory's JSON files. The first input byte picks the file
// the rest becomes (config.json, tokenizer.json or tokenizer_config.json); the other files are
// small valid defaults. Reads the config and the tokenizer as convert does.
#include <cstdint>
#include <cstring>
#include <string>

#include "format/error.h"
#include "format/hf_config.h"
#include "fuzz_util.h"
#include "tokenizer/hf_tokenizer.h"

namespace {

constexpr const char* kConfig =
    R"({"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":64,"num_hidden_layers":1,)"
    R"("num_attention_heads":8,"num_key_value_heads":4,"intermediate_size":172,"vocab_size":8,)"
    R"("rms_norm_eps":1e-05,"max_position_embeddings":128,"bos_token_id":1,"eos_token_id":2})";
constexpr const char* kTokenizer =
    R"({"version":"1.0","added_tokens":[{"id":0,"content":"<unk>","special":true},)"
    R"({"id":1,"content":"<s>","special":true},{"id":2,"content":"</s>","special":true}],)"
    R"("pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":true},)"
    R"("model":{"type":"BPE","vocab":{"<unk>":0,"<s>":1,"</s>":2,"a":3,"b":4,"ab":5,"c":6,"abc":7},)"
    R"("merges":["a b","ab c"]}})";
constexpr const char* kTokenizerConfig = R"({"bos_token":"<s>","eos_token":"</s>","add_bos_token":true})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trident;
  if (size == 0) return 0;
  static const std::filesystem::path dir = fuzz::scratch_dir("hf");
  const char* names[] = {"config.json", "tokenizer.json", "tokenizer_config.json"};
  const char* defaults[] = {kConfig, kTokenizer, kTokenizerConfig};
  const int pick = data[0] % 3;
  for (int i = 0; i < 3; ++i) {
    if (i == pick) fuzz::write_file(dir / names[i], data + 1, size - 1);
    else fuzz::write_file(dir / names[i], reinterpret_cast<const uint8_t*>(defaults[i]), std::strlen(defaults[i]));
  }
  try {
    const HfModelConfig cfg = read_hf_model_config(dir.string());
    (void)cfg.config.opt_int("hidden_size");
    const HfTokenizer tok = read_hf_tokenizer(cfg, cfg.config.opt_int("vocab_size").value_or(8));
  } catch (const Error&) {
  }
  return 0;
}
