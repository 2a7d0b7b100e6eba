// The webhook certificate the operator makes itself (--webhook-cert-generate) against the
// in-process test API server: the Secret replicas share, the files WebhookServer serves, the
// caBundles (validating and mutating configuration) the API server trusts, renewals and races. The
// first test closes the loop with the real kubectl: before provisioning the API server cannot call
// the webhook (failed calling webhook), afterwards the webhook's decision comes back.
#include "operator/webhook/cert_provisioner.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <string>
#include <thread>

#include "common/json.h"
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
using apiserver::harness::readFile;
using apiserver::harness::TempDir;
using apiserver::harness::writeFile;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using web::json::value;

const std::string kSource = BILLING_SOURCE_DIR;
const kube::ResourceRef kSecrets{"", "v1", "secrets", "Secret", true};
const kube::ResourceRef kNamespaces{"", "v1", "namespaces", "Namespace", false};
const kube::ResourceRef kConfigurations{"admissionregistration.k8s.io", "v1",
                                        "validatingwebhookconfigurations",
                                        "ValidatingWebhookConfiguration", false};
const kube::ResourceRef kMutatingConfigurations{"admissionregistration.k8s.io", "v1",
                                                "mutatingwebhookconfigurations",
                                                "MutatingWebhookConfiguration", false};

// The chart's configuration (charts/billing-operator/templates/webhook.yaml) without a caBundle,
// plus a webhook of somebody else's that must be left alone.
value webhookConfiguration() {
  auto parsed = common::parseJson(R"({
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingWebhookConfiguration",
    "metadata": {"name": "billing-operator"},
    "webhooks": [
      {"name": "validate.billing.operator.dev", "admissionReviewVersions": ["v1"],
       "sideEffects": "None", "failurePolicy": "Fail", "timeoutSeconds": 10,
       "clientConfig": {"service": {"namespace": "billing-system",
                                    "name": "billing-operator-webhook",
                                    "path": "/validate", "port": 443}},
       "rules": [{"apiGroups": ["billing.operator.dev"], "apiVersions": ["v1alpha1"],
                  "operations": ["CREATE", "UPDATE"],
                  "resources": ["billinggroups", "projects", "invoices"],
                  "scope": "Namespaced"}]},
      {"name": "other.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
       "failurePolicy": "Ignore",
       "clientConfig": {"service": {"namespace": "other", "name": "other-webhook",
                                    "path": "/validate", "port": 443},
                        "caBundle": "b3RoZXI="},
       "rules": [{"apiGroups": ["example.com"], "apiVersions": ["v1"],
                  "operations": ["CREATE"], "resources": ["widgets"]}]}
    ]})");
  return parsed ? *parsed : value::null();
}

// The chart's MutatingWebhookConfiguration without a caBundle, plus somebody else's webhook.
value mutatingConfiguration(const std::string& name = "billing-operator") {
  auto parsed = common::parseJson(R"({
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "MutatingWebhookConfiguration",
    "metadata": {"name": "billing-operator"},
    "webhooks": [
      {"name": "other.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
       "failurePolicy": "Ignore",
       "clientConfig": {"service": {"namespace": "other", "name": "other-webhook",
                                    "path": "/mutate", "port": 443},
                        "caBundle": "b3RoZXI="},
       "rules": [{"apiGroups": ["example.com"], "apiVersions": ["v1"],
                  "operations": ["CREATE"], "resources": ["widgets"]}]},
      {"name": "mutate.billing.operator.dev", "admissionReviewVersions": ["v1"],
       "sideEffects": "None", "failurePolicy": "Fail", "timeoutSeconds": 10,
       "reinvocationPolicy": "Never",
       "clientConfig": {"service": {"namespace": "billing-system",
                                    "name": "billing-operator-webhook",
                                    "path": "/mutate", "port": 443}},
       "rules": [{"apiGroups": ["billing.operator.dev"], "apiVersions": ["v1alpha1"],
                  "operations": ["CREATE"], "resources": ["billinggroups", "projects"],
                  "scope": "Namespaced"}]}
    ]})");
  if (!parsed) return value::null();
  (*parsed)["metadata"]["name"] = value::string(name);
  return *parsed;
}

