// GBNF parsing (exact errors), matching, token masks, the bounds on hostile grammars.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "grammar/gbnf.h"
#include "grammar/json_schema.h"
#include "grammar/grammar_matcher.h"
#include "grammar/token_mask.h"
#include "qwen2_vocab.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace trident {
namespace {

std::shared_ptr<const Grammar> compile(std::string_view text) { return std::make_shared<const Grammar>(parse_gbnf(text)); }

// Whole-string match: every byte accepted and the grammar complete at the end.
bool matches(std::string_view grammar, std::string_view text) {
  GrammarMatcher m(compile(grammar));
  return m.accept(text) && m.can_end();
}

// A prefix the grammar can still continue.
bool continues(std::string_view grammar, std::string_view text) {
  GrammarMatcher m(compile(grammar));
  return m.accept(text);
}

std::string parse_error(std::string_view text) {
  return test::error_of([&] { (void)parse_gbnf(text); });
}

TEST(GbnfParse, ErrorsNameLineColumnAndWhatWasExpected) {
  EXPECT_EQ(parse_error("root ::= \"a\" \"b"),
            "grammar: line 1, column 16: expected '\"' closing the string, found the end of the grammar");
  EXPECT_EQ(parse_error("root = \"a\""), "grammar: line 1, column 6: expected '::=' after the rule name 'root', found '='");
  EXPECT_EQ(parse_error("root ::= x\n\nx ::= [a-z"),
            "grammar: line 3, column 11: expected ']' closing the character class, found the end of the grammar");
  EXPECT_EQ(parse_error("root ::= \"\\q\""),
            "grammar: line 1, column 11: expected an escape (\\x \\u \\U \\t \\r \\n \\\\ \\\" \\[ \\]), found '\\q'");
  EXPECT_EQ(parse_error("root ::= \"\\x4\""), "grammar: line 1, column 14: expected 2 hex digits after \\x, found '\"'");
  EXPECT_EQ(parse_error("root ::= foo"), "grammar: line 1, column 10: undefined rule 'foo'");
  EXPECT_EQ(parse_error("root ::= \"a\"{3,1}"), "grammar: line 1, column 13: repetition {3,1} has its maximum below its minimum");
  EXPECT_EQ(parse_error("root ::= \"a\"{2001}"), "grammar: line 1, column 13: expected a repetition count of at most 2000, found 2001");
  EXPECT_EQ(parse_error("root ::= \"a\"{x}"), "grammar: line 1, column 14: expected a repetition count, found 'x'");
  EXPECT_EQ(parse_error("root ::= * \"a\""), "grammar: line 1, column 10: expected a symbol before '*'");
  EXPECT_EQ(parse_error("root ::= \"\"+"), "grammar: line 1, column 12: expected a symbol before '+'");
  EXPECT_EQ(parse_error("root ::= (\"a\" | \"b\"\n"), "grammar: line 2, column 1: expected ')' closing the group, found the end of the grammar");
  EXPECT_EQ(parse_error("root ::= \"a\" )"), "grammar: line 1, column 14: expected a symbol, '|' or the end of the line in rule 'root', found ')'");
  EXPECT_EQ(parse_error("root ::= \"a\"\n  | \"b\""), "grammar: line 2, column 3: expected a rule name, found '|'");
  EXPECT_EQ(parse_error("root ::= <think>"),
            "grammar: line 1, column 10: token references (<...>, !<...>) are not supported; write the text as a string");
  EXPECT_EQ(parse_error("root ::= \"\xff\""), "grammar: line 1, column 11: expected UTF-8 text, found byte 0xff");
  EXPECT_EQ(parse_error("item ::= \"a\""), "grammar: no rule named 'root' (the start rule)");
  EXPECT_EQ(parse_error(""), "grammar: no rule named 'root' (the start rule)");
  EXPECT_EQ(parse_error(std::string(200, '(')), "grammar: line 1, column 1: expected a rule name, found '('");
  EXPECT_EQ(parse_error("root ::= " + std::string(200, '(')), "grammar: line 1, column 110: groups nested deeper than 100");
}

TEST(GbnfParse, RefusesLeftRecursionAndExplodingRepetitions) {
  EXPECT_EQ(parse_error("root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]"),
            "grammar: rule 'expr' is left-recursive (it can reach itself before matching a character)");
  // Through a rule that matches nothing, and through a repetition of something empty.
  EXPECT_EQ(parse_error("root ::= e root \"x\" | \"y\"\ne ::= \"\" | \"z\""),
            "grammar: rule 'root' is left-recursive (it can reach itself before matching a character)");
  EXPECT_EQ(parse_error("root ::= e*\ne ::= \"a\"?"),
            "grammar: rule 'root_2' is left-recursive (it can reach itself before matching a character)");
  // Repetitions copy their item: refused once the expansion passes the symbol budget (groups
  // become rules, so nesting them does not multiply).
  std::string big = "root ::=";
  for (int i = 0; i < 70; ++i) big += " \"abcdefgh\"{2000}";
  EXPECT_EQ(parse_error(big), "grammar: line 1, column 1131: the grammar grows past 1048576 symbols once repetitions are expanded");
}

TEST(GbnfMatch, LiteralsClassesRepetitionsAndComments) {
  const std::string g = R"(# a comment line
root  ::= greeting " " name ("!" | "?")?   # trailing comment
greeting ::= "hi" | "hello"
name  ::= [A-Z] [a-z]* digit{0,2}
digit ::= [0-9]
)";
  EXPECT_TRUE(matches(g, "hi Bob"));
  EXPECT_TRUE(matches(g, "hello Ann42!"));
  EXPECT_TRUE(matches(g, "hi X?"));
  EXPECT_FALSE(matches(g, "hi bob"));
  EXPECT_FALSE(matches(g, "hi Bob123"));
  EXPECT_FALSE(matches(g, "hey Bob"));
  EXPECT_TRUE(continues(g, "hel"));
  EXPECT_FALSE(matches(g, "hel"));

