// Tokenizer tests: llama.cpp's test vectors (SPM on the Llama 2 and Phi-3 vocabularies, BPE on
// Qwen2's), stories260K's known prompt and generation, round trips, streaming, bad vocabularies.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/error.h"
#include "format/gguf.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/pre_tokenizer.h"
#include "qwen2_vocab.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace trident {
namespace {

std::string shared_path(std::string_view rel) {
  return std::string(TRIDENT_SHARED_DIR) + "/models/" + std::string(rel);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_on(const std::string& s, std::string_view sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(sep, pos)) != std::string::npos; pos = hit + sep.size())
    out.push_back(s.substr(pos, hit - pos));
  out.push_back(s.substr(pos));
  return out;
}

std::vector<int32_t> parse_ids(const std::string& line) {
  std::vector<int32_t> ids;
  std::istringstream in(line);
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

// Tokenizers are costly to build (up to 150k tokens), so each is built once per test binary.
const Tokenizer& gguf_tokenizer(const std::string& file) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[file];
  if (!slot) {
    auto f = GgufFile::open(shared_path(file));
    slot = std::make_unique<Tokenizer>(vocab_from_gguf(*f));
  }
  return *slot;
}

const Tokenizer& qwen2() {
  static const Tokenizer tok(test::qwen2_vocab(std::string(TRIDENT_SHARED_DIR) + "/models/qwen2-tokenizer"));
  return tok;
}

void expect_vectors(const Tokenizer& tok, const std::string& name) {
  const auto inputs = split_on(slurp(shared_path("tokenizer-tests/" + name + ".inp")),
                               "\n__ggml_vocab_test__\n");
  const auto lines = split_on(slurp(shared_path("tokenizer-tests/" + name + ".out")), "\n");
  ASSERT_EQ(inputs.size(), 47u);
  ASSERT_EQ(lines.size(), inputs.size());
  size_t passed = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto got = tok.encode(inputs[i], /*add_special=*/false);
    if (got == parse_ids(lines[i])) {
      ++passed;
    } else {
      ADD_FAILURE() << name << " line " << i << " input '" << inputs[i] << "'";
    }
  }
  EXPECT_EQ(passed, inputs.size());
}

const std::vector<int32_t> kStoriesGeneration = {
    403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
    401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385,
    328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267,
    337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13,  438, 310};
const std::string kStoriesText =
    " Once upon a time, there was a little girl named Lily. She loved to play outside in the "
    "park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n"
    "Lily";

const std::vector<std::string> kRoundTrip = {
    "Hello world",
    "  leading and trailing spaces  ",
    "tabs\tand\nnew\r\nlines",
    "Grüße, naïve café — ½ × ∞",
    "нещо на Български, 中文字符, 日本語のテキスト",
    "emoji 🦙🚀 and a ZWJ family 👨‍👩‍👧 ✅",
    "numbers 3.14159 and 1234567890",
};

TEST(TokenizerSpm, LlamaSpmVectors) { expect_vectors(gguf_tokenizer("llama-2-tiny-random.gguf"), "ggml-vocab-llama-spm.gguf"); }

TEST(TokenizerSpm, Phi3Vectors) { expect_vectors(gguf_tokenizer("ggml-vocab-phi-3.gguf"), "ggml-vocab-llama-spm.gguf"); }

TEST(TokenizerBpe, Qwen2Vectors) { expect_vectors(qwen2(), "ggml-vocab-qwen2.gguf"); }

TEST(TokenizerSpm, Stories260KPrompt) {
  const Tokenizer& tok = gguf_tokenizer("stories260K.gguf");
  EXPECT_EQ(tok.n_vocab(), 512);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  const std::vector<int32_t> want = {1, 403, 407, 261, 378, 432, 383, 286};
  EXPECT_EQ(tok.encode("Once upon a time, there was", true), want);
  EXPECT_EQ(tok.encode("", true), std::vector<int32_t>{1});
  EXPECT_TRUE(tok.encode("", false).empty());
}

