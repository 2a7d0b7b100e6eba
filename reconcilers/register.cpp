// registerControllers() for `billing-operator run` (operator/run/controllers.h): the ledger client
// from the --ledger-* flags (none without --ledger-url: invoicing off), then the Project and
// BillingGroup controllers, then the admission webhook server (/validate, /mutate; --webhook-port,
// --webhook-cert-dir) over the same informer caches.
#include <filesystem>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <vector>

#include "operator/ledger_client/ledger_client.h"
#include "operator/run/controllers.h"
#include "operator/webhook/cert_provisioner.h"
#include "operator/webhook/snapshot_source.h"
#include "operator/webhook/webhook_server.h"
#include "reconcilers/controllers.h"
#include "reconcilers/resources.h"
#include "reconcilers/snapshot_from_cache.h"

namespace billing::run {
namespace {

// The webhook's snapshot from the Manager's informer caches (the four the controllers read).
// Until every cache has synced it answers an error, so the webhook answers 500 and the
// configuration's failurePolicy decides, rather than judging a change against an empty cluster.
// A review gets only what its change can affect (snapshotForReview), found through the stores'
// indexes: decoding all 11,000 cached objects per review cost 94 ms of CPU (docs/benchmarks.md).
class CacheSnapshotSource final : public webhook::SnapshotSource {
 public:
  CacheSnapshotSource(const runtime::Manager& manager, kube::Client& client,
                      reconcilers::Caches caches)
      : manager_(manager), client_(client), caches_(caches) {}
  std::expected<domain::Snapshot, std::string> snapshot() const override {
    if (!manager_.cachesSynced()) return std::unexpected("informer caches not synced yet");
    return reconcilers::snapshotFromCaches(caches_);
  }
  std::expected<domain::Snapshot, std::string> snapshotFor(
      const webhook::ReviewScope& scope) const override {
    if (!manager_.cachesSynced()) return std::unexpected("informer caches not synced yet");
    return reconcilers::snapshotForReview(caches_, scope.object, scope.references);
  }
  // A Namespace the cache has not seen yet (created a moment ago): one live GET.
  std::expected<std::optional<domain::Namespace>, std::string> lookupNamespace(
      const std::string& name) const override {
    return webhook::getNamespace(client_, name);
  }