  EXPECT_TRUE(matches(R"(root ::= "a"{3})", "aaa"));
  EXPECT_FALSE(matches(R"(root ::= "a"{3})", "aa"));
  EXPECT_FALSE(continues(R"(root ::= "a"{3})", "aaaa"));
  EXPECT_TRUE(matches(R"(root ::= "ab"{2,})", "ababab"));
  EXPECT_FALSE(matches(R"(root ::= "ab"{2,})", "ab"));
  EXPECT_TRUE(matches(R"(root ::= "x"+ "y"*)", "xxx"));
  EXPECT_FALSE(matches(R"(root ::= "x"+ "y"*)", "y"));
  EXPECT_TRUE(matches(R"(root ::= [^a-c\n]+)", "xyz"));
  EXPECT_FALSE(continues(R"(root ::= [^a-c\n]+)", "xb"));
  EXPECT_TRUE(matches(R"(root ::= . . .)", "a\xC3\xA9z"));  // '.' is one code point, é is 2 bytes
  EXPECT_TRUE(matches(R"(root ::= "\x41\u00e9\U0001F600\t\"\\\[\]")", "A\xC3\xA9\xF0\x9F\x98\x80\t\"\\[]"));
  EXPECT_TRUE(matches(R"(root ::= [\u00e0-\u00ff] "-" [\]\[])", "\xC3\xA0-]"));
  EXPECT_TRUE(matches("root ::= (\n  \"a\" |\n  \"b\"\n) \"c\"\r\n", "bc"));
  EXPECT_TRUE(matches(R"(root ::= "" | "a")", ""));
  EXPECT_TRUE(matches("root ::= \"a\"\nroot ::= \"b\"", "b"));  // a later definition replaces, as llama.cpp
}

