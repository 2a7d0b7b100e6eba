// The admission webhook behind the in-process test API server, called over real TLS with a
// certificate for its Service name, and the real kubectl (/usr/bin/kubectl) in front: what a
// user applying manifests sees. Every test gets its own cluster, since the examples share
// namespace names.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "common/tls.h"
#include "operator/kube/client_impl.h"
#include "operator/kube/config.h"
#include "operator/webhook/snapshot_source.h"
#include "operator/webhook/webhook_server.h"
#include "tests/apiserver/tests/server_harness.h"

namespace billing::webhook {
namespace {

using apiserver::harness::CommandResult;
using apiserver::harness::Kubectl;
using apiserver::harness::TempDir;
using apiserver::harness::writeFile;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSource = BILLING_SOURCE_DIR;
const std::string kDenied =
    "admission webhook \"validate.billing.operator.dev\" denied the request: ";

// The configuration docs/webhook.md shows, with the test's CA as caBundle.
std::string webhookConfiguration(const std::string& caPem) {
  return R"(apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: billing-operator
webhooks:
  - name: validate.billing.operator.dev
    admissionReviewVersions: ["v1"]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 10
    clientConfig:
      service:
        namespace: billing-system
        name: billing-operator-webhook
        path: /validate
        port: 443
      caBundle: )" +
         common::base64Encode(caPem) + R"(
    rules:
      - apiGroups: ["billing.operator.dev"]
        apiVersions: ["v1alpha1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["billinggroups", "projects", "invoices"]
        scope: Namespaced
      - apiGroups: ["billing.operator.dev"]
        apiVersions: ["v1alpha1"]
        operations: ["DELETE"]
        resources: ["billinggroups"]
        scope: Namespaced
)";
}

// The webhook starts before the API server (which must know the webhook's port), so its source
// is wired to the API server's client afterwards.
class DeferredSource final : public SnapshotSource {
 public:
  std::expected<domain::Snapshot, std::string> snapshot() const override {
    SnapshotSource* inner = inner_.load();
    if (inner == nullptr) return std::unexpected(std::string("not connected yet"));
    return inner->snapshot();
  }
  void connect(SnapshotSource* inner) { inner_.store(inner); }

 private:
  std::atomic<SnapshotSource*> inner_{nullptr};
};

struct Pki {
  common::CertificateAuthority ca;
  common::IssuedCertificate serving;
  std::string error;
};

const Pki& pki() {
  static const Pki instance = [] {
    Pki made;
    auto ca =
        common::generateCertificateAuthority("billing-operator-webhook-ca", std::chrono::days(1));
    if (!ca) {
      made.error = ca.error();
      return made;
    }
    made.ca = *ca;
    common::CertificateRequest request;
    request.commonName = "billing-operator-webhook.billing-system.svc";
    request.dnsNames = {"billing-operator-webhook.billing-system.svc",
                        "billing-operator-webhook.billing-system.svc.cluster.local"};
    request.validity = std::chrono::days(1);
    auto serving = common::issueCertificate(made.ca, request);
    if (!serving) {
      made.error = serving.error();
      return made;
    }
    made.serving = *serving;
    return made;
  }();
  return instance;
}

// A test API server with the CRDs, the webhook serving at billing-operator-webhook.billing-system
// and registered for the three kinds, and kubectl.
struct Cluster {
  TempDir dir;
  DeferredSource source;
  std::unique_ptr<WebhookServer> webhook;
  std::unique_ptr<apiserver::TestApiServer> server;
  std::unique_ptr<kube::Client> client;
  std::unique_ptr<ClientSnapshotSource> clientSource;
  std::unique_ptr<Kubectl> kubectl;
  std::string setupError;

