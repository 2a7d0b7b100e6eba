#include "tests/apiserver/admission.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "common/json.h"
#include "common/tls.h"
#include "tests/apiserver/tests/fake_webhook.h"

namespace billing::apiserver {
namespace {

using namespace webhook_testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using web::json::value;

const std::string kConfigurations = "validatingwebhookconfigurations.admissionregistration.k8s.io";
const std::string kWebhookName = "validate.billing.operator.dev";

ResourceType billingGroups() {
  ResourceType type;
  type.group = "billing.operator.dev";
  type.version = "v1alpha1";
  type.kind = "BillingGroup";
  type.listKind = "BillingGroupList";
  type.plural = "billinggroups";
  type.singular = "billinggroup";
  type.namespaced = true;
  type.statusSubresource = true;
  return type;
}

ResourceType namespacesType() {
  ResourceType type;
  type.version = "v1";
  type.kind = "Namespace";
  type.listKind = "NamespaceList";
  type.plural = "namespaces";
  type.singular = "namespace";
  type.namespaced = false;
  return type;
}

ResourceType clusterRoles() {
  ResourceType type;
  type.group = "rbac.authorization.k8s.io";
  type.version = "v1";
  type.kind = "ClusterRole";
  type.listKind = "ClusterRoleList";
  type.plural = "clusterroles";
  type.singular = "clusterrole";
  type.namespaced = false;
  return type;
}

ResourceType webhookConfigurations() {
  ResourceType type;
  type.group = "admissionregistration.k8s.io";
  type.version = "v1";
  type.kind = "ValidatingWebhookConfiguration";
  type.listKind = "ValidatingWebhookConfigurationList";
  type.plural = "validatingwebhookconfigurations";
  type.singular = "validatingwebhookconfiguration";
  type.namespaced = false;
  return type;
}

value billingGroup(const std::string& name, const std::string& ns,
                   const std::string& labels = "{}") {
  return json(R"({"apiVersion": "billing.operator.dev/v1alpha1", "kind": "BillingGroup",
                  "metadata": {"name": ")" +
              name + R"(", "namespace": ")" + ns + R"(", "labels": )" + labels + R"(},
                  "spec": {"monthlyLimit": "100.00"}})");
}

UserInfo alice() { return {"alice", {"billing-admins", "system:authenticated"}, "uid-alice"}; }

AdmissionAttributes createOf(const value& object, ResourceType type = billingGroups()) {
  AdmissionAttributes attributes;
  attributes.type = std::move(type);
  attributes.operation = "CREATE";
  const value& metadata = object.at("metadata");
  attributes.ns = metadata.has_field("namespace") ? metadata.at("namespace").as_string() : "";
  attributes.name = metadata.at("name").as_string();
  attributes.object = object;
  attributes.user = alice();
  return attributes;
}

AdmissionAttributes updateOf(const value& oldObject, const value& object) {
  AdmissionAttributes attributes = createOf(object);
  attributes.operation = "UPDATE";
  attributes.oldObject = oldObject;
  return attributes;
}

AdmissionAttributes deleteOf(const value& oldObject) {
  AdmissionAttributes attributes = createOf(oldObject);
  attributes.operation = "DELETE";
  attributes.object = value::null();
  attributes.oldObject = oldObject;
  return attributes;
}

std::string message(const ApiError& error) { return text(error.status, "message"); }

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pki().error, "");
    auto started = webhook_.start();
    ASSERT_TRUE(started) << started.error();
    ASSERT_TRUE(store_
                    .create("namespaces", json(R"({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "acme", "labels": {"billing.operator.dev/enabled": "true"}}})"))
                    .has_value());
    ASSERT_TRUE(store_.create("namespaces", json(R"({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "other"}})")));
  }

  // A webhook as the operator's chart declares it: billinggroups CREATE/UPDATE, called by url.
  value webhook(const std::string& name = kWebhookName) const {
    value hook = json(R"({
      "admissionReviewVersions": ["v1"],
      "sideEffects": "None",
      "failurePolicy": "Fail",
      "matchPolicy": "Equivalent",
      "timeoutSeconds": 10,
      "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["billing.operator.dev"],
                 "apiVersions": ["v1alpha1"], "resources": ["billinggroups"],
                 "scope": "Namespaced"}]
    })");
    hook["name"] = value::string(name);
    hook["clientConfig"] = value::object();
    hook["clientConfig"]["url"] = value::string(webhook_.url());
    hook["clientConfig"]["caBundle"] = value::string(common::base64Encode(pki().ca.certPem));
    return hook;
  }

  void configure(const std::string& name, const std::vector<value>& hooks) {
    value configuration = json(R"({"apiVersion": "admissionregistration.k8s.io/v1",
                                   "kind": "ValidatingWebhookConfiguration"})");
    configuration["metadata"] = value::object();
    configuration["metadata"]["name"] = value::string(name);
    configuration["webhooks"] = value::array(hooks.size());
    for (std::size_t i = 0; i < hooks.size(); ++i) configuration["webhooks"][i] = hooks[i];
    static_cast<void>(store_.remove(kConfigurations, "", name));
    ASSERT_TRUE(store_.create(kConfigurations, configuration).has_value());
  }
  void configure(const value& hook) { configure("billing-operator", {hook}); }

  AdmissionController controller(std::map<std::string, std::uint16_t> endpoints = {}) const {
    return AdmissionController(store_, std::move(endpoints));
  }

  // The exact 500 kube-apiserver answers when calling the webhook failed under failurePolicy Fail.
  static std::string failedCalling(const std::string& reason) {
    return "Internal error occurred: failed calling webhook \"" + kWebhookName + "\": " + reason;
  }

  ObjectStore store_{ObjectStore::Options{}};
  FakeWebhook webhook_;
};