TEST(TokenizerSpm, Stories260KGenerationDecodes) {
  const Tokenizer& tok = gguf_tokenizer("stories260K.gguf");
  // The generation followed BOS, so the whole sequence keeps the leading space...
  std::vector<int32_t> with_bos = {1};
  with_bos.insert(with_bos.end(), kStoriesGeneration.begin(), kStoriesGeneration.end());
  EXPECT_EQ(tok.decode(with_bos), kStoriesText);
  // ...while ids alone lose the space prefix encode() would have added (llama.cpp's rule).
  EXPECT_EQ(tok.decode(kStoriesGeneration), kStoriesText.substr(1));
  // A stream is a continuation: it never strips.
  DecodeStream stream(tok);
  std::string streamed;
  for (int32_t id : kStoriesGeneration) streamed += stream.push(id);
  streamed += stream.flush();
  EXPECT_EQ(streamed, kStoriesText);
  EXPECT_EQ(tok.decode(with_bos, /*show_special=*/true), "<s>" + kStoriesText);
}

TEST(TokenizerSpm, RoundTrip) {
  for (const char* file : {"llama-2-tiny-random.gguf", "stories260K.gguf", "ggml-vocab-phi-3.gguf"}) {
    const Tokenizer& tok = gguf_tokenizer(file);
    for (const std::string& s : kRoundTrip) {
      EXPECT_EQ(tok.decode(tok.encode(s, false)), s) << file;
      // With BOS the prefix space stays, as in llama.cpp.
      EXPECT_EQ(tok.decode(tok.encode(s, true)), " " + s) << file;
    }
  }
}

TEST(TokenizerBpe, RoundTrip) {
  const Tokenizer& tok = qwen2();
  for (const std::string& s : kRoundTrip) EXPECT_EQ(tok.decode(tok.encode(s, true)), s);
  // Byte-level BPE can carry any bytes, even invalid UTF-8.
  const std::string bad = "ok \xFF\xC3 then \xE2\x82 end \xF0\x9F";
  EXPECT_EQ(tok.decode(tok.encode(bad, false)), bad);
}

TEST(TokenizerBpe, ParseSpecial) {
  const Tokenizer& tok = qwen2();
  const std::string chat = "<|im_start|>user\nHi<|im_end|>";
  const auto ids = tok.encode(chat, false, /*parse_special=*/true);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(ids.back(), 151645);
  EXPECT_EQ(tok.decode(ids), "user\nHi");  // control tokens hidden by default
  EXPECT_EQ(tok.decode(ids, true), chat);
  // Without parse_special the markers are plain text.
  const auto plain = tok.encode(chat, false, false);
  for (int32_t id : plain) EXPECT_LT(id, 151643);
  EXPECT_EQ(tok.decode(plain), chat);
}

TEST(TokenizerSpecial, EndOfGeneration) {
  const Tokenizer& q = qwen2();
  EXPECT_TRUE(q.is_eog(151643));   // <|endoftext|>
  EXPECT_TRUE(q.is_eog(151645));   // <|im_end|>
  EXPECT_FALSE(q.is_eog(151644));  // <|im_start|>
  EXPECT_FALSE(q.is_eog(0));
  EXPECT_EQ(q.eot(), 151645);
  const Tokenizer& phi = gguf_tokenizer("ggml-vocab-phi-3.gguf");
  EXPECT_TRUE(phi.is_eog(32000));  // <|endoftext|>, the eos
  EXPECT_TRUE(phi.is_eog(32007));  // <|end|>
  EXPECT_FALSE(phi.is_eog(32010)); // <|user|>
  const Tokenizer& st = gguf_tokenizer("stories260K.gguf");
  EXPECT_TRUE(st.is_eog(2));
  EXPECT_FALSE(st.is_eog(1));
  EXPECT_FALSE(st.is_eog(-1));
  EXPECT_FALSE(st.is_eog(512));
}

TEST(TokenizerSpm, Phi3SpecialTokensStripFollowingWhitespace) {
  const Tokenizer& tok = gguf_tokenizer("ggml-vocab-phi-3.gguf");
  EXPECT_TRUE(tok.data().rstrip_special);
  const auto a = tok.encode("<|user|>\nHello<|end|>\n", true, true);
  const auto b = tok.encode("<|user|>Hello<|end|>", true, true);
  EXPECT_EQ(a, b);
  ASSERT_GE(a.size(), 3u);
  EXPECT_EQ(a[0], 1);
  EXPECT_EQ(a[1], 32010);
  EXPECT_EQ(a.back(), 32007);
}

