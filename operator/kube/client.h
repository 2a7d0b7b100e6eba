// The Kubernetes client interface the runtime and reconcilers stand on. Results are values a
// caller branches on (kube-rs' kube::Error, client-go's apierrors.IsNotFound ...): nothing here
// throws. Objects are JSON (common/json.h); the HTTP library stays below, in the transport.
#pragma once

#include <cpprest/json.h>

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <type_traits>
#include <vector>

namespace billing::kube {

// A resource as the API addresses it.
struct ResourceRef {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural, e.g. "billinggroups"
  std::string kind;      // e.g. "BillingGroup"
  bool namespaced = true;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
};

enum class ErrorKind {
  NotFound,              // 404
  AlreadyExists,         // 409, reason AlreadyExists
  Conflict,              // 409, a stale resourceVersion or a failed precondition
  Gone,                  // 410: resourceVersion too old (watch, continue token)
  Invalid,               // 422, with causes
  BadRequest,            // 400
  Unauthorized,          // 401
  Forbidden,             // 403
  MethodNotAllowed,      // 405
  UnsupportedMediaType,  // 415
  TooManyRequests,       // 429, with retryAfter
  Timeout,               // 504, or the request timed out
  ServerError,           // other 5xx
  Network,               // connection refused, reset, DNS
  Tls,                   // the server certificate did not verify, handshake failed
  Config,                // no usable kubeconfig or credentials
  Decode,                // the server sent something that is not the expected JSON
  Cancelled,             // the caller stopped it
};

struct StatusCause {
  std::string reason;  // FieldValueInvalid, ...
  std::string message;
  std::string field;
};

struct Error {
  ErrorKind kind = ErrorKind::ServerError;
  int httpStatus = 0;  // 0 when no response was received
  std::string reason;  // metav1.Status reason
  std::string message;
  std::vector<StatusCause> causes;
  std::optional<std::chrono::seconds> retryAfter;
  std::string verb;      // what was refused: "list", "create", ...
  std::string resource;  // "billinggroups.billing.operator.dev" ("/status" for the subresource)
  std::string ns;        // the namespace of the call, "" for cluster scope or all namespaces
  std::string name;      // the object's name, "" for collections

  // One line for logs and conditions: `forbidden: cannot list billinggroups.billing.operator.dev
  // in namespace "acme": <server message>`.
  std::string describe() const;
  bool retriable() const;  // 429, 5xx, timeouts and network errors
};

template <typename T>
using Result = std::expected<T, Error>;

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::int64_t limit = 0;
  std::string continueToken;
  std::string resourceVersion;
};

struct ListResult {
  std::vector<web::json::value> items;
  std::string resourceVersion;
  std::string continueToken;
  std::optional<std::int64_t> remainingItemCount;
};

struct WatchOptions {
  std::string resourceVersion;
  std::string labelSelector;
  std::string fieldSelector;
  bool allowBookmarks = true;
  std::optional<std::chrono::seconds> timeout;  // server-side timeoutSeconds
};

enum class WatchEventType { Added, Modified, Deleted, Bookmark, Error };

struct WatchEvent {
  WatchEventType type = WatchEventType::Added;
  web::json::value object;  // for Error: the metav1.Status
};

enum class PatchType { Merge, Json };  // application/merge-patch+json, application/json-patch+json

enum class PropagationPolicy { Background, Foreground, Orphan };

struct DeleteOptions {
  std::optional<PropagationPolicy> propagationPolicy;
  std::string preconditionUid;
  std::string preconditionResourceVersion;
  bool dryRun = false;
};

struct WriteOptions {
  bool dryRun = false;
  std::string fieldManager;  // defaults to the client's
};

// Namespaced calls take the namespace; cluster-scoped resources pass "". list/watch with an
// empty namespace on a namespaced resource cover all namespaces.
class Client {
 public:
  virtual ~Client() = default;