// ---- Allow and deny ---------------------------------------------------------------------------

TEST_F(AdmissionTest, AllowingWebhookAdmitsAndIsCalledOnce) {
  configure(webhook());
  auto result = controller().review(createOf(billingGroup("team-a", "acme")));
  EXPECT_FALSE(result.error.has_value()) << result.error->status.serialize();
  EXPECT_TRUE(result.warnings.empty());
  EXPECT_EQ(webhook_.calls(), 1u);
}

TEST_F(AdmissionTest, NoConfigurationAdmitsWithoutCalls) {
  EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "acme"))).has_value());
  EXPECT_EQ(webhook_.calls(), 0u);
}

TEST_F(AdmissionTest, DenialKeepsTheWebhookStatusAndPrefixesItsName) {
  configure(webhook());
  webhook_.respond([](const ReceivedCall& call) {
    return answer(call.review, json(R"({"allowed": false, "status": {"code": 403,
        "reason": "Forbidden", "message": "monthlyLimit exceeds the organization's budget"}})"));
  });
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, 403);
  EXPECT_EQ(message(*error),
            "admission webhook \"validate.billing.operator.dev\" denied the request: monthlyLimit "
            "exceeds the organization's budget");
  EXPECT_EQ(text(error->status, "reason"), "Forbidden");
  EXPECT_EQ(text(error->status, "status"), "Failure");
  EXPECT_EQ(text(error->status, "kind"), "Status");
  EXPECT_EQ(text(error->status, "apiVersion"), "v1");
  EXPECT_EQ(error->status.at("code").as_integer(), 403);
}

TEST_F(AdmissionTest, DenialWithoutStatusIs400WithoutExplanation) {
  configure(webhook());
  webhook_.respond(
      [](const ReceivedCall& call) { return answer(call.review, json(R"({"allowed": false})")); });
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, 400);
  EXPECT_EQ(message(*error),
            "admission webhook \"validate.billing.operator.dev\" denied the request without "
            "explanation");
  EXPECT_FALSE(error->status.has_field("reason"));  // metav1.Status omits an empty reason
  EXPECT_EQ(text(error->status, "status"), "Failure");
  EXPECT_EQ(error->status.at("code").as_integer(), 400);
}

TEST_F(AdmissionTest, DenialWordsReasonWhenNoMessageAndRaisesCodesBelow400) {
  configure(webhook());
  webhook_.respond([](const ReceivedCall& call) {
    return answer(call.review, json(R"({"allowed": false, "status": {"code": 200,
        "status": "Success", "reason": "QuotaExceeded", "details": {"name": "team-a"}}})"));
  });
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, 400);
  EXPECT_EQ(
      message(*error),
      "admission webhook \"validate.billing.operator.dev\" denied the request: QuotaExceeded");
  EXPECT_EQ(text(error->status, "status"), "Failure");
  EXPECT_EQ(text(error->status, "reason"), "QuotaExceeded");
  EXPECT_EQ(text(error->status.at("details"), "name"), "team-a");
}

TEST_F(AdmissionTest, WarningsAreReturnedWhetherAllowedOrDenied) {
  configure(webhook());
  webhook_.respond([](const ReceivedCall& call) {
    return answer(call.review, json(R"({"allowed": true,
        "warnings": ["spec.monthlyLimit is close to the budget", "label tier is deprecated"]})"));
  });
  auto allowed = controller().review(createOf(billingGroup("team-a", "acme")));
  EXPECT_FALSE(allowed.error.has_value());
  EXPECT_THAT(allowed.warnings,
              ElementsAre("spec.monthlyLimit is close to the budget", "label tier is deprecated"));

  webhook_.respond([](const ReceivedCall& call) {
    return answer(call.review, json(R"({"allowed": false, "warnings": ["think twice"]})"));
  });
  auto denied = controller().review(createOf(billingGroup("team-a", "acme")));
  EXPECT_TRUE(denied.error.has_value());
  EXPECT_THAT(denied.warnings, ElementsAre("think twice"));
}

