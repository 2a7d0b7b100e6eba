#include "reconcilers/project_reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reconcilers/backend_sync.h"
#include "tests/unit/reconcilers/reconciler_fixture.h"

namespace billing::reconcilers::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ProjectReconcilerTest : public ReconcilerTest {
 protected:
  void SetUp() override {
    ReconcilerTest::SetUp();
    addNamespace("acme-billing", "acme");
    addNamespace("acme-web", "acme");
    addNamespace("acme-data", "acme");
    addNamespace("globex", "globex");
    mainGroup_ = addGroup(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"BillingGroup",
      "metadata":{"name":"acme-main","namespace":"acme-billing"},
      "spec":{"displayName":"Acme","scope":"Organization","currency":"EUR"}})");
    otherGroup_ = addGroup(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"BillingGroup",
      "metadata":{"name":"acme-other","namespace":"acme-billing"},
      "spec":{"scope":"Organization","currency":"EUR"}})");
  }

  // The accounts exist at the backend, as the BillingGroup reconciler leaves them.
  void openAccounts() {
    ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
    ASSERT_TRUE(reconcileGroup("acme-billing", "acme-other").has_value());
  }

  Json webProject(const std::string& group, const std::string& groupNs = "acme-billing") {
    return addProject(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"Project",
      "metadata":{"name":"web","namespace":"acme-web"},
      "spec":{"displayName":"Web","billingGroupRef":{"name":")" +
                      group + R"(","namespace":")" + groupNs + R"("}}})");
  }

  std::string uidOf(const Json& object) { return runtime::objectUid(object); }

  Json mainGroup_;
  Json otherGroup_;
};

TEST_F(ProjectReconcilerTest, ProjectWithoutGroupGetsItsOwnGroupOwnedByTheProject) {
  Json warehouse = addProject(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"Project",
    "metadata":{"name":"warehouse","namespace":"acme-data"},"spec":{"displayName":"DWH"}})");

  auto outcome = reconcileProject("acme-data", "warehouse");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;

  domain::BillingGroup created = group("acme-data", "warehouse-billing");
  EXPECT_EQ(created.spec.scope, domain::Scope::Project);
  ASSERT_TRUE(created.spec.projectRef.has_value());
  EXPECT_EQ(created.spec.projectRef->name, "warehouse");
  ASSERT_EQ(created.metadata.ownerReferences.size(), 1u);
  EXPECT_EQ(created.metadata.ownerReferences[0].kind, "Project");
  EXPECT_EQ(created.metadata.ownerReferences[0].uid, uidOf(warehouse));
  EXPECT_TRUE(created.metadata.ownerReferences[0].controller);

  domain::Project p = project("acme-data", "warehouse");
  EXPECT_THAT(p.metadata.finalizers, ::testing::Contains(std::string(kProjectFinalizer)));
  EXPECT_EQ(ready(p.status.conditions).reason, "CreatingBillingGroup");
  EXPECT_EQ(eventsWith("BillingGroupCreated").size(), 1u);
  EXPECT_GT(outcome->requeueAfter.count(), 0);

  // Once the group and its account exist, the project is assigned to it.
  ASSERT_TRUE(reconcileGroup("acme-data", "warehouse-billing").has_value());
  ASSERT_TRUE(reconcileProject("acme-data", "warehouse").has_value());
  p = project("acme-data", "warehouse");
  EXPECT_EQ(ready(p.status.conditions).status, domain::ConditionStatus::True);
  ASSERT_TRUE(p.status.billingGroup.has_value());
  EXPECT_EQ(p.status.billingGroup->name, "warehouse-billing");
  EXPECT_EQ(p.status.billingGroup->scope, domain::Scope::Project);
  EXPECT_EQ(kube_.creates, 1) << "the group is created once";
}

