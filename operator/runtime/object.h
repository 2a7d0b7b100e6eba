// Reading the parts of a Kubernetes object the runtime needs (metadata, owner references), the
// store keys it files objects under, and the one-line description of a client error.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "operator/kube/client.h"

namespace billing::runtime {

// Objects are shared, immutable once stored: readers keep what they got while the store moves on.
using ObjectPtr = std::shared_ptr<const web::json::value>;

// The string member at `path` ("metadata.name" is {"metadata","name"}), or "" when any part is
// missing or not of the expected type.
std::string stringAt(const web::json::value& object, std::initializer_list<std::string_view> path);

std::string objectNamespace(const web::json::value& object);
std::string objectName(const web::json::value& object);
std::string objectUid(const web::json::value& object);
std::string objectResourceVersion(const web::json::value& object);
// metadata.generation, or 0.
std::int64_t objectGeneration(const web::json::value& object);

// "namespace/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc).
std::string objectKey(const web::json::value& object);
std::string objectKey(std::string_view ns, std::string_view name);

struct OwnerReference {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
};
std::vector<OwnerReference> ownerReferences(const web::json::value& object);

// "forbidden (403): cannot list billinggroups.billing.operator.dev: <server message>". Kept here
// so the runtime needs the client's header only.
std::string describeError(const kube::Error& error);
std::string_view errorKindName(kube::ErrorKind kind);

// True when a watch ERROR event carries a 410 (Expired/Gone) Status.
bool isGoneStatus(const web::json::value& status);

}  // namespace billing::runtime