  Cluster() {
    if (!pki().error.empty()) {
      setupError = "certificates: " + pki().error;
      return;
    }
    writeFile(dir.path() / "certs" / "tls.crt", pki().serving.certPem);
    writeFile(dir.path() / "certs" / "tls.key", pki().serving.keyPem);
    WebhookServer::Options options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.certDir = dir.path() / "certs";
    webhook = std::make_unique<WebhookServer>(options, source);
    if (auto started = webhook->start(); !started) {
      setupError = "webhook: " + started.error();
      return;
    }

    apiserver::TestApiServerOptions serverOptions;
    serverOptions.serviceEndpoints["billing-system/billing-operator-webhook:443"] = webhook->port();
    auto started = apiserver::TestApiServer::start(serverOptions);
    if (!started) {
      setupError = "API server: " + started.error();
      return;
    }
    server = std::move(*started);
    const auto kubeconfig = dir.path() / "kubeconfig";
    if (auto written =
            server->writeKubeconfig(kubeconfig, apiserver::KubeconfigAuth::ClientCertificate);
        !written) {
      setupError = written.error();
      return;
    }

    // The operator's own client, as the operator builds it from a kubeconfig.
    kube::ConfigLoadOptions load;
    load.kubeconfig = kubeconfig;
    auto config = kube::loadRestConfig(load);
    if (!config) {
      setupError = "kubeconfig: " + config.error().describe();
      return;
    }
    auto made = kube::makeClient(*config);
    if (!made) {
      setupError = "client: " + made.error().describe();
      return;
    }
    client = std::move(*made);
    clientSource = std::make_unique<ClientSnapshotSource>(*client);
    source.connect(clientSource.get());

    kubectl = std::make_unique<Kubectl>(kubeconfig, dir.path());
    CommandResult crds = kubectl->run({"apply", "-f", kSource + "/crds/"});
    if (crds.exitCode != 0) {
      setupError = "kubectl apply -f crds/: " + crds.err;
      return;
    }
    CommandResult registered =
        kubectl->run({"apply", "-f", "-"}, webhookConfiguration(pki().ca.certPem));
    if (registered.exitCode != 0) {
      setupError = "registering the webhook: " + registered.err;
      return;
    }
    // Discovery was cached before the CRDs existed; start with a fresh cache (see kubectl_test).
    std::error_code ignored;
    std::filesystem::remove_all(dir.path() / "cache", ignored);
  }

  ~Cluster() {
    // The API server calls the webhook and the webhook lists from the API server: stop the
    // webhook's callers first.
    if (server) server->stop();
    if (webhook) webhook->stop();
  }

  CommandResult k(const std::vector<std::string>& args, const std::string& input = {}) const {
    return kubectl->run(args, input);
  }

  // examples/gitops as a user applies it: namespaces (administrators') first, then the rest.
  CommandResult applyGitops() const {
    CommandResult namespaces = k({"apply", "-f", kSource + "/examples/gitops/namespaces.yaml"});
    if (namespaces.exitCode != 0) return namespaces;
    return k({"apply", "-f", kSource + "/examples/gitops/acme/", "-f",
              kSource + "/examples/gitops/globex/"});
  }
};

class WebhookIntegrationTest : public ::testing::Test {
 protected:
  void start() {
    cluster_ = std::make_unique<Cluster>();
    ASSERT_EQ(cluster_->setupError, "");
  }
  void SetUp() override { start(); }

  // `kubectl apply -f examples/broken/<name>/manifest.yaml`
  CommandResult applyBroken(const std::string& name) {
    return cluster_->k({"apply", "-f", kSource + "/examples/broken/" + name + "/manifest.yaml"});
  }