TEST_F(ProjectReconcilerTest, AssignsGroupOfAnotherNamespaceOfTheOrganizationAndStartsMembership) {
  openAccounts();
  Json web = webProject("acme-main");

  auto outcome = reconcileProject("acme-web", "web");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;

  domain::Project p = project("acme-web", "web");
  EXPECT_EQ(p.status.organization, "acme");
  ASSERT_TRUE(p.status.billingGroup.has_value());
  EXPECT_EQ(p.status.billingGroup->name, "acme-main");
  EXPECT_EQ(p.status.billingGroup->ns, "acme-billing");
  EXPECT_EQ(p.status.billingGroup->scope, domain::Scope::Organization);
  EXPECT_EQ(p.status.observedGeneration, p.metadata.generation);
  const domain::Condition condition = ready(p.status.conditions);
  EXPECT_EQ(condition.status, domain::ConditionStatus::True);
  EXPECT_EQ(condition.reason, "BillingGroupAssigned");
  EXPECT_EQ(condition.observedGeneration, p.metadata.generation);

  // A first Ready is recorded by the condition, not by an Event (one Event per object would
  // double a cold start's writes).
  EXPECT_TRUE(eventsWith("BillingGroupAssigned").empty());

  auto memberships = backend_.memberships();
  ASSERT_EQ(memberships.size(), 1u);
  EXPECT_EQ(memberships[0].project, "acme-web/web");
  EXPECT_EQ(memberships[0].accountId, uidOf(mainGroup_));
  EXPECT_EQ(memberships[0].effectiveFrom, created_) << "billed from the project's creation";
  EXPECT_FALSE(memberships[0].effectiveTo.has_value());
  auto writes = backend_.writes();
  EXPECT_EQ(writes.back().method, "addMembership");
  EXPECT_EQ(writes.back().key, "membership-" + uidOf(web) + "-" + uidOf(mainGroup_) + "-g1");
}

TEST_F(ProjectReconcilerTest, NothingChangedMeansNoWriteAndNoEvent) {
  openAccounts();
  webProject("acme-main");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  const int writes = kube_.statusWrites;
  const std::size_t events = events_.size();
  const std::size_t backendWrites = backend_.writes().size();
  advance(60s);

  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  EXPECT_EQ(kube_.statusWrites, writes);
  EXPECT_EQ(events_.size(), events);
  EXPECT_EQ(backend_.writes().size(), backendWrites);
}

TEST_F(ProjectReconcilerTest, CrossOrganizationReferenceIsReportedNotAssigned) {
  addGroup(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"BillingGroup",
    "metadata":{"name":"globex","namespace":"globex"},"spec":{"currency":"USD"}})");
  webProject("globex", "globex");

  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());

  domain::Project p = project("acme-web", "web");
  const domain::Condition condition = ready(p.status.conditions);
  EXPECT_EQ(condition.status, domain::ConditionStatus::False);
  EXPECT_EQ(condition.reason, "CrossOrganization");
  EXPECT_FALSE(p.status.billingGroup.has_value());
  auto warnings = eventsWith("CrossOrganization");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].type, runtime::EventType::Warning);
  EXPECT_TRUE(backend_.memberships().empty());
}

TEST_F(ProjectReconcilerTest, MissingGroupIsBillingGroupNotFound) {
  webProject("nope");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  EXPECT_EQ(ready(project("acme-web", "web").status.conditions).reason, "BillingGroupNotFound");
  EXPECT_EQ(eventsWith("BillingGroupNotFound").size(), 1u);
}

TEST_F(ProjectReconcilerTest, ProjectGroupOfAnotherProjectIsRefused) {
  addGroup(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"BillingGroup",
    "metadata":{"name":"research-billing","namespace":"acme-web"},
    "spec":{"scope":"Project","projectRef":{"name":"research"},"currency":"EUR"}})");
  webProject("research-billing", "acme-web");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  EXPECT_EQ(ready(project("acme-web", "web").status.conditions).reason, "ProjectGroupBoundToOther");
}

TEST_F(ProjectReconcilerTest, MovingToAnotherGroupRecordsTheMoveAtItsEffectiveTime) {
  openAccounts();
  Json web = webProject("acme-main");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  advance(3600s);

  web = api_.stored(projectsResource(), "acme-web", "web").value();
  web["spec"]["billingGroupRef"]["name"] = Json::string("acme-other");
  web = api_.put(projectsResource(), web);
  ASSERT_EQ(runtime::objectGeneration(web), 2);

  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());

  auto memberships = backend_.memberships();
  ASSERT_EQ(memberships.size(), 2u);
  EXPECT_EQ(memberships[0].accountId, uidOf(mainGroup_));
  EXPECT_EQ(memberships[0].effectiveTo, now_);
  EXPECT_EQ(memberships[1].accountId, uidOf(otherGroup_));
  EXPECT_EQ(memberships[1].effectiveFrom, now_);
  EXPECT_EQ(backend_.writes().back().method, "moveProject");
  EXPECT_EQ(backend_.writes().back().key,
            "membership-" + uidOf(web) + "-" + uidOf(otherGroup_) + "-g2");

  domain::Project p = project("acme-web", "web");
  EXPECT_EQ(p.status.billingGroup->name, "acme-other");
  auto assigned = eventsWith("BillingGroupAssigned");
  ASSERT_EQ(assigned.size(), 1u) << "the move is a transition, the first assignment is not";
  EXPECT_EQ(assigned[0].type, runtime::EventType::Normal);
  EXPECT_EQ(assigned[0].object, "acme-web/web");
  EXPECT_THAT(assigned[0].note, HasSubstr("acme-other"));
}

