#include "tokenizer/hf_tokenizer_spm.h"

#include <cstring>
#include <string_view>

#include "format/error.h"

namespace trident {
namespace {

enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

// Bounds-checked reader over one message's bytes; every error names the file and offset.
class WireReader {
 public:
  WireReader(std::string_view data, const std::string& path, size_t base)
      : d_(data), path_(path), base_(base) {}
  bool done() const { return pos_ >= d_.size(); }
  size_t offset() const { return base_ + pos_; }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= d_.size()) fail("{}: truncated varint at offset {}", path_, offset());
      const uint8_t b = uint8_t(d_[pos_++]);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("{}: varint longer than 10 bytes at offset {}", path_, offset());
  }
  uint32_t fixed32() {
    if (d_.size() - pos_ < 4) fail("{}: truncated 32-bit field at offset {}", path_, offset());
    uint32_t v;
    std::memcpy(&v, d_.data() + pos_, 4);
    pos_ += 4;
    return v;
  }
  std::string_view bytes(size_t* at = nullptr) {
    const uint64_t n = varint();
    if (n > d_.size() - pos_)
      fail("{}: field of {} bytes at offset {} runs past the end of its message", path_, n, offset());
    if (at) *at = offset();
    std::string_view s = d_.substr(pos_, size_t(n));
    pos_ += size_t(n);
    return s;
  }
  void skip(uint32_t wire) {
    switch (wire) {
      case kVarint: varint(); break;
      case kFixed64:
        if (d_.size() - pos_ < 8) fail("{}: truncated 64-bit field at offset {}", path_, offset());
        pos_ += 8;
        break;
      case kLen: bytes(); break;
      case kFixed32: fixed32(); break;
      default: fail("{}: unsupported wire type {} at offset {}", path_, wire, offset());
    }
  }
  // Reads a key; returns false at the end of the message.
  bool key(uint32_t& field, uint32_t& wire) {
    if (done()) return false;
    const uint64_t k = varint();
    field = uint32_t(k >> 3);
    wire = uint32_t(k & 7);
    if (field == 0) fail("{}: field number 0 at offset {}", path_, offset());
    return true;
  }
  void expect(uint32_t wire, uint32_t want, const char* what) {
    if (wire != want) fail("{}: field '{}' has wire type {}, expected {} (offset {})", path_, what, wire, want, offset());
  }

 private:
  std::string_view d_;
  const std::string& path_;
  size_t base_;
  size_t pos_ = 0;
};

void parse_piece(std::string_view msg, size_t at, const std::string& path, SpmModel& m) {
  WireReader r(msg, path, at);
  std::string piece;
  float score = 0;
  int32_t type = 1;
  uint32_t field, wire;
  while (r.key(field, wire)) {
    if (field == 1) {
      r.expect(wire, kLen, "piece");
      piece = std::string(r.bytes());
    } else if (field == 2) {
      r.expect(wire, kFixed32, "score");
      const uint32_t bits = r.fixed32();
      std::memcpy(&score, &bits, 4);
    } else if (field == 3) {
      r.expect(wire, kVarint, "type");
      type = int32_t(r.varint());
    } else {
      r.skip(wire);
    }
  }
  m.pieces.push_back(std::move(piece));
  m.scores.push_back(score);
  m.types.push_back(type);
}

void parse_trainer(std::string_view msg, size_t at, const std::string& path, SpmModel& m) {
  WireReader r(msg, path, at);
  uint32_t field, wire;
  while (r.key(field, wire)) {
    auto int_field = [&](const char* name) {
      r.expect(wire, kVarint, name);
      return int32_t(uint32_t(r.varint()));  // int32 -1 is sent sign-extended; keep the low bits
    };
    switch (field) {
      case 3: m.model_type = int_field("trainer_spec.model_type"); break;
      case 35: m.byte_fallback = int_field("trainer_spec.byte_fallback") != 0; break;
      case 40: m.unk_id = int_field("trainer_spec.unk_id"); break;
      case 41: m.bos_id = int_field("trainer_spec.bos_id"); break;
      case 42: m.eos_id = int_field("trainer_spec.eos_id"); break;
      case 43: m.pad_id = int_field("trainer_spec.pad_id"); break;
      default: r.skip(wire);
    }
  }
}

void parse_normalizer(std::string_view msg, size_t at, const std::string& path, SpmModel& m) {
  WireReader r(msg, path, at);
  uint32_t field, wire;
  while (r.key(field, wire)) {
    if (field == 3) {
      r.expect(wire, kVarint, "normalizer_spec.add_dummy_prefix");
      m.add_dummy_prefix = r.varint() != 0;
    } else {
      r.skip(wire);
    }
  }
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}
void put_key(std::string& out, uint32_t field, uint32_t wire) { put_varint(out, (uint64_t(field) << 3) | wire); }
void put_bytes(std::string& out, uint32_t field, std::string_view s) {
  put_key(out, field, kLen);
  put_varint(out, s.size());
  out.append(s);
}
void put_int(std::string& out, uint32_t field, int64_t v) {
  put_key(out, field, kVarint);
  put_varint(out, uint64_t(v));  // negative int32 values are sign-extended to 10 bytes, as protobuf does
}

}  // namespace

SpmModel parse_spm_model(const std::string& bytes, const std::string& path) {
  SpmModel m;
  WireReader r(bytes, path, 0);
  uint32_t field, wire;
  while (r.key(field, wire)) {
    if (field >= 1 && field <= 3) {
      r.expect(wire, kLen, field == 1 ? "pieces" : field == 2 ? "trainer_spec" : "normalizer_spec");
      size_t at = 0;
      const std::string_view msg = r.bytes(&at);
      if (field == 1) parse_piece(msg, at, path, m);
      else if (field == 2) parse_trainer(msg, at, path, m);
      else parse_normalizer(msg, at, path, m);
    } else {
      r.skip(wire);
    }
  }
  if (m.pieces.empty()) fail("{}: no pieces (not a SentencePiece model?)", path);
  for (size_t i = 0; i < m.types.size(); ++i)
    if (m.types[i] < 1 || m.types[i] > 6)
      fail("{}: piece {} ('{}'): type {} is not a SentencePiece piece type (1..6)", path, i, m.pieces[i], m.types[i]);
  return m;
}

std::string serialize_spm_model(const SpmModel& m) {
  std::string out;
  for (size_t i = 0; i < m.pieces.size(); ++i) {
    std::string p;
    put_bytes(p, 1, m.pieces[i]);
    put_key(p, 2, kFixed32);
    uint32_t bits;
    std::memcpy(&bits, &m.scores[i], 4);
    p.append(reinterpret_cast<const char*>(&bits), 4);
    if (m.types[i] != 1) put_int(p, 3, m.types[i]);  // NORMAL is the default
    put_bytes(out, 1, p);
  }
  std::string t;
  put_int(t, 3, m.model_type);
  put_int(t, 4, int64_t(m.pieces.size()));
  put_int(t, 35, m.byte_fallback ? 1 : 0);
  put_int(t, 40, m.unk_id);
  put_int(t, 41, m.bos_id);
  put_int(t, 42, m.eos_id);
  put_int(t, 43, m.pad_id);
  put_bytes(out, 2, t);
  std::string n;
  put_bytes(n, 1, "identity");
  put_int(n, 3, m.add_dummy_prefix ? 1 : 0);
  put_int(n, 4, 0);  // remove_extra_whitespaces off: llama.cpp keeps runs of spaces
  put_bytes(out, 3, n);
  return out;
}

}  // namespace trident
