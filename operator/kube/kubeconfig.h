// kubeconfig files as kubectl reads them (client-go's clientcmd): parsing with file:line errors,
// relative paths resolved against the file's directory, and the merge of a KUBECONFIG list
// (the first file to define a cluster, user or context wins it whole; current-context comes from
// the first file that sets one). Turning a context into a RestConfig is config.h's job.
#pragma once

#include <cpprest/json.h>

#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace billing::kube {

// users[].user.exec: a client.authentication.k8s.io credential plugin.
struct ExecConfig {
  std::string apiVersion;  // client.authentication.k8s.io/v1 or /v1beta1
  std::string command;     // absolute when it held a '/' (resolved like the other paths)
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string interactiveMode;  // Never, IfAvailable, Always; as written (checked by config.h)
  std::string installHint;
  bool provideClusterInfo = false;
  // spec.cluster of KUBERNETES_EXEC_INFO when provideClusterInfo is set (filled in by config.h).
  std::optional<web::json::value> clusterInfo;
};

struct KubeconfigCluster {
  std::string server;
  std::string certificateAuthority;      // a path, absolute once loaded from a file
  std::string certificateAuthorityData;  // PEM, base64-decoded
  bool insecureSkipTlsVerify = false;
  std::string tlsServerName;
  std::string proxyUrl;
  std::filesystem::path origin;  // the file that defined it
  int line = 0;
};

struct KubeconfigUser {
  std::string clientCertificate;
  std::string clientCertificateData;  // PEM
  std::string clientKey;
  std::string clientKeyData;  // PEM
  std::string token;
  std::string tokenFile;
  std::string username;
  std::string password;
  std::optional<ExecConfig> exec;
  std::string authProvider;  // the name of a legacy auth-provider (not supported)
  std::filesystem::path origin;
  int line = 0;
};

struct KubeconfigContext {
  std::string cluster;
  std::string user;
  std::string ns;
  std::filesystem::path origin;
  int line = 0;
};

struct Kubeconfig {
  std::map<std::string, KubeconfigCluster> clusters;
  std::map<std::string, KubeconfigUser> users;
  std::map<std::string, KubeconfigContext> contexts;
  std::string currentContext;
  std::filesystem::path currentContextOrigin;
  std::vector<std::filesystem::path> files;  // what was read, in merge order
};

// Parses one kubeconfig text. Errors read "<origin>:<line>: <what>" ("kubeconfig" is the
// caller's prefix). Relative paths are resolved against origin's directory when origin is set.
// An empty text is an empty configuration, as in client-go. Like kubectl, this rejects what
// cannot be read (YAML syntax, wrong types, bad base64, duplicate names); what is wrong with one
// cluster, user or context (a missing file, an exec plugin without apiVersion) only matters when
// a context uses it, and restConfigFromKubeconfig reports it then.
std::expected<Kubeconfig, std::string> parseKubeconfig(std::string_view text,
                                                       const std::filesystem::path& origin);

// Reads and parses a file; a missing or unreadable file is an error naming it.
std::expected<Kubeconfig, std::string> loadKubeconfigFile(const std::filesystem::path& path);

// clientcmd's merge: for clusters, users and contexts the first config to define a name wins it
// entirely; current-context is the first non-empty one.
Kubeconfig mergeKubeconfigs(const std::vector<Kubeconfig>& configs);

// KUBECONFIG's list: split on ':', empty entries dropped, duplicates dropped (first kept).
std::vector<std::filesystem::path> splitKubeconfigList(std::string_view value);

}  // namespace billing::kube