TEST_F(ProjectReconcilerTest, BackendOutageIsBackendUnavailableAndRequeued) {
  openAccounts();
  webProject("acme-main");
  backend_.setOutage(FakeBackend::unavailable());

  auto failed = reconcileProject("acme-web", "web");
  ASSERT_FALSE(failed.has_value()) << "an error: requeued with backoff";
  domain::Project p = project("acme-web", "web");
  const domain::Condition condition = ready(p.status.conditions);
  EXPECT_EQ(condition.status, domain::ConditionStatus::False);
  EXPECT_EQ(condition.reason, "BackendUnavailable");
  EXPECT_THAT(condition.message, HasSubstr("connection refused"));
  auto warnings = eventsWith("BackendUnavailable");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].type, runtime::EventType::Warning);
  EXPECT_TRUE(backend_.memberships().empty());

  backend_.setOutage(std::nullopt);
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  EXPECT_EQ(ready(project("acme-web", "web").status.conditions).reason, "BillingGroupAssigned");
  EXPECT_EQ(backend_.memberships().size(), 1u);
}

TEST_F(ProjectReconcilerTest, RetriedMoveSendsTheSameKeyAndEffectiveTime) {
  openAccounts();
  Json web = webProject("acme-main");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  advance(3600s);
  const domain::Timestamp movedAt = now_;
  web = api_.stored(projectsResource(), "acme-web", "web").value();
  web["spec"]["billingGroupRef"]["name"] = Json::string("acme-other");
  api_.put(projectsResource(), web);

  // The move does not get through the first time (nor does the ledger's answer to a second
  // attempt): each retry, minutes later, must repeat the very same request.
  backend_.failMethod("moveProject", FakeBackend::unavailable(), 2);
  ASSERT_FALSE(reconcileProject("acme-web", "web").has_value());
  advance(300s);
  ASSERT_FALSE(reconcileProject("acme-web", "web").has_value());
  advance(300s);
  auto recovered = reconcileProject("acme-web", "web");
  ASSERT_TRUE(recovered.has_value()) << recovered.error().message;

  std::vector<FakeBackend::Call> moves;
  for (const auto& call : backend_.calls()) {
    if (call.method == "moveProject") moves.push_back(call);
  }
  ASSERT_EQ(moves.size(), 3u);
  for (const auto& move : moves) {
    EXPECT_EQ(move.key, moves[0].key);
    EXPECT_EQ(move.fingerprint, moves[0].fingerprint);
    EXPECT_THAT(move.fingerprint, HasSubstr(domain::formatTimestamp(movedAt)));
  }
  EXPECT_EQ(moves[0].key, "membership-" + uidOf(web) + "-" + uidOf(otherGroup_) + "-g2");
  EXPECT_EQ(backend_.memberships().back().effectiveFrom, movedAt);
  EXPECT_EQ(ready(project("acme-web", "web").status.conditions).reason, "BillingGroupAssigned");
}

