// values.schema.json checks as `helm install` and `helm template` run them, for the JSON Schema
// keywords the chart's schema uses. A keyword outside that list is an error of the schema itself,
// so a schema change cannot silently stop being checked here.
#pragma once

#include <cpprest/json.h>

#include <string>
#include <vector>

#include "tools/chart-render/value.h"

namespace billing::chart {

// Every place where `values` does not meet `schema`, one line each: "replicaCount: expected
// integer, got string". Empty when the values are valid. Throws std::runtime_error for a keyword
// the checker does not implement.
std::vector<std::string> validateValues(const Value& values, const web::json::value& schema);

}  // namespace billing::chart