  virtual Result<web::json::value> get(const ResourceRef& resource, const std::string& ns,
                                       const std::string& name) = 0;
  virtual Result<ListResult> list(const ResourceRef& resource, const std::string& ns,
                                  const ListOptions& options) = 0;
  virtual Result<web::json::value> create(const ResourceRef& resource, const std::string& ns,
                                          const web::json::value& object,
                                          const WriteOptions& options = {}) = 0;
  virtual Result<web::json::value> update(const ResourceRef& resource, const std::string& ns,
                                          const web::json::value& object,
                                          const WriteOptions& options = {}) = 0;
  virtual Result<web::json::value> updateStatus(const ResourceRef& resource, const std::string& ns,
                                                const web::json::value& object,
                                                const WriteOptions& options = {}) = 0;
  virtual Result<web::json::value> patch(const ResourceRef& resource, const std::string& ns,
                                         const std::string& name, PatchType type,
                                         const web::json::value& patch, bool status = false,
                                         const WriteOptions& options = {}) = 0;
  // The object as the server answered (with deletionTimestamp when finalizers hold it), or
  // nullopt when the server answered with a Status because the object is gone.
  virtual Result<std::optional<web::json::value>> remove(const ResourceRef& resource,
                                                         const std::string& ns,
                                                         const std::string& name,
                                                         const DeleteOptions& options = {}) = 0;
  // Streams events to `onEvent` until the server ends the watch, `onEvent` returns false, or
  // `stop` is requested. Returns how it ended; an ERROR event is delivered, not returned.
  // Success: the server ended the stream or `onEvent` returned false. Errors: the watch could not
  // start (Gone for a too old resourceVersion, Forbidden, ...), the stream broke (Network) or
  // held something that is not a watch event (Decode), or `stop` was requested (Cancelled).
  virtual Result<void> watch(const ResourceRef& resource, const std::string& ns,
                             const WatchOptions& options,
                             const std::function<bool(const WatchEvent&)>& onEvent,
                             std::stop_token stop) = 0;
};

// Lists every page of a collection, following continue tokens like client-go's pager: pages of
// options.limit objects (500 when 0). When a continue token expires (410) midway, the pages read
// so far are dropped and the collection is listed again in one request, as client-go does.
Result<ListResult> listAll(Client& client, const ResourceRef& resource, const std::string& ns,
                           ListOptions options = {});

// client-go's wait.Backoff as retry.RetryOnConflict uses it: `steps` attempts in all, waiting
// `duration` (times `factor` after each wait, plus up to `jitter` of it at random) in between.
struct ConflictBackoff {
  int steps = 5;
  std::chrono::milliseconds duration{10};
  double factor = 1.0;
  double jitter = 0.1;
  // How to wait; a plain sleep when empty. Tests pass a recorder.
  std::function<void(std::chrono::milliseconds)> sleep;
};

namespace detail {
std::chrono::milliseconds conflictDelay(const ConflictBackoff& backoff, int retry);
void conflictSleep(const ConflictBackoff& backoff, std::chrono::milliseconds delay);
}  // namespace detail

// client-go's retry.RetryOnConflict: runs `readModifyWrite` (which reads the object, changes it
// and writes it back, returning a Result) again while it fails with Conflict, up to
// backoff.steps attempts. Returns the first success, the first other error, or the last
// Conflict.
template <typename ReadModifyWrite>
std::invoke_result_t<ReadModifyWrite&> retryOnConflict(ReadModifyWrite&& readModifyWrite,
                                                       const ConflictBackoff& backoff = {}) {
  const int steps = backoff.steps < 1 ? 1 : backoff.steps;
  for (int attempt = 1;; ++attempt) {
    auto result = readModifyWrite();
    if (result.has_value() || result.error().kind != ErrorKind::Conflict || attempt >= steps) {
      return result;
    }
    detail::conflictSleep(backoff, detail::conflictDelay(backoff, attempt - 1));
  }
}

}  // namespace billing::kube
