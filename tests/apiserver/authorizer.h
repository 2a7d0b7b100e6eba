// RBAC authorization as kube-apiserver evaluates it (k8s.io/kubernetes plugin/pkg/auth/authorizer
// /rbac, v1.32): Roles, ClusterRoles, RoleBindings and ClusterRoleBindings read from the store,
// rules matched on verb, apiGroup, resource (with `resource/subresource` and `*/subresource`),
// resourceName and nonResourceURL, subjects User, Group and ServiceAccount. Members of
// system:masters are allowed everything first, as kube's privileged-group authorizer does, and the
// bootstrap policy every cluster has (cluster-admin, system:discovery, system:basic-user,
// system:public-info-viewer) is built in rather than stored.
//
// Cheap per request: bindings are indexed by user and group name, and the index is rebuilt only
// when an RBAC object changed (the authorizer watches the four RBAC resources in the store).
#pragma once

#include <cpprest/json.h>

#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/http_message.h"
#include "tests/apiserver/object_store.h"
#include "tests/apiserver/request_info.h"
#include "tests/apiserver/status.h"
#include "tests/apiserver/user_info.h"

namespace billing::apiserver {

// kube's authorizer.Attributes.
struct AuthorizationAttributes {
  UserInfo user;
  std::string verb;  // get list watch create update patch delete deletecollection, or the
                     // lower-case HTTP method for a non-resource request
  bool resourceRequest = false;
  std::string group;
  std::string version;
  std::string resource;
  std::string subresource;
  std::string ns;
  std::string name;
  std::string path;  // non-resource requests
};

struct AuthorizationDecision {
  bool allowed = false;
  // Why not, when RBAC could not read something it was pointed at: `RBAC: role.rbac...
  // "x" not found` (kube's reason; empty when nothing was wrong, just not allowed).
  std::string reason;
};

// The attributes of an HTTP request, as kube's RequestInfoFactory derives them: GET of a
// collection is list, or watch with watch=1/true; a list or watch whose fieldSelector pins
// metadata.name is checked against that name (so resourceNames rules can allow it); a Namespace's
// own requests are in that namespace; discovery, /version, /openapi are non-resource requests.
AuthorizationAttributes authorizationAttributes(const common::HttpRequest& request,
                                                const RequestInfo& info, const UserInfo& user);

// The 403 kube-apiserver answers for a denied request:
//   billinggroups.billing.operator.dev "x" is forbidden: User "u" cannot get resource
//   "billinggroups" in API group "billing.operator.dev" in the namespace "ns"
//   ... at the cluster scope; `forbidden: User "u" cannot get path "/x"` for non-resource URLs;
// `: <reason>` appended when there is one.
ApiError forbiddenError(const AuthorizationAttributes& attributes, const std::string& reason);

// One rule of a Role or ClusterRole (rbacv1.PolicyRule).
struct PolicyRule {
  std::vector<std::string> verbs;
  std::vector<std::string> apiGroups;
  std::vector<std::string> resources;
  std::vector<std::string> resourceNames;
  std::vector<std::string> nonResourceURLs;

  // rbacv1 JSON; malformed fields read as absent (the store holds what clients wrote).
  static PolicyRule fromJson(const web::json::value& rule);
};

// kube's RuleAllows.
bool ruleAllows(const AuthorizationAttributes& attributes, const PolicyRule& rule);

class RbacAuthorizer;

// POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews (`kubectl auth can-i`): the review
// with status.allowed (and status.reason when RBAC names one) for the calling user; every request
// is allowed when `authorizer` is null (AlwaysAllow). 400 for a body that is not a review, 422
// when it does not set exactly one of resourceAttributes and nonResourceAttributes.
std::expected<web::json::value, ApiError> selfSubjectAccessReview(RbacAuthorizer* authorizer,
                                                                  const UserInfo& user,
                                                                  const std::string& body);

class RbacAuthorizer {
 public:
  explicit RbacAuthorizer(ObjectStore& store);
  ~RbacAuthorizer();
  RbacAuthorizer(const RbacAuthorizer&) = delete;
  RbacAuthorizer& operator=(const RbacAuthorizer&) = delete;

  AuthorizationDecision authorize(const AuthorizationAttributes& attributes);

  // The number of times the index was rebuilt (tests check that reads do not rebuild it).
  std::uint64_t rebuilds() const;

 private:
  struct BindingRef {
    std::string ns;  // empty: a ClusterRoleBinding
    bool clusterRole = true;
    std::string roleName;
  };
  struct Index {
    std::unordered_map<std::string, std::vector<PolicyRule>> clusterRoles;
    std::unordered_map<std::string, std::vector<PolicyRule>> roles;  // "ns/name"
    std::unordered_map<std::string, std::vector<BindingRef>> byUser;
    std::unordered_map<std::string, std::vector<BindingRef>> byGroup;
  };

  // With mutex_ held: drains the watches, rebuilding the index when an RBAC object changed or a
  // watch ended (then it is started again).
  void refreshLocked();
  void rebuildLocked();
  void indexBinding(Index& index, const web::json::value& binding, bool clusterBinding) const;

  ObjectStore& store_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Watcher>> watchers_;
  std::shared_ptr<const Index> index_;
  std::uint64_t rebuilds_ = 0;
};

}  // namespace billing::apiserver
