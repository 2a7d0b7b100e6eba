// Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for (Accept:
// application/json;as=Table;g=meta.k8s.io;v=v1). Custom resources get their CRD's
// additionalPrinterColumns, evaluated with the JSONPath subset CRDs use; the built-in kinds users
// list most get kube's columns (Namespace Status, Secret Type/Data, ConfigMap Data, Lease Holder,
// Deployment Ready/Up-to-date/Available, ...); other built-in kinds get Name and Age.
#pragma once

#include <cpprest/json.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/apiserver/resource_registry.h"

namespace billing::apiserver {

enum class TableObjects { None, Metadata, Object };  // ?includeObject=

web::json::value tableFor(const ResourceType& type, const std::vector<web::json::value>& items,
                          std::uint64_t revision, const std::string& continueToken,
                          TableObjects include = TableObjects::Metadata);

// Evaluates a printer-column JSONPath (".status.projectCount",
// ".status.conditions[?(@.type==\"Ready\")].status", ".spec.items[0].name", ".a[*].b").
// nullopt when the path selects nothing.
std::optional<web::json::value> evaluateJsonPath(const web::json::value& object,
                                                 const std::string& path);

// "5s", "3m", "2d4h", "45d": how kubectl shows ages (k8s.io/apimachinery duration.HumanDuration).
std::string humanDuration(std::chrono::seconds age);

}  // namespace billing::apiserver
