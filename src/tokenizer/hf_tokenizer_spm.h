// SentencePiece tokenizer.model files (a serialized sentencepiece.ModelProto) without a
// protobuf dependency: only the fields a GGUF vocabulary needs are read or written.
//
//   ModelProto     { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
//                    NormalizerSpec normalizer_spec = 3; }
//   SentencePiece  { string piece = 1; float score = 2; Type type = 3 (default NORMAL); }
//   TrainerSpec    { ModelType model_type = 3; int32 vocab_size = 4; bool byte_fallback = 35;
//                    int32 unk_id = 40; bos_id = 41; eos_id = 42; pad_id = 43; }
//   NormalizerSpec { string name = 1; bool add_dummy_prefix = 3 (default true); }
//
// SentencePiece's piece types use the same numbers as GGUF's token types (NORMAL 1 ... BYTE 6).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace trident {

struct SpmModel {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int32_t> types;
  int32_t model_type = 1;  // 1 UNIGRAM (proto default), 2 BPE, 3 WORD, 4 CHAR
  bool byte_fallback = false;
  bool add_dummy_prefix = true;
  // TrainerSpec ids as stored; the proto defaults are unk 0, bos 1, eos 2, pad -1.
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
};

// Throws Error("<path>: ...") on malformed wire data (bad varint, length past the end, wrong
// wire type for a known field, no pieces).
SpmModel parse_spm_model(const std::string& bytes, const std::string& path);
std::string serialize_spm_model(const SpmModel& m);

}  // namespace trident
