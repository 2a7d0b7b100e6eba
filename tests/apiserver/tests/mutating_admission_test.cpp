// The MutatingAdmissionWebhook plugin: AdmissionController::mutate against a real HTTPS webhook,
// then the whole request path of the server (mutation before schema validation and before the
// validating webhooks) over HTTP and with the real kubectl.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/tls.h"
#include "tests/apiserver/admission.h"
#include "tests/apiserver/tests/fake_webhook.h"
#include "tests/apiserver/tests/server_harness.h"

namespace billing::apiserver {
namespace {

using ::testing::HasSubstr;
using web::json::value;
using webhook_testing::answer;
using webhook_testing::FakeWebhook;
using webhook_testing::pki;
using webhook_testing::ReceivedCall;
using webhook_testing::Reply;
using webhook_testing::text;

const std::string kMutatingConfigurations =
    "mutatingwebhookconfigurations.admissionregistration.k8s.io";
const std::string kMutatorName = "mutate.billing.operator.dev";
const std::string kFinalizer = "billing.operator.dev/finalizer";

value json(const std::string& body) { return webhook_testing::json(body); }

// A JSON patch answer: `operations` base64-encoded, patchType JSONPatch.
Reply patchWith(const value& review, const std::string& operations,
                const std::string& patchType = "JSONPatch") {
  value response = json(R"({"allowed": true})");
  response["patch"] = value::string(common::base64Encode(operations));
  if (!patchType.empty()) response["patchType"] = value::string(patchType);
  return answer(review, response);
}

// What the operator's mutating webhook does: add its finalizer (and here a label) on CREATE.
Reply addFinalizer(const ReceivedCall& call) {
  return patchWith(call.review, R"([{"op": "add", "path": "/metadata/finalizers", "value": [")" +
                                    kFinalizer +
                                    R"("]}, {"op": "add", "path": "/metadata/labels", "value": )"
                                    R"({"billing.operator.dev/mutated": "true"}}])");
}

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

value billingGroup(const std::string& name, const std::string& ns) {
  value group = json(R"({"apiVersion": "billing.operator.dev/v1alpha1", "kind": "BillingGroup",
                         "metadata": {}, "spec": {"currency": "EUR"}})");
  group["metadata"]["name"] = value::string(name);
  group["metadata"]["namespace"] = value::string(ns);
  return group;
}

AdmissionAttributes createOf(const value& object) {
  AdmissionAttributes attributes;
  attributes.type = billingGroups();
  attributes.operation = "CREATE";
  attributes.ns = object.at("metadata").at("namespace").as_string();
  attributes.name = object.at("metadata").at("name").as_string();
  attributes.object = object;
  attributes.user = {"alice", {"system:authenticated"}, "uid-alice"};
  return attributes;
}

// Normalizing as the server does for a custom resource is its own business; here it only has to
// be applied to every patched object, which the marker shows.
std::expected<value, std::string> markNormalized(value object) {
  object["metadata"]["annotations"]["normalized"] = value::string("yes");
  return object;
}

std::string message(const ApiError& error) { return text(error.status, "message"); }

std::vector<std::string> finalizersOf(const value& object) {
  std::vector<std::string> names;
  if (!object.has_field("metadata") || !object.at("metadata").has_field("finalizers")) return names;
  for (const value& item : object.at("metadata").at("finalizers").as_array()) {
    names.push_back(item.as_string());
  }
  return names;
}

class MutatingAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pki().error, "");
    ASSERT_TRUE(webhook_.start());
    ASSERT_TRUE(second_.start());
    ASSERT_TRUE(store_.create("namespaces", json(R"({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "acme", "labels": {"billing": "on"}}})")));
    ASSERT_TRUE(store_.create("namespaces", json(R"({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "other"}})")));
    webhook_.respond(addFinalizer);
  }

  // A mutating webhook as the operator's chart would declare it: billinggroups CREATE.
  static value mutator(const FakeWebhook& server, const std::string& name = kMutatorName) {
    value hook = json(R"({
      "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail",
      "reinvocationPolicy": "Never", "timeoutSeconds": 5,
      "rules": [{"operations": ["CREATE"], "apiGroups": ["billing.operator.dev"],
                 "apiVersions": ["v1alpha1"], "resources": ["billinggroups"],
                 "scope": "Namespaced"}]})");
    hook["name"] = value::string(name);
    hook["clientConfig"]["url"] = value::string(server.url("/mutate"));
    hook["clientConfig"]["caBundle"] = value::string(common::base64Encode(pki().ca.certPem));
    return hook;
  }
  value mutator() const { return mutator(webhook_); }

  void configure(const std::string& name, const std::vector<value>& hooks) {
    value configuration = json(R"({"apiVersion": "admissionregistration.k8s.io/v1",
                                   "kind": "MutatingWebhookConfiguration"})");
    configuration["metadata"]["name"] = value::string(name);
    configuration["webhooks"] = value::array(hooks.size());
    for (std::size_t i = 0; i < hooks.size(); ++i) configuration["webhooks"][i] = hooks[i];
    static_cast<void>(store_.remove(kMutatingConfigurations, "", name));
    ASSERT_TRUE(store_.create(kMutatingConfigurations, configuration));
  }
  void configure(const value& hook) { configure("billing-operator", {hook}); }

  AdmissionResult mutate(AdmissionAttributes& attributes) const {
    return AdmissionController(store_, {}).mutate(attributes, markNormalized);
  }

  static std::string failedCalling(const std::string& reason) {
    return "Internal error occurred: failed calling webhook \"" + kMutatorName + "\": " + reason;
  }

  ObjectStore store_{ObjectStore::Options{}};
  FakeWebhook webhook_;
  FakeWebhook second_;
};

TEST_F(MutatingAdmissionTest, PatchIsAppliedAndTheResultNormalized) {
  configure(mutator());
  AdmissionAttributes create = createOf(billingGroup("team-a", "acme"));
  AdmissionResult result = mutate(create);
  ASSERT_FALSE(result.error.has_value()) << message(*result.error);
  EXPECT_EQ(finalizersOf(create.object), std::vector<std::string>{kFinalizer});
  EXPECT_EQ(
      create.object.at("metadata").at("labels").at("billing.operator.dev/mutated").as_string(),
      "true");
  EXPECT_EQ(create.object.at("metadata").at("annotations").at("normalized").as_string(), "yes");
  // The webhook saw the object as sent, and a v1 review like the validating side's.
  const value request = webhook_.lastReview().at("request");
  EXPECT_EQ(text(request, "operation"), "CREATE");
  EXPECT_TRUE(common::jsonEqual(request.at("object"), billingGroup("team-a", "acme")));
  EXPECT_EQ(webhook_.received().at(0).target, "/mutate?timeout=5s");
}

TEST_F(MutatingAdmissionTest, AnAnswerWithoutPatchLeavesTheObjectUntouched) {
  configure(mutator());
  webhook_.respond([](const ReceivedCall& call) { return webhook_testing::allow(call.review); });
  AdmissionAttributes create = createOf(billingGroup("team-a", "acme"));
  ASSERT_FALSE(mutate(create).error.has_value());
  EXPECT_TRUE(common::jsonEqual(create.object, billingGroup("team-a", "acme")));
}

TEST_F(MutatingAdmissionTest, LaterWebhooksSeeEarlierPatchesInConfigurationNameOrder) {
  value first = mutator(webhook_, "a.billing.operator.dev");
  value second = mutator(second_, "b.billing.operator.dev");
  configure("z-second", {second});
  configure("a-first", {first});
  second_.respond([](const ReceivedCall& call) {
    return patchWith(call.review, R"([{"op": "add", "path": "/spec/company", "value": "ACME"}])");
  });
  AdmissionAttributes create = createOf(billingGroup("team-a", "acme"));
  ASSERT_FALSE(mutate(create).error.has_value());
  const value seenBySecond = second_.lastReview().at("request").at("object");
  EXPECT_EQ(finalizersOf(seenBySecond), std::vector<std::string>{kFinalizer});
  EXPECT_EQ(create.object.at("spec").at("company").as_string(), "ACME");
  EXPECT_EQ(finalizersOf(create.object), std::vector<std::string>{kFinalizer});
}

