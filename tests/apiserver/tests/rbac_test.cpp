// RBAC authorization, ServiceAccount tokens and SelfSubjectAccessReview: the rule matching and the
// authorizer over a store (unit), the server's answers over HTTPS (exact 403 bodies, TokenRequest,
// reviews), and the real kubectl (`create token`, `auth can-i`, a forbidden `get`).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/apiserver/authorizer.h"
#include "tests/apiserver/service_account_tokens.h"
#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using harness::Client;
using harness::CommandResult;
using harness::field;
using harness::json;
using ::testing::HasSubstr;

// ---- rule matching (kube's RuleAllows) ----

AuthorizationAttributes resourceRequest(const std::string& verb, const std::string& group,
                                        const std::string& resource, const std::string& ns = "",
                                        const std::string& name = "",
                                        const std::string& subresource = "") {
  AuthorizationAttributes attributes;
  attributes.user = UserInfo{"alice", {"system:authenticated"}, ""};
  attributes.resourceRequest = true;
  attributes.verb = verb;
  attributes.group = group;
  attributes.resource = resource;
  attributes.ns = ns;
  attributes.name = name;
  attributes.subresource = subresource;
  return attributes;
}

TEST(RuleAllowsTest, VerbsGroupsAndResourcesMatchExactlyOrByStar) {
  PolicyRule rule{{"get", "list"}, {"billing.operator.dev"}, {"billinggroups"}, {}, {}};
  EXPECT_TRUE(ruleAllows(resourceRequest("get", "billing.operator.dev", "billinggroups"), rule));
  EXPECT_TRUE(ruleAllows(resourceRequest("list", "billing.operator.dev", "billinggroups"), rule));
  EXPECT_FALSE(ruleAllows(resourceRequest("watch", "billing.operator.dev", "billinggroups"), rule));
  EXPECT_FALSE(ruleAllows(resourceRequest("get", "", "billinggroups"), rule));
  EXPECT_FALSE(ruleAllows(resourceRequest("get", "billing.operator.dev", "projects"), rule));

  PolicyRule everything{{"*"}, {"*"}, {"*"}, {}, {}};
  EXPECT_TRUE(ruleAllows(resourceRequest("deletecollection", "apps", "deployments"), everything));
  EXPECT_TRUE(ruleAllows(resourceRequest("update", "x", "y", "ns", "n", "status"), everything));
}

TEST(RuleAllowsTest, SubresourcesNeedTheirOwnResourceEntry) {
  PolicyRule main{{"update"}, {"billing.operator.dev"}, {"billinggroups"}, {}, {}};
  PolicyRule status{{"update"}, {"billing.operator.dev"}, {"billinggroups/status"}, {}, {}};
  PolicyRule anyStatus{{"update"}, {"billing.operator.dev"}, {"*/status"}, {}, {}};
  auto statusUpdate =
      resourceRequest("update", "billing.operator.dev", "billinggroups", "a", "g", "status");
  EXPECT_FALSE(ruleAllows(statusUpdate, main));
  EXPECT_TRUE(ruleAllows(statusUpdate, status));
  EXPECT_TRUE(ruleAllows(statusUpdate, anyStatus));
  EXPECT_FALSE(ruleAllows(
      resourceRequest("update", "billing.operator.dev", "billinggroups", "a", "g", "finalizers"),
      anyStatus));
  // billinggroups/status does not allow the main resource.
  EXPECT_FALSE(ruleAllows(
      resourceRequest("update", "billing.operator.dev", "billinggroups", "a", "g"), status));
}

TEST(RuleAllowsTest, ResourceNamesLimitNamedRequestsOnly) {
  PolicyRule named{{"get", "list", "create"}, {""}, {"secrets"}, {"cert"}, {}};
  EXPECT_TRUE(ruleAllows(resourceRequest("get", "", "secrets", "ns", "cert"), named));
  EXPECT_FALSE(ruleAllows(resourceRequest("get", "", "secrets", "ns", "other"), named));
  // A list or a create has no name: resourceNames cannot allow it.
  EXPECT_FALSE(ruleAllows(resourceRequest("list", "", "secrets", "ns"), named));
  EXPECT_FALSE(ruleAllows(resourceRequest("create", "", "secrets", "ns"), named));
}