std::string text(const value& object, std::initializer_list<std::string_view> path) {
  return common::stringAt(object, path);
}
// The webhook starts before the API server (which must know its port); its snapshot source is
// connected to the API server's client afterwards.
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

// A test API server with the billing-system namespace and the webhook configuration, a client
// as the operator builds it, and kubectl. With `withWebhook`, a WebhookServer serving a
// throwaway certificate nobody trusts, where the provisioner's files will replace it.
struct Cluster {
  TempDir dir;
  DeferredSource source;
  std::unique_ptr<WebhookServer> webhook;
  std::unique_ptr<apiserver::TestApiServer> server;
  std::unique_ptr<kube::Client> client;
  std::unique_ptr<ClientSnapshotSource> clientSource;
  std::unique_ptr<Kubectl> kubectl;
  std::string setupError;

  // `webhookPort`: the Service's calls go to this local port (an operator process), unless
  // `withWebhook` starts an in-process webhook server.
  explicit Cluster(bool withWebhook = false, std::uint16_t webhookPort = 0) {
    apiserver::TestApiServerOptions serverOptions;
    if (withWebhook && !startWebhook(serverOptions)) return;
    if (webhookPort != 0) {
      serverOptions.serviceEndpoints["billing-system/billing-operator-webhook:443"] = webhookPort;
    }
    auto started = apiserver::TestApiServer::start(serverOptions);
    if (!started) {
      setupError = "API server: " + started.error();
      return;
    }
    server = std::move(*started);
    const auto kubeconfig = dir.path() / "kubeconfig";
    if (auto written = server->writeKubeconfig(kubeconfig, apiserver::KubeconfigAuth::Token);
        !written) {
      setupError = written.error();
      return;
    }
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

    value ns = value::object();
    ns["apiVersion"] = value::string("v1");
    ns["kind"] = value::string("Namespace");
    ns["metadata"]["name"] = value::string("billing-system");
    if (auto created = client->create(kNamespaces, "", ns); !created) {
      setupError = "namespace: " + created.error().describe();
      return;
    }
    if (auto created = client->create(kConfigurations, "", webhookConfiguration()); !created) {
      setupError = "webhook configuration: " + created.error().describe();
      return;
    }
    if (auto created = client->create(kMutatingConfigurations, "", mutatingConfiguration());
        !created) {
      setupError = "mutating webhook configuration: " + created.error().describe();
      return;
    }
  }

  bool startWebhook(apiserver::TestApiServerOptions& serverOptions) {
    auto ca = common::generateCertificateAuthority("untrusted", std::chrono::days(1));
    if (!ca) {
      setupError = ca.error();
      return false;
    }
    common::CertificateRequest request;
    request.commonName = "billing-operator-webhook.billing-system.svc";
    request.dnsNames = {request.commonName};
    auto serving = common::issueCertificate(*ca, request);
    if (!serving) {
      setupError = serving.error();
      return false;
    }
    writeFile(certDir() / "tls.crt", serving->certPem);
    writeFile(certDir() / "tls.key", serving->keyPem);
    WebhookServer::Options options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.certDir = certDir();
    options.certCheckInterval = std::chrono::hours(1);  // the test reloads explicitly
    options.log = [](std::string_view) {};
    webhook = std::make_unique<WebhookServer>(options, source);
    if (auto started = webhook->start(); !started) {
      setupError = "webhook: " + started.error();
      return false;
    }
    serverOptions.serviceEndpoints["billing-system/billing-operator-webhook:443"] = webhook->port();
    return true;
  }

  ~Cluster() {
    if (server) server->stop();
    if (webhook) webhook->stop();
  }

  std::filesystem::path certDir(const std::string& replica = "replica-a") const {
    return dir.path() / replica / "serving-certs";
  }

  CertProvisioner::Options options(const std::string& replica = "replica-a") const {
    CertProvisioner::Options made;
    made.serviceName = "billing-operator-webhook";
    made.serviceNamespace = "billing-system";
    made.secretName = "billing-operator-webhook-cert";
    made.webhookConfigurationName = "billing-operator";
    made.certDir = certDir(replica);
    return made;
  }