  std::unique_ptr<Cluster> cluster_;
};

TEST_F(WebhookIntegrationTest, TheGitopsExampleApplies) {
  CommandResult applied = cluster_->applyGitops();
  ASSERT_EQ(applied.exitCode, 0) << applied;
  EXPECT_THAT(applied.out, HasSubstr("billinggroup.billing.operator.dev/acme-main created"));
  EXPECT_THAT(applied.out, HasSubstr("project.billing.operator.dev/web created"));
  EXPECT_THAT(applied.out,
              HasSubstr("invoice.billing.operator.dev/acme-main-2026-10-estimate created"));
  EXPECT_THAT(applied.out, HasSubstr("project.billing.operator.dev/shop created"));
  // Applying it again changes nothing and is still admitted.
  CommandResult again = cluster_->applyGitops();
  ASSERT_EQ(again.exitCode, 0) << again;
  EXPECT_THAT(again.out, HasSubstr("project.billing.operator.dev/web unchanged"));
}

TEST_F(WebhookIntegrationTest, CrossOrganizationIsRefusedAtApply) {
  CommandResult applied = applyBroken("r2-cross-organization");
  EXPECT_NE(applied.exitCode, 0) << applied;
  EXPECT_THAT(applied.err, HasSubstr(kDenied));
  EXPECT_THAT(applied.err,
              HasSubstr("Project acme-web/web (organization acme) references billing group "
                        "beta/shared (organization beta): a project may only use billing groups "
                        "of its own organization (field spec.billingGroupRef.namespace, code "
                        "CrossOrganization)"));
  // The rest of the manifest went in; the refused project did not.
  EXPECT_THAT(applied.out, HasSubstr("billinggroup.billing.operator.dev/shared created"));
  CommandResult get = cluster_->k({"get", "bproj", "web", "-n", "acme-web"});
  EXPECT_NE(get.exitCode, 0);
  EXPECT_THAT(get.err, HasSubstr("not found"));
}

TEST_F(WebhookIntegrationTest, UsingAnotherProjectsGroupIsRefusedAtApply) {
  CommandResult applied = applyBroken("r3-project-group-bound-to-other");
  EXPECT_NE(applied.exitCode, 0) << applied;
  EXPECT_THAT(applied.err,
              HasSubstr(kDenied + "Project acme-web/api (organization acme) references billing "
                                  "group acme-web/web-billing (organization acme), a project "
                                  "billing group bound to acme-web/web"));
  EXPECT_THAT(applied.err, HasSubstr("code ProjectGroupBoundToOther"));
  EXPECT_THAT(applied.out, HasSubstr("project.billing.operator.dev/web created"));
}

TEST_F(WebhookIntegrationTest, CreditsOnAProjectGroupAreRefusedAtApply) {
  CommandResult applied = applyBroken("r2-credits-on-project-group");
  EXPECT_NE(applied.exitCode, 0) << applied;
  EXPECT_THAT(applied.err,
              HasSubstr(kDenied + "BillingGroup acme-web/web-billing (organization acme) has "
                                  "scope Project but grants credits"));
  EXPECT_THAT(applied.err, HasSubstr("code CreditsOnProjectGroup"));
}

TEST_F(WebhookIntegrationTest, ASecondProjectGroupIsRefusedAtApply) {
  // The manifest lists both groups before their project: each group alone is a pending
  // reference (allowed), and the project that would make the second one a duplicate is refused.
  CommandResult applied = applyBroken("r3-duplicate-project-group");
  EXPECT_NE(applied.exitCode, 0) << applied;
  EXPECT_THAT(applied.err,
              HasSubstr("BillingGroup acme-web/web-billing-2 (organization acme) is a second "
                        "project billing group for project acme-web/web"));
  EXPECT_THAT(applied.err, HasSubstr("code DuplicateProjectGroup"));
}

TEST_F(WebhookIntegrationTest, AnOrganizationLabelOnAnObjectIsRefusedAtApply) {
  CommandResult applied = applyBroken("r10-organization-label-mismatch");
  EXPECT_NE(applied.exitCode, 0) << applied;
  EXPECT_THAT(applied.err, HasSubstr(kDenied + "BillingGroup acme-web/shared (organization acme) "
                                               "carries label "
                                               "billing.operator.dev/organization=globex"));
}

TEST_F(WebhookIntegrationTest, FinalizingAFuturePeriodIsRefusedAtApply) {
  CommandResult applied = applyBroken("r7-period-not-ended");
  EXPECT_NE(applied.exitCode, 0) << applied;
  EXPECT_THAT(applied.err, HasSubstr(kDenied + "Invoice acme-web/shared-2099-01 asks to finalize"));
  EXPECT_THAT(applied.err, HasSubstr("code PeriodNotEnded"));
}

TEST_F(WebhookIntegrationTest, AReferenceToAGroupNotCreatedYetIsAdmitted) {
  // GitOps ordering: the group may come later; the reconciler reports it in the meantime.
  CommandResult applied = applyBroken("r4-billing-group-not-found");
  ASSERT_EQ(applied.exitCode, 0) << applied;
  EXPECT_THAT(applied.out, HasSubstr("project.billing.operator.dev/web created"));
}

TEST_F(WebhookIntegrationTest, ServerSideDryRunIsRefusedToo) {
  // A dry run needs the namespaces to exist: a first apply creates them (and refuses the project).
  ASSERT_NE(applyBroken("r2-cross-organization").exitCode, 0);
  CommandResult dryRun =
      cluster_->k({"apply", "--dry-run=server", "-f",
                   kSource + "/examples/broken/r2-cross-organization/manifest.yaml"});
  EXPECT_NE(dryRun.exitCode, 0) << dryRun;
  EXPECT_THAT(dryRun.err, HasSubstr(kDenied));
  EXPECT_THAT(dryRun.err, HasSubstr("code CrossOrganization"));
  EXPECT_THAT(dryRun.out,
              HasSubstr("billinggroup.billing.operator.dev/shared unchanged (server dry run)"));
}

TEST_F(WebhookIntegrationTest, UpdatesThatBreakMembersOrMoveAGroupAreRefused) {
  CommandResult applied = cluster_->applyGitops();
  ASSERT_EQ(applied.exitCode, 0) << applied;

  // Narrowing the shared acme group to one project would strand web and api.
  CommandResult narrowed = cluster_->k(
      {"patch", "bg", "acme-main", "-n", "acme-billing", "--type=merge", "-p",
       R"({"spec": {"scope": "Project", "projectRef": {"name": "web"}, "credits": null}})"});
  EXPECT_NE(narrowed.exitCode, 0) << narrowed;
  EXPECT_THAT(narrowed.err, HasSubstr(kDenied));
  EXPECT_THAT(narrowed.err, HasSubstr("Project acme-web/api (organization acme) references "
                                      "billing group acme-billing/acme-main"));

  // A user of acme-billing cannot move the group into globex by labelling it.
  CommandResult labelled = cluster_->k({"label", "bg", "acme-main", "-n", "acme-billing",
                                        "billing.operator.dev/organization=globex"});
  EXPECT_NE(labelled.exitCode, 0) << labelled;
  EXPECT_THAT(labelled.err, HasSubstr("code OrganizationLabelMismatch"));

  // An edit that breaks nothing goes through.
  CommandResult edited =
      cluster_->k({"patch", "bg", "acme-main", "-n", "acme-billing", "--type=merge", "-p",
                   R"({"spec": {"invoiceText": "Payable within 14 days."}})"});
  EXPECT_EQ(edited.exitCode, 0) << edited;
}

TEST_F(WebhookIntegrationTest, DeletingAGroupThatIsNotUsedIsAllowed) {
  ASSERT_EQ(cluster_->applyGitops().exitCode, 0);
  CommandResult created =
      cluster_->k({"apply", "-f", "-"}, R"(apiVersion: billing.operator.dev/v1alpha1
kind: BillingGroup
metadata:
  name: spare
  namespace: acme-billing
spec:
  currency: EUR
)");
  ASSERT_EQ(created.exitCode, 0) << created;
  CommandResult deleted = cluster_->k({"delete", "bg", "spare", "-n", "acme-billing"});
  EXPECT_EQ(deleted.exitCode, 0) << deleted;
  EXPECT_THAT(deleted.err, Not(HasSubstr("Warning")));
}

TEST_F(WebhookIntegrationTest, DeletingAGroupWithProjectsIsRefused) {
  ASSERT_EQ(cluster_->applyGitops().exitCode, 0);
  CommandResult deleted = cluster_->k({"delete", "bg", "acme-main", "-n", "acme-billing"});
  EXPECT_NE(deleted.exitCode, 0) << deleted;
  EXPECT_THAT(deleted.err,
              HasSubstr(kDenied + "BillingGroup acme-billing/acme-main (organization acme) still "
                                  "bills 2 projects (acme-web/api, acme-web/web): move them to "
                                  "another billing group first"));
  CommandResult still = cluster_->k({"get", "bg", "acme-main", "-n", "acme-billing"});
  EXPECT_EQ(still.exitCode, 0) << still;
}

TEST_F(WebhookIntegrationTest, DeletingAGroupWhoseProjectsAreBeingDeletedIsAllowed) {
  // A GitOps prune: the projects are being deleted too (held by a finalizer, as the operator's
  // holds them until their membership is closed), so the group may go.
  ASSERT_EQ(cluster_->applyGitops().exitCode, 0);
  for (const char* name : {"api", "web"}) {
    CommandResult patched =
        cluster_->k({"patch", "bproj", name, "-n", "acme-web", "--type=merge", "-p",
                     R"({"metadata":{"finalizers":["example.com/hold"]}})"});
    ASSERT_EQ(patched.exitCode, 0) << patched;
    CommandResult deleted =
        cluster_->k({"delete", "bproj", name, "-n", "acme-web", "--wait=false"});
    ASSERT_EQ(deleted.exitCode, 0) << deleted;
  }
  CommandResult deleted = cluster_->k({"delete", "bg", "acme-main", "-n", "acme-billing"});
  EXPECT_EQ(deleted.exitCode, 0) << deleted;
  EXPECT_THAT(deleted.err, Not(HasSubstr("Warning")));
}

TEST_F(WebhookIntegrationTest, DeletingAGroupWithProjectsIsRefusedThroughTheWebhook) {
  // Asked of the webhook directly over TLS: the live group, the live projects (listed by the
  // operator's client) and the refusal.
  ASSERT_EQ(cluster_->applyGitops().exitCode, 0);
  CommandResult group = cluster_->k({"get", "bg", "acme-main", "-n", "acme-billing", "-o", "json"});
  ASSERT_EQ(group.exitCode, 0) << group;
  web::json::value review = web::json::value::object(true);
  review["apiVersion"] = web::json::value::string("admission.k8s.io/v1");
  review["kind"] = web::json::value::string("AdmissionReview");
  review["request"]["uid"] = web::json::value::string("delete-1");
  review["request"]["operation"] = web::json::value::string("DELETE");
  review["request"]["kind"]["group"] = web::json::value::string("billing.operator.dev");
  review["request"]["kind"]["version"] = web::json::value::string("v1alpha1");
  review["request"]["kind"]["kind"] = web::json::value::string("BillingGroup");
  review["request"]["namespace"] = web::json::value::string("acme-billing");
  review["request"]["name"] = web::json::value::string("acme-main");
  review["request"]["oldObject"] = common::parseJson(group.out).value();

  common::HttpClientOptions options;
  common::TlsClientConfig tls;
  tls.caPem = pki().ca.certPem;
  tls.serverName = "billing-operator-webhook.billing-system.svc";
  options.tls = tls;
  common::HttpClient http(options);
  auto response = http.request(
      "POST",
      "https://127.0.0.1:" + std::to_string(cluster_->webhook->port()) + std::string(kValidatePath),
      {{"Content-Type", "application/json"}}, common::toJson(review));
  ASSERT_TRUE(response.has_value()) << response.error();
  ASSERT_EQ(response->status, 200) << response->body;
  auto body = common::parseJson(response->body).value();
  EXPECT_FALSE(body.at("response").at("allowed").as_bool());
  EXPECT_EQ(body.at("response").at("status").at("code").as_integer(), 403);
  EXPECT_THAT(body.at("response").at("status").at("message").as_string(),
              HasSubstr("still bills 2 projects (acme-web/api, acme-web/web)"));
}

}  // namespace
}  // namespace billing::webhook