 private:
  const runtime::Manager& manager_;
  kube::Client& client_;
  reconcilers::Caches caches_;
};

// --webhook-cert-generate: the first pass runs before the server starts, so that the files are
// there; only failing to get them is fatal (a missing webhook configuration, which Helm may
// create after the Deployment, is retried by the loop). The Manager stops the loop on shutdown.
std::expected<void, std::string> provisionWebhookCertificate(runtime::Manager& manager,
                                                             const RunOptions& options) {
  webhook::CertProvisioner::Options certOptions;
  certOptions.serviceName = options.webhookServiceName;
  certOptions.serviceNamespace = options.webhookServiceNamespace;
  certOptions.secretName = options.webhookCertSecretName;
  certOptions.webhookConfigurationName = options.webhookConfigurationName;
  certOptions.certDir = options.webhookCertDir;
  certOptions.log = manager.logger().withName("webhook-cert");
  if (auto valid = webhook::CertProvisioner::validate(certOptions); !valid) return valid;
  auto provisioner = std::make_shared<webhook::CertProvisioner>(manager.client(), certOptions);
  if (auto report = provisioner->reconcileOnce(); !report) {
    std::error_code ignored;
    if (!std::filesystem::exists(options.webhookCertDir / "tls.crt", ignored)) {
      return std::unexpected("--webhook-cert-generate: " + report.error());
    }
    certOptions.log.error("Webhook certificate in place, configuration not updated yet",
                          {{"error", report.error()}});
  }
  provisioner->start();
  manager.addShutdownHook([provisioner] { provisioner->stop(); });
  return {};
}

// Starts the webhook server when --webhook-port is set and the cert dir holds tls.crt and tls.key;
// the Manager stops it when it shuts down (before its informers stop).
std::expected<void, std::string> startWebhook(runtime::Manager& manager,
                                              const RunOptions& options) {
  if (options.webhookPort == 0) return {};
  const runtime::Logger log = manager.logger().withName("webhook");
  std::error_code ignored;
  webhook::WebhookServer::Options serverOptions;
  serverOptions.port = options.webhookPort;
  serverOptions.certDir = options.webhookCertDir;
  if (options.webhookCertGenerate) {
    if (auto provisioned = provisionWebhookCertificate(manager, options); !provisioned) {
      return provisioned;
    }
  }
  if (!std::filesystem::exists(options.webhookCertDir / serverOptions.certName, ignored) ||
      !std::filesystem::exists(options.webhookCertDir / serverOptions.keyName, ignored)) {
    log.info("webhook not started: no tls.crt/tls.key in " + options.webhookCertDir.string());
    return {};
  }
  serverOptions.log = [log](std::string_view line) { log.info(std::string(line)); };
  serverOptions.metrics = &manager.registry();

  const reconcilers::Caches caches{&manager.informer(reconcilers::namespacesResource()).store(),
                                   &manager.informer(reconcilers::billingGroupsResource()).store(),
                                   &manager.informer(reconcilers::projectsResource()).store(),
                                   &manager.informer(reconcilers::invoicesResource()).store()};
  auto source = std::make_shared<CacheSnapshotSource>(manager, manager.client(), caches);
  auto server = std::make_shared<webhook::WebhookServer>(std::move(serverOptions), *source);
  if (auto started = server->start(); !started) {
    return std::unexpected("webhook server: " + started.error());
  }
  log.info("Serving the admission webhook on port " + std::to_string(server->port()));
  manager.addShutdownHook([source, server] { server->stop(); });
  return {};
}

}  // namespace

std::expected<void, std::string> registerControllers(runtime::Manager& manager,
                                                     const RunOptions& options) {
  reconcilers::ControllerSetup setup;
  setup.workers = options.workers;
  setup.invoicing.grace = std::chrono::duration_cast<std::chrono::seconds>(options.invoiceGrace);
  setup.invoicing.retention = static_cast<std::size_t>(options.invoiceRetention);
  setup.invoicing.resync = options.invoiceResync;
  if (options.ledgerUrl.empty()) {
    // No backend: validation, statuses and the webhook still run; every BillingGroup says
    // Invoicing=False (InvoicingOff) and no backend call is made.
    manager.logger().withName("setup").info(
        "No --ledger-url: running without a billing backend; invoicing is off");
    reconcilers::addControllers(manager, nullptr, setup);
    return startWebhook(manager, options);
  }
  ledger_client::LedgerClientOptions client;
  client.baseUrl = options.ledgerUrl;
  client.caFile = options.ledgerCaFile.string();
  if (!options.ledgerTokenFile.empty()) {
    auto token = ledger_client::readTokenFile(options.ledgerTokenFile.string());
    if (!token) return std::unexpected("--ledger-token-file: " + token.error());
    client.token = *token;
    client.tokenFile = options.ledgerTokenFile.string();  // re-read when the Secret rotates
  }
  auto made = ledger_client::LedgerClient::create(std::move(client));
  if (!made) return std::unexpected(made.error());

  // The backend must outlive the Manager's controllers: keep it for the process's lifetime.
  static std::mutex mutex;
  static std::vector<std::unique_ptr<ledger_client::LedgerClient>> backends;
  ledger_client::LedgerClient* backend = nullptr;
  {
    std::lock_guard lock(mutex);
    backends.push_back(std::move(*made));
    backend = backends.back().get();
  }
  reconcilers::addControllers(manager, backend, setup);
  return startWebhook(manager, options);
}

}  // namespace billing::run
