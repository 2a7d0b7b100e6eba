// The Project and BillingGroup controllers in a runtime::Manager against the in-process test API
// server (driven with the real kubectl) and a real in-process billing ledger on SQLite: the
// GitOps example is applied and the statuses, the default project group, and the memberships
// recorded at the ledger are checked, then moves, deletions and organization changes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "ledger/http_api.h"
#include "ledger/service.h"
#include "operator/ledger_client/ledger_client.h"
#include "operator/runtime/manager.h"
#include "reconcilers/controllers.h"
#include "reconcilers/resources.h"
#include "tests/integration/runtime_support.h"
#include "tests/ledger/ledger_test_support.h"

namespace billing::integration {
namespace {

using apiserver::harness::CommandResult;
using apiserver::harness::Kubectl;
using apiserver::harness::TempDir;

const std::string kSource = BILLING_SOURCE_DIR;
constexpr const char* kLedgerToken = "reconcilers-integration-token";
constexpr auto kWait = 30s;

class ReconcilersIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = apiserver::harness::startServer();
    ASSERT_TRUE(server_);
    const fs::path kubeconfig = dir_.path() / "kubeconfig";
    ASSERT_TRUE(server_->writeKubeconfig(kubeconfig, KubeconfigAuth::ClientCertificate));
    auto client = clientFromKubeconfig(kubeconfig);
    ASSERT_TRUE(client) << client.error();
    client_ = std::move(*client);
    kubectl_ = std::make_unique<Kubectl>(kubeconfig, dir_.path());
    CommandResult crds = kubectl_->run({"apply", "-f", kSource + "/crds/"});
    ASSERT_EQ(crds.exitCode, 0) << crds;
    std::error_code ignored;
    fs::remove_all(dir_.path() / "cache", ignored);

    // A real ledger on SQLite, over HTTP.
    std::string why;
    store_ = ledger::testing::TestStore::create(ledger::testing::StoreKind::Sqlite, why);
    ASSERT_TRUE(store_) << why;
    service_ = std::make_unique<ledger::LedgerService>(store_->store());
    ledger::HttpApiOptions apiOptions;
    apiOptions.tokens = {kLedgerToken};
    api_ = std::make_unique<ledger::HttpApi>(*service_, apiOptions);
    std::string url;
    for (int attempt = 0; attempt < 5 && !ledgerServer_; ++attempt) {
      url = "http://127.0.0.1:" + std::to_string(ledger::testing::freePort());
      ledger::LedgerServerOptions serverOptions;
      serverOptions.url = url;
      if (auto started = ledger::LedgerServer::start(*api_, serverOptions)) {
        ledgerServer_ = std::move(*started);
      }
    }
    ASSERT_TRUE(ledgerServer_) << "cannot start the ledger";
    ledger_client::LedgerClientOptions ledgerOptions;
    ledgerOptions.baseUrl = url;
    ledgerOptions.token = kLedgerToken;
    ledgerOptions.retry.maxAttempts = 2;
    ledgerOptions.retry.initialBackoff = 20ms;
    backend_ = std::make_unique<ledger_client::LedgerClient>(ledgerOptions);

    runtime::ManagerOptions managerOptions;
    managerOptions.logger = runtime::Logger::discard();
    managerOptions.events.reportingInstance = "reconcilers-integration-test";
    manager_ = std::make_unique<runtime::Manager>(*client_, managerOptions);
    reconcilers::ControllerSetup setup;
    setup.reconciler.accountPendingRetry = 200ms;
    reconcilers::addControllers(*manager_, *backend_, setup);
    auto started = manager_->start();
    ASSERT_TRUE(started) << started.error();

    for (const char* file : {"namespaces.yaml", "acme/billing-groups.yaml", "acme/projects.yaml",
                             "globex/billing-groups.yaml", "globex/projects.yaml"}) {
      CommandResult applied = kubectl_->run({"apply", "-f", kSource + "/examples/gitops/" + file});
      ASSERT_EQ(applied.exitCode, 0) << file << "\n" << applied;
    }
  }

  void TearDown() override {
    if (manager_) {
      manager_->stop();
      (void)manager_->wait();
    }
    if (ledgerServer_) ledgerServer_->stop();
    if (server_) server_->stop();
  }

