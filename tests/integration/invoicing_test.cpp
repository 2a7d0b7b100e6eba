// Invoicing end to end inside one process: the Project, BillingGroup and Invoice controllers in a
// runtime::Manager against the in-process test API server (driven with the real kubectl) and a
// real in-process billing ledger on SQLite over HTTP. Creation timestamps come from the real
// clock, so groups use Daily periods and the controllers' injectable clock is moved past the end
// of today (plus the grace) to close today's period.

#include "reconcilers/domain/invoicing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>

#include "ledger/http_api.h"
#include "ledger/service.h"
#include "operator/ledger_client/ledger_client.h"
#include "operator/runtime/manager.h"
#include "reconcilers/controllers.h"
#include "reconcilers/domain/period.h"
#include "reconcilers/resources.h"
#include "tests/integration/runtime_support.h"
#include "tests/ledger/ledger_test_support.h"

namespace billing::integration {
namespace {

using apiserver::harness::CommandResult;
using apiserver::harness::Kubectl;
using apiserver::harness::TempDir;
using ::testing::HasSubstr;

const std::string kSource = BILLING_SOURCE_DIR;
constexpr const char* kLedgerToken = "invoicing-integration-token";
constexpr auto kWait = 30s;

// Two organization groups and one project in each, Daily periods; acme-main holds a credit.
constexpr const char* kManifest = R"(
apiVersion: v1
kind: Namespace
metadata:
  name: acme
  labels:
    billing.operator.dev/organization: acme
---
apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata:
  name: acme-main
  namespace: acme
spec:
  displayName: Acme main
  currency: EUR
  invoicing:
    period: Daily
  credits:
    - id: welcome
      amount: "5.00"
      description: Welcome credit
---
apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata:
  name: acme-second
  namespace: acme
spec:
  displayName: Acme second
  currency: EUR
  invoicing:
    period: Daily
---
apiVersion: billing.operator.dev/v1alpha1
kind: Project
metadata:
  name: web
  namespace: acme
spec:
  billingGroupRef:
    name: acme-main
---
apiVersion: billing.operator.dev/v1alpha1
kind: Project
metadata:
  name: api
  namespace: acme
spec:
  billingGroupRef:
    name: acme-second
)";

class InvoicingIntegrationTest : public ::testing::Test {
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

    std::string why;
    store_ = ledger::testing::TestStore::create(ledger::testing::StoreKind::Sqlite, why);
    ASSERT_TRUE(store_) << why;
    service_ = std::make_unique<ledger::LedgerService>(store_->store());
    ledger::HttpApiOptions apiOptions;
    apiOptions.tokens = {kLedgerToken};
    api_ = std::make_unique<ledger::HttpApi>(*service_, apiOptions);
    for (int attempt = 0; attempt < 5 && !ledgerServer_; ++attempt) {
      ledgerUrl_ = "http://127.0.0.1:" + std::to_string(ledger::testing::freePort());
      startLedger();
    }
    ASSERT_TRUE(ledgerServer_) << "cannot start the ledger";
    ledger_client::LedgerClientOptions ledgerOptions;
    ledgerOptions.baseUrl = ledgerUrl_;
    ledgerOptions.token = kLedgerToken;
    ledgerOptions.retry.maxAttempts = 2;
    ledgerOptions.retry.initialBackoff = 20ms;
    backend_ = std::make_unique<ledger_client::LedgerClient>(ledgerOptions);
    startManager();

    CommandResult applied = kubectl_->run({"apply", "-f", "-"}, kManifest);
    ASSERT_EQ(applied.exitCode, 0) << applied;
    ASSERT_TRUE(waitFor([&] { return memberships("acme/web").size() == 1; }));
    ASSERT_TRUE(waitFor([&] { return memberships("acme/api").size() == 1; }));
    mainUid_ = uidOf(reconcilers::billingGroupsResource(), "acme", "acme-main");
    secondUid_ = uidOf(reconcilers::billingGroupsResource(), "acme", "acme-second");
    today_ = domain::periodContaining(domain::InvoicingPeriod::Daily, realNow());
  }