TEST(TokenizerDecodeStream, HoldsBackSplitCharacter) {
  const Tokenizer& tok = gguf_tokenizer("llama-2-tiny-random.gguf");
  // "🦙" has no token of its own: it encodes as four <0xNN> byte tokens.
  const auto ids = tok.encode("🦙", false);
  ASSERT_EQ(ids.size(), 5u);  // "▁" + 4 bytes
  DecodeStream s(tok);
  EXPECT_EQ(s.push(ids[0]), " ");
  EXPECT_EQ(s.push(ids[1]), "");
  EXPECT_EQ(s.push(ids[2]), "");
  EXPECT_EQ(s.push(ids[3]), "");
  EXPECT_EQ(s.push(ids[4]), "🦙");
  EXPECT_EQ(s.flush(), "");
  // An incomplete tail comes out as U+FFFD on flush; a broken sequence mid-stream at once.
  const int32_t f0 = *tok.find_token("<0xF0>"), x41 = *tok.find_token("<0x41>");
  DecodeStream t(tok);
  EXPECT_EQ(t.push(f0), "");
  EXPECT_EQ(t.push(x41), "\xEF\xBF\xBD" "A");
  EXPECT_EQ(t.push(f0), "");
  EXPECT_EQ(t.flush(), "\xEF\xBF\xBD");
}

TEST(TokenizerDecodeStream, Qwen2SplitCharacter) {
  const Tokenizer& tok = qwen2();
  const auto ids = tok.encode("🦙🦙", false);
  DecodeStream s(tok);
  std::string out;
  for (int32_t id : ids) {
    const std::string part = s.push(id);
    EXPECT_TRUE(part.empty() || part == "🦙" || part == "🦙🦙") << part;
    out += part;
  }
  out += s.flush();
  EXPECT_EQ(out, "🦙🦙");
}

TEST(TokenizerPieces, SpecialVisibility) {
  const Tokenizer& tok = gguf_tokenizer("stories260K.gguf");
  EXPECT_EQ(tok.token_to_piece(1), "");
  EXPECT_EQ(tok.token_to_piece(1, true), "<s>");
  EXPECT_EQ(tok.token_to_piece(0), "");  // <unk> is hidden like control tokens
  EXPECT_EQ(tok.token_to_piece(13), "\n");  // <0x0A>
  EXPECT_EQ(tok.token_to_piece(403), " Once");
  EXPECT_THROW(tok.token_to_piece(512), Error);
  EXPECT_THROW(tok.token_to_piece(-1), Error);
}

TEST(TokenizerBpe, EncodesTenKilobytesQuickly) {
  const Tokenizer& tok = qwen2();
  std::string text;
  while (text.size() < 10 * 1024)
    text += "The quick brown fox jumps over the lazy dog; numbers 12345, emoji 🚀, "
            "Grüße aus Köln, 中文字符 and some    spaced   text.\n";
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok.encode(text, false);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(ids.size(), 1000u);
  EXPECT_LT(secs, 0.25) << "10 KB took " << secs << " s";
  EXPECT_EQ(tok.decode(ids), text);
  // One huge pre-token must not go quadratic.
  const std::string run(100000, 'a');
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(tok.decode(tok.encode(run, false)), run);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count(), 2.0);
}

std::vector<std::string> pre_split(std::string_view pre, std::string_view text) {
  const PreTokenizerSpec* spec = find_pre_tokenizer(pre);
  if (!spec) throw std::runtime_error("no pre-tokenizer " + std::string(pre));
  const RegexSplitter splitter(spec->patterns);
  std::vector<std::string> out;
  for (std::string_view piece : splitter.split(text)) out.emplace_back(piece);
  return out;
}

