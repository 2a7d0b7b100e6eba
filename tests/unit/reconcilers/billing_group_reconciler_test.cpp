#include "reconcilers/billing_group_reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reconcilers/backend_sync.h"
#include "reconcilers/domain/conditions.h"
#include "tests/unit/reconcilers/reconciler_fixture.h"

namespace billing::reconcilers::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class BillingGroupReconcilerTest : public ReconcilerTest {
 protected:
  void SetUp() override {
    ReconcilerTest::SetUp();
    addNamespace("acme-billing", "acme");
    addNamespace("acme-web", "acme");
    mainGroup_ = addGroup(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"BillingGroup",
      "metadata":{"name":"acme-main","namespace":"acme-billing"},
      "spec":{"displayName":"Acme","scope":"Organization","currency":"EUR","company":"Acme GmbH",
              "billingEmails":["billing@acme.example"],
              "paymentMethod":{"type":"SepaDebit","secretRef":{"name":"acme-sepa","key":"mandate"}},
              "credits":[{"id":"promo-2026","amount":"100.00","description":"Welcome"}]}})");
  }

  void addWebProject(const std::string& group) {
    addProject(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"Project",
      "metadata":{"name":"web","namespace":"acme-web"},
      "spec":{"billingGroupRef":{"name":")" +
               group + R"(","namespace":"acme-billing"}}})");
  }

  std::string uid() const { return runtime::objectUid(mainGroup_); }

  Json mainGroup_;
};

TEST_F(BillingGroupReconcilerTest, StatusListsMembersOfTheOrganization) {
  addWebProject("acme-main");
  addProject(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"Project",
    "metadata":{"name":"api","namespace":"acme-billing"},
    "spec":{"billingGroupRef":{"name":"acme-main"}}})");

  auto outcome = reconcileGroup("acme-billing", "acme-main");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;

  domain::BillingGroup g = group("acme-billing", "acme-main");
  EXPECT_EQ(g.status.organization, "acme");
  EXPECT_EQ(g.status.projectCount, 2);
  ASSERT_EQ(g.status.projects.size(), 2u);
  EXPECT_EQ(g.status.projects[0].ns, "acme-billing");
  EXPECT_EQ(g.status.projects[0].name, "api");
  EXPECT_EQ(g.status.projects[1].ns, "acme-web");
  EXPECT_EQ(g.status.observedGeneration, g.metadata.generation);
  EXPECT_EQ(ready(g.status.conditions).status, domain::ConditionStatus::True);
  EXPECT_EQ(ready(g.status.conditions).reason, "Reconciled");
  EXPECT_THAT(g.metadata.finalizers, ::testing::Contains(std::string(kBillingGroupFinalizer)));

  // Drift detection comes back in 5 minutes, give or take 10 %.
  EXPECT_GE(outcome->requeueAfter, 270s);
  EXPECT_LE(outcome->requeueAfter, 330s);
}

TEST_F(BillingGroupReconcilerTest, CreatesTheAccountWithASecretReferenceOnly) {
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());

  auto account = backend_.account(uid());
  ASSERT_TRUE(account.has_value()) << "account id = the group's UID";
  EXPECT_EQ(account->spec.name, "Acme");
  EXPECT_EQ(account->spec.organization, "acme");
  EXPECT_EQ(account->spec.currency, "EUR");
  EXPECT_EQ(account->spec.profile.company, "Acme GmbH");
  ASSERT_TRUE(account->spec.profile.paymentMethod.has_value());
  EXPECT_EQ(account->spec.profile.paymentMethod->type, domain::PaymentMethodType::SepaDebit);
  EXPECT_EQ(account->spec.profile.paymentMethod->reference,
            "secret://acme-billing/acme-sepa/mandate");
  EXPECT_EQ(eventsWith("BackendAccountCreated").size(), 1u);
}

TEST_F(BillingGroupReconcilerTest, CreditsAreGrantedOnceByGrantId) {
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  advance(600s);
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());

  auto grants = backend_.grants(uid());
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].spec.id, "promo-2026");
  EXPECT_EQ(grants[0].spec.amount, "100.00");
  int grantCalls = 0;
  for (const auto& call : backend_.writes()) {
    if (call.method == "grantCredit") {
      ++grantCalls;
      EXPECT_EQ(call.key, creditKey(uid(), "promo-2026"));
    }
  }
  EXPECT_EQ(grantCalls, 1);
  EXPECT_EQ(group("acme-billing", "acme-main").status.credits, "100.00");
}

