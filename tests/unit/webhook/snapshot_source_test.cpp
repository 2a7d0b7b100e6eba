#include "operator/webhook/snapshot_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/json.h"
#include "tests/unit/kube/mocks.h"

namespace billing::webhook {
namespace {

using ::testing::_;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Return;
using web::json::value;

value json(const std::string& text) { return common::parseJson(text).value(); }

kube::ListResult items(std::vector<value> objects) {
  kube::ListResult result;
  result.items = std::move(objects);
  result.resourceVersion = "42";
  return result;
}

auto resource(const std::string& plural) { return Field(&kube::ResourceRef::resource, plural); }

TEST(ClientSnapshotSourceTest, ListsAndDecodesTheFourKindsInAllNamespaces) {
  kube::testing::MockClient client;
  EXPECT_CALL(client, list(resource("namespaces"), "", _))
      .WillOnce(Return(items({json(R"({"apiVersion": "v1", "kind": "Namespace", "metadata":
          {"name": "acme-web", "labels": {"billing.operator.dev/organization": "acme"}}})")})));
  EXPECT_CALL(client, list(resource("billinggroups"), "", _))
      .WillOnce(Return(items({json(R"({"apiVersion": "billing.operator.dev/v1alpha1",
          "kind": "BillingGroup", "metadata": {"name": "shared", "namespace": "acme-web"},
          "spec": {"currency": "EUR"}, "status": {"projectCount": "not a number"}})")})));
  EXPECT_CALL(client, list(resource("projects"), "", _))
      .WillOnce(Return(items({json(R"({"apiVersion": "billing.operator.dev/v1alpha1",
          "kind": "Project", "metadata": {"name": "web", "namespace": "acme-web"},
          "spec": {"billingGroupRef": {"name": "shared"}}})")})));
  EXPECT_CALL(client, list(resource("invoices"), "", _))
      .WillOnce(Return(items({json(R"({"apiVersion": "billing.operator.dev/v1alpha1",
          "kind": "Invoice", "metadata": {"name": "shared-2026-10", "namespace": "acme-web"},
          "spec": {"billingGroupRef": {"name": "shared"}, "periodStart": "2026-10-01T00:00:00Z",
                   "periodEnd": "2026-11-01T00:00:00Z"}})")})));

  ClientSnapshotSource source(client);
  auto snapshot = source.snapshot();
  ASSERT_TRUE(snapshot.has_value()) << snapshot.error();
  ASSERT_EQ(snapshot->namespaces.size(), 1u);
  EXPECT_EQ(domain::organizationOf(snapshot->namespaces[0]), "acme");
  ASSERT_EQ(snapshot->billingGroups.size(), 1u);
  EXPECT_EQ(snapshot->billingGroups[0].spec.currency, "EUR");
  ASSERT_EQ(snapshot->projects.size(), 1u);
  ASSERT_TRUE(snapshot->projects[0].spec.billingGroupRef.has_value());
  EXPECT_EQ(snapshot->projects[0].spec.billingGroupRef->name, "shared");
  ASSERT_EQ(snapshot->invoices.size(), 1u);
  EXPECT_EQ(snapshot->invoices[0].spec.billingGroupRef.name, "shared");
}

TEST(ClientSnapshotSourceTest, AFailedListIsAnErrorNamingIt) {
  kube::testing::MockClient client;
  EXPECT_CALL(client, list(resource("namespaces"), "", _)).WillOnce(Return(items({})));
  kube::Error forbidden;
  forbidden.kind = kube::ErrorKind::Forbidden;
  forbidden.httpStatus = 403;
  forbidden.verb = "list";
  forbidden.resource = "billinggroups.billing.operator.dev";
  forbidden.message = "no RBAC rule allows it";
  EXPECT_CALL(client, list(resource("billinggroups"), "", _))
      .WillOnce(Return(std::unexpected(forbidden)));
  ClientSnapshotSource source(client);
  auto snapshot = source.snapshot();
  ASSERT_FALSE(snapshot.has_value());
  EXPECT_THAT(snapshot.error(), HasSubstr("billinggroups.billing.operator.dev"));
  EXPECT_THAT(snapshot.error(), HasSubstr("no RBAC rule allows it"));
}

TEST(StaticSnapshotSourceTest, ReturnsItsSnapshot) {
  domain::Snapshot snapshot;
  snapshot.namespaces.resize(2);
  StaticSnapshotSource source(snapshot);
  EXPECT_EQ(source.snapshot()->namespaces.size(), 2u);
}

}  // namespace
}  // namespace billing::webhook