TEST(RuleAllowsTest, NonResourceUrlsMatchExactlyOrByTrailingStar) {
  PolicyRule rule{{"get"}, {}, {}, {}, {"/healthz", "/apis/*"}};
  AuthorizationAttributes path;
  path.verb = "get";
  path.path = "/healthz";
  EXPECT_TRUE(ruleAllows(path, rule));
  path.path = "/apis/apps/v1";
  EXPECT_TRUE(ruleAllows(path, rule));
  path.path = "/apis";
  EXPECT_FALSE(ruleAllows(path, rule));
  path.path = "/metrics";
  EXPECT_FALSE(ruleAllows(path, rule));
  path.path = "/healthz";
  path.verb = "post";
  EXPECT_FALSE(ruleAllows(path, rule));
  // Resource rules never match a path, nonResourceURLs never a resource.
  EXPECT_FALSE(ruleAllows(path, PolicyRule{{"*"}, {"*"}, {"*"}, {}, {}}));
  EXPECT_FALSE(
      ruleAllows(resourceRequest("get", "", "pods"), PolicyRule{{"*"}, {}, {}, {}, {"*"}}));
}

// ---- request attributes ----

common::HttpRequest httpRequest(const std::string& method, const std::string& target) {
  common::HttpRequest request;
  request.method = method;
  request.target = target;
  auto question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) {
    request.rawQuery = target.substr(question + 1);
    request.query = common::parseQuery(request.rawQuery).value_or(common::QueryParameters{});
  }
  return request;
}

AuthorizationAttributes attributesOf(const std::string& method, const std::string& target) {
  auto request = httpRequest(method, target);
  auto info = parseRequestPath(request.path);
  EXPECT_TRUE(info.has_value()) << target;
  return authorizationAttributes(request, info.value_or(RequestInfo{}), UserInfo{"u", {}, ""});
}

TEST(AuthorizationAttributesTest, VerbsAsKubeDerivesThem) {
  const std::string bgs = "/apis/billing.operator.dev/v1alpha1/namespaces/a/billinggroups";
  EXPECT_EQ(attributesOf("GET", bgs + "/g").verb, "get");
  EXPECT_EQ(attributesOf("GET", bgs).verb, "list");
  EXPECT_EQ(attributesOf("GET", bgs + "?watch=true").verb, "watch");
  EXPECT_EQ(attributesOf("GET", bgs + "?watch=1").verb, "watch");
  EXPECT_EQ(attributesOf("POST", bgs).verb, "create");
  EXPECT_EQ(attributesOf("PUT", bgs + "/g/status").verb, "update");
  EXPECT_EQ(attributesOf("PUT", bgs + "/g/status").subresource, "status");
  EXPECT_EQ(attributesOf("PATCH", bgs + "/g").verb, "patch");
  EXPECT_EQ(attributesOf("DELETE", bgs + "/g").verb, "delete");
  EXPECT_EQ(attributesOf("DELETE", bgs).verb, "deletecollection");
  // A list or watch pinned to one name is checked against that name (resourceNames rules).
  auto pinned = attributesOf("GET", bgs + "?fieldSelector=metadata.name%3D%3Dg&watch=true");
  EXPECT_EQ(pinned.verb, "watch");
  EXPECT_EQ(pinned.name, "g");
  EXPECT_EQ(attributesOf("GET", bgs + "?fieldSelector=status.x%3Dy,metadata.name%3Dg").name, "g");
  EXPECT_EQ(attributesOf("GET", bgs + "?fieldSelector=metadata.name!%3Dg").name, "");
  // Discovery and /version are non-resource requests; a Namespace is in its own namespace.
  EXPECT_FALSE(attributesOf("GET", "/apis/apps/v1").resourceRequest);
  EXPECT_EQ(attributesOf("GET", "/version").verb, "get");
  EXPECT_EQ(attributesOf("GET", "/api/v1/namespaces/a").ns, "a");
  EXPECT_EQ(attributesOf("GET", "/api/v1/namespaces").ns, "");
}