TEST_F(BillingGroupReconcilerTest, ProjectGroupGetsNoCredits) {
  addGroup(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"BillingGroup",
    "metadata":{"name":"web-billing","namespace":"acme-web"},
    "spec":{"scope":"Project","projectRef":{"name":"web"},"currency":"EUR",
            "credits":[{"id":"g1","amount":"5.00"}]}})");
  addProject(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"Project",
    "metadata":{"name":"web","namespace":"acme-web"},"spec":{}})");

  ASSERT_TRUE(reconcileGroup("acme-web", "web-billing").has_value());

  for (const auto& call : backend_.calls()) EXPECT_NE(call.method, "grantCredit");
  domain::BillingGroup g = group("acme-web", "web-billing");
  EXPECT_EQ(ready(g.status.conditions).reason, "CreditsOnProjectGroup");
  EXPECT_TRUE(g.status.credits.empty());
}

TEST_F(BillingGroupReconcilerTest, ScopeChangeToOrganizationReleasesTheProjectOwnerReference) {
  addProject(R"({"apiVersion":"billing.operator.dev/v1alpha1","kind":"Project",
    "metadata":{"name":"web","namespace":"acme-web"},"spec":{}})");
  Json web = api_.stored(projectsResource(), "acme-web", "web").value();
  Json own = runtime::testing::parse(R"({"apiVersion":"billing.operator.dev/v1alpha1",
    "kind":"BillingGroup","metadata":{"name":"web-billing","namespace":"acme-web",
    "annotations":{"billing.operator.dev/default-group-of":"web"},
    "ownerReferences":[{"apiVersion":"billing.operator.dev/v1alpha1","kind":"Project",
      "name":"web","uid":"UID","controller":true,"blockOwnerDeletion":true}]},
    "spec":{"scope":"Organization","currency":"EUR"}})");
  own["metadata"]["ownerReferences"][0]["uid"] = Json::string(runtime::objectUid(web));
  api_.put(billingGroupsResource(), own);

  ASSERT_TRUE(reconcileGroup("acme-web", "web-billing").has_value());

  domain::BillingGroup g = group("acme-web", "web-billing");
  EXPECT_TRUE(g.metadata.ownerReferences.empty()) << "the group survives its project (R5)";
  EXPECT_EQ(eventsWith("OwnerReferenceReleased").size(), 1u);
  EXPECT_EQ(g.status.projectCount, 1) << "its former project still uses it";
}

TEST_F(BillingGroupReconcilerTest, DeletionIsHeldWhileProjectsRemain) {
  addWebProject("acme-main");
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  remove(billingGroupsResource(), "acme-billing", "acme-main");

  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());

  auto held = stored(billingGroupsResource(), "acme-billing", "acme-main");
  ASSERT_TRUE(held.has_value()) << "held by the finalizer (R6)";
  domain::BillingGroup g = codec::decodeBillingGroup(*held).value;
  const domain::Condition condition = ready(g.status.conditions);
  EXPECT_EQ(condition.status, domain::ConditionStatus::False);
  EXPECT_EQ(condition.reason, "GroupHasProjects");
  auto warnings = eventsWith("GroupHasProjects");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].type, runtime::EventType::Warning);
  EXPECT_THAT(warnings[0].note, HasSubstr("acme-web/web"));
  EXPECT_FALSE(backend_.account(uid())->closedAt.has_value());
}