TEST_F(AdmissionTest, EveryMatchingWebhookIsCalledAndTheFirstByConfigurationNameRefuses) {
  auto denyingWith = [](const std::string& why) {
    return [why](const ReceivedCall& call) {
      value response = json(R"({"allowed": false, "status": {"code": 403}})");
      response["status"]["message"] = value::string(why);
      return answer(call.review, response);
    };
  };
  value second = webhook("second.billing.operator.dev");
  second["clientConfig"]["url"] = value::string(webhook_.url("/second"));
  value first = webhook("first.billing.operator.dev");
  first["clientConfig"]["url"] = value::string(webhook_.url("/first"));
  value allowing = webhook("allowing.billing.operator.dev");
  allowing["clientConfig"]["url"] = value::string(webhook_.url("/allow"));
  configure("b-configuration", {second});
  configure("a-configuration", {allowing, first});
  webhook_.respond([&](const ReceivedCall& call) {
    if (call.target.starts_with("/allow")) return allow(call.review);
    return denyingWith(call.target.starts_with("/first") ? "first says no"
                                                         : "second says no")(call);
  });

  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(message(*error),
            "admission webhook \"first.billing.operator.dev\" denied the request: first says no");
  std::vector<std::string> targets;
  for (const auto& call : webhook_.received()) targets.push_back(call.target);
  EXPECT_THAT(targets,
              ElementsAre("/allow?timeout=10s", "/first?timeout=10s", "/second?timeout=10s"));
}

// ---- Which requests reach the webhook ---------------------------------------------------------

TEST_F(AdmissionTest, RulesThatDoNotMatchTheRequestSkipTheWebhook) {
  const std::vector<std::string> rules = {
      R"({"operations": ["DELETE"], "apiGroups": ["billing.operator.dev"],
          "apiVersions": ["v1alpha1"], "resources": ["billinggroups"]})",
      R"({"operations": ["CREATE"], "apiGroups": ["billing.operator.dev"],
          "apiVersions": ["v1alpha1"], "resources": ["invoices"]})",
      R"({"operations": ["CREATE"], "apiGroups": ["apps"], "apiVersions": ["v1alpha1"],
          "resources": ["billinggroups"]})",
      R"({"operations": ["CREATE"], "apiGroups": ["billing.operator.dev"], "apiVersions": ["v1"],
          "resources": ["billinggroups"]})",
      R"({"operations": ["CREATE"], "apiGroups": ["billing.operator.dev"],
          "apiVersions": ["v1alpha1"], "resources": ["billinggroups"], "scope": "Cluster"})",
      // Subresources are matched only by "x/sub", "x/*", "*/sub" or "*/*".
      R"({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"],
          "resources": ["billinggroups/status"]})",
      R"({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"],
          "resources": ["*/scale"]})",
  };
  for (const auto& rule : rules) {
    value hook = webhook();
    hook["rules"] = value::array(1);
    hook["rules"][0] = json(rule);
    configure(hook);
    EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "acme"))).has_value());
    EXPECT_EQ(webhook_.calls(), 0u) << rule;
  }
}

TEST_F(AdmissionTest, WildcardAndSubresourceRuleFormsMatch) {
  struct Case {
    std::string rule;
    std::string subresource;
  };
  const std::vector<Case> cases = {
      {R"({"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"],
           "scope": "*"})",
       ""},
      {R"({"operations": ["UPDATE"], "apiGroups": ["billing.operator.dev"],
           "apiVersions": ["v1alpha1"], "resources": ["billinggroups/status"],
           "scope": "Namespaced"})",
       "status"},
      {R"({"operations": ["UPDATE"], "apiGroups": ["*"], "apiVersions": ["*"],
           "resources": ["*/status"]})",
       "status"},
      {R"({"operations": ["UPDATE"], "apiGroups": ["*"], "apiVersions": ["*"],
           "resources": ["billinggroups/*"]})",
       "status"},
      {R"({"operations": ["UPDATE"], "apiGroups": ["*"], "apiVersions": ["*"],
           "resources": ["*/*"]})",
       ""},
  };
  std::size_t expectedCalls = 0;
  for (const auto& [rule, subresource] : cases) {
    value hook = webhook();
    hook["rules"] = value::array(1);
    hook["rules"][0] = json(rule);
    configure(hook);
    AdmissionAttributes update =
        updateOf(billingGroup("team-a", "acme"), billingGroup("team-a", "acme"));
    update.subresource = subresource;
    EXPECT_FALSE(controller().validate(update).has_value());
    EXPECT_EQ(webhook_.calls(), ++expectedCalls) << rule;
    EXPECT_EQ(text(webhook_.lastReview().at("request"), "subResource"),
              subresource.empty() ? "<subResource missing>" : subresource);
  }
}