TEST(ForbiddenErrorTest, KubeMessageShapes) {
  auto named = resourceRequest("get", "billing.operator.dev", "billinggroups", "acme", "shared");
  EXPECT_EQ(field(forbiddenError(named, "").status, {"message"}),
            "billinggroups.billing.operator.dev \"shared\" is forbidden: User \"alice\" cannot get "
            "resource \"billinggroups\" in API group \"billing.operator.dev\" in the namespace "
            "\"acme\"");
  auto cluster = resourceRequest("list", "", "namespaces");
  ApiError error = forbiddenError(cluster, "");
  EXPECT_EQ(error.code, 403);
  EXPECT_EQ(common::toJson(error.status),
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
            R"("message":"namespaces is forbidden: User \"alice\" cannot list resource )"
            R"(\"namespaces\" in API group \"\" at the cluster scope","reason":"Forbidden",)"
            R"("details":{"kind":"namespaces"},"code":403})");
  auto status = resourceRequest("update", "billing.operator.dev", "projects", "a", "p", "status");
  EXPECT_EQ(
      field(forbiddenError(status, "RBAC: role.rbac.authorization.k8s.io \"r\" not found").status,
            {"message"}),
      "projects.billing.operator.dev \"p\" is forbidden: User \"alice\" cannot update "
      "resource \"projects/status\" in API group \"billing.operator.dev\" in the namespace "
      "\"a\": RBAC: role.rbac.authorization.k8s.io \"r\" not found");
  AuthorizationAttributes path;
  path.user.name = "alice";
  path.verb = "get";
  path.path = "/metrics";
  EXPECT_EQ(field(forbiddenError(path, "").status, {"message"}),
            "forbidden: User \"alice\" cannot get path \"/metrics\"");
}

// ---- the authorizer over a store ----

web::json::value object(const std::string& text) { return json(text); }

class RbacAuthorizerTest : public ::testing::Test {
 protected:
  void put(const std::string& resource, const std::string& text) {
    auto created = store_.create(resource + ".rbac.authorization.k8s.io", object(text));
    ASSERT_TRUE(created.has_value()) << text;
  }
  bool allowed(const UserInfo& user, const std::string& verb, const std::string& group,
               const std::string& resource, const std::string& ns = "",
               const std::string& name = "", const std::string& subresource = "") {
    auto attributes = resourceRequest(verb, group, resource, ns, name, subresource);
    attributes.user = user;
    return authorizer_.authorize(attributes).allowed;
  }

  ObjectStore store_{ObjectStore::Options{}};
  RbacAuthorizer authorizer_{store_};
  UserInfo alice_{"alice", {"system:authenticated"}, ""};
  UserInfo bob_{"bob", {"dev-team", "system:authenticated"}, ""};
  UserInfo operator_ = serviceAccountUser("billing-system", "billing-operator", "u1");
};

TEST_F(RbacAuthorizerTest, NothingIsAllowedWithoutABindingExceptDiscoveryAndReviews) {
  EXPECT_FALSE(allowed(alice_, "list", "", "namespaces"));
  EXPECT_FALSE(allowed(alice_, "get", "", "configmaps", "default", "x"));
  // The bootstrap policy: discovery and self reviews for every authenticated user.
  EXPECT_TRUE(allowed(alice_, "create", "authorization.k8s.io", "selfsubjectaccessreviews"));
  AuthorizationAttributes discovery;
  discovery.user = alice_;
  discovery.verb = "get";
  discovery.path = "/apis/billing.operator.dev/v1alpha1";
  EXPECT_TRUE(authorizer_.authorize(discovery).allowed);
  discovery.path = "/metrics";
  EXPECT_FALSE(authorizer_.authorize(discovery).allowed);
  // system:masters may do anything.
  EXPECT_TRUE(allowed(UserInfo{"admin", {"system:masters"}, ""}, "delete", "", "namespaces", "",
                      "default"));
}

TEST_F(RbacAuthorizerTest, RoleBindingsGrantInTheirNamespaceOnly) {
  put("roles", R"({"metadata": {"name": "reader", "namespace": "acme"},
                   "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                              "verbs": ["get", "list"]}]})");
  put("rolebindings", R"({"metadata": {"name": "alice-reads", "namespace": "acme"},
                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": "reader"},
                          "subjects": [{"kind": "User", "name": "alice"}]})");
  EXPECT_TRUE(allowed(alice_, "list", "", "configmaps", "acme"));
  EXPECT_TRUE(allowed(alice_, "get", "", "configmaps", "acme", "x"));
  EXPECT_FALSE(allowed(alice_, "create", "", "configmaps", "acme"));
  EXPECT_FALSE(allowed(alice_, "list", "", "configmaps", "other"));
  EXPECT_FALSE(allowed(alice_, "list", "", "configmaps"));  // across all namespaces
  EXPECT_FALSE(allowed(bob_, "list", "", "configmaps", "acme"));
}