  void TearDown() override {
    stopManager();
    if (ledgerServer_) ledgerServer_->stop();
    if (server_) server_->stop();
  }

  static domain::Timestamp realNow() {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  }

  void startLedger() {
    ledger::LedgerServerOptions serverOptions;
    serverOptions.url = ledgerUrl_;
    if (auto started = ledger::LedgerServer::start(*api_, serverOptions)) {
      ledgerServer_ = std::move(*started);
    }
  }

  void startManager() {
    runtime::ManagerOptions managerOptions;
    managerOptions.logger = runtime::Logger::discard();
    managerOptions.events.reportingInstance = "invoicing-integration-test";
    manager_ = std::make_unique<runtime::Manager>(*client_, managerOptions);
    reconcilers::ControllerSetup setup;
    setup.reconciler.accountPendingRetry = 200ms;
    setup.reconciler.driftInterval = driftInterval_;
    setup.invoicing.grace = 1h;
    setup.invoicing.retention = retention_;
    setup.invoicing.resync = driftInterval_;
    // The real clock until a test moves it (creation and deletion times are real).
    setup.now = [this] {
      const domain::Timestamp moved = now_.load();
      return moved == domain::Timestamp{} ? realNow() : moved;
    };
    reconcilers::addControllers(*manager_, *backend_, setup);
    auto started = manager_->start();
    ASSERT_TRUE(started) << started.error();
  }
  void stopManager() {
    if (!manager_) return;
    manager_->stop();
    (void)manager_->wait();
    manager_.reset();
  }

  // Moves the controllers' clock to 02:00 on the day after `period` (past the 1 h grace).
  void closeToday() { now_.store(today_.end + 2h); }

