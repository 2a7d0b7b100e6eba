// The Client over a Transport: REST paths for any group/version/resource, credentials,
// client-side rate limiting, retries, metav1.Status errors and watch decoding.
//
// Retries (capped exponential backoff with jitter; a Retry-After from the server is waited out
// exactly, and one longer than RetryPolicy::maxRetryAfter is returned to the caller instead):
//   - 429 Too Many Requests: every verb (the API server rejects it before doing anything);
//   - connection refused, DNS failures, anything that failed before the request was sent: every
//     verb (TLS failures are not retried: a certificate that did not verify will not next time);
//   - 5xx, timeouts and connections broken after sending: GET only (get, list, the start of a
//     watch). A write that failed that way may have been applied; the caller decides.
// A 401 makes the credential provider refresh (re-run the exec plugin, re-read the token file)
// and the request is tried once more with the new credentials.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "operator/kube/auth.h"
#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/kube/exec_credential.h"
#include "operator/kube/rate_limiter.h"
#include "operator/kube/transport.h"

namespace billing::kube {

struct RetryPolicy {
  int maxRetries = 5;  // attempts after the first
  std::chrono::milliseconds initialBackoff{100};
  std::chrono::milliseconds maxBackoff{std::chrono::seconds(5)};
  std::chrono::seconds maxRetryAfter{std::chrono::seconds(60)};
};

// Everything a test (or the runtime) may replace; defaults come from the RestConfig.
struct ClientOptions {
  std::shared_ptr<common::Clock> clock;             // common::systemClock()
  std::shared_ptr<RateLimiter> rateLimiter;         // token bucket of config.qps / config.burst
  TransportFactory transportFactory;                // makeTransport(config.transport, ...)
  std::shared_ptr<CredentialProvider> credentials;  // from the RestConfig
  std::shared_ptr<CommandRunner> commandRunner;     // exec plugins: ProcessCommandRunner
  std::optional<Environment> environment;           // exec plugins' base: the process's
  RetryPolicy retry;
  std::function<double()> random;  // [0, 1) for jitter; std::mt19937 when empty
  // Called once per HTTP attempt (retries included, as client-go's rest_client_requests_total
  // counts them) with the status, 0 when no response arrived, the method and the server's
  // host:port. The runtime's RuntimeMetrics::restClientHook() fits here.
  std::function<void(int status, std::string_view method, std::string_view host)> onRequest;
};

// The credentials a RestConfig describes (static token or basic auth, token file, exec plugin,
// client certificate).
std::shared_ptr<CredentialProvider> makeCredentialProvider(const RestConfig& config,
                                                           const ClientOptions& options);

class ClientImpl final : public Client {
 public:
  // Empty options are filled from the configuration. makeClient() also checks the configuration
  // and builds the transport up front; prefer it.
  ClientImpl(RestConfig config, ClientOptions options, std::string origin, std::string basePath);

  Result<web::json::value> get(const ResourceRef& resource, const std::string& ns,
                               const std::string& name) override;
  Result<ListResult> list(const ResourceRef& resource, const std::string& ns,
                          const ListOptions& options) override;
  Result<web::json::value> create(const ResourceRef& resource, const std::string& ns,
                                  const web::json::value& object,
                                  const WriteOptions& options = {}) override;
  Result<web::json::value> update(const ResourceRef& resource, const std::string& ns,
                                  const web::json::value& object,
                                  const WriteOptions& options = {}) override;
  Result<web::json::value> updateStatus(const ResourceRef& resource, const std::string& ns,
                                        const web::json::value& object,
                                        const WriteOptions& options = {}) override;
  Result<web::json::value> patch(const ResourceRef& resource, const std::string& ns,
                                 const std::string& name, PatchType type,
                                 const web::json::value& patch, bool status = false,
                                 const WriteOptions& options = {}) override;
  Result<std::optional<web::json::value>> remove(const ResourceRef& resource, const std::string& ns,
                                                 const std::string& name,
                                                 const DeleteOptions& options = {}) override;
  Result<void> watch(const ResourceRef& resource, const std::string& ns,
                     const WatchOptions& options,
                     const std::function<bool(const WatchEvent&)>& onEvent,
                     std::stop_token stop) override;

  const RestConfig& config() const { return config_; }
  // Reads the credentials and builds the transport: what makeClient() checks up front.
  Result<void> prepare();

  // One REST call, for the verbs above (and callers that need another path, e.g. discovery).
  struct Call {
    std::string verb;    // "get", "list", "create", ... for errors
    std::string method;  // "GET", ...
    std::string path;    // "/apis/g/v/namespaces/ns/r/name", without the server's path prefix
    std::vector<std::pair<std::string, std::string>> query;
    std::string body;
    std::string contentType;
    std::string resource;  // "billinggroups.billing.operator.dev"
    std::string ns;
    std::string name;
  };
  using Perform = std::function<std::expected<TransportResponse, TransportError>(
      Transport& transport, const TransportRequest& request)>;
  // Sends with rate limiting, credentials, 401 refresh and retries; a 2xx response or an Error.
  Result<TransportResponse> execute(const Call& call, std::stop_token stop = {},
                                    const Perform& perform = {},
                                    std::optional<std::chrono::milliseconds> idleTimeout = {});

 private:
  Result<std::shared_ptr<Transport>> transportFor(const Credentials& credentials);
  Error fromTransportError(const TransportError& error) const;
  Error annotate(Error error, const Call& call) const;
  std::chrono::nanoseconds backoff(int retry);
  Result<web::json::value> decodeObject(const TransportResponse& response, const Call& call) const;
  Result<web::json::value> write(Call call, const web::json::value& object,
                                 const WriteOptions& options);
  Call objectCall(std::string verb, std::string method, const ResourceRef& resource,
                  const std::string& ns, const std::string& name, bool status) const;

  const RestConfig config_;
  const ClientOptions options_;
  const std::string origin_;    // scheme://host:port
  const std::string basePath_;  // a server path prefix, "" or "/k8s/clusters/c-1"
  const std::string host_;      // host:port of origin_, for onRequest
  std::mutex transportMutex_;
  std::shared_ptr<Transport> transport_;
  std::optional<std::pair<std::string, std::string>> transportIdentity_;
  std::mutex randomMutex_;
};

// Validates the configuration (server URL, TLS material) and builds the client with the default
// transport of config.transport.
Result<std::unique_ptr<Client>> makeClient(const RestConfig& config, ClientOptions options = {});

// The REST path of a collection or object: /api/v1/... for the core group, /apis/g/v/... else.
std::string resourcePath(const ResourceRef& resource, const std::string& ns,
                         const std::string& name = "", bool statusSubresource = false);
// "billinggroups.billing.operator.dev", "pods".
std::string resourceName(const ResourceRef& resource);

}  // namespace billing::kube
