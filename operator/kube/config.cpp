#include "operator/kube/config.h"

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/http_client.h"
#include "common/tls.h"

namespace billing::kube {
namespace {

Error configError(std::string message) {
  Error error;
  error.kind = ErrorKind::Config;
  error.message = std::move(message);
  return error;
}

std::string inQuotes(const std::string& text) { return "\"" + text + "\""; }

std::string names(const auto& map) {
  std::string result;
  for (const auto& [name, entry] : map) result += (result.empty() ? "" : ", ") + name;
  return result.empty() ? "none" : result;
}

std::string filesText(const std::vector<std::filesystem::path>& files) {
  std::string result;
  for (const auto& file : files) result += (result.empty() ? "" : ":") + file.string();
  return result.empty() ? "(no file)" : result;
}

std::optional<std::string> readText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string trim(std::string text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::filesystem::path homeDirectory(const Environment& environment) {
  if (auto home = lookup(environment, "HOME"); home && !home->empty()) return *home;
  if (const passwd* entry = ::getpwuid(::getuid()); entry && entry->pw_dir) return entry->pw_dir;
  return {};
}

}  // namespace

Result<RestConfig> restConfigFromKubeconfig(const Kubeconfig& kubeconfig,
                                            const std::string& contextName) {
  const std::string files = filesText(kubeconfig.files);
  auto fail = [&](const std::string& what) {
    return std::unexpected(configError("kubeconfig " + files + ": " + what));
  };
  std::string name = contextName.empty() ? kubeconfig.currentContext : contextName;
  if (name.empty()) {
    if (kubeconfig.contexts.empty()) return fail("no contexts are defined");
    return fail("current-context is not set; choose a context with --context (contexts: " +
                names(kubeconfig.contexts) + ")");
  }
  auto context = kubeconfig.contexts.find(name);
  if (context == kubeconfig.contexts.end()) {
    return fail("context " + inQuotes(name) +
                " is not defined (contexts: " + names(kubeconfig.contexts) + ")");
  }
  const KubeconfigContext& ctx = context->second;
  // From here, messages point at the file that defined the context.
  const std::string where = ctx.origin.empty() ? files : ctx.origin.string();
  auto failAt = [&](const std::string& what) {
    return std::unexpected(configError("kubeconfig " + where + ": " + what));
  };
  if (ctx.cluster.empty()) return failAt("context " + inQuotes(name) + " names no cluster");
  auto cluster = kubeconfig.clusters.find(ctx.cluster);
  if (cluster == kubeconfig.clusters.end()) {
    return failAt("context " + inQuotes(name) + " names cluster " + inQuotes(ctx.cluster) +
                  ", which is not defined (clusters: " + names(kubeconfig.clusters) + ")");
  }
  const KubeconfigUser* user = nullptr;
  if (!ctx.user.empty()) {
    auto found = kubeconfig.users.find(ctx.user);
    if (found == kubeconfig.users.end()) {
      return failAt("context " + inQuotes(name) + " names user " + inQuotes(ctx.user) +
                    ", which is not defined (users: " + names(kubeconfig.users) + ")");
    }
    user = &found->second;
  }

  RestConfig config;
  config.source = "context " + inQuotes(name) + " of kubeconfig " + where;
  config.defaultNamespace = ctx.ns.empty() ? "default" : ctx.ns;
  const KubeconfigCluster& c = cluster->second;
  const std::string clusterText = "cluster " + inQuotes(ctx.cluster);
  if (c.server.empty()) return failAt(clusterText + " has no server");
  // client-go takes a server without a scheme ("10.0.0.1:6443") to be https.
  config.server = c.server.find("://") == std::string::npos ? "https://" + c.server : c.server;
  auto url = common::parseHttpUrl(config.server);
  if (!url) return failAt(clusterText + ": server: " + url.error());
  if (!c.proxyUrl.empty()) {
    return failAt(clusterText + ": proxy-url is not supported by this client");
  }
  while (config.server.size() > 1 && config.server.back() == '/') config.server.pop_back();
  config.insecureSkipTlsVerify = c.insecureSkipTlsVerify;
  config.tlsServerName = c.tlsServerName;
  if (!c.certificateAuthorityData.empty()) {
    if (auto valid = common::validateCertificatePem(c.certificateAuthorityData); !valid) {
      return failAt(clusterText + ": certificate-authority-data: " + valid.error());
    }
    config.caPem = c.certificateAuthorityData;
  } else if (!c.certificateAuthority.empty()) {
    auto pem = common::loadCertificateFile(c.certificateAuthority);
    if (!pem) return failAt(clusterText + ": certificate-authority: " + pem.error());
    config.caPem = *pem;
  }
  if (config.insecureSkipTlsVerify && !config.caPem.empty()) {
    return failAt(clusterText +
                  ": insecure-skip-tls-verify cannot be combined with a certificate authority");
  }
  if (user == nullptr) return config;

  const KubeconfigUser& u = *user;
  config.userName = ctx.user;
  const std::string userText = "user " + inQuotes(ctx.user);
  if (!u.authProvider.empty()) {
    return failAt(userText + ": auth-provider " + inQuotes(u.authProvider) +
                  " is not supported (kubectl removed it too); use an exec credential plugin");
  }
  if (!u.clientCertificateData.empty()) {
    config.clientCertPem = u.clientCertificateData;
  } else if (!u.clientCertificate.empty()) {
    auto pem = common::loadCertificateFile(u.clientCertificate);
    if (!pem) return failAt(userText + ": client-certificate: " + pem.error());
    config.clientCertPem = *pem;
  }
  if (!u.clientKeyData.empty()) {
    config.clientKeyPem = u.clientKeyData;
  } else if (!u.clientKey.empty()) {
    auto pem = common::loadPrivateKeyFile(u.clientKey);
    if (!pem) return failAt(userText + ": client-key: " + pem.error());
    config.clientKeyPem = *pem;
  }
  if (config.clientCertPem.empty() != config.clientKeyPem.empty()) {
    return failAt(userText + (config.clientCertPem.empty()
                                  ? ": client-key without client-certificate"
                                  : ": client-certificate without client-key"));
  }
  if (!config.clientCertPem.empty()) {
    if (auto valid = common::validateCertificatePem(config.clientCertPem); !valid) {
      return failAt(userText + ": client certificate: " + valid.error());
    }
    if (auto valid = common::validatePrivateKeyPem(config.clientKeyPem); !valid) {
      return failAt(userText + ": client key: " + valid.error());
    }
    if (auto matches =
            common::checkKeyMatchesCertificate(config.clientCertPem, config.clientKeyPem);
        !matches) {
      return failAt(userText + ": the client key does not belong to the client certificate: " +
                    matches.error());
    }
  }
  config.bearerToken = u.token;
  if (!u.tokenFile.empty()) {
    // Read once now, as client-go does, so that a wrong path fails at startup.
    auto token = readText(u.tokenFile);
    if (!token) return failAt(userText + ": tokenFile " + u.tokenFile + ": cannot be read");
    config.bearerTokenFile = u.tokenFile;
    if (config.bearerToken.empty()) config.bearerToken = trim(*token);
  }
  config.username = u.username;
  config.password = u.password;
  if (u.exec) {
    const ExecConfig& exec = *u.exec;
    if (exec.command.empty()) return failAt(userText + ": exec has no command");
    if (exec.apiVersion != "client.authentication.k8s.io/v1" &&
        exec.apiVersion != "client.authentication.k8s.io/v1beta1") {
      return failAt(userText + ": exec apiVersion " +
                    (exec.apiVersion.empty() ? std::string("is missing")
                                             : inQuotes(exec.apiVersion) + " is not supported") +
                    "; use client.authentication.k8s.io/v1 or v1beta1");
    }
    if (exec.interactiveMode.empty() && exec.apiVersion == "client.authentication.k8s.io/v1") {
      return failAt(userText +
                    ": exec interactiveMode must be set for client.authentication.k8s.io/v1 "
                    "(Never, IfAvailable or Always)");
    }
    if (!exec.interactiveMode.empty() && exec.interactiveMode != "Never" &&
        exec.interactiveMode != "IfAvailable" && exec.interactiveMode != "Always") {
      return failAt(userText + ": exec interactiveMode " + inQuotes(exec.interactiveMode) +
                    " is not one of Never, IfAvailable, Always");
    }
    if (!config.clientCertPem.empty()) {
      return failAt(userText + ": an exec plugin and a client certificate cannot be used together");
    }
    config.exec = u.exec;
    if (config.exec->interactiveMode.empty()) config.exec->interactiveMode = "IfAvailable";
    if (u.exec->provideClusterInfo) {
      web::json::value info = web::json::value::object();
      info["server"] = web::json::value::string(config.server);
      if (!config.tlsServerName.empty()) {
        info["tls-server-name"] = web::json::value::string(config.tlsServerName);
      }
      if (config.insecureSkipTlsVerify) {
        info["insecure-skip-tls-verify"] = web::json::value::boolean(true);
      }
      if (!config.caPem.empty()) {
        info["certificate-authority-data"] =
            web::json::value::string(common::base64Encode(config.caPem));
      }
      config.exec->clusterInfo = info;
    }
  }
  return config;
}

Result<RestConfig> inClusterRestConfig(const Environment& environment,
                                       const std::filesystem::path& root) {
  auto host = lookup(environment, "KUBERNETES_SERVICE_HOST");
  auto port = lookup(environment, "KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return std::unexpected(configError(
        "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not "
        "running in a pod)"));
  }
  const auto dir = root / kServiceAccountDir;
  auto token = readText(dir / "token");
  if (!token || trim(*token).empty()) {
    return std::unexpected(configError("in-cluster: cannot read the service account token " +
                                       (dir / "token").string()));
  }
  auto ca = common::loadCertificateFile(dir / "ca.crt");
  if (!ca) return std::unexpected(configError("in-cluster: service account CA: " + ca.error()));
  RestConfig config;
  const bool ipv6 = host->find(':') != std::string::npos;
  config.server = "https://" + (ipv6 ? "[" + *host + "]" : *host) + ":" + *port;
  config.caPem = *ca;
  config.bearerToken = trim(*token);
  config.bearerTokenFile = dir / "token";
  config.defaultNamespace = trim(readText(dir / "namespace").value_or(""));
  if (config.defaultNamespace.empty()) config.defaultNamespace = "default";
  config.source = "in-cluster service account";
  config.userName = "service account";
  return config;
}