  std::string jsonpath(const std::string& kind, const std::string& name, const std::string& path) {
    CommandResult got = kubectl_->run({"get", kind, name, "-n", "acme", "-o", "jsonpath=" + path});
    return got.exitCode == 0 ? got.out : std::string();
  }
  std::string readyReason(const std::string& kind, const std::string& name) {
    return jsonpath(kind, name, "{.status.conditions[?(@.type==\"Ready\")].reason}");
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
  std::vector<backend::Invoice> invoices(const std::string& accountId) {
    auto listed = backend_->listInvoices(accountId);
    return listed ? *listed : std::vector<backend::Invoice>{};
  }
  std::vector<backend::Invoice> issued(const std::string& accountId) {
    std::vector<backend::Invoice> out;
    for (const auto& invoice : invoices(accountId)) {
      if (invoice.state == domain::InvoiceState::Finalized ||
          invoice.state == domain::InvoiceState::Paid) {
        out.push_back(invoice);
      }
    }
    return out;
  }
  std::optional<backend::Invoice> invoiceFor(const std::string& accountId,
                                             const domain::Interval& period) {
    for (const auto& invoice : invoices(accountId)) {
      if (invoice.periodStart == period.start && invoice.periodEnd == period.end &&
          invoice.state != domain::InvoiceState::Void) {
        return invoice;
      }
    }
    return std::nullopt;
  }
  // A charge of `amount` EUR for [from, from + length) of a project.
  void charge(const std::string& clientId, const std::string& project, const std::string& amount,
              domain::Timestamp from, std::chrono::seconds length) {
    backend::ChargeSpec spec;
    spec.clientId = clientId;
    spec.project = project;
    spec.service = "compute";
    spec.description = "vCPU hours";
    spec.amount = amount;
    spec.currency = "EUR";
    spec.periodStart = from;
    spec.periodEnd = from + length;
    auto posted = backend_->postCharge(spec, "charge-" + clientId);
    ASSERT_TRUE(posted) << posted.error().message();
  }
  domain::Timestamp joined(const std::string& project) {
    auto recorded = memberships(project);
    return recorded.empty() ? domain::Timestamp{} : recorded.front().effectiveFrom;
  }
  std::string todaysName(const std::string& group) {
    return domain::invoiceResourceName(group, today_.start);
  }
  std::string applyInvoice(const std::string& name, const std::string& group,
                           const domain::Interval& period, bool finalize) {
    CommandResult applied = kubectl_->run(
        {"apply", "-f", "-"},
        "apiVersion: billing.operator.dev/v1alpha1\nkind: Invoice\nmetadata:\n  name: " + name +
            "\n  namespace: acme\nspec:\n  billingGroupRef:\n    name: " + group +
            "\n  periodStart: \"" + domain::formatTimestamp(period.start) + "\"\n  periodEnd: \"" +
            domain::formatTimestamp(period.end) +
            "\"\n  finalize: " + (finalize ? "true" : "false") + "\n");
    return applied.exitCode == 0 ? std::string() : applied.err + applied.out;
  }

  TempDir dir_;
  std::atomic<domain::Timestamp> now_{};  // the epoch: not moved, the real clock
  std::chrono::milliseconds driftInterval_ = 400ms;
  std::size_t retention_ = 12;
  std::unique_ptr<apiserver::TestApiServer> server_;
  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<Kubectl> kubectl_;
  std::unique_ptr<ledger::testing::TestStore> store_;
  std::unique_ptr<ledger::LedgerService> service_;
  std::unique_ptr<ledger::HttpApi> api_;
  std::string ledgerUrl_;
  std::unique_ptr<ledger::LedgerServer> ledgerServer_;
  std::unique_ptr<ledger_client::LedgerClient> backend_;
  std::unique_ptr<runtime::Manager> manager_;
  std::string mainUid_;
  std::string secondUid_;
  domain::Interval today_{};
};

TEST_F(InvoicingIntegrationTest, PeriodCloseIssuesOneInvoiceShownAsAnOwnedInvoiceResource) {
  charge("web-1", "acme/web", "12.00", joined("acme/web"), 60s);
  // The running estimate follows the charges; nothing is closed while the day runs.
  ASSERT_TRUE(waitFor([&] {
    return jsonpath("billinggroup", "acme-main", "{.status.currentPeriod.estimatedTotal}") ==
           "7.00";
  })) << jsonpath("billinggroup", "acme-main", "{.status.currentPeriod}");
  EXPECT_TRUE(issued(mainUid_).empty());

  closeToday();
  const std::string name = todaysName("acme-main");
  ASSERT_TRUE(waitFor([&] { return jsonpath("invoice", name, "{.status.state}") == "Finalized"; }))
      << jsonpath("invoice", name, "{.status}");
  // Credits on an organization group: 12.00 - 5.00.
  EXPECT_EQ(jsonpath("invoice", name, "{.status.subtotal}"), "12.00");
  EXPECT_EQ(jsonpath("invoice", name, "{.status.creditsApplied}"), "5.00");
  EXPECT_EQ(jsonpath("invoice", name, "{.status.total}"), "7.00");
  EXPECT_EQ(jsonpath("invoice", name, "{.status.currency}"), "EUR");
  EXPECT_EQ(jsonpath("invoice", name, "{.status.projectTotals[0].project}"), "acme/web");
  EXPECT_EQ(jsonpath("invoice", name, "{.status.projectTotals[0].amount}"), "12.00");
  EXPECT_EQ(jsonpath("invoice", name, "{.metadata.ownerReferences[0].name}"), "acme-main");
  EXPECT_EQ(jsonpath("invoice", name, "{.metadata.ownerReferences[0].uid}"), mainUid_);
  EXPECT_EQ(readyReason("invoice", name), "Finalized");
  const auto backendInvoice = invoiceFor(mainUid_, today_);
  ASSERT_TRUE(backendInvoice);
  EXPECT_EQ(jsonpath("invoice", name, "{.status.backendInvoiceId}"), backendInvoice->id);
  EXPECT_EQ(jsonpath("invoice", name, "{.status.number}"), backendInvoice->number);
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("billinggroup", "acme-main", "{.status.lastInvoice.name}") == name &&
           jsonpath("billinggroup", "acme-main", "{.status.currentPeriod.start}") ==
               domain::formatTimestamp(today_.end);
  })) << jsonpath("billinggroup", "acme-main", "{.status}");
  EXPECT_EQ(jsonpath("billinggroup", "acme-main", "{.status.lastInvoice.number}"),
            backendInvoice->number);
  // The other group is closed too, with its own invoice (a zero one: no charges).
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("invoice", todaysName("acme-second"), "{.status.state}") == "Finalized";
  }));

  // Zero writes on an unchanged resync: the controllers resync every 400 ms here.
  ASSERT_TRUE(waitFor([&] { return readyReason("billinggroup", "acme-main") == "Reconciled"; }));
  const std::string groupVersion =
      jsonpath("billinggroup", "acme-main", "{.metadata.resourceVersion}");
  const std::string invoiceVersion = jsonpath("invoice", name, "{.metadata.resourceVersion}");
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(jsonpath("billinggroup", "acme-main", "{.metadata.resourceVersion}"), groupVersion);
  EXPECT_EQ(jsonpath("invoice", name, "{.metadata.resourceVersion}"), invoiceVersion);

  // Paid at the backend shows up on the resource and on the group's lastInvoice.
  auto paid = backend_->markInvoicePaid(backendInvoice->id, "pay-" + backendInvoice->id);
  ASSERT_TRUE(paid) << paid.error().message();
  EXPECT_TRUE(waitFor([&] { return jsonpath("invoice", name, "{.status.state}") == "Paid"; }));
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("billinggroup", "acme-main", "{.status.lastInvoice.state}") == "Paid";
  }));

  // A restarted operator (a new Manager) closes nothing twice.
  stopManager();
  startManager();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(issued(mainUid_).size(), 1u);
  EXPECT_EQ(issued(secondUid_).size(), 1u);
  CommandResult listed = kubectl_->run({"get", "invoices", "-n", "acme", "-o", "name"});
  EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 2) << listed.out;
}