TEST_F(RbacAuthorizerTest, ClusterRolesApplyEverywhereOrWithinARoleBindingsNamespace) {
  put("clusterroles", R"({"metadata": {"name": "bg-editor"},
                          "rules": [{"apiGroups": ["billing.operator.dev"],
                                     "resources": ["billinggroups", "billinggroups/status"],
                                     "verbs": ["*"]}]})");
  put("rolebindings", R"({"metadata": {"name": "team", "namespace": "acme"},
                          "roleRef": {"kind": "ClusterRole", "name": "bg-editor"},
                          "subjects": [{"kind": "Group", "name": "dev-team"}]})");
  EXPECT_TRUE(
      allowed(bob_, "update", "billing.operator.dev", "billinggroups", "acme", "g", "status"));
  EXPECT_FALSE(allowed(bob_, "update", "billing.operator.dev", "billinggroups", "beta", "g"));
  EXPECT_FALSE(allowed(alice_, "get", "billing.operator.dev", "billinggroups", "acme", "g"));

  put("clusterrolebindings", R"({"metadata": {"name": "operator"},
                                 "roleRef": {"kind": "ClusterRole", "name": "bg-editor"},
                                 "subjects": [{"kind": "ServiceAccount", "name": "billing-operator",
                                               "namespace": "billing-system"}]})");
  EXPECT_TRUE(allowed(operator_, "list", "billing.operator.dev", "billinggroups"));
  EXPECT_TRUE(allowed(operator_, "delete", "billing.operator.dev", "billinggroups", "beta", "g"));
  EXPECT_FALSE(allowed(operator_, "list", "billing.operator.dev", "projects"));
  // Another account of the same name elsewhere is someone else.
  EXPECT_FALSE(allowed(serviceAccountUser("other", "billing-operator", "u2"), "list",
                       "billing.operator.dev", "billinggroups"));
}

TEST_F(RbacAuthorizerTest, ServiceAccountGroupsAndDefaultedSubjectNamespace) {
  put("clusterroles", R"({"metadata": {"name": "lease-user"},
                          "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                                     "verbs": ["get"]}]})");
  // A RoleBinding's ServiceAccount without namespace is one of the binding's namespace.
  put("rolebindings", R"({"metadata": {"name": "sa", "namespace": "billing-system"},
                          "roleRef": {"kind": "ClusterRole", "name": "lease-user"},
                          "subjects": [{"kind": "ServiceAccount", "name": "billing-operator"}]})");
  EXPECT_TRUE(allowed(operator_, "get", "coordination.k8s.io", "leases", "billing-system", "l"));
  put("clusterrolebindings",
      R"({"metadata": {"name": "all-sas"},
          "roleRef": {"kind": "ClusterRole", "name": "lease-user"},
          "subjects": [{"kind": "Group", "name": "system:serviceaccounts:tools"}]})");
  EXPECT_TRUE(allowed(serviceAccountUser("tools", "x", "u3"), "get", "coordination.k8s.io",
                      "leases", "anywhere", "l"));
  EXPECT_FALSE(allowed(serviceAccountUser("other", "x", "u4"), "get", "coordination.k8s.io",
                       "leases", "anywhere", "l"));
}

TEST_F(RbacAuthorizerTest, ResourceNamesAndAMissingRoleAsKubeReportsIt) {
  put("roles", R"({"metadata": {"name": "cert", "namespace": "billing-system"},
                   "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
                             {"apiGroups": [""], "resources": ["secrets"],
                              "resourceNames": ["webhook-cert"], "verbs": ["get", "update"]}]})");
  put("rolebindings", R"({"metadata": {"name": "cert", "namespace": "billing-system"},
                          "roleRef": {"kind": "Role", "name": "cert"},
                          "subjects": [{"kind": "User", "name": "alice"}]})");
  EXPECT_TRUE(allowed(alice_, "create", "", "secrets", "billing-system"));
  EXPECT_TRUE(allowed(alice_, "get", "", "secrets", "billing-system", "webhook-cert"));
  EXPECT_FALSE(allowed(alice_, "get", "", "secrets", "billing-system", "other"));
  EXPECT_FALSE(allowed(alice_, "list", "", "secrets", "billing-system"));

  put("rolebindings", R"({"metadata": {"name": "dangling", "namespace": "billing-system"},
                          "roleRef": {"kind": "Role", "name": "gone"},
                          "subjects": [{"kind": "User", "name": "alice"}]})");
  auto attributes = resourceRequest("list", "", "secrets", "billing-system");
  auto decision = authorizer_.authorize(attributes);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.reason, "RBAC: role.rbac.authorization.k8s.io \"gone\" not found");
}

