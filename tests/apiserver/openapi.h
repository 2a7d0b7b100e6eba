// The OpenAPI documents kube-apiserver 1.32 publishes, built from the server's resource table:
//   GET /openapi/v3                 {"paths": {"apis/<group>/<version>":
//                                      {"serverRelativeURL": "/openapi/v3/apis/<g>/<v>?hash=<H>"}}}
//   GET /openapi/v3/apis/<g>/<v>    an OpenAPI 3.0 document: the group-version's resource paths
//                                   (operations carry x-kubernetes-action and
//                                   x-kubernetes-group-version-kind, PATCH takes fieldValidation)
//                                   and components.schemas with each kind, its List kind and the
//                                   meta/v1 schemas they reference (ObjectMeta, ListMeta,
//                                   Status...)
//   GET /openapi/v2                 Swagger 2.0 with the same definition names, value validations
//                                   stripped as kube does for v2.
// Schema names follow kube: built-in kinds as in Kubernetes ("io.k8s.api.core.v1.Namespace",
// "io.k8s.api.apps.v1.Deployment"), custom resources by the reversed group domain
// ("dev.operator.billing.v1alpha1.BillingGroup" for billing.operator.dev).
// kubectl explain (v1.32) reads /openapi/v3, picks "apis/<g>/<v>" ("api/v1" for the core group),
// finds the kind through the x-kubernetes-group-version-kind of the resource's path operations
// and of components.schemas, and follows "#/components/schemas/..." references.
#pragma once

#include <cpprest/json.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace billing::apiserver {

// One served resource as the server knows it.
struct OpenApiResource {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
  std::string listKind;  // defaults to kind + "List" when empty
  std::string plural;
  bool namespaced = true;
  // get, list, watch, create, update, patch, delete, deletecollection: the operations published.
  std::vector<std::string> verbs;
  bool statusSubresource = false;
  // The CRD version's openAPIV3Schema; nullopt for kinds stored generically, which get a
  // permissive schema (type object, x-kubernetes-preserve-unknown-fields, apiVersion/kind/
  // metadata).
  std::optional<web::json::value> schema;
  std::string description;  // used when `schema` has none
};

struct OpenApiDocuments {
  web::json::value discovery;  // the body of GET /openapi/v3
  // "apis/billing.operator.dev/v1alpha1" (or "api/v1") -> the body of GET /openapi/v3/<key>.
  std::map<std::string, web::json::value> groupVersions;
  // Same keys -> the hash in serverRelativeURL (upper-case hex SHA-512 of the document's JSON,
  // as kube computes it); kube answers a matching ?hash= with Cache-Control: public, immutable.
  std::map<std::string, std::string> hashes;
  web::json::value v2;  // the body of GET /openapi/v2
};

OpenApiDocuments buildOpenApiDocuments(const std::vector<OpenApiResource>& resources);

// "apis/<group>/<version>", or "api/<version>" for the core group.
std::string openApiGroupVersionPath(std::string_view group, std::string_view version);
// The components.schemas / definitions name of a kind.
std::string openApiDefinitionName(std::string_view group, std::string_view version,
                                  std::string_view kind);
// Upper-case hex SHA-512 (FIPS 180-4).
std::string sha512Hex(std::string_view data);

}  // namespace billing::apiserver
