// The kinds the test API server serves: built-in kinds stored generically, and the custom
// resources that CustomResourceDefinitions add while it runs. Discovery, routing and the
// OpenAPI documents are all derived from this one table.
#pragma once

#include <cpprest/json.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace billing::apiserver {

struct ResourceType {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
  std::string listKind;
  std::string plural;
  std::string singular;
  std::vector<std::string> shortNames;
  std::vector<std::string> categories;
  std::vector<std::string> verbs;
  bool namespaced = true;
  bool statusSubresource = false;
  // Custom resources only: the version's openAPIV3Schema, the CRD's name and its printer
  // columns as written in the CRD.
  std::optional<web::json::value> schema;
  std::string crdName;
  web::json::value printerColumns = web::json::value::array();
  bool storageVersion = true;

  // "v1" for the core group, "apps/v1" otherwise.
  std::string groupVersion() const;
  // "billinggroups.billing.operator.dev", or "namespaces" for the core group.
  std::string groupResource() const;
  bool custom() const { return !crdName.empty(); }
};

// Thread-safe: CRDs are created and deleted while requests are served.
class ResourceRegistry {
 public:
  // A registry with the built-in kinds (core, apps, rbac, coordination, events, policy,
  // admissionregistration, apiextensions, ...).
  static std::shared_ptr<ResourceRegistry> withBuiltins();

  void add(ResourceType type);
  // Removes every version of a group's resource (a deleted CRD).
  void removeResource(const std::string& group, const std::string& plural);

  std::optional<ResourceType> find(const std::string& group, const std::string& version,
                                   const std::string& plural) const;
  std::optional<ResourceType> findByKind(const std::string& group, const std::string& version,
                                         const std::string& kind) const;
  // The storage version of a group's resource: objects are stored once, at this version.
  std::optional<ResourceType> storageVersionOf(const std::string& group,
                                               const std::string& plural) const;

  std::vector<ResourceType> all() const;
  // Groups with their versions in preference order, core group excluded.
  std::vector<std::pair<std::string, std::vector<std::string>>> groups() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // group, version, plural
  mutable std::mutex mutex_;
  std::map<Key, ResourceType> types_;
};

}  // namespace billing::apiserver