TEST(GbnfMatch, PartialUtf8AcrossCallsAndRejectionKeepsTheState) {
  GrammarMatcher m(compile(R"(root ::= "\u00e9"+ "!")"));
  EXPECT_TRUE(m.accept("\xC3"));
  EXPECT_FALSE(m.can_end());
  EXPECT_FALSE(m.accept("\xC3"));  // a lead byte where a continuation byte must come
  EXPECT_FALSE(m.accept("x"));
  EXPECT_TRUE(m.accept("\xA9\xC3"));
  EXPECT_FALSE(m.accept("\xA8"));  // would complete U+00E8, which the grammar does not allow
  EXPECT_TRUE(m.accept("\xA9!"));
  EXPECT_TRUE(m.can_end());
  EXPECT_TRUE(m.finished());
  // Ill-formed UTF-8 is never accepted: overlong, surrogate, stray continuation, past U+10FFFF.
  GrammarMatcher any(compile("root ::= .*"));
  for (const char* bad : {"\xC0\x80", "\xED\xA0\x80", "\x80", "\xF4\x90\x80\x80", "\xE0\x80"}) EXPECT_FALSE(any.accept(bad)) << bad;
  EXPECT_TRUE(any.accept("\xF4\x8F\xBF\xBF"));
}

TEST(GbnfMatch, DeepRecursionRunsInBoundedStackAndAmbiguityIsCapped) {
  // Right recursion continues with the parent: 200k characters, constant stack depth.
  EXPECT_TRUE(matches(R"(root ::= "a" root | "a")", std::string(200000, 'a')));
  // Nesting grows the parse stack by one node per level.
  EXPECT_TRUE(matches(R"g(root ::= "(" root ")" | "")g", std::string(20000, '(') + std::string(20000, ')')));
  // Two continuations per character: the stacks double until the bound refuses the grammar.
  GrammarMatcher m(compile(R"(root ::= "a" root "b" | "a" root "c" | "")"));
  EXPECT_EQ(test::error_of([&] { m.accept(std::string(20, 'a')); }),
            "grammar: more than 4096 parse stacks alive at once (the grammar is too ambiguous)");
  // A mask over an ambiguous grammar: the stacks never exceed the bound, but one operation's
  // expansion work does.
  {
    GrammarMatcher amb(compile(R"(root ::= ("a" | "a" "a" | "a" "a" "a")* "b")"));
    ASSERT_TRUE(amb.accept(std::string(1000, 'a')));
    EXPECT_TRUE(amb.allows("b"));
  }
  // Many nullable paths to the same place: the work bound, not exponential time.
  std::string g = "root ::= ";
  for (int i = 0; i < 40; ++i) g += "e ";
  g += "\"x\"\ne ::= \"\" | \"\" | \"y\"";
  EXPECT_EQ(test::error_of([&] { GrammarMatcher big(compile(g)); }),
            "grammar: matching took more than 4194304 expansion steps (the grammar is too ambiguous)");
}

// A tiny vocabulary: ids 0..9, 9 is the end token, 8 a control token (empty piece).
VocabTrie small_vocab() {
  return VocabTrie({"a", "b", "ab", "ba", "\xC3", "\xA9", "\xC3\xA9", "{", "", "</s>"}, {9});
}

std::vector<int32_t> allowed_ids(GrammarMatcher& m, const VocabTrie& v) {
  std::vector<uint8_t> allowed;
  const size_t n = v.allowed(m, allowed);
  std::vector<int32_t> ids;
  for (size_t i = 0; i < allowed.size(); ++i)
    if (allowed[i]) ids.push_back(int32_t(i));
  EXPECT_EQ(n, ids.size());
  return ids;
}

