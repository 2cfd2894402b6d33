// JSON Schema -> GBNF, in the shape of llama.cpp's json-schema-to-grammar (docs/grammar.md):
// the same primitive rules (space, string, char, number, integer, ...), the same object layout
// (required properties in order, then any subset of the optional ones in order) and no space
// after the top-level value, so a generation under the grammar ends right after it.
//
// Supported: type (one or a list), properties, required, additionalProperties (false, true or a
// schema), items, prefixItems, minItems, maxItems, minLength, maxLength, enum, const, anyOf,
// oneOf, $ref to "#/..." (e.g. $defs, definitions; recursion allowed), minimum, maximum,
// exclusiveMinimum and exclusiveMaximum on integers (16 digits at most), and the annotations
// title, description, default, examples, format, $schema, $id, $comment, deprecated,
// readOnly, writeOnly. Any other keyword is an error naming it and where it is.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace trident {

// Throws Error("json schema: <what> at <JSON pointer>") for an unsupported keyword or a
// malformed value.
std::string json_schema_to_gbnf(const nlohmann::ordered_json& schema);
// As above, from text; invalid JSON is an Error too.
std::string json_schema_to_gbnf(std::string_view schema_text);

// Any JSON object (OpenAI's response_format {"type": "json_object"}).
std::string json_object_gbnf();

// A GBNF string literal matching exactly `text` (quotes, backslashes, \n and \r escaped; other
// bytes, UTF-8 included, as they are).
std::string gbnf_literal(std::string_view text);

}  // namespace trident
