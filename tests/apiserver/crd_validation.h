// Validation of custom objects against a CRD version's openAPIV3Schema, reproducing what
// kube-apiserver 1.32 checks and how it words the result:
//   - the schema validator (k8s.io/kube-openapi/pkg/validation/validate) and the translation of
//     its results into field errors (apiextensions-apiserver pkg/apiserver/validation);
//   - x-kubernetes-list-type set/map uniqueness (pkg/apiserver/schema/listtype);
//   - embedded resources (pkg/apiserver/schema/objectmeta);
//   - the checks every object gets: apiVersion/kind, ObjectMeta (name, generateName, namespace,
//     labels, annotations and their 256 KiB total, finalizers, generation).
// Schemas are the CRD's JSON as written (openAPIV3Schema), not a compiled form.
//
// Regular expressions: `pattern` is Go RE2 syntax; it is translated to std::regex ECMAScript.
// Supported as in Go: anchors, classes, repetition, alternation, groups, (?:...), \d \w \s and
// their negations, POSIX classes [[:alpha:]] and a leading (?i). Differences: RE2 runs in linear
// time while ECMAScript backtracks; \A and \z become ^ and $ (start and end of the text, as
// ECMAScript is not multiline); Unicode classes (\pL, \p{Greek}), named groups (?P<name>...)
// and flags other than a leading (?i) are rejected as unsupported; '.' and classes work on bytes,
// so non-ASCII text matches byte by byte. Patterns Go rejects but ECMAScript would accept
// (lookarounds, backreferences) are rejected as Go rejects them.
#pragma once

#include <cpprest/json.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/apiserver/crd_field_errors.h"

namespace billing::apiserver {

// Where the validated value sits. kube-openapi names values by their path inside the validated
// document ("spec.currency"); the field path of an error is `base` + that name, and `base` is ""
// for a whole custom object (errors about the object itself then have the field "<nil>").
struct SchemaErrorBase {
  std::string field;  // field.Path of the validated value; "" = none
};

// Validates `value` against one schema node as the CRD schema validator does, errors in
// kube-openapi's order (type, allOf/anyOf/oneOf/not, string, format, number, array, enum,
// object). Unsupported formats are ignored, as kube strips them before validating.
FieldErrors validateAgainstSchema(const web::json::value& value, const web::json::value& schema,
                                  const SchemaErrorBase& base = {});

// x-kubernetes-list-type set/map uniqueness below `schema` (the object root's schema).
FieldErrors validateListSetsAndMaps(const web::json::value& object, const web::json::value& schema);

// apiVersion/kind/metadata of embedded resources (x-kubernetes-embedded-resource) below a root.
FieldErrors validateEmbeddedResources(const web::json::value& object,
                                      const web::json::value& schema);

// What kind of object the apiserver validates: the resource's group, version, kind and scope.
struct ObjectTarget {
  std::string group;
  std::string version;
  std::string kind;
  bool namespaced = true;
};

// ObjectMeta validation (apimachinery/pkg/api/validation ValidateObjectMetaAccessor) with the
// name rule custom resources use (DNS-1123 subdomain). `metadata` is the object's metadata
// (null or absent is treated as empty). Errors carry "metadata.*" fields.
FieldErrors validateObjectMeta(const web::json::value& metadata, bool namespaced);

// Everything kube-apiserver checks on a create or update of a custom resource, in its order:
// apiVersion/kind (returns only those errors when they are wrong), metadata, the schema,
// embedded resources, list sets and maps. The object is expected to be pruned and defaulted
// already (see crd_pruning.h). `schema` may be null: then only type and metadata are checked.
FieldErrors validateCustomObject(const web::json::value& object, const web::json::value& schema,
                                 const ObjectTarget& target);

// Name rules with kube's messages (apimachinery/pkg/util/validation). Each returns the list of
// problems; empty means valid.
std::vector<std::string> dns1123SubdomainErrors(std::string_view value);
std::vector<std::string> dns1123LabelErrors(std::string_view value);
std::vector<std::string> dns1035LabelErrors(std::string_view value);
std::vector<std::string> qualifiedNameErrors(std::string_view value);
std::vector<std::string> labelValueErrors(std::string_view value);

// Go RE2 pattern support: the ECMAScript translation, or the Go-style compile error
// ("error parsing regexp: invalid or unsupported Perl syntax: `(?=`").
std::optional<std::string> goRegexError(std::string_view pattern);
// Unanchored search as Go's MatchString; false for invalid patterns.
bool goRegexMatch(std::string_view pattern, std::string_view text);

// Format checks of the formats kube validates (strfmt.Default, minus those kube strips).
// `format` as written in the schema ("date-time" and "datetime" are the same). Returns nullopt
// for a format kube does not validate (it is ignored), otherwise whether `text` conforms.
std::optional<bool> checkFormat(std::string_view format, std::string_view text);

// Number of Unicode code points (invalid bytes count one each, as Go's utf8.RuneCount).
std::size_t runeCount(std::string_view text);

}  // namespace billing::apiserver