TEST_F(RbacAuthorizerTest, ChangesTakeEffectAtOnceAndReadsDoNotRebuildTheIndex) {
  EXPECT_FALSE(allowed(alice_, "list", "", "pods", "a"));
  put("clusterroles", R"({"metadata": {"name": "pods"},
                          "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]})");
  put("clusterrolebindings", R"({"metadata": {"name": "alice-pods"},
                                 "roleRef": {"kind": "ClusterRole", "name": "pods"},
                                 "subjects": [{"kind": "User", "name": "alice"}]})");
  EXPECT_TRUE(allowed(alice_, "list", "", "pods", "a"));
  const auto rebuilds = authorizer_.rebuilds();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(allowed(alice_, "list", "", "pods", "a"));
  // An unrelated write does not rebuild either.
  ASSERT_TRUE(
      store_.create("configmaps", object(R"({"metadata": {"name": "c", "namespace": "a"}})"))
          .has_value());
  EXPECT_TRUE(allowed(alice_, "list", "", "pods", "a"));
  EXPECT_EQ(authorizer_.rebuilds(), rebuilds);

  ASSERT_TRUE(store_.remove("clusterrolebindings.rbac.authorization.k8s.io", "", "alice-pods"));
  EXPECT_FALSE(allowed(alice_, "list", "", "pods", "a"));
  // A watch ended from outside (fault injection) is noticed and started again.
  ASSERT_TRUE(store_
                  .create("clusterrolebindings.rbac.authorization.k8s.io",
                          object(R"({"metadata": {"name": "again"},
                                       "roleRef": {"kind": "ClusterRole", "name": "pods"},
                                       "subjects": [{"kind": "User", "name": "alice"}]})"))
                  .has_value());
  store_.stopAllWatchers();
  EXPECT_TRUE(allowed(alice_, "list", "", "pods", "a"));
  store_.stopAllWatchers();
  ASSERT_TRUE(store_.remove("clusterrolebindings.rbac.authorization.k8s.io", "", "again"));
  EXPECT_FALSE(allowed(alice_, "list", "", "pods", "a"));
}

// ---- ServiceAccount tokens (unit, with a clock the test moves) ----

TEST(ServiceAccountTokensTest, IssuedTokensAuthenticateUntilTheyExpire) {
  ObjectStore store{ObjectStore::Options{}};
  auto now = std::chrono::system_clock::now();
  ServiceAccountTokens tokens([&] { return now; });
  auto missing = tokens.request(store, "ns", "sa", "");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, 404);
  EXPECT_EQ(field(missing.error().status, {"message"}), "serviceaccounts \"sa\" not found");

  ASSERT_TRUE(store
                  .create("serviceaccounts",
                          object(R"({"metadata": {"name": "sa", "namespace": "ns", "uid": "u1"}})"))
                  .has_value());
  auto tooShort = tokens.request(store, "ns", "sa", R"({"spec": {"expirationSeconds": 60}})");
  ASSERT_FALSE(tooShort.has_value());
  EXPECT_EQ(tooShort.error().code, 422);
  EXPECT_EQ(field(tooShort.error().status, {"message"}),
            "TokenRequest.authentication.k8s.io \"sa\" is invalid: spec.expirationSeconds: Invalid "
            "value: 60: may not specify a duration less than 10 minutes");

  auto issued = tokens.request(store, "ns", "sa", R"({"spec": {"expirationSeconds": 600}})");
  ASSERT_TRUE(issued.has_value());
  const std::string token = field(*issued, {"status", "token"});
  EXPECT_EQ(token.size(), 43u);
  EXPECT_EQ(common::toJson(issued->at("spec").at("audiences")),
            R"(["https://kubernetes.default.svc.cluster.local"])");
  auto user = tokens.authenticate(store, token);
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->name, "system:serviceaccount:ns:sa");
  EXPECT_EQ(user->uid, "u1");
  EXPECT_THAT(user->groups,
              ::testing::ElementsAre("system:serviceaccounts", "system:serviceaccounts:ns",
                                     "system:authenticated"));
  EXPECT_FALSE(tokens.authenticate(store, "not-" + token).has_value());
  now += std::chrono::seconds(599);
  EXPECT_TRUE(tokens.authenticate(store, token).has_value());
  now += std::chrono::seconds(1);
  EXPECT_FALSE(tokens.authenticate(store, token).has_value()) << "expired";
}