TEST_F(ProjectReconcilerTest, RestartBetweenDecidingAndRecordingAMoveResendsTheSameRequest) {
  openAccounts();
  Json web = webProject("acme-main");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  advance(3600s);
  const domain::Timestamp movedAt = now_;
  web = api_.stored(projectsResource(), "acme-web", "web").value();
  web["spec"]["billingGroupRef"]["name"] = Json::string("acme-other");
  api_.put(projectsResource(), web);

  // The move is decided and sent, but the answer is lost; then the operator restarts (a new
  // reconciler, nothing kept in memory) ten minutes later.
  backend_.failMethod("moveProject", FakeBackend::unavailable(), 1);
  ASSERT_FALSE(reconcileProject("acme-web", "web").has_value());
  EXPECT_EQ(project("acme-web", "web").metadata.annotations.at(std::string(kPendingMoveAnnotation)),
            "membership-" + uidOf(web) + "-" + uidOf(otherGroup_) + "-g2 " +
                domain::formatTimestamp(movedAt))
      << "the decided time is on the Project before the backend call";
  projects_ = std::make_unique<ProjectReconciler>(deps(), options_);
  advance(600s);
  auto recovered = reconcileProject("acme-web", "web");
  ASSERT_TRUE(recovered.has_value()) << recovered.error().message;

  std::vector<FakeBackend::Call> moves;
  for (const auto& call : backend_.calls()) {
    if (call.method == "moveProject") moves.push_back(call);
  }
  ASSERT_EQ(moves.size(), 2u);
  EXPECT_EQ(moves[1].key, moves[0].key);
  EXPECT_EQ(moves[1].fingerprint, moves[0].fingerprint) << "the identical request";
  EXPECT_EQ(backend_.memberships().back().effectiveFrom, movedAt);
  EXPECT_FALSE(
      project("acme-web", "web").metadata.annotations.contains(std::string(kPendingMoveAnnotation)))
      << "removed once the move is recorded";
  EXPECT_EQ(ready(project("acme-web", "web").status.conditions).reason, "BillingGroupAssigned");
}

// Tenancy (issue #10): a namespace relabelled into another organization must not leave its
// project billed to the first organization's group, and coming back must not bill the first
// organization for the time the project spent in the other.
TEST_F(ProjectReconcilerTest,
       RelabelledIntoAnotherOrganizationEndsTheMembershipAndComingBackStartsANewOne) {
  openAccounts();
  webProject("acme-main");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  ASSERT_EQ(backend_.memberships().size(), 1u);
  const domain::Timestamp joined = backend_.memberships()[0].effectiveFrom;

  advance(3600s);
  const domain::Timestamp relabelled = now_;
  addNamespace("acme-web", "globex");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  EXPECT_EQ(ready(project("acme-web", "web").status.conditions).reason, "CrossOrganization");
  ASSERT_EQ(backend_.memberships().size(), 1u);
  EXPECT_EQ(backend_.memberships()[0].effectiveTo, relabelled)
      << "nothing the project uses in globex is billed to acme's group";
  auto ended = eventsWith("MembershipEnded");
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].type, runtime::EventType::Warning);
  EXPECT_THAT(ended[0].note, HasSubstr("organization acme"));
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  EXPECT_EQ(eventsWith("MembershipEnded").size(), 1u) << "ended once";

  advance(7200s);
  addNamespace("acme-web", "acme");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  EXPECT_EQ(ready(project("acme-web", "web").status.conditions).reason, "BillingGroupAssigned");
  auto memberships = backend_.memberships();
  ASSERT_EQ(memberships.size(), 2u);
  EXPECT_EQ(memberships[0].effectiveFrom, joined);
  EXPECT_EQ(memberships[0].effectiveTo, relabelled);
  EXPECT_EQ(memberships[1].accountId, uidOf(mainGroup_));
  EXPECT_EQ(memberships[1].effectiveFrom, now_) << "the two hours in globex are not acme's";
  EXPECT_FALSE(memberships[1].effectiveTo.has_value());
}

// Both namespaces relabelled into another organization: the cluster's labels agree again, but
// the group's account still belongs to the first organization (accounts never move, R10).
TEST_F(ProjectReconcilerTest, GroupWhoseAccountIsOfAnotherOrganizationBillsNothing) {
  openAccounts();
  webProject("acme-main");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  ASSERT_EQ(backend_.memberships().size(), 1u);

  advance(60s);
  addNamespace("acme-billing", "globex");
  addNamespace("acme-web", "globex");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  ASSERT_EQ(backend_.memberships().size(), 1u);
  EXPECT_EQ(backend_.memberships()[0].effectiveTo, now_) << "acme's account bills no more";
  const domain::Condition condition = ready(project("acme-web", "web").status.conditions);
  EXPECT_EQ(condition.status, domain::ConditionStatus::False);
  EXPECT_EQ(condition.reason, "BackendConflict");
  EXPECT_THAT(condition.message, HasSubstr("belongs to organization acme"));
  EXPECT_THAT(condition.message, HasSubstr("recreate the billing group"));
}