TEST_F(MutatingAdmissionTest, IfNeededWebhookIsCalledAgainOnceALaterOneChangedTheObject) {
  value first = mutator(webhook_, "a.billing.operator.dev");
  first["reinvocationPolicy"] = value::string("IfNeeded");
  configure("a-first", {first});
  configure("b-second", {mutator(second_, "b.billing.operator.dev")});
  webhook_.respond([](const ReceivedCall& call) { return webhook_testing::allow(call.review); });
  second_.respond(addFinalizer);
  AdmissionAttributes create = createOf(billingGroup("team-a", "acme"));
  ASSERT_FALSE(mutate(create).error.has_value());
  ASSERT_EQ(webhook_.calls(), 2u) << "IfNeeded: reinvoked after b changed the object";
  EXPECT_EQ(second_.calls(), 1u) << "b is Never: not reinvoked";
  EXPECT_EQ(finalizersOf(webhook_.lastReview().at("request").at("object")),
            std::vector<std::string>{kFinalizer});

  // Under Never, or when nothing changed, there is no second round.
  first["reinvocationPolicy"] = value::string("Never");
  configure("a-first", {first});
  AdmissionAttributes again = createOf(billingGroup("team-b", "acme"));
  ASSERT_FALSE(mutate(again).error.has_value());
  EXPECT_EQ(webhook_.calls(), 3u);
}

TEST_F(MutatingAdmissionTest, SelectorsThatDoNotMatchSkipTheWebhook) {
  value hook = mutator();
  hook["objectSelector"] = json(R"({"matchLabels": {"tier": "gold"}})");
  configure(hook);
  AdmissionAttributes create = createOf(billingGroup("team-a", "acme"));
  ASSERT_FALSE(mutate(create).error.has_value());
  EXPECT_EQ(webhook_.calls(), 0u);
  EXPECT_TRUE(finalizersOf(create.object).empty());

  hook = mutator();
  hook["namespaceSelector"] = json(R"({"matchLabels": {"billing": "on"}})");
  configure(hook);
  AdmissionAttributes elsewhere = createOf(billingGroup("team-a", "other"));
  ASSERT_FALSE(mutate(elsewhere).error.has_value());
  EXPECT_EQ(webhook_.calls(), 0u);
  AdmissionAttributes selected = createOf(billingGroup("team-a", "acme"));
  ASSERT_FALSE(mutate(selected).error.has_value());
  EXPECT_EQ(webhook_.calls(), 1u);
  EXPECT_EQ(finalizersOf(selected.object), std::vector<std::string>{kFinalizer});
}

TEST_F(MutatingAdmissionTest, DenialIsWordedAsKubeWordsIt) {
  configure(mutator());
  webhook_.respond([](const ReceivedCall& call) {
    return answer(call.review, json(R"({"allowed": false, "warnings": ["look here"],
        "status": {"code": 403, "reason": "Forbidden", "message": "no finalizer for you"}})"));
  });
  AdmissionAttributes create = createOf(billingGroup("team-a", "acme"));
  AdmissionResult result = mutate(create);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, 403);
  EXPECT_EQ(message(*result.error),
            "admission webhook \"mutate.billing.operator.dev\" denied the request: no finalizer "
            "for you");
  EXPECT_EQ(result.warnings, std::vector<std::string>{"look here"});
}

TEST_F(MutatingAdmissionTest, AWebhookThatIsDownFailsClosedUnlessIgnored) {
  configure(mutator());
  const std::string url = webhook_.url("/mutate");
  const std::string port = std::to_string(webhook_.port());
  webhook_.stop();
  AdmissionAttributes create = createOf(billingGroup("team-a", "acme"));
  AdmissionResult failed = mutate(create);
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_EQ(failed.error->code, 500);
  EXPECT_EQ(message(*failed.error), failedCalling("failed to call webhook: Post \"" + url +
                                                  "?timeout=5s\": dial tcp 127.0.0.1:" + port +
                                                  ": connect: connection refused"));

  value ignored = mutator();
  ignored["failurePolicy"] = value::string("Ignore");
  configure(ignored);
  AdmissionAttributes again = createOf(billingGroup("team-a", "acme"));
  EXPECT_FALSE(mutate(again).error.has_value());
  EXPECT_TRUE(common::jsonEqual(again.object, billingGroup("team-a", "acme")));
}