TEST_F(InvoicingIntegrationTest, UserInvoicesGetEstimatesEarlyClosesOrAReasonWhy) {
  charge("api-1", "acme/api", "3.50", joined("acme/api"), 60s);
  const domain::Interval yesterday{today_.start - 24h, today_.start};

  // An estimate of the running day: a draft that follows the charges.
  ASSERT_EQ(applyInvoice("estimate", "acme-second", today_, false), "");
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("invoice", "estimate", "{.status.state}") == "Draft";
  })) << jsonpath("invoice", "estimate", "{.status}");
  EXPECT_EQ(jsonpath("invoice", "estimate", "{.status.total}"), "3.50");
  EXPECT_EQ(readyReason("invoice", "estimate"), "Estimate");

  // A second Invoice for the same group and day is a duplicate and makes no backend invoice.
  ASSERT_EQ(applyInvoice("estimate-again", "acme-second", today_, false), "");
  EXPECT_TRUE(
      waitFor([&] { return readyReason("invoice", "estimate-again") == "DuplicateInvoice"; }));
  EXPECT_THAT(
      jsonpath("invoice", "estimate-again", "{.status.conditions[?(@.type==\"Ready\")].message}"),
      HasSubstr("Invoice estimate already covers"));

  // Finalizing the running day is refused; so are a misaligned period and a missing group.
  ASSERT_EQ(applyInvoice("too-early", "acme-main", today_, true), "");
  EXPECT_TRUE(waitFor([&] { return readyReason("invoice", "too-early") == "PeriodNotEnded"; }));
  ASSERT_EQ(applyInvoice("misaligned", "acme-main", {today_.start + 1h, today_.end + 1h}, false),
            "");
  EXPECT_TRUE(waitFor([&] { return readyReason("invoice", "misaligned") == "PeriodMisaligned"; }));
  ASSERT_EQ(applyInvoice("orphan", "no-such-group", yesterday, false), "");
  EXPECT_TRUE(waitFor([&] { return readyReason("invoice", "orphan") == "BillingGroupNotFound"; }));
  std::this_thread::sleep_for(500ms);
  for (const auto& invoice : invoices(mainUid_)) {
    EXPECT_NE(invoice.periodStart, today_.start + 1h) << "no backend call for a refused request";
  }
  EXPECT_EQ(invoices(secondUid_).size(), 1u) << "one invoice for the day, drafts included";

  // Early close: once the day has ended (within the grace), finalize closes it at once.
  now_.store(today_.end + 10min);
  CommandResult patched = kubectl_->run({"patch", "invoice", "estimate", "-n", "acme",
                                         "--type=merge", "-p", R"({"spec":{"finalize":true}})"});
  ASSERT_EQ(patched.exitCode, 0) << patched;
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("invoice", "estimate", "{.status.state}") == "Finalized";
  })) << jsonpath("invoice", "estimate", "{.status}");
  EXPECT_NE(jsonpath("invoice", "estimate", "{.status.number}"), "");
  ASSERT_EQ(issued(secondUid_).size(), 1u);
  EXPECT_EQ(issued(secondUid_)[0].total, "3.50");

  // When the grace passes, the period close adopts it: no second Invoice, no second number.
  closeToday();
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("billinggroup", "acme-second", "{.status.lastInvoice.name}") == "estimate";
  })) << jsonpath("billinggroup", "acme-second", "{.status.lastInvoice}");
  EXPECT_FALSE(client_->get(reconcilers::invoicesResource(), "acme", todaysName("acme-second")))
      << "the user's Invoice shows the period";
  EXPECT_EQ(issued(secondUid_).size(), 1u);
}

