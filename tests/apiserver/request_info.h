// What a request path asks for, parsed the way kube-apiserver's RequestInfoFactory does:
//   /api/v1/namespaces/{ns}/{resource}/{name}/{subresource}
//   /apis/{group}/{version}/namespaces/{ns}/{resource}/{name}/{subresource}
//   /apis/{group}/{version}/{resource}              (cluster-scoped or all namespaces)
// plus the discovery paths (/api, /apis, /apis/{group}, /apis/{group}/{version}).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace billing::apiserver {

struct RequestInfo {
  enum class Kind {
    Other,         // not an API path (/version, /openapi/..., /healthz, ...)
    CoreVersions,  // /api
    Groups,        // /apis
    Group,         // /apis/{group}
    GroupVersion,  // /api/v1, /apis/{group}/{version}: the resource list
    Resource,      // a collection or an object
  };
  Kind kind = Kind::Other;
  std::string group;  // "" for the core group
  std::string version;
  std::string ns;               // empty: cluster-scoped, or across all namespaces
  bool namespacedPath = false;  // the path had /namespaces/{ns}/
  std::string resource;
  std::string name;  // empty: the collection
  std::string subresource;
};

// nullopt for a malformed API path (e.g. /api/v1/namespaces/ with no name).
std::optional<RequestInfo> parseRequestPath(std::string_view path);

}  // namespace billing::apiserver