TEST(ServiceAccountTokensTest, OtherAudiencesAndDeletedAccountsDoNotAuthenticate) {
  ObjectStore store{ObjectStore::Options{}};
  ServiceAccountTokens tokens;
  ASSERT_TRUE(store
                  .create("serviceaccounts",
                          object(R"({"metadata": {"name": "sa", "namespace": "ns", "uid": "u1"}})"))
                  .has_value());
  auto vault = tokens.request(store, "ns", "sa", R"({"spec": {"audiences": ["vault"]}})");
  ASSERT_TRUE(vault.has_value());
  EXPECT_EQ(vault->at("spec").at("expirationSeconds").as_integer(), 3600);
  EXPECT_FALSE(tokens.authenticate(store, field(*vault, {"status", "token"})).has_value());

  auto issued = tokens.request(store, "ns", "sa", "");
  ASSERT_TRUE(issued.has_value());
  const std::string token = field(*issued, {"status", "token"});
  ASSERT_TRUE(tokens.authenticate(store, token).has_value());
  ASSERT_TRUE(store.remove("serviceaccounts", "ns", "sa").has_value());
  ASSERT_TRUE(store
                  .create("serviceaccounts",
                          object(R"({"metadata": {"name": "sa", "namespace": "ns", "uid": "u2"}})"))
                  .has_value());
  EXPECT_FALSE(tokens.authenticate(store, token).has_value()) << "a new account of the same name";
}

// ---- over HTTPS ----

class RbacHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = harness::startServer();
    ASSERT_NE(server_, nullptr);
    admin_ = std::make_unique<Client>(*server_);
    server_->addToken("alice-token", UserInfo{"alice", {}, ""});
    alice_ = std::make_unique<Client>(*server_, Client::Credentials{"alice-token", std::nullopt});
  }
  void apply(const std::string& path, const std::string& body) {
    auto created = admin_->post(path, json(body));
    ASSERT_EQ(created.status, 201) << created.body;
  }

  std::unique_ptr<TestApiServer> server_;
  std::unique_ptr<Client> admin_;
  std::unique_ptr<Client> alice_;
};

const std::string kRbac = "/apis/rbac.authorization.k8s.io/v1";

TEST_F(RbacHttpTest, DeniedRequestsGetKubes403AndBindingsOpenThem) {
  auto refused = alice_->get("/api/v1/namespaces/default/configmaps");
  ASSERT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body,
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
            R"("message":"configmaps is forbidden: User \"alice\" cannot list resource )"
            R"(\"configmaps\" in API group \"\" in the namespace \"default\"",)"
            R"("reason":"Forbidden","details":{"kind":"configmaps"},"code":403})");
  // Discovery stays open to every authenticated user.
  EXPECT_EQ(alice_->get("/api/v1").status, 200);
  EXPECT_EQ(alice_->get("/apis").status, 200);
  EXPECT_EQ(alice_->get("/version").status, 200);

  apply(kRbac + "/namespaces/default/roles",
        R"({"metadata": {"name": "cm"}, "rules": [{"apiGroups": [""],
            "resources": ["configmaps"], "verbs": ["list", "create"]}]})");
  apply(kRbac + "/namespaces/default/rolebindings",
        R"({"metadata": {"name": "alice-cm"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role", "name": "cm"}, "subjects": [{"kind": "User", "name": "alice"}]})");
  EXPECT_EQ(alice_->get("/api/v1/namespaces/default/configmaps").status, 200);
  EXPECT_EQ(
      alice_
          ->post("/api/v1/namespaces/default/configmaps", json(R"({"metadata": {"name": "mine"}})"))
          .status,
      201);
  auto get = alice_->get("/api/v1/namespaces/default/configmaps/mine");
  EXPECT_EQ(get.status, 403);
  EXPECT_EQ(field(get.json, {"message"}),
            "configmaps \"mine\" is forbidden: User \"alice\" cannot get resource \"configmaps\" "
            "in API group \"\" in the namespace \"default\"");
  EXPECT_EQ(alice_->get("/api/v1/namespaces/default/configmaps?watch=true").status, 403);
  EXPECT_EQ(alice_->get("/api/v1/namespaces/other/configmaps").status, 403);
}