  // kubectl get <kind> <name> -n <ns> -o jsonpath=<path>; "" when it fails.
  std::string jsonpath(const std::string& kind, const std::string& ns, const std::string& name,
                       const std::string& path) {
    CommandResult got = kubectl_->run({"get", kind, name, "-n", ns, "-o", "jsonpath=" + path});
    return got.exitCode == 0 ? got.out : std::string();
  }
  std::string readyReason(const std::string& kind, const std::string& ns, const std::string& name) {
    return jsonpath(kind, ns, name, "{.status.conditions[?(@.type==\"Ready\")].reason}");
  }
  bool waitFor(const std::function<bool()>& condition) { return eventually(condition, kWait); }
  std::string uidOf(const kube::ResourceRef& resource, const std::string& ns,
                    const std::string& name) {
    auto got = client_->get(resource, ns, name);
    return got ? runtime::objectUid(*got) : std::string();
  }
  std::vector<backend::Membership> memberships(const std::string& project) {
    auto listed = backend_->listMemberships(backend::MembershipFilter{project, ""});
    return listed ? *listed : std::vector<backend::Membership>{};
  }

  TempDir dir_;
  std::unique_ptr<apiserver::TestApiServer> server_;
  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<Kubectl> kubectl_;
  std::unique_ptr<ledger::testing::TestStore> store_;
  std::unique_ptr<ledger::LedgerService> service_;
  std::unique_ptr<ledger::HttpApi> api_;
  std::unique_ptr<ledger::LedgerServer> ledgerServer_;
  std::unique_ptr<ledger_client::LedgerClient> backend_;
  std::unique_ptr<runtime::Manager> manager_;
};

TEST_F(ReconcilersIntegrationTest, GitopsExampleGetsStatusesDefaultGroupAndMemberships) {
  EXPECT_TRUE(waitFor([&] {
    return readyReason("project", "acme-web", "web") == "BillingGroupAssigned";
  })) << readyReason("project", "acme-web", "web");
  EXPECT_EQ(jsonpath("project", "acme-web", "web", "{.status.organization}"), "acme");
  EXPECT_EQ(jsonpath("project", "acme-web", "web", "{.status.billingGroup.name}"), "acme-main");
  EXPECT_EQ(jsonpath("project", "acme-web", "web", "{.status.billingGroup.namespace}"),
            "acme-billing");

  // R4: warehouse names no group and gets its own, owned by the project.
  EXPECT_TRUE(waitFor([&] {
    return readyReason("project", "acme-data", "warehouse") == "BillingGroupAssigned";
  })) << readyReason("project", "acme-data", "warehouse");
  EXPECT_EQ(jsonpath("billinggroup", "acme-data", "warehouse-billing", "{.spec.scope}"), "Project");
  EXPECT_EQ(jsonpath("billinggroup", "acme-data", "warehouse-billing",
                     "{.metadata.ownerReferences[0].name}"),
            "warehouse");

  EXPECT_TRUE(waitFor([&] {
    return jsonpath("billinggroup", "acme-billing", "acme-main", "{.status.projectCount}") == "2";
  }));
  EXPECT_EQ(jsonpath("billinggroup", "acme-billing", "acme-main", "{.status.organization}"),
            "acme");
  EXPECT_EQ(readyReason("billinggroup", "acme-billing", "acme-main"), "Reconciled");

  // The memberships at the ledger, one per project, in the group's account (its UID).
  const std::string mainUid =
      uidOf(reconcilers::billingGroupsResource(), "acme-billing", "acme-main");
  EXPECT_TRUE(waitFor([&] { return memberships("acme-web/web").size() == 1; }));
  auto web = memberships("acme-web/web");
  ASSERT_EQ(web.size(), 1u);
  EXPECT_EQ(web[0].accountId, mainUid);
  EXPECT_FALSE(web[0].effectiveTo.has_value());
  auto account = backend_->getAccount(mainUid);
  ASSERT_TRUE(account) << account.error().message();
  EXPECT_EQ(account->spec.organization, "acme");
  ASSERT_TRUE(account->spec.profile.paymentMethod.has_value());
  EXPECT_THAT(account->spec.profile.paymentMethod->reference,
              ::testing::StartsWith("secret://acme-billing/"));

  // Events a user reads with kubectl; the accounts as sent stay in sync (no drift corrections).
  std::string reasons;
  EXPECT_TRUE(waitFor([&] {
    CommandResult events =
        kubectl_->run({"get", "events.events.k8s.io", "-A", "-o", "jsonpath={.items[*].reason}"});
    reasons = events.out;
    return reasons.find("BillingGroupCreated") != std::string::npos &&
           reasons.find("BackendAccountCreated") != std::string::npos;
  })) << reasons;
  EXPECT_THAT(reasons, ::testing::Not(::testing::HasSubstr("BackendAccountUpdated")));
}

