// The test API server as a process or in-process object: HTTPS with a generated CA and serving
// certificate, authentication by client certificate or bearer token (401 without), an admin
// kubeconfig for kubectl and for the operator, the fault-injection endpoint, and a restart that
// keeps state when a data directory is set.
#pragma once

#include <atomic>
#include <expected>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "common/tls.h"
#include "tests/apiserver/api_server.h"
#include "tests/apiserver/authorizer.h"
#include "tests/apiserver/faults.h"
#include "tests/apiserver/request_counter.h"
#include "tests/apiserver/service_account_tokens.h"

namespace billing::apiserver {

// kube-apiserver's --authorization-mode: RBAC (the default here, as on clusters) or AlwaysAllow.
enum class AuthorizationMode { RBAC, AlwaysAllow };

struct TestApiServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: an ephemeral port
  bool plainHttp = false;  // no TLS, no client certificates: tokens only
  // Objects and credentials survive restarts here; in memory when unset.
  std::optional<std::filesystem::path> dataDir;
  std::size_t historySize = 10000;
  std::chrono::milliseconds bookmarkInterval{std::chrono::seconds(1)};
  // Admission webhooks that name a Service (namespace/name:port) are called on these local
  // ports instead, since no Service networking exists here.
  std::map<std::string, std::uint16_t> serviceEndpoints;
  // Shifts the times the server writes into objects (ApiServerOptions::clockOffset).
  std::chrono::seconds clockOffset{0};
  AuthorizationMode authorization = AuthorizationMode::RBAC;
};

enum class KubeconfigAuth { ClientCertificate, Token };

class TestApiServer {
 public:
  static std::expected<std::unique_ptr<TestApiServer>, std::string> start(
      TestApiServerOptions options);
  ~TestApiServer();
  TestApiServer(const TestApiServer&) = delete;
  TestApiServer& operator=(const TestApiServer&) = delete;

  std::string url() const;
  std::uint16_t port() const;
  const std::string& caPem() const { return ca_.certPem; }
  const std::string& adminToken() const { return adminToken_; }

  // A kubeconfig (YAML) for the admin user, authenticating one way or the other.
  std::string kubeconfig(KubeconfigAuth auth = KubeconfigAuth::ClientCertificate) const;
  std::expected<void, std::string> writeKubeconfig(const std::filesystem::path& path,
                                                   KubeconfigAuth auth) const;

  // Credentials for other users, so tests can exercise authorization failures.
  void addToken(const std::string& token, UserInfo user);
  std::expected<common::IssuedCertificate, std::string> issueClientCertificate(
      const UserInfo& user) const;

  ApiServer& api() { return *api_; }
  FaultInjector& faults() { return faults_; }
  // Resource requests received so far (also GET /_test/requests).
  const RequestCounter& requests() const { return requests_; }

  // One-shot faults.
  void dropWatches();         // end every watch stream
  void cutConnections();      // drop every TCP connection, watches included
  void expireWatchHistory();  // the next watch from an older resourceVersion gets 410
  // Stops serving and starts again on the same port with state reloaded from the data dir
  // (in-memory state is kept as is without one). Open connections drop.
  std::expected<void, std::string> restart();

  void stop();

 private:
  explicit TestApiServer(TestApiServerOptions options);
  std::expected<void, std::string> loadOrCreateCredentials();
  std::expected<void, std::string> startServing();
  // Routes every API request through faults_ (errors, latency, forbidden verbs).
  void installFaults();
  void handle(const common::HttpRequest& request, common::HttpResponseWriter& writer);
  std::optional<UserInfo> authenticate(const common::HttpRequest& request) const;
  void serveAdmin(const common::HttpRequest& request, common::HttpResponseWriter& writer);
  // RBAC over every API request (nothing when AuthorizationMode::AlwaysAllow).
  std::optional<ApiError> authorize(const common::HttpRequest& request, const RequestInfo& info,
                                    const UserInfo& user);
  // The APIs served here rather than by ApiServer: TokenRequest (serviceaccounts/token) and
  // SelfSubjectAccessReview. Returns false for any other request.
  bool serveAuthApis(const common::HttpRequest& request, const UserInfo& user,
                     common::HttpResponseWriter& writer);

  TestApiServerOptions options_;
  common::CertificateAuthority ca_;
  common::IssuedCertificate serving_;
  common::IssuedCertificate admin_;
  std::string adminToken_;
  mutable std::mutex tokensMutex_;
  std::map<std::string, UserInfo> tokens_;
  FaultInjector faults_;
  RequestCounter requests_;
  std::unique_ptr<ApiServer> api_;
  // What api_ screens every request with (counting, faults, authorization); serveAuthApis too.
  ApiServer::RequestFilter filter_;
  std::unique_ptr<RbacAuthorizer> authorizer_;  // over api_'s store; null under AlwaysAllow
  ServiceAccountTokens serviceAccountTokens_;
  std::unique_ptr<common::HttpServer> http_;
  std::mutex lifecycleMutex_;
  std::atomic<bool> restarting_{false};
};

}  // namespace billing::apiserver
