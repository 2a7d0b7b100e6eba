// metav1.Status bodies with the reasons, codes and message shapes kube-apiserver uses, so that
// clients (kubectl's error printing, client libraries' IsNotFound/IsConflict) read them the same.
#pragma once

#include <cpprest/json.h>

#include <cstdint>
#include <string>

#include "tests/apiserver/resource_registry.h"

namespace billing::apiserver {

struct ApiError {
  int code = 500;
  web::json::value status;  // the Status object to send
};

// The generic shape: {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",...}.
ApiError statusError(int code, const std::string& reason, const std::string& message,
                     web::json::value details = web::json::value::null());
web::json::value statusDetails(const ResourceType& type, const std::string& name);

// `billinggroups.billing.operator.dev "shared" not found`
ApiError notFound(const ResourceType& type, const std::string& name);
// `namespaces "acme" not found`, used when creating into a namespace that does not exist.
ApiError namespaceNotFound(const std::string& ns);
ApiError alreadyExists(const ResourceType& type, const std::string& name);
// `Operation cannot be fulfilled on ...: the object has been modified; please apply your
// changes to the latest version and try again`
ApiError conflict(const ResourceType& type, const std::string& name, const std::string& why);
ApiError badRequest(const std::string& message);
ApiError methodNotAllowed();
// The server could not find the requested resource (an unknown path or kind).
ApiError resourceNotFound();
ApiError unauthorized();
ApiError forbidden(const ResourceType& type, const std::string& name, const std::string& message);
ApiError gone(const std::string& message);  // reason Expired
ApiError tooManyRequests(int retryAfterSeconds);
ApiError internalError(const std::string& message);
ApiError invalid(const ResourceType& type, const std::string& name, web::json::value causes,
                 const std::string& message);

// A successful deletion answered with a Status rather than the object.
web::json::value successStatus(const ResourceType& type, const std::string& name,
                               const std::string& uid);

}  // namespace billing::apiserver