TEST_F(AdmissionTest, WebhookConfigurationObjectsAreNeverSentToWebhooks) {
  value hook = webhook();
  hook["rules"] = json(R"([{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"],
                            "resources": ["*"], "scope": "*"}])");
  configure(hook);
  value configuration = store_.get(kConfigurations, "", "billing-operator").value();
  EXPECT_FALSE(controller().validate(createOf(configuration, webhookConfigurations())).has_value());
  EXPECT_EQ(webhook_.calls(), 0u);
  EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "acme"))).has_value());
  EXPECT_EQ(webhook_.calls(), 1u);
}

TEST_F(AdmissionTest, NamespaceSelectorMatchesTheLabelsOfTheRequestNamespace) {
  value hook = webhook();
  hook["namespaceSelector"] = json(R"({"matchLabels": {"billing.operator.dev/enabled": "true"}})");
  configure(hook);
  EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "other"))).has_value());
  EXPECT_EQ(webhook_.calls(), 0u);
  EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "acme"))).has_value());
  EXPECT_EQ(webhook_.calls(), 1u);
}

TEST_F(AdmissionTest, NamespaceSelectorSeesTheNamespaceNameLabel) {
  value hook = webhook();
  hook["namespaceSelector"] = json(R"({"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                       "operator": "NotIn", "values": ["other"]}]})");
  configure(hook);
  EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "other"))).has_value());
  EXPECT_EQ(webhook_.calls(), 0u);
  EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "acme"))).has_value());
  EXPECT_EQ(webhook_.calls(), 1u);
}

TEST_F(AdmissionTest, NamespaceSelectorOnAMissingNamespaceIsNotFound) {
  value hook = webhook();
  hook["namespaceSelector"] = json(R"({"matchLabels": {"billing.operator.dev/enabled": "true"}})");
  configure(hook);
  auto error = controller().validate(createOf(billingGroup("team-a", "ghost")));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, 404);
  EXPECT_EQ(message(*error), "namespaces \"ghost\" not found");
  EXPECT_EQ(webhook_.calls(), 0u);

  hook.erase("namespaceSelector");  // {}: no namespace lookup at all
  configure(hook);
  EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "ghost"))).has_value());
  EXPECT_EQ(webhook_.calls(), 1u);
}

TEST_F(AdmissionTest, NamespaceObjectsAreJudgedByTheirOwnLabels) {
  value hook = webhook();
  hook["rules"] = json(R"([{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                            "resources": ["namespaces"], "scope": "Cluster"}])");
  hook["namespaceSelector"] = json(R"({"matchLabels": {"billing.operator.dev/enabled": "true"}})");
  configure(hook);
  auto namespaceObject = [](const std::string& labels) {
    return json(R"({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": "fresh", "labels": )" +
                labels + "}}");
  };
  EXPECT_FALSE(
      controller().validate(createOf(namespaceObject("{}"), namespacesType())).has_value());
  EXPECT_EQ(webhook_.calls(), 0u);
  EXPECT_FALSE(
      controller()
          .validate(createOf(namespaceObject(R"({"billing.operator.dev/enabled": "true"})"),
                             namespacesType()))
          .has_value());
  EXPECT_EQ(webhook_.calls(), 1u);
}

TEST_F(AdmissionTest, ClusterScopedObjectsIgnoreTheNamespaceSelector) {
  value hook = webhook();
  hook["rules"] = json(R"([{"operations": ["CREATE"], "apiGroups": ["rbac.authorization.k8s.io"],
                            "apiVersions": ["v1"], "resources": ["clusterroles"]}])");
  hook["namespaceSelector"] = json(R"({"matchLabels": {"billing.operator.dev/enabled": "true"}})");
  configure(hook);
  value role = json(R"({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                        "metadata": {"name": "billing-viewer"}, "rules": []})");
  EXPECT_FALSE(controller().validate(createOf(role, clusterRoles())).has_value());
  EXPECT_EQ(webhook_.calls(), 1u);
}