  value secret() const {
    auto got = client->get(kSecrets, "billing-system", "billing-operator-webhook-cert");
    return got ? *got : value::null();
  }
  std::string secretData(const std::string& key) const {
    auto decoded = common::base64Decode(text(secret(), {"data", key.c_str()}));
    return decoded ? *decoded : std::string();
  }
  // The caBundle of webhook `index` of the validating configuration (or another), decoded.
  std::string caBundle(std::size_t index = 0, const kube::ResourceRef& kind = kConfigurations,
                       const std::string& name = "billing-operator") const {
    auto got = client->get(kind, "", name);
    if (!got) return "<" + got.error().describe() + ">";
    const value& entry = got->at("webhooks").as_array().at(index);
    auto decoded = common::base64Decode(text(entry, {"clientConfig", "caBundle"}));
    return decoded ? *decoded : "<not base64>";
  }
  // The caBundle of our webhook in the MutatingWebhookConfiguration (the second entry).
  std::string mutatingCaBundle(const std::string& name = "billing-operator") const {
    return caBundle(1, kMutatingConfigurations, name);
  }
};

// A port nobody listens on right now, for a process that must be told its port in advance.
std::uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

class CertProvisionerTest : public ::testing::Test {
 protected:
  void start(bool withWebhook = false) {
    cluster_ = std::make_unique<Cluster>(withWebhook);
    ASSERT_EQ(cluster_->setupError, "");
  }
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(CertProvisionerTest, TheApiServerCallsTheWebhookOnceTheCertificateIsProvisioned) {
  start(/*withWebhook=*/true);
  Cluster& c = *cluster_;
  CommandResult crds = c.kubectl->run({"apply", "-f", kSource + "/crds/"});
  ASSERT_EQ(crds.exitCode, 0) << crds;
  std::filesystem::remove_all(c.dir.path() / "cache");
  const std::string manifest = kSource + "/examples/broken/r2-cross-organization/manifest.yaml";

  // No caBundle yet: the API server cannot verify the webhook, and failurePolicy Fail refuses.
  CommandResult before = c.kubectl->run({"apply", "-f", manifest});
  EXPECT_NE(before.exitCode, 0) << before;
  EXPECT_THAT(before.err, HasSubstr("failed calling webhook"));

  CertProvisioner provisioner(*c.client, c.options());
  auto report = provisioner.reconcileOnce();
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_TRUE(report->secretCreated);
  EXPECT_TRUE(report->filesWritten);
  EXPECT_EQ(report->caBundlesPatched, 2) << "the validating and the mutating webhook";
  EXPECT_FALSE(report->mutatingConfigurationMissing);

  // The served pair is the Secret's, for the Service's DNS name, signed by the bundled CA.
  EXPECT_EQ(readFile(c.certDir() / "tls.crt"), c.secretData("tls.crt"));
  EXPECT_EQ(readFile(c.certDir() / "tls.key"), c.secretData("tls.key"));
  EXPECT_EQ(text(c.secret(), {"type"}), "kubernetes.io/tls");
  auto info = common::inspectCertificate(c.secretData("tls.crt"));
  ASSERT_TRUE(info.has_value()) << info.error();
  EXPECT_THAT(info->dnsNames, ::testing::Contains("billing-operator-webhook.billing-system.svc"));
  auto ca = common::inspectCertificate(c.secretData("ca.crt"));
  ASSERT_TRUE(ca.has_value()) << ca.error();
  EXPECT_TRUE(ca->isCa);
  EXPECT_EQ(info->issuerCommonName, ca->commonName);
  EXPECT_EQ(c.caBundle(0), c.secretData("ca.crt"));
  EXPECT_EQ(c.caBundle(1), "other") << "somebody else's webhook must not be touched";
  EXPECT_EQ(c.mutatingCaBundle(), c.secretData("ca.crt"));
  EXPECT_EQ(c.caBundle(0, kMutatingConfigurations), "other");

  auto reloaded = c.webhook->reloadIfChanged();
  ASSERT_TRUE(reloaded.has_value()) << reloaded.error();
  ASSERT_TRUE(*reloaded);

  // Now the API server trusts the webhook and gets its decision.
  CommandResult after = c.kubectl->run({"apply", "-f", manifest});
  EXPECT_NE(after.exitCode, 0) << after;
  EXPECT_THAT(after.err, HasSubstr("admission webhook \"validate.billing.operator.dev\" denied "
                                   "the request"));
  EXPECT_THAT(after.err, HasSubstr("code CrossOrganization"));
  // The group of the same manifest went through both webhooks: the mutating one, trusted through
  // the caBundle written above, added the operator's finalizer.
  CommandResult finalizers = c.kubectl->run(
      {"get", "billinggroup", "shared", "-n", "beta", "-o", "jsonpath={.metadata.finalizers}"});
  ASSERT_EQ(finalizers.exitCode, 0) << finalizers;
  EXPECT_THAT(finalizers.out, HasSubstr("billing.operator.dev/finalizer"));
}

TEST_F(CertProvisionerTest, ASecondReplicaServesTheSameCertificateAndChangesNothing) {
  start();
  CertProvisioner first(*cluster_->client, cluster_->options("replica-a"));
  auto firstReport = first.reconcileOnce();
  ASSERT_TRUE(firstReport.has_value()) << firstReport.error();
  const std::string resourceVersion = text(cluster_->secret(), {"metadata", "resourceVersion"});

  CertProvisioner second(*cluster_->client, cluster_->options("replica-b"));
  auto secondReport = second.reconcileOnce();
  ASSERT_TRUE(secondReport.has_value()) << secondReport.error();
  EXPECT_FALSE(secondReport->secretCreated);
  EXPECT_FALSE(secondReport->certificateRenewed);
  EXPECT_TRUE(secondReport->filesWritten);
  EXPECT_EQ(secondReport->caBundlesPatched, 0);
  EXPECT_EQ(secondReport->servingFingerprint, firstReport->servingFingerprint);
  EXPECT_EQ(readFile(cluster_->certDir("replica-b") / "tls.crt"),
            readFile(cluster_->certDir("replica-a") / "tls.crt"));
  EXPECT_EQ(text(cluster_->secret(), {"metadata", "resourceVersion"}), resourceVersion);

  // A pass with nothing to do writes nothing.
  auto again = first.reconcileOnce();
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_FALSE(again->filesWritten);
  EXPECT_EQ(again->caBundlesPatched, 0);
}

TEST_F(CertProvisionerTest, ReplicasStartingTogetherAgreeOnOneSecret) {
  start();
  constexpr int kReplicas = 4;
  std::vector<std::unique_ptr<CertProvisioner>> provisioners;
  std::vector<std::expected<CertProvisionReport, std::string>> reports(
      kReplicas, std::unexpected(std::string("not run")));
  for (int i = 0; i < kReplicas; ++i) {
    provisioners.push_back(std::make_unique<CertProvisioner>(
        *cluster_->client, cluster_->options("replica-" + std::to_string(i))));
  }
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kReplicas; ++i) {
      threads.emplace_back([&, i] { reports[i] = provisioners[i]->reconcileOnce(); });
    }
  }
  int created = 0;
  for (int i = 0; i < kReplicas; ++i) {
    ASSERT_TRUE(reports[i].has_value()) << "replica " << i << ": " << reports[i].error();
    created += reports[i]->secretCreated ? 1 : 0;
    EXPECT_EQ(readFile(cluster_->certDir("replica-" + std::to_string(i)) / "tls.crt"),
              cluster_->secretData("tls.crt"))
        << "replica " << i;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(cluster_->caBundle(), cluster_->secretData("ca.crt"));
}

