// YAML <-> JSON the way kubectl sees it (sigs.k8s.io/yaml over go-yaml v2, YAML 1.1 flavoured),
// with the source line of every node so that tools can point at FILE:LINE.
//
// Scalar resolution (plain, untagged scalars; quoted scalars and block scalars are strings):
//   - null:  empty, ~, null, Null, NULL
//   - true:  y Y yes Yes YES on On ON true True TRUE;  false: n N no No NO off Off OFF false
//            False FALSE. Other spellings (tRUE, oN) are strings.
//   - integers: decimal with optional sign, '_' anywhere after the first character is ignored,
//     0x/0X hex, 0o/0O octal, 0b/0B binary, and a leading 0 means octal (010 is 8). An integer
//     beyond int64 but within uint64 is an unsigned JSON number; beyond that a decimal integer
//     is read as a float, a prefixed one stays a string, as go-yaml v2 does.
//   - floats: [-+]?(.digits|digits[.digits])([eE][-+]?digits)?, plus .inf/-.inf/.nan in their
//     go-yaml spellings. A float whose value is integral and fits int64 becomes a JSON integer
//     (1.0 and 1e3 become 1 and 1000) because that is the JSON text kubectl sends. A float too
//     large for a double (1e400) stays a string, as in go-yaml v2. Infinity and NaN cannot be
//     represented in JSON: they are errors naming the line.
//   - timestamps stay strings (go-yaml v2 hands them to sigs.k8s.io/yaml as strings); anything
//     else is a string.
// Tags: !!str, !!int, !!bool, !!float and !!null are honoured (!!int "42" is 42, !!float 1 is a
// float, !!int abc is an error); !!timestamp, local and unknown tags keep the text as a string;
// !!binary is an error. Tags on mappings and sequences are ignored.
// Mapping keys must be scalars; non-string keys become the strings kubectl makes of them (1 ->
// "1", yes -> "true", 1.5 -> "1.5"); a null or unsigned 64-bit key is an error, as in kubectl.
// Duplicate keys in one mapping are an error at the duplicate (compared after that conversion,
// so 1 and "1" collide). Anchors and aliases are resolved (a recursive alias is an error) and
// merge keys (<<) are applied with go-yaml v2's precedence: mapping entries are applied in
// document order, so an explicit key after `<<` overrides the merged one, and in a merged list
// earlier mappings win.
#pragma once

// cpprest's U() macro breaks googletest's templates (template parameters named U); nothing here
// needs it. Defining _TURN_OFF_PLATFORM_STRING for billing_common's users in CMake would be the
// cleaner switch; this keeps every includer of these headers working until then.
#ifndef _TURN_OFF_PLATFORM_STRING
#define _TURN_OFF_PLATFORM_STRING
#endif
#include <cpprest/json.h>

#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace billing::common {

struct YamlDocument {
  web::json::value value;  // objects keep the document's key order
  int line = 1;            // 1-based line where the document's content starts
  // Field path (see common/json.h) -> 1-based line of that node. Mapping members are recorded at
  // the line of their key, array elements at the line of the element; members reached through an
  // alias or a merge key carry the lines of the anchored node they come from.
  std::map<std::string, int> lines;
};

struct YamlError {
  int line = 0;    // 1-based
  int column = 0;  // 1-based, in bytes
  std::string message;
};

// Parses a stream of YAML documents separated by `---`. Empty documents and documents that are
// just null are skipped; a document that is a bare scalar or a list is returned as is. Never
// throws on malformed input: the first problem is returned as a YamlError. As in kubectl, the
// text must be UTF-8 without characters YAML forbids raw (C0 controls but tab, LF and CR; DEL;
// C1 controls but NEL; U+FFFE, U+FFFF): such a character is an error at its line and column.
std::expected<std::vector<YamlDocument>, YamlError> parseYamlDocuments(std::string_view text);

// The line of the node at `path`; for a path that was not recorded, the line of its nearest
// recorded ancestor, and finally the document's line.
int lineOf(const YamlDocument& document, std::string_view path);

// Block-style YAML (kubectl's layout: lists under a key are not indented) that parses back with
// parseYamlDocuments to the same JSON, key order included. Strings that would read back as
// anything else are double-quoted (control characters escaped); multi-line strings use literal
// blocks when they can. Bytes that are not UTF-8 are written as \uFFFD, one per byte. Ends
// with a newline. Non-finite doubles are written as .inf/.nan, which parse back as errors.
std::string toYaml(const web::json::value& value);

}  // namespace billing::common