TEST_F(AdmissionTest, NamespacedScopeLeavesOutClusterScopedObjectsAndNamespaces) {
  value hook = webhook();
  hook["rules"] = json(R"([{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"],
                            "resources": ["*"], "scope": "Namespaced"}])");
  configure(hook);
  value role = json(R"({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                        "metadata": {"name": "billing-viewer"}, "rules": []})");
  EXPECT_FALSE(controller().validate(createOf(role, clusterRoles())).has_value());
  const value acme = store_.get("namespaces", "", "acme").value();
  AdmissionAttributes namespaceUpdate = createOf(acme, namespacesType());
  namespaceUpdate.operation = "UPDATE";
  namespaceUpdate.oldObject = acme;
  EXPECT_FALSE(controller().validate(namespaceUpdate).has_value());
  EXPECT_EQ(webhook_.calls(), 0u);
  EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "acme"))).has_value());
  EXPECT_EQ(webhook_.calls(), 1u);
}

TEST_F(AdmissionTest, ObjectSelectorMatchesTheNewOrTheOldObject) {
  value hook = webhook();
  hook["rules"][0]["operations"] = json(R"(["*"])");
  hook["objectSelector"] = json(R"({"matchLabels": {"tier": "gold"}})");
  configure(hook);
  const value gold = billingGroup("team-a", "acme", R"({"tier": "gold"})");
  const value plain = billingGroup("team-a", "acme");

  EXPECT_FALSE(controller().validate(createOf(plain)).has_value());
  EXPECT_EQ(webhook_.calls(), 0u);
  EXPECT_FALSE(controller().validate(updateOf(plain, plain)).has_value());
  EXPECT_EQ(webhook_.calls(), 0u);
  EXPECT_FALSE(controller().validate(createOf(gold)).has_value());
  EXPECT_EQ(webhook_.calls(), 1u);
  EXPECT_FALSE(controller().validate(updateOf(gold, plain)).has_value());  // label removed
  EXPECT_EQ(webhook_.calls(), 2u);
  EXPECT_FALSE(controller().validate(deleteOf(gold)).has_value());
  EXPECT_EQ(webhook_.calls(), 3u);
}

// ---- clientConfig -----------------------------------------------------------------------------

TEST_F(AdmissionTest, ServiceClientConfigGoesThroughServiceEndpointsWithTheServiceName) {
  value hook = webhook();
  hook["clientConfig"].erase("url");
  hook["clientConfig"]["service"] = json(
      R"({"namespace": "billing-system", "name": "webhook", "path": "/validate-billinggroup/",
          "port": 8443})");
  configure(hook);
  auto result = controller({{"billing-system/webhook:8443", webhook_.port()}})
                    .review(createOf(billingGroup("team-a", "acme")));
  EXPECT_FALSE(result.error.has_value()) << result.error->status.serialize();
  ASSERT_EQ(webhook_.calls(), 1u);
  const ReceivedCall call = webhook_.received().front();
  EXPECT_EQ(call.target, "/validate-billinggroup?timeout=10s");
  EXPECT_EQ(call.headers.get("Host"), "webhook.billing-system.svc:8443");
  EXPECT_EQ(call.headers.get("Content-Type"), "application/json");
}

TEST_F(AdmissionTest, ServicePortDefaultsTo443) {
  value hook = webhook();
  hook["clientConfig"].erase("url");
  hook["clientConfig"]["service"] = json(R"({"namespace": "billing-system", "name": "webhook"})");
  configure(hook);
  EXPECT_FALSE(controller({{"billing-system/webhook:443", webhook_.port()}})
                   .validate(createOf(billingGroup("team-a", "acme")))
                   .has_value());
  ASSERT_EQ(webhook_.calls(), 1u);
  EXPECT_EQ(webhook_.received().front().target, "/?timeout=10s");
}

TEST_F(AdmissionTest, ServiceCertificateMustNameTheService) {
  value hook = webhook();
  hook["clientConfig"].erase("url");
  hook["clientConfig"]["service"] = json(R"({"namespace": "billing-system", "name": "impostor",
                                             "path": "/validate"})");
  configure(hook);
  auto error = controller({{"billing-system/impostor:443", webhook_.port()}})
                   .validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, 500);
  EXPECT_THAT(message(*error),
              HasSubstr(failedCalling("failed to call webhook: Post "
                                      "\"https://impostor.billing-system.svc:443/"
                                      "validate?timeout=10s\": tls: failed to verify certificate: "
                                      "x509: ")));
  EXPECT_EQ(webhook_.calls(), 0u);
}

TEST_F(AdmissionTest, UnknownServiceFailsClosedAsKubeWordsIt) {
  value hook = webhook();
  hook["clientConfig"].erase("url");
  hook["clientConfig"]["service"] = json(R"({"namespace": "billing-system", "name": "webhook",
                                             "path": "/validate"})");
  configure(hook);
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, 500);
  const std::string reason =
      "failed to call webhook: Post "
      "\"https://webhook.billing-system.svc:443/validate?timeout=10s\": service \"webhook\" not "
      "found";
  EXPECT_EQ(message(*error), failedCalling(reason));
  EXPECT_EQ(text(error->status, "reason"), "InternalError");
  EXPECT_EQ(text(error->status.at("details").at("causes")[0], "message"),
            "failed calling webhook \"" + kWebhookName + "\": " + reason);
}

