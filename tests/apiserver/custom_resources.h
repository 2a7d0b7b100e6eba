// CustomResourceDefinitions in the request path: what a CRD serves once stored, and the
// admission of CRDs and custom objects (decoding with pruning and defaulting, field validation
// Strict/Warn/Ignore, schema validation), built on crd_schema.h, crd_pruning.h and
// crd_validation.h.
#pragma once

#include <cpprest/json.h>

#include <expected>
#include <string>
#include <vector>

#include "tests/apiserver/resource_registry.h"
#include "tests/apiserver/status.h"

namespace billing::apiserver {

// The resource types a stored CRD serves, one per served version.
std::expected<std::vector<ResourceType>, std::string> resourceTypesFromCrd(
    const web::json::value& crd);

// What admission hands back: the object to store and the Warning texts for the response.
struct Admitted {
  web::json::value object;
  std::vector<std::string> warnings;
};

// `fieldValidation` is the query parameter: "Strict" (unknown fields are a 400), "Warn"
// (the default: warnings), or "Ignore".
std::expected<Admitted, ApiError> admitCrd(web::json::value crd,
                                           const std::string& fieldValidation);
std::expected<Admitted, ApiError> admitCustomResource(const ResourceType& type,
                                                      web::json::value object,
                                                      const std::string& fieldValidation);
// The decoding half of admitCustomResource (pruning, defaulting, fieldValidation), which
// kube-apiserver's codec does before mutating admission; admitCustomResource repeats it (a
// decoded object decodes to itself) and validates.
std::expected<Admitted, ApiError> decodeCustomResourceRequest(const ResourceType& type,
                                                              web::json::value object,
                                                              const std::string& fieldValidation);
// Built-in kinds are stored generically: only their metadata is checked.
std::expected<Admitted, ApiError> admitBuiltin(const ResourceType& type, web::json::value object);

}  // namespace billing::apiserver