TEST_F(CertProvisionerTest, TheServingCertificateIsRenewedBeforeItExpiresUnderTheSameCa) {
  start();
  CertProvisioner today(*cluster_->client, cluster_->options());
  auto first = today.reconcileOnce();
  ASSERT_TRUE(first.has_value()) << first.error();

  // 340 days on, the 365-day certificate has less than the 30-day margin left.
  auto options = cluster_->options();
  options.now = [] { return std::chrono::system_clock::now() + std::chrono::days(340); };
  CertProvisioner later(*cluster_->client, options);
  auto renewed = later.reconcileOnce();
  ASSERT_TRUE(renewed.has_value()) << renewed.error();
  EXPECT_TRUE(renewed->certificateRenewed);
  EXPECT_FALSE(renewed->caRotated);
  EXPECT_TRUE(renewed->filesWritten);
  EXPECT_NE(renewed->servingFingerprint, first->servingFingerprint);
  EXPECT_EQ(renewed->caFingerprint, first->caFingerprint);
  EXPECT_EQ(renewed->caBundlesPatched, 0) << "the CA did not change, the caBundle need not";
  EXPECT_EQ(readFile(cluster_->certDir() / "tls.crt"), cluster_->secretData("tls.crt"));

  // 300 days on, nothing is due.
  options.now = [] { return std::chrono::system_clock::now() + std::chrono::days(300); };
  CertProvisioner notYet(*cluster_->client, options);
  auto unchanged = notYet.reconcileOnce();
  ASSERT_TRUE(unchanged.has_value()) << unchanged.error();
  EXPECT_FALSE(unchanged->certificateRenewed);
}