TEST_F(InvoicingIntegrationTest, AProjectMovedMidPeriodIsOnBothInvoices) {
  const domain::Timestamp from = joined("acme/web");
  // Wait for a later second, so that the move splits the charge.
  ASSERT_TRUE(waitFor([&] { return realNow() >= from + 2s; }));
  charge("web-long", "acme/web", "10.00", from, 120s);
  CommandResult patched =
      kubectl_->run({"patch", "project", "web", "-n", "acme", "--type=merge", "-p",
                     R"({"spec":{"billingGroupRef":{"name":"acme-second"}}})"});
  ASSERT_EQ(patched.exitCode, 0) << patched;
  ASSERT_TRUE(waitFor([&] { return memberships("acme/web").size() == 2; }));
  const auto recorded = memberships("acme/web");
  const auto moved = std::ranges::find(recorded, secondUid_, &backend::Membership::accountId);
  ASSERT_NE(moved, recorded.end());
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("project", "web", "{.metadata.annotations}").find("pending-move") ==
           std::string::npos;
  })) << "the pending move is cleared once recorded";

  closeToday();
  ASSERT_TRUE(waitFor([&] {
    return jsonpath("invoice", todaysName("acme-main"), "{.status.state}") == "Finalized" &&
           jsonpath("invoice", todaysName("acme-second"), "{.status.state}") == "Finalized";
  }));
  const auto first = invoiceFor(mainUid_, today_);
  const auto second = invoiceFor(secondUid_, today_);
  ASSERT_TRUE(first && second);
  ASSERT_EQ(first->projectTotals.size(), 1u);
  ASSERT_EQ(second->projectTotals.size(), 2u);
  const auto webOnSecond =
      std::ranges::find(second->projectTotals, "acme/web", &domain::ProjectTotal::project);
  ASSERT_NE(webOnSecond, second->projectTotals.end());
  // The shares add up to the charge (the ledger splits by seconds of membership).
  const auto minor = [](const std::string& amount) {
    return std::stoll(amount.substr(0, amount.find('.'))) * 100 +
           std::stoll(amount.substr(amount.find('.') + 1));
  };
  EXPECT_EQ(minor(first->projectTotals[0].amount) + minor(webOnSecond->amount), 1000);
  EXPECT_GT(minor(first->projectTotals[0].amount), 0);
  EXPECT_GT(minor(webOnSecond->amount), 0);
  EXPECT_EQ(jsonpath("invoice", todaysName("acme-second"), "{.status.projectTotals[*].project}"),
            "acme/api acme/web");
}