TEST_F(AdmissionTest, WrongCaBundleFailsClosedUnderFailPolicy) {
  value hook = webhook();
  hook["clientConfig"]["caBundle"] = value::string(common::base64Encode(pki().otherCa.certPem));
  configure(hook);
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, 500);
  EXPECT_EQ(message(*error), failedCalling("failed to call webhook: Post \"" + webhook_.url() +
                                           "?timeout=10s\": tls: failed to verify certificate: "
                                           "x509: certificate signed by unknown authority"));
  EXPECT_EQ(webhook_.calls(), 0u);
}

TEST_F(AdmissionTest, WrongCaBundleIsSkippedUnderIgnorePolicy) {
  value hook = webhook();
  hook["clientConfig"]["caBundle"] = value::string(common::base64Encode(pki().otherCa.certPem));
  hook["failurePolicy"] = value::string("Ignore");
  configure(hook);
  EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "acme"))).has_value());
}

TEST_F(AdmissionTest, MissingCaBundleMeansTheSystemTrustStore) {
  value hook = webhook();
  hook["clientConfig"].erase("caBundle");
  configure(hook);
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  EXPECT_THAT(message(*error), HasSubstr("x509: certificate signed by unknown authority"));
}

TEST_F(AdmissionTest, RefusedConnectionFailsClosedByDefault) {
  value hook = webhook();
  hook.erase("failurePolicy");  // admissionregistration/v1 defaults it to Fail
  FakeWebhook gone;
  ASSERT_TRUE(gone.start().has_value());
  const std::uint16_t port = gone.port();
  gone.stop();
  hook["clientConfig"]["url"] = value::string(gone.url("/validate"));
  configure(hook);
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  const std::string address = "127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(message(*error), failedCalling("failed to call webhook: Post \"https://" + address +
                                           "/validate?timeout=10s\": dial tcp " + address +
                                           ": connect: connection refused"));
}

// ---- Timeouts ---------------------------------------------------------------------------------

TEST_F(AdmissionTest, SlowWebhookTimesOutAndFailsClosed) {
  value hook = webhook();
  hook["timeoutSeconds"] = value::number(1);
  configure(hook);
  webhook_.hold();
  const auto started = std::chrono::steady_clock::now();
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, 500);
  EXPECT_EQ(message(*error), failedCalling("failed to call webhook: Post \"" + webhook_.url() +
                                           "?timeout=1s\": context deadline exceeded"));
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(webhook_.calls(), 1u);
}

TEST_F(AdmissionTest, SlowWebhookIsSkippedUnderIgnorePolicy) {
  value hook = webhook();
  hook["timeoutSeconds"] = value::number(1);
  hook["failurePolicy"] = value::string("Ignore");
  configure(hook);
  webhook_.hold();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "acme"))).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(webhook_.calls(), 1u);
}

// ---- Dry run ----------------------------------------------------------------------------------

TEST_F(AdmissionTest, DryRunReachesWebhooksWithoutSideEffects) {
  for (const std::string sideEffects : {"None", "NoneOnDryRun"}) {
    value hook = webhook();
    hook["sideEffects"] = value::string(sideEffects);
    configure(hook);
    AdmissionAttributes attributes = createOf(billingGroup("team-a", "acme"));
    attributes.dryRun = true;
    EXPECT_FALSE(controller().validate(attributes).has_value()) << sideEffects;
    const value request = webhook_.lastReview().at("request");
    EXPECT_TRUE(request.at("dryRun").as_bool()) << sideEffects;
    EXPECT_EQ(common::toJson(request.at("options")),
              R"({"apiVersion":"meta.k8s.io/v1","dryRun":["All"],"kind":"CreateOptions"})");
  }
  EXPECT_EQ(webhook_.calls(), 2u);
}

TEST_F(AdmissionTest, DryRunIsRefusedByWebhooksWithSideEffects) {
  for (const std::string sideEffects : {"Some", "Unknown"}) {
    for (const std::string policy : {"Fail", "Ignore"}) {
      value hook = webhook();
      hook["sideEffects"] = value::string(sideEffects);
      hook["failurePolicy"] = value::string(policy);
      configure(hook);
      AdmissionAttributes attributes = createOf(billingGroup("team-a", "acme"));
      attributes.dryRun = true;
      auto error = controller().validate(attributes);
      ASSERT_TRUE(error.has_value()) << sideEffects << " " << policy;
      EXPECT_EQ(error->code, 400);
      EXPECT_EQ(text(error->status, "reason"), "BadRequest");
      EXPECT_EQ(message(*error),
                "admission webhook \"validate.billing.operator.dev\" does not support dry run");
    }
  }
  EXPECT_EQ(webhook_.calls(), 0u);
}

