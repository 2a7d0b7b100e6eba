// What kube-apiserver does to a custom resource body between JSON decoding and validation
// (apiextensions-apiserver: schemaCoercingDecoder, pruning, defaulting, objectmeta coercion):
//   1. metadata is decoded into ObjectMeta: unknown fields are dropped (and reported), fields of
//      the wrong type fail the request with 400, and metadata is written back normalized;
//   2. fields the schema does not declare are pruned (and reported), except under
//      x-kubernetes-preserve-unknown-fields; apiVersion, kind and metadata at the root and in
//      embedded resources are never pruned;
//   3. nulls of non-nullable fields without a default are dropped;
//   4. embedded resources' metadata is coerced like the root's;
//   5. `default`s are applied.
// The reported paths drive ?fieldValidation=Strict (400) and =Warn (Warning headers).
#pragma once

#include <cpprest/json.h>

#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace billing::apiserver {

// pruning.PruneWithOptions(obj, schema, isResourceRoot): removes unknown fields in place and
// returns their paths, sorted ("spec.colour", "spec.credits[0].note", keys unescaped). For a
// resource root, apiVersion/kind (strings) and metadata (objects) are left to the caller.
std::vector<std::string> pruneUnknownFields(web::json::value& object,
                                            const web::json::value& schema,
                                            bool isResourceRoot = true);

// structuraldefaulting.PruneNonNullableNullsWithoutDefaults.
void pruneNonNullableNulls(web::json::value& object, const web::json::value& schema);

// structuraldefaulting.Default: absent fields (and nulls of non-nullable fields) with a
// `default` get a copy of it, recursively through properties, additionalProperties and items.
// A default inside an absent object does not create that object unless the object has its own
// default; a default applied at one level is itself defaulted further down (so `default: {}`
// on spec.invoicing then yields spec.invoicing.period's default).
void applyDefaults(web::json::value& object, const web::json::value& schema);

// ObjectMeta round trip of object["metadata"] (absent metadata stays absent). Returns the
// unknown field paths ("metadata.foo", with `parentPath` as prefix for embedded objects:
// "spec.template.metadata.foo"), or the JSON decoding error kube reports for a field of the wrong
// type ("json: cannot unmarshal string into Go struct field ObjectMeta.labels of type
// map[string]string"). On success metadata holds only ObjectMeta fields, empty ones omitted,
// times normalized to RFC 3339 UTC seconds, and creationTimestamp present (null when unset).
std::expected<std::vector<std::string>, std::string> coerceObjectMeta(web::json::value& object,
                                                                      std::string_view parentPath);

struct DecodedCustomResource {
  web::json::value object;
  // Unknown fields in kube's order: metadata, then pruned fields (sorted), then embedded
  // resources' metadata. Empty when the body had none.
  std::vector<std::string> unknownFields;
};

// Steps 1-5 above for a body already parsed as JSON. `schema` is the version's
// openAPIV3Schema (null: nothing but metadata is coerced). An error is the detail of the 400
// kube answers (see decodeErrorMessage).
std::expected<DecodedCustomResource, std::string> decodeCustomResource(
    web::json::value body, const web::json::value& schema);

// `BillingGroup in version "v1alpha1" cannot be handled as a BillingGroup: <detail>`, the
// message of the 400 BadRequest for undecodable bodies.
std::string decodeErrorMessage(std::string_view kind, std::string_view version,
                               std::string_view detail);
// The 400 message for ?fieldValidation=Strict with unknown fields:
// `BillingGroup in version "v1alpha1" cannot be handled as a BillingGroup: strict decoding
// error: unknown field "spec.colour", unknown field "spec.size"`.
std::string strictDecodingMessage(std::string_view kind, std::string_view version,
                                  const std::vector<std::string>& unknownFields);
// The Warning header texts for ?fieldValidation=Warn: `unknown field "spec.colour"` each (the
// server wraps them as `299 - "<text>"`).
std::vector<std::string> unknownFieldWarnings(const std::vector<std::string>& unknownFields);

}  // namespace billing::apiserver