TEST(TokenizerPreTokenizer, RegexFamilies) {
  using Pieces = std::vector<std::string>;
  EXPECT_EQ(pre_split("qwen2", "I'VE 12345"), (Pieces{"I", "'VE", " ", "1", "2", "3", "4", "5"}));
  EXPECT_EQ(pre_split("llama3", "I'VE 12345"), (Pieces{"I", "'VE", " ", "123", "45"}));
  // \s+(?!\S) leaves the last space to the next word; newline runs stay whole.
  EXPECT_EQ(pre_split("qwen2", "a   b\n\n c"), (Pieces{"a", "  ", " b", "\n\n", " c"}));
  EXPECT_EQ(pre_split("gpt2", "a   b's"), (Pieces{"a", "  ", " b", "'s"}));
  // llama.cpp's "default": punctuation runs, GPT-2 words, digit runs in threes.
  EXPECT_EQ(pre_split("default", "x=1234567"), (Pieces{"x", "=", "123", "456", "7"}));
  // Invalid UTF-8 never matches and becomes its own piece, bytes intact.
  EXPECT_EQ(pre_split("qwen2", "ab\xFF" "cd"), (Pieces{"ab", "\xFF", "cd"}));
  EXPECT_TRUE(pre_split("qwen2", "").empty());
}

// Every byte as a token plus a few merges: enough to watch ranks, ignore_merges and clean-up.
VocabData byte_level_vocab(std::string pre) {
  VocabData v;
  v.kind = TokenizerKind::Bpe;
  v.pre = std::move(pre);
  v.add_space_prefix = false;
  for (int b = 0; b < 256; ++b) {
    std::string t;
    append_byte_level(std::string(1, char(b)), t);
    v.tokens.push_back(t);
  }
  for (const char* t : {"he", "ll", "hell", "hello", "\xC4\xA0world"}) v.tokens.push_back(t);
  v.merges = {"l l", "h e", "he ll", "hell o"};
  return v;
}

TEST(TokenizerBpe, MergesAndIgnoreMerges) {
  const Tokenizer gpt2(byte_level_vocab("gpt2"));
  const int32_t hello = *gpt2.find_token("hello"), world = *gpt2.find_token("\xC4\xA0world");
  auto ids = gpt2.encode("hello world", false);
  ASSERT_EQ(ids.size(), 7u);  // "hello" by merges; " world" has none, so 6 single characters
  EXPECT_EQ(ids[0], hello);
  EXPECT_EQ(gpt2.decode(ids), "hello world");
  // llama3 emits a word that is itself in the vocabulary without consulting the merges.
  const Tokenizer llama3(byte_level_vocab("llama3"));
  EXPECT_EQ(llama3.encode("hello world", false), (std::vector<int32_t>{hello, world}));
}

TEST(TokenizerBpe, CleanSpacesFollowsPreTokenizer) {
  const std::string text = "Hello , world ! It 's a ' quoted ' word .";
  const Tokenizer gpt2(byte_level_vocab("gpt2"));
  EXPECT_EQ(gpt2.decode(gpt2.encode(text, false)), "Hello, world! It's a'quoted'word.");
  const Tokenizer qwen(byte_level_vocab("qwen2"));
  EXPECT_EQ(qwen.decode(qwen.encode(text, false)), text);
}

TEST(TokenizerRobustness, ArbitraryBytes) {
  // Invalid UTF-8, NULs, stray ▁ and special-looking text: encoding never throws, and byte-level
  // BPE gives back exactly the input.
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&] { state ^= state << 13, state ^= state >> 7, state ^= state << 17; return state; };
  const std::vector<std::string> atoms = {"a", " ", "\n", "\xE2\x96\x81", "<|im_end|>", "<s>",
                                          "\xF0\x9F\xA6\x99", "\xFF", "\xC3", std::string(1, '\0')};
  const Tokenizer& llama = gguf_tokenizer("llama-2-tiny-random.gguf");
  for (int i = 0; i < 300; ++i) {
    std::string s;
    const int n = int(next() % 24);
    for (int k = 0; k < n; ++k)
      s += next() % 2 ? atoms[next() % atoms.size()] : std::string(1, char(next()));
    EXPECT_EQ(qwen2().decode(qwen2().encode(s, false)), s);
    for (int32_t id : llama.encode(s, true, true)) EXPECT_TRUE(id >= 0 && id < llama.n_vocab());
  }
}

// ---- bad vocabularies ----

using test::error_of;

VocabData small_spm() {
  VocabData v;
  v.tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81" "a", "b"};
  v.scores = {0, 0, 0, -1, -2};
  v.token_types = {2, 3, 3, 1, 1};
  v.bos = 1, v.eos = 2, v.unk = 0;
  v.add_bos = true;
  return v;
}

