// CustomResourceDefinitions (apiextensions.k8s.io/v1) as kube-apiserver 1.32 reads and checks
// them: defaulting, the validation a create/update goes through (names, versions, structural
// schema, defaults, x-kubernetes-* extensions, printer columns, subresources) with kube's field
// paths and wording, and a parsed description the server builds its resource table from.
//
// Field paths follow kube, which validates the internal type: when every version has the same
// schema (always so with one version) the schema is checked as `spec.validation.openAPIV3Schema`,
// otherwise as `spec.versions[i].schema.openAPIV3Schema`; printer columns and subresources are
// hoisted the same way (`spec.additionalPrinterColumns[i]`, `spec.subresources`).
//
// The pieces that validate, prune and default custom objects are in crd_validation.h and
// crd_pruning.h; field errors and the 422 body in crd_field_errors.h.
#pragma once

#include <cpprest/json.h>

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/apiserver/crd_field_errors.h"

namespace billing::apiserver {

struct CrdNames {
  std::string plural;
  std::string singular;
  std::string kind;
  std::string listKind;
  std::vector<std::string> shortNames;
  std::vector<std::string> categories;
};

struct CrdPrinterColumn {
  std::string name;
  std::string type;  // integer, number, string, boolean, date
  std::string format;
  std::string description;
  std::string jsonPath;  // ".status.organization"
  long long priority = 0;
};

struct CrdScaleSubresource {
  std::string specReplicasPath;
  std::string statusReplicasPath;
  std::optional<std::string> labelSelectorPath;
};

struct CrdVersion {
  std::string name;
  bool served = false;
  bool storage = false;
  bool deprecated = false;
  std::optional<std::string> deprecationWarning;
  web::json::value schema;  // openAPIV3Schema; null when the version has none
  bool statusSubresource = false;
  std::optional<CrdScaleSubresource> scaleSubresource;
  std::vector<CrdPrinterColumn> printerColumns;
};

struct CrdDescription {
  std::string name;  // metadata.name, "<plural>.<group>"
  std::string group;
  CrdNames names;
  std::string scope;  // "Namespaced" or "Cluster"
  std::vector<CrdVersion> versions;
  bool preserveUnknownFields = false;

  bool namespaced() const { return scope == "Namespaced"; }
  const CrdVersion* findVersion(std::string_view version) const;
  const CrdVersion* storageVersion() const;
};

// Why a CRD is refused: a body kube cannot decode (400 BadRequest, `message`) or an invalid
// CRD (422 Invalid, `errors`).
struct CrdRejection {
  enum class Kind { BadRequest, Invalid };
  Kind kind = Kind::Invalid;
  std::string message;  // BadRequest: the whole Status message
  FieldErrors errors;   // Invalid: the causes

  int code() const { return kind == Kind::BadRequest ? 400 : 422; }
  // The Status body to send; `crdName` names the object in the Invalid message.
  web::json::value status(std::string_view crdName) const;
};

// The v1 defaults kube applies before validating and storing: names.singular (lower-case kind),
// names.listKind (kind + "List"), spec.conversion {strategy: None}.
void defaultCrd(web::json::value& crd);

// Field errors of ValidateCustomResourceDefinition for a defaulted, decodable CRD, in kube's
// order (metadata, then spec). Empty when the CRD is valid.
FieldErrors validateCrd(const web::json::value& crd);

// Unknown fields of a CRD body, removed in place as kube's typed decoding drops them, with their
// paths ("spec.versions[0].schema.openAPIV3Schema.properties.spec.tpye", "metadata.foo"): the
// server answers ?fieldValidation=Strict with 400 strictDecodingMessage("CustomResourceDefinition",
// "v1", paths) and Warn with one warning each (crd_pruning.h). `status` is not inspected.
std::vector<std::string> pruneCrdUnknownFields(web::json::value& crd);

// Defaults a copy of `crd`, checks that it decodes (wrong JSON types are a 400, worded as Go's
// encoding/json), validates it and returns its description.
std::expected<CrdDescription, CrdRejection> parseCrd(const web::json::value& crd);

// The schema part alone: root restrictions when the status subresource is enabled, structural
// invariants, defaults (validated and pruned), and the OpenAPI checks, for `schema` checked at
// `path` (e.g. "spec.validation.openAPIV3Schema").
FieldErrors validateCrdSchema(const web::json::value& schema, const std::string& path,
                              bool statusEnabled);

}  // namespace billing::apiserver