TEST_F(BillingGroupReconcilerTest, DeletionWithoutProjectsClosesTheAccountAfterTheFinalInvoice) {
  std::vector<domain::Timestamp> finalInvoices;
  options_.finalInvoice = [&](const domain::BillingGroup& g,
                              domain::Timestamp at) -> std::optional<backend::BackendError> {
    EXPECT_EQ(g.metadata.name, "acme-main");
    finalInvoices.push_back(at);
    return std::nullopt;
  };
  groups_ = std::make_unique<BillingGroupReconciler>(deps(), options_);
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  remove(billingGroupsResource(), "acme-billing", "acme-main");

  // The first pass only records the final partial period [2026-12-01, deletion) as the status's
  // currentPeriod, which the webhook accepts the final Invoice against; the next pass (brought by
  // that status update) issues the final invoice and closes the account.
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  auto recorded = stored(billingGroupsResource(), "acme-billing", "acme-main");
  ASSERT_TRUE(recorded.has_value());
  const domain::BillingGroup closing = codec::decodeBillingGroup(*recorded).value;
  ASSERT_TRUE(closing.status.currentPeriod.has_value());
  EXPECT_EQ(closing.status.currentPeriod->start, domain::parseTimestamp("2026-12-01T00:00:00Z"));
  EXPECT_EQ(closing.status.currentPeriod->end, kube_.deletionTime);
  EXPECT_TRUE(finalInvoices.empty());
  EXPECT_FALSE(backend_.account(uid())->closedAt.has_value());

  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());

  EXPECT_FALSE(stored(billingGroupsResource(), "acme-billing", "acme-main").has_value());
  auto account = backend_.account(uid());
  ASSERT_TRUE(account->closedAt.has_value());
  EXPECT_EQ(*account->closedAt, kube_.deletionTime);
  ASSERT_EQ(finalInvoices.size(), 1u);
  EXPECT_EQ(finalInvoices[0], kube_.deletionTime);
  EXPECT_EQ(eventsWith("BackendAccountClosed").size(), 1u);
}

TEST_F(BillingGroupReconcilerTest, ClosingWaitsForOpenBackendMemberships) {
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  ASSERT_TRUE(backend_.addMembership("acme-web/gone", uid(), now_, std::nullopt, "k").has_value());
  remove(billingGroupsResource(), "acme-billing", "acme-main");

  auto outcome = reconcileGroup("acme-billing", "acme-main");
  ASSERT_TRUE(outcome.has_value());
  EXPECT_GT(outcome->requeueAfter.count(), 0);
  auto held = stored(billingGroupsResource(), "acme-billing", "acme-main");
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(ready(codec::decodeBillingGroup(*held).value.status.conditions).reason,
            "BackendMembershipsOpen");
  EXPECT_FALSE(backend_.account(uid())->closedAt.has_value());
}

TEST_F(BillingGroupReconcilerTest, DriftAtTheBackendIsCorrected) {
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  advance(300s);
  backend_.tamper(uid(), [](backend::AccountSpec& spec) { spec.profile.company = "Someone"; });
  advance(300s);

  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());

  EXPECT_EQ(backend_.account(uid())->spec.profile.company, "Acme GmbH");
  EXPECT_EQ(eventsWith("BackendAccountUpdated").size(), 1u);
  auto writes = backend_.writes();
  std::vector<std::string> keys;
  for (const auto& call : writes) {
    if (call.method == "upsertAccount") keys.push_back(call.key);
  }
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_NE(keys[0], keys[1]) << "correcting a drift is a new request";

  // In sync: nothing is sent.
  advance(300s);
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  int upserts = 0;
  for (const auto& call : backend_.writes()) upserts += call.method == "upsertAccount";
  EXPECT_EQ(upserts, 2);
}

TEST_F(BillingGroupReconcilerTest, BackendOutageIsBackendUnavailableAndRequeued) {
  backend_.setOutage(FakeBackend::unavailable());
  auto outcome = reconcileGroup("acme-billing", "acme-main");
  ASSERT_FALSE(outcome.has_value());
  domain::BillingGroup g = group("acme-billing", "acme-main");
  EXPECT_EQ(ready(g.status.conditions).status, domain::ConditionStatus::False);
  EXPECT_EQ(ready(g.status.conditions).reason, "BackendUnavailable");
  EXPECT_EQ(eventsWith("BackendUnavailable").size(), 1u);

  backend_.setOutage(std::nullopt);
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  EXPECT_EQ(ready(group("acme-billing", "acme-main").status.conditions).reason, "Reconciled");
  EXPECT_EQ(eventsWith("Reconciled").size(), 1u);
}