TEST_F(MutatingAdmissionTest, APatchThatDoesNotApplyIsAnInternalErrorWhateverThePolicy) {
  value hook = mutator();
  hook["failurePolicy"] = value::string("Ignore");
  configure(hook);
  webhook_.respond([](const ReceivedCall& call) {
    return patchWith(call.review, R"([{"op": "remove", "path": "/spec/nothing"}])");
  });
  AdmissionAttributes create = createOf(billingGroup("team-a", "acme"));
  AdmissionResult result = mutate(create);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, 500);
  EXPECT_EQ(message(*result.error),
            "Internal error occurred: error in remove for path: '/spec/nothing': Unable to remove "
            "nonexistent key: nothing: missing value");
}

TEST_F(MutatingAdmissionTest, MalformedPatchAnswersAreFailedCalls) {
  configure(mutator());
  const std::vector<std::pair<std::function<Reply(const ReceivedCall&)>, std::string>> cases = {
      {[](const ReceivedCall& call) {
         return patchWith(call.review, R"({"metadata": {"labels": {"a": "b"}}})");
       },
       "received undecodable patch in webhook response: json: cannot unmarshal object into Go "
       "value of type jsonpatch.Patch"},
      {[](const ReceivedCall& call) {
         return patchWith(call.review, R"([{"op": "add", "path": "/spec/a", "value": 1}])",
                          "MergePatch");
       },
       "unsupported patch type \"MergePatch\""},
      {[](const ReceivedCall& call) {
         return patchWith(call.review, R"([{"op": "add", "path": "/spec/a", "value": 1}])", "");
       },
       "received invalid webhook response: webhook returned response.patch but not "
       "response.patchType"},
      {[](const ReceivedCall& call) {
         return answer(
             call.review,
             json(R"({"allowed": true, "patch": "not*base64", "patchType": "JSONPatch"})"));
       },
       "failed to call webhook: illegal base64 data at input byte 3"},
      {[](const ReceivedCall& call) {
         return answer(call.review, json(R"({"allowed": true, "patchType": "JSONPatch"})"));
       },
       "received invalid webhook response: webhook returned response.patchType but not "
       "response.patch"},
  };
  for (const auto& [responder, reason] : cases) {
    webhook_.respond(responder);
    AdmissionAttributes create = createOf(billingGroup("team-a", "acme"));
    AdmissionResult result = mutate(create);
    ASSERT_TRUE(result.error.has_value()) << reason;
    EXPECT_EQ(message(*result.error), failedCalling(reason));
    EXPECT_TRUE(finalizersOf(create.object).empty());
  }
}

TEST_F(MutatingAdmissionTest, DeleteIsReviewedWithTheOldObjectAndMayNotBePatched) {
  value hook = mutator();
  hook["rules"][0]["operations"] = json(R"(["DELETE"])");
  configure(hook);
  AdmissionAttributes remove = createOf(billingGroup("team-a", "acme"));
  remove.operation = "DELETE";
  remove.oldObject = remove.object;
  remove.object = value::null();
  AdmissionResult result = mutate(remove);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(message(*result.error),
            "Internal error occurred: admission webhook \"mutate.billing.operator.dev\" attempted "
            "to modify the object, which is not supported for this operation");
  EXPECT_TRUE(webhook_.lastReview().at("request").at("object").is_null());

  webhook_.respond([](const ReceivedCall& call) { return webhook_testing::allow(call.review); });
  EXPECT_FALSE(mutate(remove).error.has_value());
}

TEST_F(MutatingAdmissionTest, DryRunCallsOnlyWebhooksWithoutSideEffects) {
  configure(mutator());
  AdmissionAttributes create = createOf(billingGroup("team-a", "acme"));
  create.dryRun = true;
  ASSERT_FALSE(mutate(create).error.has_value());
  EXPECT_TRUE(webhook_.lastReview().at("request").at("dryRun").as_bool());
  EXPECT_EQ(finalizersOf(create.object), std::vector<std::string>{kFinalizer});

  value sideEffects = mutator();
  sideEffects["sideEffects"] = value::string("Some");
  configure(sideEffects);
  AdmissionAttributes refused = createOf(billingGroup("team-a", "acme"));
  refused.dryRun = true;
  AdmissionResult result = mutate(refused);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, 400);
  EXPECT_EQ(message(*result.error),
            "admission webhook \"mutate.billing.operator.dev\" does not support dry run");
  EXPECT_EQ(webhook_.calls(), 1u);
}

