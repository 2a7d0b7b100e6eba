// The flags of `billing-operator run`, parsed into a value. Parsing is pure (no files read, no
// environment): tests cover every flag and every mistake.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "operator/kube/transport.h"
#include "operator/runtime/log.h"
#include "operator/runtime/manager.h"

namespace billing::run {

// Exit codes of `billing-operator run`, documented in its --help.
inline constexpr int kExitOk = 0;           // stopped by SIGTERM/SIGINT, shut down cleanly
inline constexpr int kExitFailed = 1;       // stopped abnormally (leadership lost, ...)
inline constexpr int kExitUsage = 2;        // invalid flags
inline constexpr int kExitConfig = 3;       // no usable kubeconfig or credentials
inline constexpr int kExitUnavailable = 4;  // API server unreachable, TLS, 401/403, no CRDs

struct RunOptions {
  bool help = false;

  // Kubernetes access.
  std::optional<std::filesystem::path> kubeconfig;
  std::string context;
  std::string watchNamespace;  // "" = all namespaces
  // Not controller-runtime's 20 / 30: a first start over 10,000 Projects needs some 24,000
  // writes (docs/benchmarks.md), 20 minutes at 20 per second. The server protects itself (API
  // Priority and Fairness answers 429, which the client honours); this limit only stops a
  // runaway loop, and a restart over a reconciled world writes nothing.
  // A guard against a runaway loop, not the capacity plan: the API server's priority and
  // fairness queues or answers 429 with Retry-After, which the client honours. At steady state
  // the operator writes nothing; a cold start of 11,000 objects needs about 12,000 requests,
  // which 200/s alone would stretch to a minute (docs/benchmarks.md).
  double kubeApiQps = 1000;
  int kubeApiBurst = 2000;
  std::optional<kube::TransportKind> kubeTransport;  // unset: RestConfig's default

  // Leader election.
  bool leaderElect = false;
  std::string leaderElectionNamespace;  // "": the kubeconfig context's namespace, else "default"
  std::string leaderElectionId = "billing-operator-leader";
  std::string leaderElectionIdentity;  // "": <hostname>_<random UUID>, as client-go does
  std::chrono::milliseconds leaseDuration{std::chrono::seconds(15)};
  std::chrono::milliseconds renewDeadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retryPeriod{std::chrono::seconds(2)};

  // Servers. Unset: not served.
  std::optional<runtime::ListenAddress> metricsAddress = runtime::ListenAddress{"0.0.0.0", 8080};
  std::optional<runtime::ListenAddress> healthProbeAddress =
      runtime::ListenAddress{"0.0.0.0", 8081};
  std::uint16_t webhookPort = 9443;
  std::filesystem::path webhookCertDir = "/tmp/k8s-webhook-server/serving-certs";
  // --webhook-cert-generate: the operator makes and renews the serving certificate itself,
  // shared through a Secret, and keeps the configuration's caBundle (operator/webhook/
  // cert_provisioner.h). Off when cert-manager (or anything else) fills webhookCertDir.
  bool webhookCertGenerate = false;
  std::string webhookServiceName = "billing-operator-webhook";
  std::string webhookServiceNamespace;  // required with webhookCertGenerate
  std::string webhookCertSecretName = "billing-operator-webhook-cert";
  std::string webhookConfigurationName = "billing-operator";

  // Work.
  int workers = 1;  // concurrent reconciles per controller
  std::chrono::milliseconds gracefulShutdownTimeout{std::chrono::seconds(10)};

  // Logs.
  runtime::LogFormat logFormat = runtime::LogFormat::Json;
  runtime::LogLevel logLevel = runtime::LogLevel::Info;

  // The billing ledger, for the reconcilers (see controllers.h).
  std::string ledgerUrl;
  std::filesystem::path ledgerTokenFile;
  std::filesystem::path ledgerCaFile;

  // Invoicing (docs/invoicing.md).
  std::chrono::milliseconds invoiceGrace{std::chrono::hours(1)};  // after a period's end
  int invoiceRetention = 12;  // Invoice resources kept per billing group
  std::chrono::milliseconds invoiceResync{std::chrono::minutes(10)};  // backend re-read interval
};

// `args` are the words after "run". Errors are one line naming the flag ("--workers needs a
// whole number from 1 to 1000, got \"x\"").
std::expected<RunOptions, std::string> parseRunArguments(std::span<const std::string> args);

// controller-runtime's bind address syntax: ":8080" (every interface), "127.0.0.1:8080",
// "[::1]:8080"; "0" disables (nullopt).
std::expected<std::optional<runtime::ListenAddress>, std::string> parseBindAddress(
    std::string_view text);

// The text of `billing-operator run --help`, exit codes included.
std::string runUsage();

}  // namespace billing::run
