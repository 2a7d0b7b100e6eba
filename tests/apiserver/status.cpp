#include "tests/apiserver/status.h"

namespace billing::apiserver {

using web::json::value;

ApiError statusError(int code, const std::string& reason, const std::string& message,
                     value details) {
  value status = value::object(true);
  status["kind"] = value::string("Status");
  status["apiVersion"] = value::string("v1");
  status["metadata"] = value::object();
  status["status"] = value::string("Failure");
  status["message"] = value::string(message);
  status["reason"] = value::string(reason);
  if (!details.is_null()) status["details"] = std::move(details);
  status["code"] = value::number(code);
  return {code, std::move(status)};
}

value statusDetails(const ResourceType& type, const std::string& name) {
  value details = value::object(true);
  if (!name.empty()) details["name"] = value::string(name);
  if (!type.group.empty()) details["group"] = value::string(type.group);
  details["kind"] = value::string(type.plural);
  return details;
}

ApiError notFound(const ResourceType& type, const std::string& name) {
  return statusError(404, "NotFound", type.groupResource() + " \"" + name + "\" not found",
                     statusDetails(type, name));
}

ApiError namespaceNotFound(const std::string& ns) {
  value details = value::object(true);
  details["name"] = value::string(ns);
  details["kind"] = value::string("namespaces");
  return statusError(404, "NotFound", "namespaces \"" + ns + "\" not found", details);
}

ApiError alreadyExists(const ResourceType& type, const std::string& name) {
  return statusError(409, "AlreadyExists",
                     type.groupResource() + " \"" + name + "\" already exists",
                     statusDetails(type, name));
}

ApiError conflict(const ResourceType& type, const std::string& name, const std::string& why) {
  return statusError(
      409, "Conflict",
      "Operation cannot be fulfilled on " + type.groupResource() + " \"" + name + "\": " + why,
      statusDetails(type, name));
}

ApiError badRequest(const std::string& message) { return statusError(400, "BadRequest", message); }

ApiError methodNotAllowed() {
  return statusError(405, "MethodNotAllowed",
                     "the server does not allow this method on the requested resource");
}

ApiError resourceNotFound() {
  value details = value::object();
  return statusError(404, "NotFound", "the server could not find the requested resource", details);
}

ApiError unauthorized() { return statusError(401, "Unauthorized", "Unauthorized"); }

ApiError forbidden(const ResourceType& type, const std::string& name, const std::string& message) {
  return statusError(403, "Forbidden",
                     type.groupResource() + (name.empty() ? "" : " \"" + name + "\"") +
                         " is forbidden: " + message,
                     statusDetails(type, name));
}

ApiError gone(const std::string& message) { return statusError(410, "Expired", message); }

ApiError tooManyRequests(int retryAfterSeconds) {
  value details = value::object(true);
  details["retryAfterSeconds"] = value::number(retryAfterSeconds);
  return statusError(429, "TooManyRequests", "Too many requests, please try again later.", details);
}

ApiError internalError(const std::string& message) {
  value details = value::object(true);
  value causes = value::array(1);
  causes[0]["message"] = value::string(message);
  details["causes"] = causes;
  return statusError(500, "InternalError", "Internal error occurred: " + message, details);
}

ApiError invalid(const ResourceType& type, const std::string& name, value causes,
                 const std::string& message) {
  value details = statusDetails(type, name);
  details["kind"] = value::string(type.kind);
  details["causes"] = std::move(causes);
  return statusError(422, "Invalid", message, details);
}

value successStatus(const ResourceType& type, const std::string& name, const std::string& uid) {
  value status = value::object(true);
  status["kind"] = value::string("Status");
  status["apiVersion"] = value::string("v1");
  status["metadata"] = value::object();
  status["status"] = value::string("Success");
  value details = statusDetails(type, name);
  if (!uid.empty()) details["uid"] = value::string(uid);
  status["details"] = details;
  return status;
}

}  // namespace billing::apiserver