TEST_F(CertProvisionerTest, ACaRotationKeepsTheOldCaTrustedAlongsideTheNewOne) {
  start();
  CertProvisioner today(*cluster_->client, cluster_->options());
  auto first = today.reconcileOnce();
  ASSERT_TRUE(first.has_value()) << first.error();
  const std::string oldCa = cluster_->secretData("ca.crt");

  auto options = cluster_->options();
  options.now = [] { return std::chrono::system_clock::now() + std::chrono::days(3630); };
  CertProvisioner later(*cluster_->client, options);
  auto rotated = later.reconcileOnce();
  ASSERT_TRUE(rotated.has_value()) << rotated.error();
  EXPECT_TRUE(rotated->caRotated);
  EXPECT_NE(rotated->caFingerprint, first->caFingerprint);
  EXPECT_EQ(rotated->caBundlesPatched, 2);
  const std::string bundle = cluster_->caBundle();
  EXPECT_EQ(cluster_->mutatingCaBundle(), bundle);
  EXPECT_EQ(bundle, cluster_->secretData("ca.crt"));
  EXPECT_THAT(bundle, HasSubstr(oldCa)) << "the retired CA stays trusted during the rotation";
  EXPECT_NE(bundle, oldCa);
  auto serving = common::inspectCertificate(cluster_->secretData("tls.crt"));
  auto newCa = common::inspectCertificate(bundle);  // the first certificate: the new CA
  ASSERT_TRUE(serving.has_value() && newCa.has_value());
  EXPECT_EQ(serving->issuerCommonName, newCa->commonName);
}

TEST_F(CertProvisionerTest, ADamagedSecretIsRepairedAndAStaleCaBundleCorrected) {
  start();
  CertProvisioner provisioner(*cluster_->client, cluster_->options());
  ASSERT_TRUE(provisioner.reconcileOnce().has_value());

  // Someone replaced the key by garbage and the caBundle by another CA's.
  value secret = cluster_->secret();
  secret["data"]["tls.key"] = value::string(common::base64Encode("not a key"));
  ASSERT_TRUE(cluster_->client->update(kSecrets, "billing-system", secret).has_value());
  value patch = common::parseJson(R"([{"op": "replace",
      "path": "/webhooks/0/clientConfig/caBundle", "value": "c3RhbGU="}])")
                    .value();
  ASSERT_TRUE(
      cluster_->client->patch(kConfigurations, "", "billing-operator", kube::PatchType::Json, patch)
          .has_value());

  auto repaired = provisioner.reconcileOnce();
  ASSERT_TRUE(repaired.has_value()) << repaired.error();
  EXPECT_TRUE(repaired->certificateRenewed);
  EXPECT_EQ(repaired->caBundlesPatched, 1);
  EXPECT_TRUE(common::checkKeyMatchesCertificate(cluster_->secretData("tls.crt"),
                                                 cluster_->secretData("tls.key"))
                  .has_value());
  EXPECT_EQ(cluster_->caBundle(), cluster_->secretData("ca.crt"));
  EXPECT_EQ(readFile(cluster_->certDir() / "tls.key"), cluster_->secretData("tls.key"));
}

TEST_F(CertProvisionerTest, AMissingConfigurationIsAnErrorButTheFilesAreWritten) {
  start();
  ASSERT_TRUE(cluster_->client->remove(kConfigurations, "", "billing-operator").has_value());
  CertProvisioner provisioner(*cluster_->client, cluster_->options());
  auto report = provisioner.reconcileOnce();
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error(),
              HasSubstr("ValidatingWebhookConfiguration billing-operator not found"));
  EXPECT_EQ(readFile(cluster_->certDir() / "tls.crt"), cluster_->secretData("tls.crt"));
}

