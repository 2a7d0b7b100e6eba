#include "operator/runtime/object.h"

namespace billing::runtime {

std::string stringAt(const web::json::value& object, std::initializer_list<std::string_view> path) {
  const web::json::value* current = &object;
  for (const auto& part : path) {
    if (!current->is_object()) return {};
    const auto& members = current->as_object();
    const auto found = members.find(std::string(part));
    if (found == members.end()) return {};
    current = &found->second;
  }
  return current->is_string() ? current->as_string() : std::string();
}

std::string objectNamespace(const web::json::value& object) {
  return stringAt(object, {"metadata", "namespace"});
}

std::string objectName(const web::json::value& object) {
  return stringAt(object, {"metadata", "name"});
}

std::string objectUid(const web::json::value& object) {
  return stringAt(object, {"metadata", "uid"});
}

std::string objectResourceVersion(const web::json::value& object) {
  return stringAt(object, {"metadata", "resourceVersion"});
}

std::int64_t objectGeneration(const web::json::value& object) {
  if (!object.is_object()) return 0;
  const auto& members = object.as_object();
  const auto metadata = members.find("metadata");
  if (metadata == members.end() || !metadata->second.is_object()) return 0;
  const auto generation = metadata->second.as_object().find("generation");
  if (generation == metadata->second.as_object().end() || !generation->second.is_number()) return 0;
  return generation->second.as_number().to_int64();
}

std::string objectKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns).push_back('/');
  key.append(name);
  return key;
}

std::string objectKey(const web::json::value& object) {
  return objectKey(objectNamespace(object), objectName(object));
}

std::vector<OwnerReference> ownerReferences(const web::json::value& object) {
  std::vector<OwnerReference> owners;
  if (!object.is_object()) return owners;
  const auto& members = object.as_object();
  const auto metadata = members.find("metadata");
  if (metadata == members.end() || !metadata->second.is_object()) return owners;
  const auto refs = metadata->second.as_object().find("ownerReferences");
  if (refs == metadata->second.as_object().end() || !refs->second.is_array()) return owners;
  for (const auto& ref : refs->second.as_array()) {
    if (!ref.is_object()) continue;
    OwnerReference owner;
    owner.apiVersion = stringAt(ref, {"apiVersion"});
    owner.kind = stringAt(ref, {"kind"});
    owner.name = stringAt(ref, {"name"});
    owner.uid = stringAt(ref, {"uid"});
    const auto controller = ref.as_object().find("controller");
    owner.controller = controller != ref.as_object().end() && controller->second.is_boolean() &&
                       controller->second.as_bool();
    owners.push_back(std::move(owner));
  }
  return owners;
}

std::string_view errorKindName(kube::ErrorKind kind) {
  using K = kube::ErrorKind;
  switch (kind) {
    case K::NotFound:
      return "not found";
    case K::AlreadyExists:
      return "already exists";
    case K::Conflict:
      return "conflict";
    case K::Gone:
      return "gone";
    case K::Invalid:
      return "invalid";
    case K::BadRequest:
      return "bad request";
    case K::Unauthorized:
      return "unauthorized";
    case K::Forbidden:
      return "forbidden";
    case K::MethodNotAllowed:
      return "method not allowed";
    case K::UnsupportedMediaType:
      return "unsupported media type";
    case K::TooManyRequests:
      return "too many requests";
    case K::Timeout:
      return "timeout";
    case K::ServerError:
      return "server error";
    case K::Network:
      return "network error";
    case K::Tls:
      return "TLS error";
    case K::Config:
      return "configuration error";
    case K::Decode:
      return "decode error";
    case K::Cancelled:
      return "cancelled";
  }
  return "error";
}

std::string describeError(const kube::Error& error) {
  std::string text(errorKindName(error.kind));
  if (error.httpStatus != 0) text += " (" + std::to_string(error.httpStatus) + ")";
  if (!error.verb.empty() || !error.resource.empty()) {
    text += ": cannot " + (error.verb.empty() ? std::string("access") : error.verb);
    if (!error.resource.empty()) text += " " + error.resource;
  }
  if (!error.message.empty()) text += ": " + error.message;
  return text;
}

bool isGoneStatus(const web::json::value& status) {
  if (!status.is_object()) return false;
  const auto& members = status.as_object();
  const auto code = members.find("code");
  if (code != members.end() && code->second.is_number() &&
      code->second.as_number().to_int64() == 410) {
    return true;
  }
  const std::string reason = stringAt(status, {"reason"});
  return reason == "Expired" || reason == "Gone";
}

}  // namespace billing::runtime