Result<RestConfig> loadRestConfig(const ConfigLoadOptions& options) {
  const Environment environment = options.environment.value_or(processEnvironment());
  auto fromFiles = [&](const std::vector<std::filesystem::path>& files,
                       bool missingIsError) -> Result<RestConfig> {
    std::vector<Kubeconfig> configs;
    std::vector<std::string> missing;
    for (const auto& file : files) {
      std::error_code error;
      if (!missingIsError && !std::filesystem::exists(file, error)) {
        missing.push_back(file.string());
        continue;
      }
      auto loaded = loadKubeconfigFile(file);
      if (!loaded) return std::unexpected(configError("kubeconfig " + loaded.error()));
      configs.push_back(std::move(*loaded));
    }
    if (configs.empty()) {
      std::string list;
      for (const auto& file : missing) list += (list.empty() ? "" : ", ") + file;
      return std::unexpected(
          configError("KUBECONFIG names " + list + "; none of these files exists"));
    }
    return restConfigFromKubeconfig(mergeKubeconfigs(configs), options.context);
  };

  if (options.kubeconfig) return fromFiles({*options.kubeconfig}, true);
  if (auto list = lookup(environment, "KUBECONFIG"); list && !list->empty()) {
    auto files = splitKubeconfigList(*list);
    if (files.empty()) return std::unexpected(configError("KUBECONFIG names no file"));
    return fromFiles(files, false);
  }
  auto inCluster = inClusterRestConfig(environment, options.inClusterRoot);
  if (inCluster) return inCluster;
  const auto home = homeDirectory(environment);
  const auto homeConfig = home / ".kube" / "config";
  std::error_code error;
  if (!home.empty() && std::filesystem::exists(homeConfig, error)) {
    return fromFiles({homeConfig}, true);
  }
  return std::unexpected(
      configError("no Kubernetes configuration found: no --kubeconfig, KUBECONFIG is not set, " +
                  inCluster.error().message + ", and " +
                  (home.empty() ? std::string("there is no home directory")
                                : homeConfig.string() + " does not exist")));
}

}  // namespace billing::kube