TEST_F(CertProvisionerTest, AMissingMutatingConfigurationIsReportedNotAnErrorAndPickedUpLater) {
  start();
  ASSERT_TRUE(
      cluster_->client->remove(kMutatingConfigurations, "", "billing-operator").has_value());
  CertProvisioner provisioner(*cluster_->client, cluster_->options());
  auto report = provisioner.reconcileOnce();
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_TRUE(report->mutatingConfigurationMissing);
  EXPECT_EQ(report->caBundlesPatched, 1);
  EXPECT_EQ(cluster_->caBundle(), cluster_->secretData("ca.crt"));

  // Installed afterwards (an upgrade from manifests without it): the next pass fills it in.
  ASSERT_TRUE(
      cluster_->client->create(kMutatingConfigurations, "", mutatingConfiguration()).has_value());
  report = provisioner.reconcileOnce();
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_FALSE(report->mutatingConfigurationMissing);
  EXPECT_EQ(report->caBundlesPatched, 1);
  EXPECT_EQ(cluster_->mutatingCaBundle(), cluster_->secretData("ca.crt"));
}

TEST_F(CertProvisionerTest, TheMutatingConfigurationMayHaveItsOwnName) {
  start();
  ASSERT_TRUE(
      cluster_->client->create(kMutatingConfigurations, "", mutatingConfiguration("finalizers"))
          .has_value());
  auto options = cluster_->options();
  options.mutatingWebhookConfigurationName = "finalizers";
  CertProvisioner provisioner(*cluster_->client, options);
  auto report = provisioner.reconcileOnce();
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_EQ(report->caBundlesPatched, 2);
  EXPECT_EQ(cluster_->mutatingCaBundle("finalizers"), cluster_->secretData("ca.crt"));
  EXPECT_EQ(cluster_->mutatingCaBundle("billing-operator"), "")
      << "the configuration of the default name is not the one named";
}

TEST_F(CertProvisionerTest, AMutatingConfigurationWithoutOurServiceIsAnErrorTooAfterTheOther) {
  start();
  value patch = common::parseJson(R"([{"op": "remove", "path": "/webhooks/1"}])").value();
  ASSERT_TRUE(
      cluster_->client
          ->patch(kMutatingConfigurations, "", "billing-operator", kube::PatchType::Json, patch)
          .has_value());
  CertProvisioner provisioner(*cluster_->client, cluster_->options());
  auto report = provisioner.reconcileOnce();
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error(), HasSubstr("MutatingWebhookConfiguration billing-operator has no "
                                        "webhook calling Service billing-system/"
                                        "billing-operator-webhook"));
  // The validating configuration was still kept.
  EXPECT_EQ(cluster_->caBundle(), cluster_->secretData("ca.crt"));
}

TEST_F(CertProvisionerTest, AConfigurationWithoutOurServiceIsAnError) {
  start();
  auto options = cluster_->options();
  options.serviceName = "renamed-webhook";
  CertProvisioner provisioner(*cluster_->client, options);
  auto report = provisioner.reconcileOnce();
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error(), HasSubstr("has no webhook calling Service "
                                        "billing-system/renamed-webhook"));
}

TEST_F(CertProvisionerTest, TheBackgroundLoopRepairsWhatChanges) {
  start();
  auto options = cluster_->options();
  options.checkInterval = 50ms;
  options.retryInterval = 50ms;
  CertProvisioner provisioner(*cluster_->client, options);
  ASSERT_TRUE(provisioner.reconcileOnce().has_value());
  provisioner.start();
  value patch = common::parseJson(R"([{"op": "remove",
      "path": "/webhooks/0/clientConfig/caBundle"}])")
                    .value();
  ASSERT_TRUE(
      cluster_->client->patch(kConfigurations, "", "billing-operator", kube::PatchType::Json, patch)
          .has_value());
  patch[0]["path"] = value::string("/webhooks/1/clientConfig/caBundle");
  ASSERT_TRUE(
      cluster_->client
          ->patch(kMutatingConfigurations, "", "billing-operator", kube::PatchType::Json, patch)
          .has_value());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((cluster_->caBundle() != cluster_->secretData("ca.crt") ||
          cluster_->mutatingCaBundle() != cluster_->secretData("ca.crt")) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  provisioner.stop();
  EXPECT_EQ(cluster_->caBundle(), cluster_->secretData("ca.crt"));
  EXPECT_EQ(cluster_->mutatingCaBundle(), cluster_->secretData("ca.crt"));
}