// ---- Through the server -----------------------------------------------------------------------

// The server with the CRDs, a mutating webhook adding the finalizer and a label on CREATE, and a
// validating webhook (another path of the same server) that records what it was shown.
class MutatingServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pki().error, "");
    ASSERT_TRUE(webhook_.start());
    webhook_.respond([](const ReceivedCall& call) {
      if (call.target.starts_with("/mutate")) return addFinalizer(call);
      return webhook_testing::allow(call.review);
    });
    server_ = harness::startServer();
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<harness::Client>(*server_);
    ASSERT_TRUE(
        server_->writeKubeconfig(dir_.path() / "kubeconfig", KubeconfigAuth::ClientCertificate));
    kubectl_ = std::make_unique<harness::Kubectl>(dir_.path() / "kubeconfig", dir_.path());
    harness::CommandResult crds =
        kubectl_->run({"apply", "-f", std::string(BILLING_SOURCE_DIR) + "/crds/"});
    ASSERT_EQ(crds.exitCode, 0) << crds;
    ASSERT_EQ(client_->post("/api/v1/namespaces", json(R"({"metadata": {"name": "acme"}})")).status,
              201);

    value mutating = json(R"({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration", "metadata": {"name": "billing-operator"}})");
    mutating["webhooks"] = value::array({MutatingAdmissionTest_mutator()});
    ASSERT_EQ(
        client_
            ->post("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", mutating)
            .status,
        201);
    value validating = json(R"({"apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "billing-operator"}})");
    value check = MutatingAdmissionTest_mutator();
    check["name"] = value::string("validate.billing.operator.dev");
    check.erase("reinvocationPolicy");
    check["clientConfig"]["url"] = value::string(webhook_.url("/validate"));
    validating["webhooks"] = value::array({check});
    ASSERT_EQ(client_
                  ->post("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
                         validating)
                  .status,
              201);
  }

  value MutatingAdmissionTest_mutator() const {
    value hook = json(R"({
      "name": "mutate.billing.operator.dev", "admissionReviewVersions": ["v1"],
      "sideEffects": "None", "failurePolicy": "Fail", "reinvocationPolicy": "Never",
      "rules": [{"operations": ["CREATE"], "apiGroups": ["billing.operator.dev"],
                 "apiVersions": ["v1alpha1"], "resources": ["billinggroups"]}]})");
    hook["clientConfig"]["url"] = value::string(webhook_.url("/mutate"));
    hook["clientConfig"]["caBundle"] = value::string(common::base64Encode(pki().ca.certPem));
    return hook;
  }

  std::vector<value> reviewsAt(const std::string& path) const {
    std::vector<value> reviews;
    for (const ReceivedCall& call : webhook_.received()) {
      if (call.target.starts_with(path)) reviews.push_back(call.review.at("request"));
    }
    return reviews;
  }

  static constexpr const char* kGroups =
      "/apis/billing.operator.dev/v1alpha1/namespaces/acme/"
      "billinggroups";

  FakeWebhook webhook_;
  harness::TempDir dir_;
  std::unique_ptr<TestApiServer> server_;
  std::unique_ptr<harness::Client> client_;
  std::unique_ptr<harness::Kubectl> kubectl_;
};