TEST(TokenizerVocab, ValidateAcceptsGoodVocab) {
  EXPECT_NO_THROW(validate_vocab(small_spm(), "test"));
  VocabData v = small_spm();
  v.pad = -1;
  EXPECT_NO_THROW(validate_vocab(v, "test"));
}

TEST(TokenizerVocab, ValidateErrors) {
  VocabData v = small_spm();
  v.scores.pop_back();
  EXPECT_EQ(error_of([&] { validate_vocab(v, "m.gguf"); }),
            "m.gguf: key 'tokenizer.ggml.scores': expected 5 entries (one per token), found 4");

  v = small_spm();
  v.token_types.push_back(1);
  EXPECT_EQ(error_of([&] { validate_vocab(v, "m.gguf"); }),
            "m.gguf: key 'tokenizer.ggml.token_type': expected 5 entries (one per token), found 6");

  v = small_spm();
  v.token_types[4] = 9;
  EXPECT_EQ(error_of([&] { validate_vocab(v, "m.gguf"); }),
            "m.gguf: key 'tokenizer.ggml.token_type': entry 4: expected a type 0..6, found 9");

  v = small_spm();
  v.bos = 5;
  EXPECT_EQ(error_of([&] { validate_vocab(v, "m.gguf"); }),
            "m.gguf: key 'tokenizer.ggml.bos_token_id': expected a token id below 5 (or unset), "
            "found 5");

  v = small_spm();
  v.pad = -7;
  EXPECT_EQ(error_of([&] { validate_vocab(v, "m.gguf"); }),
            "m.gguf: key 'tokenizer.ggml.padding_token_id': expected a token id below 5 (or "
            "unset), found -7");

  v = small_spm();
  v.bos = -1;
  EXPECT_EQ(error_of([&] { validate_vocab(v, "m.gguf"); }),
            "m.gguf: key 'tokenizer.ggml.add_bos_token': expected tokenizer.ggml.bos_token_id to "
            "be set, found it unset");

  v = small_spm();
  v.tokens[4] = "<s>";
  EXPECT_EQ(error_of([&] { validate_vocab(v, "m.gguf"); }),
            "m.gguf: key 'tokenizer.ggml.tokens': entry 4 \"<s>\" repeats entry 1");

  v = small_spm();
  v.tokens.clear(), v.scores.clear(), v.token_types.clear();
  EXPECT_EQ(error_of([&] { validate_vocab(v, "m.gguf"); }),
            "m.gguf: key 'tokenizer.ggml.tokens': expected at least one token, found none");

  v = small_spm();
  v.kind = TokenizerKind::Bpe;
  v.pre = "klingon";
  EXPECT_EQ(error_of([&] { validate_vocab(v, "m.gguf"); }),
            "m.gguf: key 'tokenizer.ggml.pre': expected one of 'qwen2', 'deepseek-r1-qwen', "
            "'llama3', 'llama-bpe', 'llama-v3', 'gpt-2', 'gpt2', 'default', found 'klingon'");

  v.pre = "qwen2";
  v.merges = {"a b", "ab"};
  EXPECT_EQ(error_of([&] { validate_vocab(v, "m.gguf"); }),
            "m.gguf: key 'tokenizer.ggml.merges': entry 1: expected \"left right\", found \"ab\"");

  EXPECT_EQ(error_of([] { tokenizer_kind_from_name("t5", "m.gguf"); }),
            "m.gguf: key 'tokenizer.ggml.model': expected 'llama' or 'gpt2', found 't5'");
  EXPECT_EQ(tokenizer_kind_from_name("llama", "m.gguf"), TokenizerKind::Spm);
  EXPECT_EQ(tokenizer_kind_from_name("gpt2", "m.gguf"), TokenizerKind::Bpe);

  // The Tokenizer constructor validates too.
  v = small_spm();
  v.eos = 99;
  EXPECT_THROW(Tokenizer{v}, Error);
}

