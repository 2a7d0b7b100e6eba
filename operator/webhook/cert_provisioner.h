// Webhook serving certificates made by the operator itself, for clusters without cert-manager
// (`--webhook-cert-generate`; docs/install.md). What controller-runtime users get from
// open-policy-agent/cert-controller, in the operator's own terms:
//
//   - a CA and a serving certificate for `<service>.<namespace>.svc` live in one Secret
//     (tls.crt, tls.key, ca.crt, ca.key), so every replica serves the same pair and the API
//     server trusts all of them through one caBundle;
//   - each replica writes tls.crt and tls.key into --webhook-cert-dir, where WebhookServer picks
//     them up (and picks up rotations);
//   - the caBundle of the ValidatingWebhookConfiguration and of the MutatingWebhookConfiguration
//     (the finalizer on CREATE; same name by default, as the chart installs them) is kept equal
//     to the Secret's ca.crt;
//   - the serving certificate is renewed `renewBefore` its expiry, the CA likewise. During a CA
//     rotation ca.crt holds the new CA and the retired one, so replicas still serving a
//     certificate of the old CA stay trusted until they have read the new files.
//
// Replicas race: creating the Secret answers AlreadyExists and renewing it Conflict to all but
// one, which then read the winner's Secret. Nothing here depends on leader election.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <expected>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "operator/kube/client.h"
#include "operator/runtime/log.h"

namespace billing::webhook {

struct CertProvisionerOptions {
  // The webhook's Service; the certificate names `<name>.<namespace>.svc` (and the shorter and
  // `.cluster.local` forms) since the API server checks the name it dials.
  std::string serviceName = "billing-operator-webhook";
  std::string serviceNamespace;
  // The Secret holding CA and serving pair, in serviceNamespace.
  std::string secretName = "billing-operator-webhook-cert";
  // The ValidatingWebhookConfiguration whose webhooks get the caBundle.
  std::string webhookConfigurationName = "billing-operator";
  // The MutatingWebhookConfiguration whose webhooks get it too; webhookConfigurationName when
  // empty. It may be missing (an install from manifests older than the mutating webhook): the
  // reconcilers then add the finalizers themselves, so that is logged, not an error, and looked
  // for again every retryInterval so that a fresh install's configuration gets its caBundle soon.
  std::string mutatingWebhookConfigurationName;
  // Where tls.crt and tls.key are written (--webhook-cert-dir).
  std::filesystem::path certDir = "/tmp/k8s-webhook-server/serving-certs";

  std::chrono::days caValidity{3650};
  std::chrono::days certValidity{365};
  // A certificate (CA or serving) with less than this left is replaced.
  std::chrono::days renewBefore{30};
  // How often the Secret, the files and the caBundle are checked again; after a failure the
  // next check comes after retryInterval.
  std::chrono::milliseconds checkInterval{std::chrono::minutes(10)};
  std::chrono::milliseconds retryInterval{std::chrono::seconds(10)};

  // The time renewal decisions use; the system clock when empty (tests move it forward).
  std::function<std::chrono::system_clock::time_point()> now;
  runtime::Logger log = runtime::Logger::discard();
};

// What one pass did, for logs and tests.
struct CertProvisionReport {
  bool secretCreated = false;
  bool certificateRenewed = false;  // serving certificate replaced (CA kept or rotated)
  bool caRotated = false;
  bool filesWritten = false;  // tls.crt/tls.key in certDir changed
  int caBundlesPatched = 0;   // webhooks of both configurations whose caBundle was changed
  bool mutatingConfigurationMissing = false;
  std::string caFingerprint;  // SHA-256 of the current CA
  std::string servingFingerprint;
};

class CertProvisioner {
 public:
  using Options = CertProvisionerOptions;

  // `client` must outlive the provisioner.
  CertProvisioner(kube::Client& client, Options options);
  ~CertProvisioner();
  CertProvisioner(const CertProvisioner&) = delete;
  CertProvisioner& operator=(const CertProvisioner&) = delete;

  // Checks the options (names that cannot be a Service or Secret name are an error worth a
  // clear message at startup rather than a 422 later).
  static std::expected<void, std::string> validate(const Options& options);

  // One pass: the Secret (created or renewed when needed), then the files, then the caBundles.
  // An error names the step and the object. The files are written before the caBundles are
  // touched, so a missing ValidatingWebhookConfiguration (say, installed later) does not keep
  // this replica from serving; both configurations are looked at even when one fails.
  std::expected<CertProvisionReport, std::string> reconcileOnce();

  // Runs reconcileOnce() every checkInterval (retryInterval after a failure) on a thread of its
  // own, logging what changed and what failed, until stop().
  void start();
  void stop();

 private:
  struct Material;
  std::chrono::system_clock::time_point now() const;
  std::expected<Material, std::string> generate(const Material* previous) const;
  std::expected<Material, std::string> ensureSecret(CertProvisionReport& report);
  std::expected<bool, std::string> writeFiles(const Material& material) const;
  // The caBundle of every webhook of `resource` `name` calling our Service; nullopt when the
  // configuration does not exist.
  std::expected<std::optional<int>, std::string> ensureCaBundle(const kube::ResourceRef& resource,
                                                                const std::string& name,
                                                                const std::string& caBundlePem);
  std::string mutatingConfigurationName() const;
  void loop(std::stop_token stop);

  kube::Client& client_;
  Options options_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  // The last pass found no MutatingWebhookConfiguration: check again soon, log only changes.
  std::atomic<bool> mutatingMissing_{false};
  std::jthread thread_;
};

}  // namespace billing::webhook