TEST_F(RbacHttpTest, TokenRequestIssuesATokenTheServerAuthenticatesAsTheServiceAccount) {
  const std::string tokenPath = "/api/v1/namespaces/default/serviceaccounts/robot/token";
  auto missing = admin_->post(tokenPath, json(R"({"kind": "TokenRequest",
      "apiVersion": "authentication.k8s.io/v1", "spec": {}})"));
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(field(missing.json, {"message"}), "serviceaccounts \"robot\" not found");

  apply("/api/v1/namespaces/default/serviceaccounts", R"({"metadata": {"name": "robot"}})");
  // Asking for a token is create on serviceaccounts/token.
  auto refused = alice_->post(tokenPath, json(R"({"spec": {}})"));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(field(refused.json, {"message"}),
            "serviceaccounts \"robot\" is forbidden: User \"alice\" cannot create resource "
            "\"serviceaccounts/token\" in API group \"\" in the namespace \"default\"");

  auto issued = admin_->post(tokenPath, json(R"({"spec": {"expirationSeconds": 3600}})"));
  ASSERT_EQ(issued.status, 201) << issued.body;
  EXPECT_EQ(field(issued.json, {"kind"}), "TokenRequest");
  EXPECT_EQ(field(issued.json, {"metadata", "name"}), "robot");
  const std::string token = field(issued.json, {"status", "token"});
  Client robot(*server_, Client::Credentials{token, std::nullopt});
  auto denied = robot.get("/apis/billing.operator.dev/v1alpha1/billinggroups");
  EXPECT_EQ(denied.status, 403);
  EXPECT_THAT(field(denied.json, {"message"}),
              HasSubstr("User \"system:serviceaccount:default:robot\" cannot list"));

  apply(kRbac + "/clusterrolebindings",
        R"({"metadata": {"name": "robot-ns"}, "roleRef": {"kind": "ClusterRole",
            "name": "ns-reader"}, "subjects": [{"kind": "ServiceAccount", "name": "robot",
            "namespace": "default"}]})");
  auto dangling = robot.get("/api/v1/namespaces");
  EXPECT_EQ(dangling.status, 403);
  EXPECT_THAT(
      field(dangling.json, {"message"}),
      ::testing::EndsWith("at the cluster scope: RBAC: clusterrole.rbac.authorization.k8s.io "
                          "\"ns-reader\" not found"));
  apply(kRbac + "/clusterroles",
        R"({"metadata": {"name": "ns-reader"}, "rules": [{"apiGroups": [""],
            "resources": ["namespaces"], "verbs": ["list"]}]})");
  EXPECT_EQ(robot.get("/api/v1/namespaces").status, 200);

  // Deleting the account invalidates its tokens: 401, as for any unknown token.
  ASSERT_EQ(admin_->del("/api/v1/namespaces/default/serviceaccounts/robot").status, 200);
  EXPECT_EQ(robot.get("/api/v1/namespaces").status, 401);
}

TEST_F(RbacHttpTest, SelfSubjectAccessReviewAnswersForTheCaller) {
  const std::string reviews = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
  auto ask = [&](const Client& client, const std::string& attributes) {
    return client.post(reviews, json(R"({"kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1", "spec": )" +
                                     attributes + "}"));
  };
  auto no = ask(*alice_, R"({"resourceAttributes": {"verb": "list", "resource": "secrets",
                             "namespace": "default"}})");
  ASSERT_EQ(no.status, 201) << no.body;
  EXPECT_EQ(common::toJson(no.json.at("status")), R"({"allowed":false})");
  auto yes = ask(*admin_, R"({"resourceAttributes": {"verb": "list", "resource": "secrets"}})");
  ASSERT_EQ(yes.status, 201) << yes.body;
  EXPECT_EQ(common::toJson(yes.json.at("status")), R"({"allowed":true})");
  auto path = ask(*alice_, R"({"nonResourceAttributes": {"verb": "get", "path": "/apis"}})");
  EXPECT_EQ(common::toJson(path.json.at("status")), R"({"allowed":true})");
  auto neither = ask(*alice_, "{}");
  EXPECT_EQ(neither.status, 422) << neither.body;
  // Reviews are created, never stored or listed.
  EXPECT_EQ(admin_->get(reviews).status, 405);
  auto discovery = admin_->get("/apis/authorization.k8s.io/v1");
  ASSERT_EQ(discovery.status, 200);
  EXPECT_EQ(common::toJson(discovery.json.at("resources")[0].at("verbs")), R"(["create"])");
}