// A vocab-only GGUF v3 written byte by byte, to drive vocab_from_gguf through bad metadata.
class GgufWriter {
 public:
  void str(std::string_view key, std::string_view value) { kv(key, 8), put_str(value); }
  void u32(std::string_view key, uint32_t value) { kv(key, 4), put(value); }
  void strings(std::string_view key, const std::vector<std::string>& xs) {
    kv(key, 9), put(uint32_t(8)), put(uint64_t(xs.size()));
    for (const auto& x : xs) put_str(x);
  }
  void floats(std::string_view key, const std::vector<float>& xs) {
    kv(key, 9), put(uint32_t(6)), put(uint64_t(xs.size()));
    for (float x : xs) put(x);
  }
  std::string write(const std::string& name) const {
    std::string file = "GGUF";
    auto append = [&](auto x) { file.append(reinterpret_cast<const char*>(&x), sizeof x); };
    append(uint32_t(3)), append(uint64_t(0)), append(uint64_t(n_kv_));
    file += body_;
    file.resize((file.size() + 31) / 32 * 32, '\0');
    const auto path = (std::filesystem::temp_directory_path() /
                       (name + "-" + std::to_string(getpid()) + ".gguf")).string();
    std::ofstream(path, std::ios::binary) << file;
    return path;
  }

 private:
  template <typename T>
  void put(T x) { body_.append(reinterpret_cast<const char*>(&x), sizeof x); }
  void put_str(std::string_view s) { put(uint64_t(s.size())), body_.append(s); }
  void kv(std::string_view key, uint32_t type) { put_str(key), put(type), ++n_kv_; }
  std::string body_;
  uint64_t n_kv_ = 0;
};

std::string load_error(const GgufWriter& w, const std::string& name) {
  const std::string path = w.write(name);
  std::string err = error_of([&] { vocab_from_gguf(*GgufFile::open(path)); });
  std::filesystem::remove(path);
  const size_t at = err.find(path);
  if (at != std::string::npos) err.replace(at, path.size(), "F");
  return err;
}

TEST(TokenizerVocab, GgufErrors) {
  const std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "a"};
  GgufWriter w;
  w.str("tokenizer.ggml.model", "bert");
  w.strings("tokenizer.ggml.tokens", tokens);
  EXPECT_EQ(load_error(w, "tok-model"),
            "F: key 'tokenizer.ggml.model': expected 'llama' or 'gpt2', found 'bert'");

  GgufWriter no_tokens;
  no_tokens.str("tokenizer.ggml.model", "llama");
  EXPECT_EQ(load_error(no_tokens, "tok-none"),
            "F: missing required key 'tokenizer.ggml.tokens' (an array of strings)");

  GgufWriter scores;
  scores.str("tokenizer.ggml.model", "llama");
  scores.strings("tokenizer.ggml.tokens", tokens);
  scores.floats("tokenizer.ggml.scores", {0, 0, 0});
  EXPECT_EQ(load_error(scores, "tok-scores"),
            "F: key 'tokenizer.ggml.scores': expected 4 entries (one per token), found 3");

  GgufWriter bos;
  bos.str("tokenizer.ggml.model", "llama");
  bos.strings("tokenizer.ggml.tokens", tokens);
  bos.u32("tokenizer.ggml.bos_token_id", 7);
  bos.u32("tokenizer.ggml.padding_token_id", 4294967295u);  // unset: fine
  EXPECT_EQ(load_error(bos, "tok-bos"),
            "F: key 'tokenizer.ggml.bos_token_id': expected a token id below 4 (or unset), found 7");

  GgufWriter bpe;
  bpe.str("tokenizer.ggml.model", "gpt2");
  bpe.strings("tokenizer.ggml.tokens", tokens);
  EXPECT_EQ(load_error(bpe, "tok-merges"),
            "F: missing required key 'tokenizer.ggml.merges' (an array of strings)");

  GgufWriter ok;  // llama.cpp's defaults fill in the ids
  ok.str("tokenizer.ggml.model", "llama");
  ok.strings("tokenizer.ggml.tokens", tokens);
  ok.u32("tokenizer.ggml.padding_token_id", 4294967295u);
  const std::string path = ok.write("tok-ok");
  const VocabData v = vocab_from_gguf(*GgufFile::open(path));
  std::filesystem::remove(path);
  EXPECT_EQ(v.bos, 1);
  EXPECT_EQ(v.eos, 2);
  EXPECT_EQ(v.unk, 0);
  EXPECT_EQ(v.pad, -1);
  EXPECT_TRUE(v.add_bos);
  EXPECT_TRUE(v.add_space_prefix);
}

}  // namespace
}  // namespace trident