TEST_F(ReconcilersIntegrationTest, MovingAProjectRecordsTheMoveAtTheLedger) {
  ASSERT_TRUE(waitFor([&] { return memberships("acme-web/web").size() == 1; }));
  CommandResult applied = kubectl_->run({"apply", "-f", "-"}, R"(
apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata:
  name: acme-second
  namespace: acme-billing
spec:
  displayName: Acme second
  currency: EUR
)");
  ASSERT_EQ(applied.exitCode, 0) << applied;
  CommandResult patched = kubectl_->run(
      {"patch", "project", "web", "-n", "acme-web", "--type=merge", "-p",
       R"({"spec":{"billingGroupRef":{"name":"acme-second","namespace":"acme-billing"}}})"});
  ASSERT_EQ(patched.exitCode, 0) << patched;

  EXPECT_TRUE(waitFor([&] { return memberships("acme-web/web").size() == 2; }));
  const std::string secondUid =
      uidOf(reconcilers::billingGroupsResource(), "acme-billing", "acme-second");
  auto recorded = memberships("acme-web/web");
  ASSERT_EQ(recorded.size(), 2u);
  // Timestamps have whole seconds, so a move in the project's first second leaves the first
  // membership empty ([t, t)) and both start at t: tell them apart by account, not by order.
  const auto next = std::ranges::find(recorded, secondUid, &backend::Membership::accountId);
  ASSERT_NE(next, recorded.end());
  const backend::Membership& earlier = recorded[next == recorded.begin() ? 1 : 0];
  ASSERT_TRUE(earlier.effectiveTo.has_value());
  EXPECT_EQ(*earlier.effectiveTo, next->effectiveFrom) << "no gap, no overlap";
  EXPECT_FALSE(next->effectiveTo.has_value());
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("project", "acme-web", "web", "{.status.billingGroup.name}") == "acme-second";
  }));
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("billinggroup", "acme-billing", "acme-main", "{.status.projectCount}") == "1";
  }));
}

TEST_F(ReconcilersIntegrationTest, DeletingAProjectDeletesItsProjectGroup) {
  ASSERT_TRUE(waitFor([&] { return memberships("acme-data/warehouse").size() == 1; }));
  const std::string groupUid =
      uidOf(reconcilers::billingGroupsResource(), "acme-data", "warehouse-billing");
  CommandResult deleted =
      kubectl_->run({"delete", "project", "warehouse", "-n", "acme-data", "--wait=false"});
  ASSERT_EQ(deleted.exitCode, 0) << deleted;

  EXPECT_TRUE(waitFor([&] {
    return !client_->get(reconcilers::projectsResource(), "acme-data", "warehouse").has_value();
  }));
  EXPECT_TRUE(waitFor([&] {
    return !client_->get(reconcilers::billingGroupsResource(), "acme-data", "warehouse-billing")
                .has_value();
  }));
  auto ended = memberships("acme-data/warehouse");
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_TRUE(ended[0].effectiveTo.has_value()) << "ended at the deletion time";
  auto account = backend_->getAccount(groupUid);
  ASSERT_TRUE(account) << account.error().message();
  EXPECT_TRUE(account->closedAt.has_value());
}

TEST_F(ReconcilersIntegrationTest, DeletingAGroupWithProjectsIsHeld) {
  ASSERT_TRUE(waitFor([&] {
    return jsonpath("billinggroup", "acme-billing", "acme-main", "{.status.projectCount}") == "2";
  }));
  CommandResult deleted =
      kubectl_->run({"delete", "billinggroup", "acme-main", "-n", "acme-billing", "--wait=false"});
  ASSERT_EQ(deleted.exitCode, 0) << deleted;

  EXPECT_TRUE(waitFor([&] {
    return readyReason("billinggroup", "acme-billing", "acme-main") == "GroupHasProjects";
  })) << readyReason("billinggroup", "acme-billing", "acme-main");
  EXPECT_NE(jsonpath("billinggroup", "acme-billing", "acme-main", "{.metadata.deletionTimestamp}"),
            "");
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(
      client_->get(reconcilers::billingGroupsResource(), "acme-billing", "acme-main").has_value())
      << "held while projects remain (R6)";
}

TEST_F(ReconcilersIntegrationTest, NamespaceOrganizationChangeShowsCrossOrganization) {
  ASSERT_TRUE(
      waitFor([&] { return readyReason("project", "acme-web", "web") == "BillingGroupAssigned"; }));
  CommandResult labelled =
      kubectl_->run({"label", "namespace", "acme-billing",
                     "billing.operator.dev/organization=globex", "--overwrite"});
  ASSERT_EQ(labelled.exitCode, 0) << labelled;

  EXPECT_TRUE(waitFor([&] {
    return readyReason("project", "acme-web", "web") == "CrossOrganization";
  })) << readyReason("project", "acme-web", "web");
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("billinggroup", "acme-billing", "acme-main", "{.status.organization}") ==
           "globex";
  }));
}

}  // namespace
}  // namespace billing::integration