TEST_F(InvoicingIntegrationTest, ADeletedProjectsChargesAreOnItsGroupsNextInvoice) {
  const domain::Timestamp from = joined("acme/api");
  charge("api-last", "acme/api", "4.20", from, 1s);
  ASSERT_TRUE(waitFor([&] { return realNow() >= from + 2s; }));
  CommandResult deleted = kubectl_->run({"delete", "project", "api", "-n", "acme"});
  ASSERT_EQ(deleted.exitCode, 0) << deleted;
  ASSERT_TRUE(waitFor([&] {
    auto recorded = memberships("acme/api");
    return recorded.size() == 1 && recorded[0].effectiveTo.has_value();
  }));

  closeToday();
  ASSERT_TRUE(waitFor([&] {
    return jsonpath("invoice", todaysName("acme-second"), "{.status.state}") == "Finalized";
  }));
  EXPECT_EQ(jsonpath("invoice", todaysName("acme-second"), "{.status.total}"), "4.20");
  EXPECT_EQ(jsonpath("invoice", todaysName("acme-second"), "{.status.projectTotals[0].project}"),
            "acme/api");
}

TEST_F(InvoicingIntegrationTest, ADeletedGroupGetsItsFinalInvoiceBeforeItsFinalizerGoes) {
  const domain::Timestamp from = joined("acme/api");
  charge("api-final", "acme/api", "2.00", from, 1s);
  // The running estimate exists first (a draft for the whole day), as in production.
  ASSERT_TRUE(waitFor([&] { return invoiceFor(secondUid_, today_).has_value(); }));
  ASSERT_TRUE(waitFor([&] { return realNow() >= from + 2s; }));
  CommandResult moved =
      kubectl_->run({"patch", "project", "api", "-n", "acme", "--type=merge", "-p",
                     R"({"spec":{"billingGroupRef":{"name":"acme-main"}}})"});
  ASSERT_EQ(moved.exitCode, 0) << moved;
  ASSERT_TRUE(waitFor([&] { return memberships("acme/api").size() == 2; }));
  ASSERT_TRUE(waitFor(
      [&] { return jsonpath("billinggroup", "acme-second", "{.status.projectCount}") == "0"; }));
  CommandResult deleted =
      kubectl_->run({"delete", "billinggroup", "acme-second", "-n", "acme", "--wait=false"});
  ASSERT_EQ(deleted.exitCode, 0) << deleted;
  ASSERT_TRUE(waitFor([&] {
    return !client_->get(reconcilers::billingGroupsResource(), "acme", "acme-second").has_value();
  }));

  // The account was closed after its final, partial-day invoice; the day's estimate was voided.
  auto account = backend_->getAccount(secondUid_);
  ASSERT_TRUE(account) << account.error().message();
  ASSERT_TRUE(account->closedAt.has_value());
  const auto final = issued(secondUid_);
  ASSERT_EQ(final.size(), 1u);
  EXPECT_EQ(final[0].periodStart, today_.start);
  EXPECT_EQ(final[0].periodEnd, *account->closedAt);
  EXPECT_LT(final[0].periodEnd, today_.end);
  EXPECT_EQ(final[0].total, "2.00");
  EXPECT_NE(final[0].number, "");
  for (const auto& invoice : invoices(secondUid_)) {
    if (invoice.id != final[0].id) {
      EXPECT_EQ(invoice.state, domain::InvoiceState::Void);
    }
  }
}

