#include "operator/webhook/mutation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/json.h"
#include "common/tls.h"
#include "reconcilers/resources.h"

namespace billing::webhook {
namespace {

using ::testing::HasSubstr;
using web::json::value;

const std::string kProjectFinalizer(reconcilers::kProjectFinalizer);
const std::string kGroupFinalizer(reconcilers::kBillingGroupFinalizer);

value parse(const std::string& text) {
  auto parsed = common::parseJson(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(value::null());
}

// An AdmissionReview of `kind` in billing.operator.dev/v1alpha1 with `metadata` as the object's.
value review(const std::string& kind, const std::string& operation, const std::string& metadata,
             const std::string& apiVersion = "admission.k8s.io/v1") {
  const std::string object = R"({"apiVersion": "billing.operator.dev/v1alpha1", "kind": ")" + kind +
                             R"(", "metadata": )" + metadata + R"(, "spec": {}})";
  std::string request =
      R"({"uid": "u-7", "operation": ")" + operation +
      R"(", "kind": {"group": "billing.operator.dev", "version": "v1alpha1", "kind": ")" + kind +
      R"("}, "namespace": "acme-web", "name": "web")";
  if (operation != "DELETE") request += R"(, "object": )" + object;
  if (operation != "CREATE") request += R"(, "oldObject": )" + object;
  request += "}";
  return parse(R"({"apiVersion": ")" + apiVersion + R"(", "kind": "AdmissionReview", "request": )" +
               request + "}");
}

AdmissionResponse decideOn(const value& admissionReview) {
  auto request = parseAdmissionReview(admissionReview);
  EXPECT_TRUE(request.has_value()) << (request ? "" : request.error().message);
  return request ? mutate(*request) : AdmissionResponse{};
}

// The JSONPatch a whole answer carries, decoded from base64; null when there is none.
value patchOf(const value& answer) {
  const value& response = answer.at("response");
  if (!response.has_field("patch")) return value::null();
  EXPECT_EQ(response.at("patchType").as_string(), "JSONPatch");
  auto decoded = common::base64Decode(response.at("patch").as_string());
  EXPECT_TRUE(decoded.has_value());
  return parse(decoded.value_or("null"));
}

TEST(MutationTest, AProjectCreatedWithoutFinalizersGetsTheMembershipFinalizerAsAWholeArray) {
  AdmissionResponse response = decideOn(review("Project", "CREATE", R"({"name": "web"})"));
  EXPECT_TRUE(response.allowed);
  EXPECT_EQ(response.uid, "u-7");
  ASSERT_TRUE(response.patch.has_value());
  EXPECT_TRUE(common::jsonEqual(
      *response.patch, parse(R"([{"op": "add", "path": "/metadata/finalizers", "value": [")" +
                             kProjectFinalizer + R"("]}])")))
      << common::toJson(*response.patch);
}

TEST(MutationTest, ABillingGroupGetsTheGroupFinalizer) {
  AdmissionResponse response = decideOn(review("BillingGroup", "CREATE", R"({"name": "shared"})"));
  EXPECT_TRUE(response.allowed);
  ASSERT_TRUE(response.patch.has_value());
  EXPECT_EQ(response.patch->at(0).at("value").at(0).as_string(), kGroupFinalizer);
}

TEST(MutationTest, OtherFinalizersAreKeptAndOursIsAppended) {
  AdmissionResponse response = decideOn(
      review("Project", "CREATE", R"({"name": "web", "finalizers": ["example.com/keep"]})"));
  ASSERT_TRUE(response.patch.has_value());
  EXPECT_TRUE(common::jsonEqual(
      *response.patch, parse(R"([{"op": "add", "path": "/metadata/finalizers/-", "value": ")" +
                             kProjectFinalizer + R"("}])")))
      << common::toJson(*response.patch);
}

TEST(MutationTest, AnObjectThatAlreadyCarriesTheFinalizerIsNotPatched) {
  AdmissionResponse response = decideOn(review(
      "Project", "CREATE",
      R"({"name": "web", "finalizers": ["example.com/keep", ")" + kProjectFinalizer + R"("]})"));
  EXPECT_TRUE(response.allowed);
  EXPECT_FALSE(response.patch.has_value());
  // The other kind's finalizer is not ours for a Project: it is appended to, not taken as ours.
  response = decideOn(review("Project", "CREATE",
                             R"({"name": "web", "finalizers": [")" + kGroupFinalizer + R"("]})"));
  ASSERT_TRUE(response.patch.has_value());
  EXPECT_EQ(response.patch->at(0).at("value").as_string(), kProjectFinalizer);
}

TEST(MutationTest, NullFinalizersAreTreatedAsAbsent) {
  AdmissionResponse response =
      decideOn(review("BillingGroup", "CREATE", R"({"name": "shared", "finalizers": null})"));
  ASSERT_TRUE(response.patch.has_value());
  EXPECT_EQ(response.patch->at(0).at("path").as_string(), "/metadata/finalizers");
}