TEST_F(ProjectReconcilerTest, GroupNotReconciledYetMeansNoStatusUntilItsAccountExists) {
  webProject("acme-main");  // the group's first reconcile has not run: no account, no status
  const std::size_t updatesBefore = api_.calls("update");
  auto outcome = reconcileProject("acme-web", "web");
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->requeueAfter, options_.accountPendingRetry) << "the safety net";
  EXPECT_EQ(api_.calls("update"), updatesBefore)
      << "a status saying 'pending' for the moment before the group's first reconcile is a "
         "write per project at cold start; the group's status write brings the project back";
  EXPECT_TRUE(project("acme-web", "web").status.conditions.empty());

  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  const std::size_t updatesAfterGroup = api_.calls("update");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  EXPECT_EQ(ready(project("acme-web", "web").status.conditions).reason, "BillingGroupAssigned");
  EXPECT_EQ(api_.calls("update"), updatesAfterGroup + 1) << "one write: the first status";
}

TEST_F(ProjectReconcilerTest, AccountNotYetAtTheBackendIsPendingAndRequeued) {
  // The group's first reconcile ran but could not create the account (backend down then).
  webProject("acme-main");
  backend_.setOutage(FakeBackend::unavailable());
  ASSERT_FALSE(reconcileGroup("acme-billing", "acme-main").has_value());
  backend_.setOutage(std::nullopt);
  auto outcome = reconcileProject("acme-web", "web");
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(ready(project("acme-web", "web").status.conditions).reason, "BillingAccountPending");
  EXPECT_EQ(outcome->requeueAfter, options_.accountPendingRetry);
  EXPECT_TRUE(eventsWith("BillingAccountPending").empty() ||
              eventsWith("BillingAccountPending")[0].type == runtime::EventType::Normal);
}

TEST_F(ProjectReconcilerTest, DeletionEndsTheMembershipAndDeletesTheProjectGroup) {
  addProject(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"Project",
    "metadata":{"name":"warehouse","namespace":"acme-data"},"spec":{}})");
  ASSERT_TRUE(reconcileProject("acme-data", "warehouse").has_value());
  ASSERT_TRUE(reconcileGroup("acme-data", "warehouse-billing").has_value());
  ASSERT_TRUE(reconcileProject("acme-data", "warehouse").has_value());
  ASSERT_EQ(backend_.memberships().size(), 1u);

  remove(projectsResource(), "acme-data", "warehouse");
  ASSERT_TRUE(stored(projectsResource(), "acme-data", "warehouse").has_value())
      << "held by the finalizer";
  ASSERT_TRUE(reconcileProject("acme-data", "warehouse").has_value());

  EXPECT_FALSE(stored(projectsResource(), "acme-data", "warehouse").has_value())
      << "the finalizer was removed";
  auto memberships = backend_.memberships();
  ASSERT_EQ(memberships.size(), 1u);
  EXPECT_EQ(memberships[0].effectiveTo, kube_.deletionTime) << "ended at the deletion time";
  auto group = stored(billingGroupsResource(), "acme-data", "warehouse-billing");
  ASSERT_TRUE(group.has_value()) << "held by its own finalizer until it has closed its account";
  EXPECT_TRUE(group->at("metadata").has_field("deletionTimestamp"));
  EXPECT_EQ(eventsWith("BillingGroupDeleted").size(), 1u);
}

TEST_F(ProjectReconcilerTest, DeletionWaitsForTheBackend) {
  openAccounts();
  Json web = webProject("acme-main");
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  remove(projectsResource(), "acme-web", "web");
  backend_.setOutage(FakeBackend::unavailable());

  ASSERT_FALSE(reconcileProject("acme-web", "web").has_value());
  auto held = stored(projectsResource(), "acme-web", "web");
  ASSERT_TRUE(held.has_value()) << "the finalizer stays until the membership is ended";
  EXPECT_EQ(ready(codec::decodeProject(*held).value.status.conditions).reason,
            "BackendUnavailable");

  backend_.setOutage(std::nullopt);
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  EXPECT_FALSE(stored(projectsResource(), "acme-web", "web").has_value());
  auto ends = backend_.writes();
  EXPECT_EQ(ends.back().method, "endMembership");
  EXPECT_EQ(ends.back().key, "end-membership-" + uidOf(web));
}

}  // namespace
}  // namespace billing::reconcilers::testing