// The wiring in `billing-operator run`: with --webhook-cert-generate the binary provisions the
// certificate before its webhook server starts, and the API server, trusting the caBundle the
// operator wrote, gets the webhook's decisions. SIGTERM still stops it cleanly.
TEST(CertProvisionerProcessTest, TheOperatorBinaryProvisionsItsCertificateAndServesTheWebhook) {
  const std::uint16_t port = freePort();
  ASSERT_NE(port, 0);
  Cluster cluster(/*withWebhook=*/false, port);
  ASSERT_EQ(cluster.setupError, "");
  CommandResult crds = cluster.kubectl->run({"apply", "-f", kSource + "/crds/"});
  ASSERT_EQ(crds.exitCode, 0) << crds;
  std::filesystem::remove_all(cluster.dir.path() / "cache");

  const auto certDir = cluster.dir.path() / "operator-certs";
  apiserver::harness::Process operatorProcess(
      {std::string(BILLING_BINARY_DIR) + "/bin/billing-operator", "run",
       "--kubeconfig=" + (cluster.dir.path() / "kubeconfig").string(), "--webhook-cert-generate",
       "--webhook-service-namespace=billing-system", "--webhook-port=" + std::to_string(port),
       "--webhook-cert-dir=" + certDir.string(), "--metrics-bind-address=0",
       "--health-probe-bind-address=0", "--log-format=text"},
      cluster.dir.path(), "");
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (operatorProcess.errSoFar().find("Serving the admission webhook") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_THAT(operatorProcess.errSoFar(), HasSubstr("Serving the admission webhook"));
  EXPECT_EQ(readFile(certDir / "tls.crt"), cluster.secretData("tls.crt"));
  EXPECT_EQ(cluster.caBundle(), cluster.secretData("ca.crt"));
  EXPECT_EQ(cluster.mutatingCaBundle(), cluster.secretData("ca.crt"));

  // Until the operator's caches have synced the webhook answers 500 (failurePolicy decides).
  CommandResult applied;
  const auto applyDeadline = std::chrono::steady_clock::now() + 30s;
  do {
    applied = cluster.kubectl->run(
        {"apply", "-f", kSource + "/examples/broken/r2-cross-organization/manifest.yaml"});
  } while (applied.err.find("code CrossOrganization") == std::string::npos &&
           std::chrono::steady_clock::now() < applyDeadline);
  EXPECT_THAT(applied.err, HasSubstr("admission webhook \"validate.billing.operator.dev\" denied "
                                     "the request"));
  EXPECT_THAT(applied.err, HasSubstr("code CrossOrganization"));

  operatorProcess.signal(SIGTERM);
  CommandResult stopped = operatorProcess.wait(20s);
  EXPECT_EQ(stopped.exitCode, 0) << stopped;
}

TEST(CertProvisionerOptionsTest, NamesThatCannotBeObjectsAreRefused) {
  CertProvisioner::Options options;
  options.serviceNamespace = "billing-system";
  EXPECT_TRUE(CertProvisioner::validate(options).has_value());
  options.serviceName = "Billing_Webhook";
  EXPECT_THAT(CertProvisioner::validate(options).error(), HasSubstr("--webhook-service-name"));
  options.serviceName = "billing-operator-webhook";
  options.serviceNamespace = "";
  EXPECT_THAT(CertProvisioner::validate(options).error(), HasSubstr("--webhook-service-namespace"));
  options.serviceNamespace = "billing-system";
  options.mutatingWebhookConfigurationName = "Not A Name";
  EXPECT_THAT(CertProvisioner::validate(options).error(),
              HasSubstr("MutatingWebhookConfiguration name must be a DNS subdomain"));
}

}  // namespace
}  // namespace billing::webhook