TEST_F(BillingGroupReconcilerTest, CurrencyChangeRefusedByTheBackendIsReported) {
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  Json changed = api_.stored(billingGroupsResource(), "acme-billing", "acme-main").value();
  changed["spec"]["currency"] = Json::string("USD");
  api_.put(billingGroupsResource(), changed);

  auto outcome = reconcileGroup("acme-billing", "acme-main");
  ASSERT_TRUE(outcome.has_value()) << "retrying will not help: no backoff loop";
  EXPECT_EQ(ready(group("acme-billing", "acme-main").status.conditions).reason, "BackendConflict");
}

TEST_F(BillingGroupReconcilerTest, NamespaceLabelChangeMovesTheGroupsOrganization) {
  addWebProject("acme-main");
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());
  ASSERT_EQ(ready(project("acme-web", "web").status.conditions).reason, "BillingGroupAssigned");

  api_.put(namespacesResource(), namespaceObject("acme-billing", "initech"));
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  ASSERT_TRUE(reconcileProject("acme-web", "web").has_value());

  domain::BillingGroup g = group("acme-billing", "acme-main");
  EXPECT_EQ(g.status.organization, "initech");
  EXPECT_EQ(g.status.projectCount, 0);
  domain::Project p = project("acme-web", "web");
  EXPECT_EQ(ready(p.status.conditions).reason, "CrossOrganization");
  EXPECT_EQ(eventsWith("CrossOrganization").size(), 1u);
}

// ---- no billing backend (no --ledger-url) ----

class NoBackendTest : public BillingGroupReconcilerTest {
 protected:
  void SetUp() override {
    BillingGroupReconcilerTest::SetUp();
    ReconcilerDeps withoutBackend = deps();
    withoutBackend.backend = nullptr;
    groups_ = std::make_unique<BillingGroupReconciler>(withoutBackend, options_);
    ReconcilerDeps projectDeps = deps();
    projectDeps.backend = nullptr;
    projects_ = std::make_unique<ProjectReconciler>(projectDeps, options_);
  }
};

TEST_F(NoBackendTest, GroupSaysInvoicingIsOffAndCallsNoBackend) {
  addWebProject("acme-main");
  auto outcome = reconcileGroup("acme-billing", "acme-main");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;

  domain::BillingGroup g = group("acme-billing", "acme-main");
  const domain::Condition* invoicing = domain::findCondition(g.status.conditions, "Invoicing");
  ASSERT_NE(invoicing, nullptr);
  EXPECT_EQ(invoicing->status, domain::ConditionStatus::False);
  EXPECT_EQ(invoicing->reason, "InvoicingOff");
  EXPECT_EQ(invoicing->message,
            "no billing backend configured (--ledger-url): invoices are not generated");
  EXPECT_EQ(invoicing->observedGeneration, g.metadata.generation);
  // Validation and reporting go on.
  EXPECT_EQ(g.status.projectCount, 1);
  EXPECT_EQ(ready(g.status.conditions).status, domain::ConditionStatus::True);
  EXPECT_TRUE(backend_.calls().empty());
  EXPECT_FALSE(backend_.account(uid()).has_value());
}

TEST_F(NoBackendTest, ProjectSkipsTheMembershipCalls) {
  addWebProject("acme-main");
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  auto outcome = reconcileProject("acme-web", "web");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  domain::Project p = project("acme-web", "web");
  ASSERT_TRUE(p.status.billingGroup.has_value());
  EXPECT_EQ(p.status.billingGroup->name, "acme-main");
  EXPECT_TRUE(backend_.calls().empty());
}

TEST_F(NoBackendTest, DeletionWithoutProjectsReleasesTheGroupWithoutBackendCalls) {
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  remove(billingGroupsResource(), "acme-billing", "acme-main");
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  EXPECT_FALSE(stored(billingGroupsResource(), "acme-billing", "acme-main").has_value());
  EXPECT_TRUE(backend_.calls().empty());
}

TEST_F(BillingGroupReconcilerTest, WithABackendThereIsNoInvoicingCondition) {
  ASSERT_TRUE(reconcileGroup("acme-billing", "acme-main").has_value());
  domain::BillingGroup g = group("acme-billing", "acme-main");
  EXPECT_EQ(domain::findCondition(g.status.conditions, "Invoicing"), nullptr);
}

}  // namespace
}  // namespace billing::reconcilers::testing
