// Small helpers over cpprestsdk's web::json, the one JSON library of the codebase, and the
// field-path notation every component uses to point at a place inside a JSON/YAML object.
#pragma once

// cpprest's U() macro breaks googletest's templates (template parameters named U); nothing here
// needs it. Defining _TURN_OFF_PLATFORM_STRING for billing_common's users in CMake would be the
// cleaner switch; this keeps every includer of these headers working until then.
#ifndef _TURN_OFF_PLATFORM_STRING
#define _TURN_OFF_PLATFORM_STRING
#endif
#include <cpprest/json.h>

#include <cstddef>
#include <expected>
#include <initializer_list>
#include <string>
#include <string_view>

namespace billing::common {

// Parses one JSON text. Errors are readable and carry cpprest's position ("Line 1, Column 6:
// Malformed token"). Rejected beyond what cpprest rejects: duplicate keys in one object (the
// Kubernetes API server rejects them and cpprest would keep both) and numbers out of the double
// range (cpprest turns 1e400 into inf, which no JSON can carry). Objects come back in cpprest's
// default representation, keys sorted; nesting is limited to cpprest's 128 levels. Bytes that
// are not UTF-8 are read as U+FFFD, one per byte, as Go's encoding/json reads them, and so is
// each \u escape of a lone surrogate (one not in a high-low pair), in keys and values; toJson
// writes them the same way, so what is read is what gets written back.
std::expected<web::json::value, std::string> parseJson(std::string_view text);

// Compact JSON, object keys in stored order. Doubles use the shortest text that reads back to
// the same value (0.1, not 0.10000000000000001); non-finite doubles, which JSON cannot carry,
// are written as null. Strings must be UTF-8: each byte that is not part of a well-formed
// sequence is written as \ufffd, as Go's encoding/json does, so the text is always valid JSON.
std::string toJson(const web::json::value& value);

// Like toJson, indented by two spaces per level, one member or element per line, no trailing
// newline. Empty objects and arrays stay on one line ({} and []).
std::string toPrettyJson(const web::json::value& value);

// Appends `text` as a JSON string literal (quotes included) to `out`: for writers that build
// JSON text directly, such as one-object-per-line logs.
void appendJsonString(std::string& out, std::string_view text);

// JSON equality as a reader sees it: object member order does not matter (cpprest's operator==
// compares members position by position) and numbers compare by value (1 equals 1.0).
bool jsonEqual(const web::json::value& left, const web::json::value& right);

// The member at `path` (object keys, outermost first: {"metadata", "name"}), or null when a step
// is missing or not an object. For reading objects whose shape is not guaranteed, without the
// exceptions web::json::value::at throws.
const web::json::value* findMember(const web::json::value& object,
                                   std::initializer_list<std::string_view> path);
// The string at `path`, or "" when it is missing or not a string.
std::string stringAt(const web::json::value& object, std::initializer_list<std::string_view> path);

// Field paths, Kubernetes style: the root is "", object members are joined with '.'
// ("spec.billingGroupRef.name") and array elements are "[i]" ("items[2].metadata.name"). A key
// that is empty or holds anything but ASCII letters, digits, '_', '-' or '$' is written in
// brackets instead ("metadata.labels[billing.operator.dev/organization]"); brackets inside such
// a key are not escaped further.
std::string escapeFieldPathKey(std::string_view key);
std::string joinFieldPath(std::string_view parent, std::string_view key);
std::string indexFieldPath(std::string_view parent, std::size_t index);
// The path one level up: "a.b[0]" -> "a.b", "a.b" -> "a", "a[x.y]" -> "a", "a" -> "".
std::string parentFieldPath(std::string_view path);

}  // namespace billing::common