TEST_F(RbacHttpTest, AlwaysAllowModeAuthorizesEveryone) {
  TestApiServerOptions options;
  options.authorization = AuthorizationMode::AlwaysAllow;
  auto open = harness::startServer(options);
  ASSERT_NE(open, nullptr);
  open->addToken("alice-token", UserInfo{"alice", {}, ""});
  Client alice(*open, Client::Credentials{"alice-token", std::nullopt});
  EXPECT_EQ(alice.get("/api/v1/namespaces/default/secrets").status, 200);
}

// ---- the real kubectl ----

class RbacKubectlTest : public RbacHttpTest {
 protected:
  void SetUp() override {
    RbacHttpTest::SetUp();
    ASSERT_TRUE(server_->writeKubeconfig(dir_.path() / "admin", KubeconfigAuth::Token));
    kubectl_ = std::make_unique<harness::Kubectl>(dir_.path() / "admin", dir_.path());
  }
  // A kubeconfig for a bearer token.
  harness::Kubectl as(const std::string& name, const std::string& token) {
    std::string config = server_->kubeconfig(KubeconfigAuth::Token);
    auto at = config.find(server_->adminToken());
    config.replace(at, server_->adminToken().size(), token);
    harness::writeFile(dir_.path() / name, config);
    return harness::Kubectl(dir_.path() / name, dir_.path() / (name + "-work"));
  }

  harness::TempDir dir_;
  std::unique_ptr<harness::Kubectl> kubectl_;
};

TEST_F(RbacKubectlTest, CreateTokenAuthCanIAndAForbiddenGet) {
  CommandResult missing = kubectl_->run({"create", "token", "robot", "-n", "default"});
  EXPECT_NE(missing.exitCode, 0);
  EXPECT_THAT(missing.err, HasSubstr("serviceaccounts \"robot\" not found"));

  ASSERT_EQ(kubectl_->run({"create", "serviceaccount", "robot", "-n", "default"}).exitCode, 0);
  CommandResult token =
      kubectl_->run({"create", "token", "robot", "-n", "default", "--duration=15m"});
  ASSERT_EQ(token.exitCode, 0) << token;
  std::string text = token.out;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  harness::Kubectl robot = as("robot", text);

  CommandResult forbidden = robot.run({"get", "configmaps", "-n", "default"});
  EXPECT_EQ(forbidden.exitCode, 1) << forbidden;
  EXPECT_THAT(forbidden.err,
              HasSubstr("Error from server (Forbidden): configmaps is forbidden: User "
                        "\"system:serviceaccount:default:robot\" cannot list resource "
                        "\"configmaps\" in API group \"\" in the namespace \"default\""));

  CommandResult no = robot.run({"auth", "can-i", "list", "configmaps", "-n", "default"});
  EXPECT_EQ(no.exitCode, 1) << no;
  EXPECT_EQ(no.out, "no\n");

  const std::string rbac = R"(
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm-reader, namespace: default}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: robot-reads, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-reader}
subjects:
- {kind: ServiceAccount, name: robot, namespace: default}
)";
  CommandResult applied = kubectl_->run({"apply", "-f", "-"}, rbac);
  ASSERT_EQ(applied.exitCode, 0) << applied;
  CommandResult yes = robot.run({"auth", "can-i", "list", "configmaps", "-n", "default"});
  EXPECT_EQ(yes.exitCode, 0) << yes;
  EXPECT_EQ(yes.out, "yes\n");
  EXPECT_EQ(robot.run({"auth", "can-i", "delete", "configmaps", "-n", "default"}).out, "no\n");
  EXPECT_EQ(robot.run({"auth", "can-i", "list", "configmaps", "-n", "other"}).out, "no\n");
  CommandResult listed = robot.run({"get", "configmaps", "-n", "default"});
  EXPECT_EQ(listed.exitCode, 0) << listed;
  CommandResult admin = kubectl_->run({"auth", "can-i", "*", "*"});
  EXPECT_EQ(admin.out, "yes\n") << admin;
}

}  // namespace
}  // namespace billing::apiserver
