#include "reconcilers/domain/plans.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reconcilers/domain/conditions.h"

namespace billing::domain {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

const Timestamp kNow = *parseTimestamp("2026-11-27T10:00:00Z");
const Timestamp kLater = *parseTimestamp("2026-11-27T11:00:00Z");

Namespace ns(const std::string& name, const std::string& organization) {
  Namespace n;
  n.metadata.name = name;
  if (!organization.empty()) n.metadata.labels[std::string(kOrganizationLabel)] = organization;
  return n;
}

BillingGroup group(const std::string& nsName, const std::string& name,
                   Scope scope = Scope::Organization, const std::string& project = "") {
  BillingGroup g;
  g.metadata.ns = nsName;
  g.metadata.name = name;
  g.metadata.uid = name + "-uid";
  g.metadata.generation = 3;
  g.spec.scope = scope;
  g.spec.currency = "EUR";
  if (!project.empty()) g.spec.projectRef = LocalObjectReference{project};
  return g;
}

Project project(const std::string& nsName, const std::string& name,
                std::optional<BillingGroupReference> ref = std::nullopt) {
  Project p;
  p.metadata.ns = nsName;
  p.metadata.name = name;
  p.metadata.uid = name + "-uid";
  p.metadata.generation = 2;
  p.spec.billingGroupRef = std::move(ref);
  return p;
}

TEST(ConditionsTest, TransitionTimeMovesOnlyWhenTheStatusChanges) {
  std::vector<Condition> conditions;
  setCondition(conditions, {"Ready", ConditionStatus::False, "A", "a", 1, std::nullopt}, kNow);
  ASSERT_THAT(conditions, SizeIs(1));
  EXPECT_EQ(conditions[0].lastTransitionTime, kNow);
  setCondition(conditions, {"Ready", ConditionStatus::False, "B", "b", 2, std::nullopt}, kLater);
  EXPECT_EQ(conditions[0].lastTransitionTime, kNow);  // same status: time kept
  EXPECT_EQ(conditions[0].reason, "B");
  EXPECT_EQ(conditions[0].observedGeneration, 2);
  setCondition(conditions, {"Ready", ConditionStatus::True, "C", "c", 2, std::nullopt}, kLater);
  EXPECT_EQ(conditions[0].lastTransitionTime, kLater);
  setCondition(conditions, {"Synced", ConditionStatus::True, "D", "d", 2, std::nullopt}, kLater);
  EXPECT_THAT(conditions, SizeIs(2));
  ASSERT_NE(findCondition(conditions, "Synced"), nullptr);
  EXPECT_EQ(findCondition(conditions, "Missing"), nullptr);
}

TEST(PlanProjectTest, ProjectWithValidReferenceIsReady) {
  Snapshot snapshot;
  snapshot.namespaces = {ns("acme-web", "acme"), ns("acme-billing", "acme")};
  snapshot.billingGroups = {group("acme-billing", "shared")};
  snapshot.projects = {project("acme-web", "web", BillingGroupReference{"shared", "acme-billing"})};
  SnapshotIndex index(snapshot);
  auto plan = planProject(index, snapshot.projects[0], {kNow, "USD"});
  EXPECT_FALSE(plan.groupToCreate);
  EXPECT_FALSE(plan.problem);
  ASSERT_TRUE(plan.group);
  EXPECT_EQ(plan.group->display(), "acme-billing/shared");
  EXPECT_EQ(plan.status.organization, "acme");
  ASSERT_TRUE(plan.status.billingGroup);
  EXPECT_EQ(plan.status.billingGroup->name, "shared");
  EXPECT_EQ(plan.status.billingGroup->ns, "acme-billing");
  EXPECT_EQ(plan.status.billingGroup->scope, Scope::Organization);
  EXPECT_EQ(plan.status.observedGeneration, 2);
  const Condition* ready = findCondition(plan.status.conditions, "Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, ConditionStatus::True);
  EXPECT_EQ(ready->reason, "BillingGroupAssigned");
  EXPECT_EQ(ready->observedGeneration, 2);
  EXPECT_THAT(ready->message, HasSubstr("acme-billing/shared"));
}

TEST(PlanProjectTest, ProjectWithoutReferenceGetsItsOwnGroupCreated) {
  Snapshot snapshot;
  Namespace data = ns("acme-data", "acme");
  data.metadata.annotations[std::string(kDefaultCurrencyAnnotation)] = "CHF";
  snapshot.namespaces = {data};
  snapshot.projects = {project("acme-data", "warehouse")};
  snapshot.projects[0].spec.displayName = "Data warehouse";
  SnapshotIndex index(snapshot);
  auto plan = planProject(index, snapshot.projects[0], {kNow, "USD"});
  ASSERT_TRUE(plan.groupToCreate);
  const BillingGroup& created = *plan.groupToCreate;
  EXPECT_EQ(created.metadata.name, "warehouse-billing");
  EXPECT_EQ(created.metadata.ns, "acme-data");
  EXPECT_EQ(created.spec.scope, Scope::Project);
  EXPECT_EQ(created.spec.projectRef->name, "warehouse");
  EXPECT_EQ(created.spec.currency, "CHF");  // the namespace's choice wins over the flag
  EXPECT_EQ(created.spec.displayName, "Data warehouse");
  EXPECT_EQ(created.metadata.annotations.at(std::string(kDefaultGroupOfAnnotation)), "warehouse");
  ASSERT_THAT(created.metadata.ownerReferences, SizeIs(1));
  EXPECT_EQ(created.metadata.ownerReferences[0].uid, "warehouse-uid");
  EXPECT_TRUE(created.metadata.ownerReferences[0].controller);
  EXPECT_EQ(findCondition(plan.status.conditions, "Ready")->reason, "CreatingBillingGroup");
  // The group the plan creates must itself pass the rules.
  snapshot.billingGroups.push_back(created);
  SnapshotIndex after(snapshot);
  EXPECT_TRUE(validate(snapshot).empty());
  auto next = planProject(after, snapshot.projects[0], {kLater, "USD"});
  EXPECT_FALSE(next.groupToCreate);
  EXPECT_EQ(findCondition(next.status.conditions, "Ready")->status, ConditionStatus::True);
}

TEST(PlanProjectTest, CrossOrganizationReferenceIsNotReadyWithTheRuleAsReason) {
  Snapshot snapshot;
  snapshot.namespaces = {ns("acme-web", "acme"), ns("beta", "beta")};
  snapshot.billingGroups = {group("beta", "shared")};
  snapshot.projects = {project("acme-web", "web", BillingGroupReference{"shared", "beta"})};
  SnapshotIndex index(snapshot);
  auto plan = planProject(index, snapshot.projects[0], {kNow, "USD"});
  ASSERT_TRUE(plan.problem);
  EXPECT_EQ(plan.problem->code, Code::CrossOrganization);
  EXPECT_FALSE(plan.status.billingGroup);
  const Condition* ready = findCondition(plan.status.conditions, "Ready");
  EXPECT_EQ(ready->status, ConditionStatus::False);
  EXPECT_EQ(ready->reason, "CrossOrganization");
  EXPECT_THAT(ready->message, HasSubstr("a project may only use billing groups of its own"));
}

TEST(PlanProjectTest, GroupBeingDeletedIsReported) {
  Snapshot snapshot;
  snapshot.namespaces = {ns("acme", "")};
  snapshot.billingGroups = {group("acme", "shared")};
  snapshot.billingGroups[0].metadata.deletionTimestamp = kNow;
  snapshot.projects = {project("acme", "web", BillingGroupReference{"shared", ""})};
  SnapshotIndex index(snapshot);
  auto plan = planProject(index, snapshot.projects[0], {kNow, "USD"});
  EXPECT_EQ(findCondition(plan.status.conditions, "Ready")->reason, "BillingGroupDeleting");
  EXPECT_TRUE(plan.group);  // still billed to it until moved
}

TEST(PlanBillingGroupTest, StatusListsMembersAndOrganization) {
  Snapshot snapshot;
  snapshot.namespaces = {ns("acme-web", "acme"), ns("acme-billing", "acme")};
  snapshot.billingGroups = {group("acme-billing", "shared")};
  snapshot.billingGroups[0].status.lastInvoice = InvoiceSummary{"inv", "7", "", "", "1.00", ""};
  snapshot.projects = {
      project("acme-web", "web", BillingGroupReference{"shared", "acme-billing"}),
      project("acme-web", "api", BillingGroupReference{"shared", "acme-billing"}),
      project("acme-web", "other", BillingGroupReference{"missing", "acme-billing"})};
  SnapshotIndex index(snapshot);
  auto plan = planBillingGroup(index, snapshot.billingGroups[0], kNow);
  EXPECT_EQ(plan.status.organization, "acme");
  EXPECT_EQ(plan.status.projectCount, 2);
  ASSERT_THAT(plan.status.projects, SizeIs(2));
  EXPECT_EQ(plan.status.projects[0].name, "api");
  EXPECT_EQ(plan.status.projects[1].name, "web");
  EXPECT_EQ(plan.status.observedGeneration, 3);
  ASSERT_TRUE(plan.status.lastInvoice);  // backend-owned fields are carried over
  EXPECT_EQ(plan.status.lastInvoice->number, "7");
  const Condition* ready = findCondition(plan.status.conditions, "Ready");
  EXPECT_EQ(ready->status, ConditionStatus::True);
  EXPECT_EQ(ready->message, "Organization billing group of organization acme billing 2 projects");
}

TEST(PlanBillingGroupTest, DeletionWaitsForMembers) {
  Snapshot snapshot;
  snapshot.namespaces = {ns("acme", "")};
  snapshot.billingGroups = {group("acme", "shared")};
  snapshot.billingGroups[0].metadata.deletionTimestamp = kNow;
  snapshot.projects = {project("acme", "web", BillingGroupReference{"shared", ""})};
  SnapshotIndex index(snapshot);
  auto plan = planBillingGroup(index, snapshot.billingGroups[0], kNow);
  ASSERT_TRUE(plan.deletionBlocked);
  EXPECT_EQ(plan.deletionBlocked->code, Code::GroupHasProjects);
  const Condition* ready = findCondition(plan.status.conditions, "Ready");
  EXPECT_EQ(ready->reason, "GroupHasProjects");
  EXPECT_THAT(ready->message, HasSubstr("acme/web"));

  snapshot.projects.clear();
  SnapshotIndex empty(snapshot);
  EXPECT_FALSE(planBillingGroup(empty, snapshot.billingGroups[0], kNow).deletionBlocked);
}

TEST(PlanBillingGroupTest, PromotedGroupReleasesItsProjectOwnerAndSpecErrorsShow) {
  Snapshot snapshot;
  snapshot.namespaces = {ns("acme", "")};
  BillingGroup promoted = group("acme", "web-billing");
  promoted.metadata.ownerReferences.push_back(
      {std::string(kApiVersion), "Project", "web", "web-uid", true, true});
  promoted.spec.currency = "EUX";
  snapshot.billingGroups = {promoted};
  SnapshotIndex index(snapshot);
  auto plan = planBillingGroup(index, snapshot.billingGroups[0], kNow);
  ASSERT_THAT(plan.ownerReferencesToRelease, SizeIs(1));
  EXPECT_EQ(plan.ownerReferencesToRelease[0].name, "web");
  ASSERT_THAT(plan.problems, SizeIs(1));
  EXPECT_EQ(plan.problems[0].code, Code::InvalidCurrency);
  EXPECT_EQ(findCondition(plan.status.conditions, "Ready")->reason, "InvalidCurrency");
}

}  // namespace
}  // namespace billing::domain