// ---- The AdmissionReview the webhook receives -------------------------------------------------

TEST_F(AdmissionTest, CreateReviewCarriesTheRequest) {
  configure(webhook());
  const value object = billingGroup("team-a", "acme", R"({"tier": "gold"})");
  ASSERT_FALSE(controller().validate(createOf(object)).has_value());
  ASSERT_EQ(webhook_.calls(), 1u);
  const ReceivedCall call = webhook_.received().front();
  EXPECT_EQ(call.target, "/validate?timeout=10s");
  EXPECT_EQ(call.headers.get("Content-Type"), "application/json");
  EXPECT_EQ(call.headers.get("User-Agent"), "kube-apiserver-admission");
  EXPECT_EQ(call.headers.get("Host"), "127.0.0.1:" + std::to_string(webhook_.port()));

  const value& review = call.review;
  EXPECT_EQ(text(review, "apiVersion"), "admission.k8s.io/v1");
  EXPECT_EQ(text(review, "kind"), "AdmissionReview");
  const value& request = review.at("request");
  EXPECT_THAT(text(request, "uid"),
              MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_EQ(common::toJson(request.at("kind")),
            R"({"group":"billing.operator.dev","kind":"BillingGroup","version":"v1alpha1"})");
  EXPECT_EQ(common::toJson(request.at("resource")),
            R"({"group":"billing.operator.dev","resource":"billinggroups","version":"v1alpha1"})");
  EXPECT_TRUE(common::jsonEqual(request.at("requestKind"), request.at("kind")));
  EXPECT_TRUE(common::jsonEqual(request.at("requestResource"), request.at("resource")));
  EXPECT_FALSE(request.has_field("subResource"));
  EXPECT_EQ(text(request, "name"), "team-a");
  EXPECT_EQ(text(request, "namespace"), "acme");
  EXPECT_EQ(text(request, "operation"), "CREATE");
  EXPECT_EQ(common::toJson(request.at("userInfo")),
            R"({"groups":["billing-admins","system:authenticated"],"uid":"uid-alice",)"
            R"("username":"alice"})");
  EXPECT_TRUE(common::jsonEqual(request.at("object"), object));
  ASSERT_TRUE(request.has_field("oldObject"));
  EXPECT_TRUE(request.at("oldObject").is_null());
  EXPECT_FALSE(request.at("dryRun").as_bool());
  EXPECT_EQ(common::toJson(request.at("options")),
            R"({"apiVersion":"meta.k8s.io/v1","kind":"CreateOptions"})");

  ASSERT_FALSE(controller().validate(createOf(object)).has_value());
  EXPECT_NE(text(webhook_.lastReview().at("request"), "uid"), text(request, "uid"))
      << "every call gets a fresh uid";
}

TEST_F(AdmissionTest, UpdateReviewCarriesBothObjectsAndTheSubresource) {
  value hook = webhook();
  hook["rules"][0]["resources"] = json(R"(["billinggroups", "billinggroups/status"])");
  configure(hook);
  const value before = billingGroup("team-a", "acme");
  value after = billingGroup("team-a", "acme");
  after["status"] = json(R"({"phase": "Ready"})");
  AdmissionAttributes update = updateOf(before, after);
  update.subresource = "status";
  update.options = json(R"({"fieldManager": "billing-operator"})");
  ASSERT_FALSE(controller().validate(update).has_value());
  const value request = webhook_.lastReview().at("request");
  EXPECT_EQ(text(request, "operation"), "UPDATE");
  EXPECT_EQ(text(request, "subResource"), "status");
  EXPECT_EQ(text(request, "requestSubResource"), "status");
  EXPECT_TRUE(common::jsonEqual(request.at("object"), after));
  EXPECT_TRUE(common::jsonEqual(request.at("oldObject"), before));
  EXPECT_EQ(common::toJson(request.at("options")),
            R"({"apiVersion":"meta.k8s.io/v1","fieldManager":"billing-operator",)"
            R"("kind":"UpdateOptions"})");
}

TEST_F(AdmissionTest, DeleteReviewCarriesOnlyTheOldObject) {
  value hook = webhook();
  hook["rules"][0]["operations"] = json(R"(["DELETE"])");
  configure(hook);
  const value stored = billingGroup("team-a", "acme");
  AdmissionAttributes remove = deleteOf(stored);
  remove.options = json(R"({"propagationPolicy": "Background"})");
  ASSERT_FALSE(controller().validate(remove).has_value());
  const value request = webhook_.lastReview().at("request");
  EXPECT_EQ(text(request, "operation"), "DELETE");
  ASSERT_TRUE(request.has_field("object"));
  EXPECT_TRUE(request.at("object").is_null());
  EXPECT_TRUE(common::jsonEqual(request.at("oldObject"), stored));
  EXPECT_EQ(common::toJson(request.at("options")),
            R"({"apiVersion":"meta.k8s.io/v1","kind":"DeleteOptions",)"
            R"("propagationPolicy":"Background"})");
}

TEST_F(AdmissionTest, NamespaceUpdatesNameTheNamespaceAsTheirNamespace) {
  value hook = webhook();
  hook["rules"] = json(R"([{"operations": ["UPDATE"], "apiGroups": [""], "apiVersions": ["v1"],
                            "resources": ["namespaces"], "scope": "Cluster"}])");
  configure(hook);
  const value acme = store_.get("namespaces", "", "acme").value();
  AdmissionAttributes update = createOf(acme, namespacesType());
  update.operation = "UPDATE";
  update.oldObject = acme;
  ASSERT_FALSE(controller().validate(update).has_value());
  EXPECT_EQ(text(webhook_.lastReview().at("request"), "namespace"), "acme");
}

