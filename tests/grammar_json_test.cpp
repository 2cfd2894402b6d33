// JSON schema -> GBNF: the grammar text, the errors, and `trident run --json-schema` with
// stories260K, whose output must parse as JSON matching the schema (generations through the
// public API: tests/api/grammar_api_test.cpp).
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "grammar/gbnf.h"
#include "grammar/grammar_matcher.h"
#include "grammar/json_schema.h"
#include "json_schema_check.h"
#include "test_util.h"

namespace trident {
namespace {

using test::Json;
using test::valid;

bool grammar_matches(const std::string& gbnf, const std::string& text) {
  GrammarMatcher m(std::make_shared<const Grammar>(parse_gbnf(gbnf)));
  return m.accept(text) && m.can_end();
}

std::string schema_error(const std::string& schema) {
  return test::error_of([&] { (void)json_schema_to_gbnf(std::string_view(schema)); });
}

TEST(JsonSchema, GrammarTextHasLlamaCppsShape) {
  const std::string gbnf = json_schema_to_gbnf(std::string_view(R"({"type": "object",
    "properties": {"name": {"type": "string", "maxLength": 3}, "age": {"type": "integer"},
                   "tags": {"type": "array", "items": {"type": "boolean"}, "maxItems": 2}},
    "required": ["name"], "additionalProperties": false})"));
  EXPECT_EQ(gbnf, R"(age ::= integer
age-kv ::= "\"age\"" space ":" space age
age-kv-rest ::= ( "," space tags-kv )?
boolean ::= ("true" | "false")
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= ("-"? integral-part)
integral-part ::= [0] | [1-9] [0-9]{0,15}
name ::= "\"" char{0,3} "\""
name-kv ::= "\"name\"" space ":" space name
root ::= "{" space name-kv ( "," space ( age-kv age-kv-rest | tags-kv ) )? space "}"
space ::= | " " | "\n"{1,2} [ \t]{0,20}
tags ::= "[" space (tags-item ("," space tags-item)?)? space "]"
tags-item ::= boolean
tags-kv ::= "\"tags\"" space ":" space tags
)");
  EXPECT_TRUE(grammar_matches(gbnf, R"({"name": "abc"})"));
  EXPECT_TRUE(grammar_matches(gbnf, R"({"name":"a\"","age":-12,"tags":[true, false]})"));
  EXPECT_TRUE(grammar_matches(gbnf, "{\n  \"name\": \"\",\n  \"tags\": []\n}"));
  EXPECT_FALSE(grammar_matches(gbnf, R"({"name": "abcd"})"));                  // maxLength
  EXPECT_FALSE(grammar_matches(gbnf, R"({"age": 1})"));                        // required
  EXPECT_FALSE(grammar_matches(gbnf, R"({"name": "a", "tags": [true, true, true]})"));  // maxItems
  EXPECT_FALSE(grammar_matches(gbnf, R"({"name": "a", "other": 1})"));        // additionalProperties
  EXPECT_FALSE(grammar_matches(gbnf, R"({"name": "a", "age": 01})"));         // JSON's integers
  EXPECT_FALSE(grammar_matches(gbnf, R"({"tags": [], "name": "a"})"));        // declared order, as llama.cpp
}

TEST(JsonSchema, KeywordsAndAnyJson) {
  const std::string e = json_schema_to_gbnf(std::string_view(R"({"enum": ["red", 3, null, {"a": [1]}]})"));
  for (const char* ok : {R"("red")", "3", "null", R"({"a":[1]})"}) EXPECT_TRUE(grammar_matches(e, ok)) << ok;
  EXPECT_FALSE(grammar_matches(e, R"("blue")"));
  const std::string u = json_schema_to_gbnf(std::string_view(R"({"anyOf": [{"type": "string", "minLength": 2}, {"type": ["boolean", "null"]}], "title": "x"})"));
  for (const char* ok : {R"("ab")", "true", "null"}) EXPECT_TRUE(grammar_matches(u, ok)) << ok;
  EXPECT_FALSE(grammar_matches(u, R"("a")"));
  const std::string r = json_schema_to_gbnf(std::string_view(R"({"$defs": {"node": {"type": "object",
    "properties": {"v": {"const": 1}, "next": {"oneOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}},
    "required": ["v", "next"]}}, "$ref": "#/$defs/node"})"));
  EXPECT_TRUE(grammar_matches(r, R"({"v": 1, "next": {"v": 1, "next": null}})"));
  EXPECT_FALSE(grammar_matches(r, R"({"v": 2, "next": null})"));
  const std::string extra = json_schema_to_gbnf(std::string_view(R"({"type": "object", "properties": {"a": {"type": "number"}},
    "additionalProperties": {"type": "string"}})"));
  EXPECT_TRUE(grammar_matches(extra, R"({"a": 1.5e3, "b": "x", "c": ""})"));
  EXPECT_FALSE(grammar_matches(extra, R"({"b": 1})"));
  const std::string tuple = json_schema_to_gbnf(std::string_view(R"({"prefixItems": [{"type": "integer"}, {"type": "string"}]})"));
  EXPECT_TRUE(grammar_matches(tuple, R"([1, "x"])"));
  const std::string any = json_object_gbnf();
  EXPECT_TRUE(grammar_matches(any, R"({"a": [1, {"b": null}, "\u00e9\n"], "c": -0.5E-3, "d": true})"));
  EXPECT_FALSE(grammar_matches(any, R"([1])"));
  EXPECT_FALSE(grammar_matches(any, R"({"a": 1,})"));
}

// Every integer from -1200 to 1200 is matched exactly when it lies in the range.
TEST(JsonSchema, IntegerRangesMatchExactlyTheirIntegers) {
  const char* ranges[] = {
      R"("minimum": 0)", R"("minimum": 1, "maximum": 12)", R"("minimum": -5, "maximum": 5)", R"("maximum": -7)",
      R"("exclusiveMinimum": 99, "exclusiveMaximum": 1000)", R"("minimum": 37, "maximum": 1033)", R"("minimum": -1033, "maximum": -37)",
      R"("minimum": -120)", R"("maximum": 255, "minimum": 0)", R"("minimum": 7, "maximum": 7)", R"("minimum": 10, "exclusiveMinimum": 20)"};
  for (const char* r : ranges) {
    const Json schema = Json::parse(std::string(R"({"type": "integer", )") + r + "}");
    GrammarMatcher m(std::make_shared<const Grammar>(parse_gbnf(json_schema_to_gbnf(schema))));
    for (int n = -1200; n <= 1200; ++n) {
      m.reset();
      const bool in = valid(Json(n), schema, schema);
      ASSERT_EQ(m.accept(std::to_string(n)) && m.can_end(), in) << r << ": " << n;
    }
    m.reset();
    EXPECT_FALSE(m.accept("-0") && m.can_end()) << r;
    m.reset();
    EXPECT_FALSE(m.accept("01") && m.can_end()) << r;
  }
}

TEST(JsonSchema, UnsupportedKeywordsAndMalformedSchemasAreNamed) {
  EXPECT_EQ(schema_error(R"({"type": "object", "properties": {"id": {"type": "string", "pattern": "^a"}}})"),
            "json schema: unsupported keyword 'pattern' at #/properties/id");
  EXPECT_EQ(schema_error(R"({"type": "number", "minimum": 0})"),
            "json schema: unsupported keyword 'minimum' at # (supported with \"type\": \"integer\" only)");
  EXPECT_EQ(schema_error(R"({"type": "integer", "minimum": 0.5})"), "json schema: minimum at #: expected an integer of at most 16 digits, found 0.5");
  EXPECT_EQ(schema_error(R"({"type": "integer", "minimum": 3, "exclusiveMaximum": 3})"), "json schema: the integer range at # is empty (3 > 2)");
  EXPECT_EQ(schema_error(R"({"allOf": [{}]})"), "json schema: unsupported keyword 'allOf' at #");
  EXPECT_EQ(schema_error(R"({"type": "strin"})"), "json schema: type at #: unknown type 'strin'");
  EXPECT_EQ(schema_error(R"({"type": "array", "maxItems": -1})"), "json schema: maxItems at #: expected a non-negative integer, found -1");
  EXPECT_EQ(schema_error(R"({"type": "string", "minLength": 3, "maxLength": 2})"), "json schema: maxLength at # is below minLength");
  EXPECT_EQ(schema_error(R"({"$ref": "#/$defs/missing"})"), "json schema: $ref at #: '#/$defs/missing' points to nothing in the schema");
  EXPECT_EQ(schema_error(R"({"$ref": "https://example.com/s.json"})"),
            "json schema: $ref at #: only references inside the schema ('#/...') are supported, found \"https://example.com/s.json\"");
  EXPECT_EQ(schema_error(R"({"enum": []})"), "json schema: enum at #: expected a non-empty array");
  EXPECT_EQ(schema_error("[1]"), "json schema: expected a schema (an object or a boolean) at #, found [1]");
  EXPECT_EQ(schema_error("false"), "json schema: the schema 'false' at # matches nothing");
  EXPECT_EQ(schema_error("{"), "json schema: invalid JSON: [json.exception.parse_error.101] parse error at line 1, column 2: "
                               "syntax error while parsing object key - unexpected end of input; expected string literal");
}

TEST(JsonSchema, TridentRunJsonSchemaPrintsValidJson) {
  const std::string schema = R"({"type": "object", "properties": {"hero": {"type": "string", "maxLength": 10},
    "friends": {"type": "array", "items": {"type": "string", "maxLength": 8}, "maxItems": 3}}, "required": ["hero", "friends"]})";
  const auto r = test::run_trident("run -m " + test::shared_dir() + "/models/stories260K.gguf -p \"Once upon a time\" "
                                   "--no-display-prompt --temp 0 -n 400 --json-schema '" + schema + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json value;
  ASSERT_NO_THROW(value = Json::parse(r.out)) << r.out;
  const Json s = Json::parse(schema);
  EXPECT_TRUE(valid(value, s, s)) << r.out;
  EXPECT_NE(r.err.find("stopped by the end of the grammar"), std::string::npos) << r.err;

  const auto g = test::run_trident("run -m " + test::shared_dir() + "/models/stories260K.gguf -p \"Once\" --no-display-prompt "
                                   "--temp 0 -n 40 --grammar 'root ::= (\"yes\" | \"no\") \" \" [a-z]{1,5}'");
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_TRUE(grammar_matches(R"(root ::= ("yes" | "no") " " [a-z]{1,5})", g.out.substr(0, g.out.size() - 1))) << g.out;
}

TEST(JsonSchema, TridentRunGrammarFlagErrors) {
  const std::string m = "run -m " + test::shared_dir() + "/models/stories260K.gguf -p x ";
  test::expect_cli_error(m + "--grammar 'root ::= \"a'", "grammar: line 1, column 12: expected '\"' closing the string");
  test::expect_cli_error(m + "--json-schema '{\"type\": \"object\", \"patternProperties\": {}}'",
                         "json schema: unsupported keyword 'patternProperties' at #");
  test::expect_cli_error(m + "--grammar-file /nonexistent.gbnf", "--grammar-file /nonexistent.gbnf: cannot read: No such file or directory");
  test::expect_cli_error(m + "--grammar 'root ::= \"a\"' --json-schema '{}'", "--grammar, --grammar-file and --json-schema are mutually exclusive");
}

}  // namespace
}  // namespace trident