// The ledger issues an account's invoices in period order, so a draft of an earlier period (an
// estimate a user asked for, as examples/gitops does) blocks every later finalization until it is
// settled. An empty estimate of a period before the group's first member is voided (no number is
// spent, so no gap); the final invoice is then issued and the account closed.
TEST_F(InvoicingIntegrationTest, ADeletedGroupsEmptyEarlierEstimateIsVoidedBeforeItsFinalInvoice) {
  const domain::Timestamp from = joined("acme/api");
  charge("api-final-2", "acme/api", "2.00", from, 1s);
  const domain::Interval yesterday{today_.start - 24h, today_.start};
  ASSERT_EQ(applyInvoice("yesterday-estimate", "acme-second", yesterday, false), "");
  ASSERT_TRUE(waitFor([&] {
    return jsonpath("invoice", "yesterday-estimate", "{.status.state}") == "Draft";
  })) << jsonpath("invoice", "yesterday-estimate", "{.status}");
  const std::string estimateId =
      jsonpath("invoice", "yesterday-estimate", "{.status.backendInvoiceId}");
  ASSERT_NE(estimateId, "");

  ASSERT_TRUE(waitFor([&] { return realNow() >= from + 2s; }));
  CommandResult moved =
      kubectl_->run({"patch", "project", "api", "-n", "acme", "--type=merge", "-p",
                     R"({"spec":{"billingGroupRef":{"name":"acme-main"}}})"});
  ASSERT_EQ(moved.exitCode, 0) << moved;
  ASSERT_TRUE(waitFor([&] { return memberships("acme/api").size() == 2; }));
  ASSERT_TRUE(waitFor(
      [&] { return jsonpath("billinggroup", "acme-second", "{.status.projectCount}") == "0"; }));
  CommandResult deleted =
      kubectl_->run({"delete", "billinggroup", "acme-second", "-n", "acme", "--wait=false"});
  ASSERT_EQ(deleted.exitCode, 0) << deleted;
  ASSERT_TRUE(waitFor([&] {
    return !client_->get(reconcilers::billingGroupsResource(), "acme", "acme-second").has_value();
  })) << "the group is held: "
      << jsonpath("billinggroup", "acme-second", "{.status.conditions}");

  auto account = backend_->getAccount(secondUid_);
  ASSERT_TRUE(account) << account.error().message();
  ASSERT_TRUE(account->closedAt.has_value());
  const auto final = issued(secondUid_);
  ASSERT_EQ(final.size(), 1u) << "one invoice: the final one; the empty estimate is not issued";
  EXPECT_EQ(final[0].periodStart, today_.start);
  EXPECT_EQ(final[0].periodEnd, *account->closedAt);
  EXPECT_EQ(final[0].total, "2.00");
  bool sawEstimate = false;
  for (const auto& invoice : invoices(secondUid_)) {
    if (invoice.id == final[0].id) continue;
    EXPECT_EQ(invoice.state, domain::InvoiceState::Void) << invoice.id;
    EXPECT_EQ(invoice.number, "") << "a voided draft spends no number";
    if (invoice.id == estimateId) sawEstimate = true;
  }
  EXPECT_TRUE(sawEstimate);
  // The user's estimate (not owned by the group, so it outlives it) says what became of it.
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("invoice", "yesterday-estimate", "{.status.state}") == "Void";
  })) << jsonpath("invoice", "yesterday-estimate", "{.status}");
  EXPECT_THAT(jsonpath("invoice", "yesterday-estimate",
                       "{.status.conditions[?(@.type==\"Ready\")].message}"),
              HasSubstr("had no project"));
}