TEST_F(AdmissionTest, V1beta1OnlyWebhooksGetAV1beta1Review) {
  value hook = webhook();
  hook["admissionReviewVersions"] = json(R"(["v1beta1"])");
  configure(hook);
  webhook_.respond([](const ReceivedCall&) {
    value body = json(R"({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
                          "response": {"allowed": true}})");
    return Reply{200, {{"Content-Type", "application/json"}}, common::toJson(body)};
  });
  EXPECT_FALSE(controller().validate(createOf(billingGroup("team-a", "acme"))).has_value());
  EXPECT_EQ(text(webhook_.lastReview(), "apiVersion"), "admission.k8s.io/v1beta1");
}

// ---- Answers kube-apiserver does not accept ---------------------------------------------------

TEST_F(AdmissionTest, ResponseUidMustBeTheRequestUid) {
  configure(webhook());
  webhook_.respond([](const ReceivedCall& call) {
    return answer(call.review, json(R"({"uid": "0000-not-the-request", "allowed": true})"));
  });
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  const std::string uid = text(webhook_.lastReview().at("request"), "uid");
  EXPECT_EQ(error->code, 500);
  EXPECT_EQ(message(*error),
            failedCalling("received invalid webhook response: expected response.uid=\"" + uid +
                          "\", got \"0000-not-the-request\""));
}

TEST_F(AdmissionTest, ResponseMustBeAnAdmissionReviewV1) {
  configure(webhook());
  webhook_.respond([](const ReceivedCall& call) {
    value body = value::object();
    body["response"] = json(R"({"allowed": true})");
    body["response"]["uid"] = call.review.at("request").at("uid");
    return Reply{200, {{"Content-Type", "application/json"}}, common::toJson(body)};
  });
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(message(*error),
            failedCalling("received invalid webhook response: expected webhook response of "
                          "admission.k8s.io/v1, Kind=AdmissionReview, got /, Kind="));
}

TEST_F(AdmissionTest, ResponseWithoutAnAnswerIsRejected) {
  configure(webhook());
  webhook_.respond([](const ReceivedCall&) {
    return Reply{200,
                 {{"Content-Type", "application/json"}},
                 R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})"};
  });
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(message(*error), failedCalling("received invalid webhook response: webhook response "
                                           "was absent"));
}

TEST_F(AdmissionTest, HttpErrorsAreWordedAsTheRestClientWordsThem) {
  configure(webhook());
  webhook_.respond([](const ReceivedCall&) {
    return Reply{404, {{"Content-Type", "text/plain"}}, "404 page not found\n"};
  });
  auto notFound = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(notFound.has_value());
  EXPECT_EQ(message(*notFound),
            failedCalling("failed to call webhook: the server could not find the requested "
                          "resource"));

  webhook_.respond([](const ReceivedCall&) {
    return Reply{500, {{"Content-Type", "text/plain"}}, "boom \"here\"\n"};
  });
  auto serverError = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(serverError.has_value());
  EXPECT_EQ(message(*serverError),
            failedCalling("failed to call webhook: an error on the server (\"boom \\\"here\\\"\") "
                          "has prevented the request from succeeding"));
}

TEST_F(AdmissionTest, UnparsableCaBundleFailsTheCall) {
  value hook = webhook();
  hook["clientConfig"]["caBundle"] = value::string(common::base64Encode("not a certificate"));
  configure(hook);
  auto error = controller().validate(createOf(billingGroup("team-a", "acme")));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(message(*error),
            failedCalling("could not get REST client: unable to load root certificates: unable "
                          "to parse bytes as PEM block"));
}

}  // namespace
}  // namespace billing::apiserver