TEST(MutationTest, OperationsOtherThanCreateAreLeftAlone) {
  for (const char* operation : {"UPDATE", "DELETE", "CONNECT"}) {
    AdmissionResponse response = decideOn(review("Project", operation, R"({"name": "web"})"));
    EXPECT_TRUE(response.allowed) << operation;
    EXPECT_FALSE(response.patch.has_value()) << operation;
  }
}

TEST(MutationTest, InvoicesAndOtherKindsAreLeftAlone) {
  EXPECT_FALSE(decideOn(review("Invoice", "CREATE", R"({"name": "i"})")).patch.has_value());
  value configMap = review("Project", "CREATE", R"({"name": "web"})");
  configMap["request"]["kind"] = parse(R"({"group": "", "version": "v1", "kind": "ConfigMap"})");
  EXPECT_FALSE(decideOn(configMap).patch.has_value());
  // Another version of the group is not the one whose finalizers the operator knows.
  value otherVersion = review("Project", "CREATE", R"({"name": "web"})");
  otherVersion["request"]["kind"]["version"] = value::string("v1beta1");
  EXPECT_FALSE(decideOn(otherVersion).patch.has_value());
}

TEST(MutationTest, ADryRunIsPatchedLikeTheRealCreate) {
  value dryRun = review("Project", "CREATE", R"({"name": "web"})");
  dryRun["request"]["dryRun"] = value::boolean(true);
  AdmissionResponse response = decideOn(dryRun);
  ASSERT_TRUE(response.patch.has_value());
  EXPECT_EQ(response.patch->at(0).at("value").at(0).as_string(), kProjectFinalizer);
}

TEST(MutationTest, FinalizersThatAreNotAListOfStringsAreRefusedWithWhereAndWhat) {
  for (const char* finalizers : {R"("billing.operator.dev/membership")", "[1]", "{}"}) {
    AdmissionResponse response = decideOn(review(
        "Project", "CREATE", std::string(R"({"name": "web", "finalizers": )") + finalizers + "}"));
    EXPECT_FALSE(response.allowed) << finalizers;
    EXPECT_EQ(response.code, 422);
    EXPECT_EQ(response.reason, "Invalid");
    EXPECT_THAT(response.message, HasSubstr("Project acme-web/web"));
    EXPECT_THAT(response.message, HasSubstr("metadata.finalizers must be a list of strings"));
    EXPECT_FALSE(response.patch.has_value());
  }
}

TEST(MutationTest, TheAnswerCarriesTheBase64PatchInTheRequestsApiVersion) {
  auto answer = mutateReview(review("Project", "CREATE", R"({"name": "web"})"));
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  EXPECT_EQ(answer->at("apiVersion").as_string(), "admission.k8s.io/v1");
  EXPECT_EQ(answer->at("kind").as_string(), "AdmissionReview");
  EXPECT_EQ(answer->at("response").at("uid").as_string(), "u-7");
  EXPECT_TRUE(answer->at("response").at("allowed").as_bool());
  EXPECT_EQ(patchOf(*answer).at(0).at("value").at(0).as_string(), kProjectFinalizer);

  auto beta = mutateReview(
      review("BillingGroup", "CREATE", R"({"name": "shared"})", "admission.k8s.io/v1beta1"));
  ASSERT_TRUE(beta.has_value());
  EXPECT_EQ(beta->at("apiVersion").as_string(), "admission.k8s.io/v1beta1");
  EXPECT_EQ(patchOf(*beta).at(0).at("value").at(0).as_string(), kGroupFinalizer);

  // Without a change there is neither patch nor patchType (the API server rejects a patchType
  // without a patch).
  auto unchanged = mutateReview(review("Project", "UPDATE", R"({"name": "web"})"));
  ASSERT_TRUE(unchanged.has_value());
  EXPECT_FALSE(unchanged->at("response").has_field("patch"));
  EXPECT_FALSE(unchanged->at("response").has_field("patchType"));
}

TEST(MutationTest, ABadAdmissionReviewGetsTheValidatingWebhooksErrors) {
  for (
      const char* body :
      {R"({"apiVersion": "v1", "kind": "Pod"})",
       R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})",
       R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"operation": "CREATE"}})",
       R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "u", "operation": "CREATE", "kind": {"group": "billing.operator.dev", "version": "v1alpha1", "kind": "Project"}}})"}) {
    const value admissionReview = parse(body);
    auto mutated = mutateReview(admissionReview);
    auto parsed = parseAdmissionReview(admissionReview);
    ASSERT_FALSE(mutated.has_value()) << body;
    ASSERT_FALSE(parsed.has_value()) << body;
    EXPECT_EQ(mutated.error().httpStatus, 400) << body;
    EXPECT_EQ(mutated.error().message, parsed.error().message) << body;
  }
}

}  // namespace
}  // namespace billing::webhook
