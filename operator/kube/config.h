// Where the client's configuration comes from, in controller-runtime's order: --kubeconfig, then
// the KUBECONFIG list (merged as kubectl merges it), then the in-cluster service account, then
// ~/.kube/config. The result is a RestConfig (client-go's rest.Config): a server, TLS material as
// PEM, and how to authenticate.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "operator/kube/client.h"
#include "operator/kube/environment.h"
#include "operator/kube/kubeconfig.h"
#include "operator/kube/transport.h"

namespace billing::kube {

struct RestConfig {
  std::string server;  // "https://host:port", optionally with a path prefix

  // TLS. Verification is always on unless insecureSkipTlsVerify (which excludes a CA).
  std::string caPem;  // the only trust anchors when set; the system store otherwise
  bool insecureSkipTlsVerify = false;
  std::string tlsServerName;
  std::string clientCertPem;
  std::string clientKeyPem;

  // Authentication; an exec plugin takes precedence over a token, a token file over a token.
  std::string bearerToken;
  std::filesystem::path bearerTokenFile;  // re-read every minute
  std::string username;                   // basic auth
  std::string password;
  std::optional<ExecConfig> exec;
  std::string userName;  // the kubeconfig user, for messages

  std::string defaultNamespace;  // the context's namespace, or the service account's
  // Where this came from, for messages: `context "kind-billing" of kubeconfig
  // /home/me/.kube/config` or `in-cluster service account`.
  std::string source;

  // Client behaviour. controller-runtime's defaults (client-go alone uses 5 and 10); a negative
  // qps disables rate limiting.
  double qps = 20;
  int burst = 30;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // per attempt
  std::string userAgent = "billing-operator";
  std::string fieldManager = "billing-operator";
  // Native: pooled keep-alive connections used on the calling thread. cpprestsdk hands every
  // request between threads several times, which cost most of the operator's CPU at a cold start
  // (docs/benchmarks.md).
  TransportKind transport = TransportKind::Native;
};

struct ConfigLoadOptions {
  std::optional<std::filesystem::path> kubeconfig;  // --kubeconfig
  std::string context;                              // --context
  // KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT come from here; the process's when empty.
  std::optional<Environment> environment;
  // The root under which var/run/secrets/kubernetes.io/serviceaccount is looked for.
  std::filesystem::path inClusterRoot = "/";
};

// Every failure is ErrorKind::Config with a one-line message naming the file and what is wrong.
Result<RestConfig> loadRestConfig(const ConfigLoadOptions& options = {});

// The context `contextName` (or current-context when empty) of a loaded kubeconfig. Reads the
// files it references (certificates, keys, a token file) so that problems show now.
Result<RestConfig> restConfigFromKubeconfig(const Kubeconfig& kubeconfig,
                                            const std::string& contextName = "");

// client-go's rest.InClusterConfig: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
// the service account's CA, token (re-read every minute) and namespace under `root`.
Result<RestConfig> inClusterRestConfig(const Environment& environment,
                                       const std::filesystem::path& root = "/");

inline constexpr const char* kServiceAccountDir = "var/run/secrets/kubernetes.io/serviceaccount";

}  // namespace billing::kube