TEST(TokenMask, SmallVocabularyStepByStep) {
  const VocabTrie v = small_vocab();
  GrammarMatcher m(compile(R"(root ::= "a" "b"* "\u00e9")"));
  EXPECT_EQ(allowed_ids(m, v), (std::vector<int32_t>{0, 2}));  // "a", "ab"
  ASSERT_TRUE(accept_token(m, v, 2));
  EXPECT_EQ(allowed_ids(m, v), (std::vector<int32_t>{1, 4, 6}));  // "b", "\xC3" (may become é), "é"
  EXPECT_FALSE(accept_token(m, v, 5));                               // a lone continuation byte
  EXPECT_FALSE(accept_token(m, v, 9));                               // cannot end yet
  ASSERT_TRUE(accept_token(m, v, 4));
  EXPECT_EQ(allowed_ids(m, v), (std::vector<int32_t>{5}));  // only the byte completing é
  ASSERT_TRUE(accept_token(m, v, 5));
  EXPECT_EQ(allowed_ids(m, v), (std::vector<int32_t>{9}));  // only the end token
  EXPECT_TRUE(accept_token(m, v, 9));

  std::vector<float> logits(12, 1.0f);  // the model's rows may be longer than the vocabulary
  GrammarMatcher fresh(compile(R"(root ::= "b" "a"?)"));
  EXPECT_EQ(apply_grammar(fresh, v, logits), 2u);
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_EQ(std::isinf(logits[i]), i != 1 && i != 3) << i;
  GrammarMatcher unspellable(compile(R"(root ::= "z")"));  // no token can spell "z"
  EXPECT_EQ(apply_grammar(unspellable, v, logits), 0u);
}

// The mask cache returns a state's mask again, and only for that state (stacks and partial
// character both count).
TEST(TokenMask, CacheIsKeyedByTheWholeState) {
  const VocabTrie v = small_vocab();
  GrammarMatcher m(compile(R"(root ::= ("a" | "\u00e9")* "b")"));
  MaskCache cache;
  const auto masked = [&] {
    std::vector<float> logits(10, 0.0f);
    apply_grammar(m, v, logits, &cache);
    std::vector<int32_t> ids;
    for (size_t i = 0; i < logits.size(); ++i)
      if (!std::isinf(logits[i])) ids.push_back(int32_t(i));
    return ids;
  };
  const std::vector<int32_t> start = {0, 1, 2, 4, 6};  // a, b, ab, \xC3, é
  EXPECT_EQ(masked(), start);
  ASSERT_TRUE(accept_token(m, v, 0));
  EXPECT_EQ(masked(), start);  // back in the loop: the cached mask
  ASSERT_TRUE(accept_token(m, v, 4));
  EXPECT_EQ(masked(), (std::vector<int32_t>{5}));  // mid-character: same stacks, another state
  ASSERT_TRUE(accept_token(m, v, 5));
  EXPECT_EQ(masked(), start);
  ASSERT_TRUE(accept_token(m, v, 1));
  EXPECT_EQ(masked(), (std::vector<int32_t>{9}));
}

// The trie walk must allow exactly the tokens that token-by-token matching allows, on a real
// 151k vocabulary, including states in the middle of a multi-byte character.
TEST(TokenMask, Qwen2TrieAgreesWithTokenByTokenMatching) {
  const Tokenizer tok(test::qwen2_vocab(test::shared_dir() + "/models/qwen2-tokenizer"));
  const VocabTrie vocab(tok);
  GrammarMatcher m(compile(json_object_gbnf()));
  for (const char* prefix : {"", "{", "{\"na", "{\"name\": ", "{\"name\": \"x\\u00", "{\"n\": -12.5e", "{\"k\": \"\xE4\xB8",
                             "{\"k\": [1, {}]}"}) {
    m.reset();
    ASSERT_TRUE(m.accept(prefix)) << prefix;
    std::vector<uint8_t> allowed;
    const size_t n = vocab.allowed(m, allowed);
    size_t expected_n = 0;
    for (int32_t id = 0; id < tok.n_vocab(); ++id) {
      const bool expected = vocab.is_end(id) ? m.can_end() : !vocab.piece(id).empty() && m.allows(vocab.piece(id));
      expected_n += expected;
      ASSERT_EQ(bool(allowed[size_t(id)]), expected) << "prefix " << prefix << " token " << id;
    }
    EXPECT_EQ(n, expected_n) << prefix;
    EXPECT_GT(n, 0u) << prefix;
  }
}

}  // namespace
}  // namespace trident