// The same earlier estimate on a live group: the period close voids it and closes today, rather
// than taking the ledger's period-order refusal for "a later invoice was issued first" and
// skipping today for ever.
TEST_F(InvoicingIntegrationTest, AnEarlierEstimateDoesNotBlockThePeriodClose) {
  charge("web-close", "acme/web", "12.00", joined("acme/web"), 60s);
  const domain::Interval yesterday{today_.start - 24h, today_.start};
  ASSERT_EQ(applyInvoice("yesterday-estimate", "acme-main", yesterday, false), "");
  ASSERT_TRUE(waitFor([&] {
    return jsonpath("invoice", "yesterday-estimate", "{.status.state}") == "Draft";
  })) << jsonpath("invoice", "yesterday-estimate", "{.status}");

  closeToday();
  const std::string name = todaysName("acme-main");
  ASSERT_TRUE(waitFor([&] { return jsonpath("invoice", name, "{.status.state}") == "Finalized"; }))
      << jsonpath("billinggroup", "acme-main", "{.status}");
  EXPECT_EQ(jsonpath("invoice", name, "{.status.total}"), "7.00");
  ASSERT_EQ(issued(mainUid_).size(), 1u);
  EXPECT_EQ(issued(mainUid_)[0].periodStart, today_.start);
  EXPECT_TRUE(waitFor(
      [&] { return jsonpath("invoice", "yesterday-estimate", "{.status.state}") == "Void"; }));
  std::string reasons;
  EXPECT_TRUE(waitFor([&] {
    reasons = kubectl_
                  ->run({"get", "events.events.k8s.io", "-n", "acme", "-o",
                         "jsonpath={.items[*].reason}"})
                  .out;
    return reasons.find("EstimateVoided") != std::string::npos;
  })) << reasons;
  EXPECT_TRUE(waitFor(
      [&] { return jsonpath("billinggroup", "acme-main", "{.status.lastInvoice.name}") == name; }));
}

TEST_F(InvoicingIntegrationTest, BackendOutageIsReportedAndCaughtUpAfterwards) {
  charge("web-outage", "acme/web", "6.00", joined("acme/web"), 60s);
  ASSERT_TRUE(waitFor([&] { return readyReason("billinggroup", "acme-main") == "Reconciled"; }));
  ledgerServer_->stop();
  ledgerServer_.reset();
  closeToday();
  EXPECT_TRUE(waitFor([&] {
    return readyReason("billinggroup", "acme-main") == "BackendUnavailable";
  })) << readyReason("billinggroup", "acme-main");
  std::string reasons;
  EXPECT_TRUE(waitFor([&] {
    reasons = kubectl_
                  ->run({"get", "events.events.k8s.io", "-n", "acme", "-o",
                         "jsonpath={.items[*].reason}"})
                  .out;
    return reasons.find("BackendUnavailable") != std::string::npos;
  })) << reasons;
  EXPECT_FALSE(client_->get(reconcilers::invoicesResource(), "acme", todaysName("acme-main")));

  startLedger();
  ASSERT_TRUE(ledgerServer_);
  EXPECT_TRUE(waitFor([&] {
    return jsonpath("invoice", todaysName("acme-main"), "{.status.state}") == "Finalized";
  }));
  EXPECT_TRUE(waitFor([&] { return readyReason("billinggroup", "acme-main") == "Reconciled"; }));
  EXPECT_EQ(issued(mainUid_).size(), 1u);
  EXPECT_EQ(jsonpath("invoice", todaysName("acme-main"), "{.status.total}"), "1.00");
}

TEST_F(InvoicingIntegrationTest, RetentionKeepsTheNewestInvoiceResources) {
  stopManager();
  retention_ = 2;
  startManager();
  // Four days pass: four periods close, the two oldest Invoice resources go; the backend keeps
  // all four.
  now_.store(today_.end + 3 * 24h + 2h);
  for (int day = 0; day < 4; ++day) {
    const std::string name = domain::invoiceResourceName("acme-main", today_.start + day * 24h);
    if (day < 2) {
      EXPECT_TRUE(waitFor([&] {
        return !client_->get(reconcilers::invoicesResource(), "acme", name).has_value() &&
               issued(mainUid_).size() == 4;
      })) << name;
    } else {
      EXPECT_TRUE(waitFor([&] {
        return jsonpath("invoice", name, "{.status.state}") == "Finalized";
      })) << name;
    }
  }
  EXPECT_EQ(issued(mainUid_).size(), 4u);
  // A draft is never pruned, however old.
  ASSERT_EQ(applyInvoice("old-estimate", "acme-main",
                         {today_.start - 24h * 3, today_.start - 24h * 2}, false),
            "");
  EXPECT_TRUE(waitFor([&] { return readyReason("invoice", "old-estimate") != ""; }));
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(client_->get(reconcilers::invoicesResource(), "acme", "old-estimate").has_value());
}

}  // namespace
}  // namespace billing::integration