TEST_F(MutatingServerTest, CreateStoresAndReturnsTheMutationAndValidatingWebhooksSeeIt) {
  harness::Response created = client_->post(kGroups, billingGroup("team-a", "acme"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(finalizersOf(created.json), std::vector<std::string>{kFinalizer});
  EXPECT_EQ(harness::field(created.json, {"metadata", "labels", "billing.operator.dev/mutated"}),
            "true");
  harness::Response stored = client_->get(std::string(kGroups) + "/team-a");
  EXPECT_EQ(finalizersOf(stored.json), std::vector<std::string>{kFinalizer});

  // The mutating webhook saw the object before the store filled in its system fields (kube's
  // WipeObjectMetaSystemFields), the validating one the mutated object with them.
  const std::vector<value> mutations = reviewsAt("/mutate");
  ASSERT_EQ(mutations.size(), 1u);
  EXPECT_FALSE(mutations[0].at("object").at("metadata").has_field("uid"));
  EXPECT_TRUE(finalizersOf(mutations[0].at("object")).empty());
  const std::vector<value> validations = reviewsAt("/validate");
  ASSERT_EQ(validations.size(), 1u);
  EXPECT_EQ(finalizersOf(validations[0].at("object")), std::vector<std::string>{kFinalizer});
  EXPECT_EQ(harness::field(validations[0].at("object"), {"metadata", "uid"}),
            harness::field(stored.json, {"metadata", "uid"}));
}

TEST_F(MutatingServerTest, MutatedObjectsArePrunedAndThenValidatedAgainstTheSchema) {
  webhook_.respond([](const ReceivedCall& call) {
    if (!call.target.starts_with("/mutate")) return webhook_testing::allow(call.review);
    return patchWith(call.review, R"([{"op": "add", "path": "/spec/notInSchema", "value": 1},
                                      {"op": "replace", "path": "/spec/currency", "value": "eur"}])");
  });
  harness::Response refused = client_->post(kGroups, billingGroup("team-a", "acme"));
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_THAT(text(refused.json, "message"), HasSubstr("spec.currency"));
  EXPECT_TRUE(reviewsAt("/validate").empty()) << "schema validation comes first";

  webhook_.respond([](const ReceivedCall& call) {
    if (!call.target.starts_with("/mutate")) return webhook_testing::allow(call.review);
    return patchWith(call.review, R"([{"op": "add", "path": "/spec/notInSchema", "value": 1}])");
  });
  harness::Response created = client_->post(kGroups, billingGroup("team-b", "acme"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_FALSE(created.json.at("spec").has_field("notInSchema"));
  EXPECT_FALSE(created.headers.contains("Warning")) << "webhook fields are pruned silently";
}

TEST_F(MutatingServerTest, DryRunCreatesAreMutatedButNotStored) {
  harness::Response dry =
      client_->post(std::string(kGroups) + "?dryRun=All", billingGroup("team-a", "acme"));
  ASSERT_EQ(dry.status, 201) << dry.body;
  EXPECT_EQ(finalizersOf(dry.json), std::vector<std::string>{kFinalizer});
  EXPECT_TRUE(reviewsAt("/mutate").at(0).at("dryRun").as_bool());
  EXPECT_EQ(client_->get(std::string(kGroups) + "/team-a").status, 404);
}

TEST_F(MutatingServerTest, KubectlApplyShowsTheMutation) {
  harness::CommandResult applied =
      kubectl_->run({"apply", "-f", "-"},
                    "apiVersion: billing.operator.dev/v1alpha1\nkind: BillingGroup\nmetadata:\n"
                    "  name: shared\n  namespace: acme\nspec:\n  currency: EUR\n");
  ASSERT_EQ(applied.exitCode, 0) << applied;
  EXPECT_EQ(applied.out, "billinggroup.billing.operator.dev/shared created\n");
  harness::CommandResult yaml = kubectl_->run({"get", "bg", "shared", "-n", "acme", "-o", "yaml"});
  ASSERT_EQ(yaml.exitCode, 0) << yaml;
  EXPECT_THAT(yaml.out, HasSubstr("  finalizers:\n  - " + kFinalizer + "\n"));
  EXPECT_THAT(yaml.out, HasSubstr("    billing.operator.dev/mutated: \"true\"\n"));

  // A second apply is an UPDATE (no mutation by this CREATE-only webhook) and keeps the result.
  harness::CommandResult again =
      kubectl_->run({"apply", "-f", "-"},
                    "apiVersion: billing.operator.dev/v1alpha1\nkind: BillingGroup\nmetadata:\n"
                    "  name: shared\n  namespace: acme\nspec:\n  currency: USD\n");
  ASSERT_EQ(again.exitCode, 0) << again;
  harness::CommandResult finalizers =
      kubectl_->run({"get", "bg", "shared", "-n", "acme", "-o", "jsonpath={.metadata.finalizers}"});
  EXPECT_EQ(finalizers.out, "[\"" + kFinalizer + "\"]");
  EXPECT_EQ(reviewsAt("/mutate").size(), 1u);
}

}  // namespace
}  // namespace billing::apiserver
