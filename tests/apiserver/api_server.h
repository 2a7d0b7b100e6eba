// The Kubernetes API semantics of the test API server, independent of sockets and TLS:
// discovery, the verbs on every resource (get, list, watch, create, update, patch, delete,
// deletecollection), the status subresource, generation and resourceVersion rules, finalizers,
// and CustomResourceDefinitions that start serving their resources when created.
//
// TestApiServer (test_apiserver.h) puts this behind HTTPS with authentication.
#pragma once

#include <cpprest/json.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/http_server.h"
#include "tests/apiserver/admission.h"
#include "tests/apiserver/object_store.h"
#include "tests/apiserver/request_info.h"
#include "tests/apiserver/resource_registry.h"
#include "tests/apiserver/status.h"
#include "tests/apiserver/user_info.h"

namespace billing::apiserver {

struct ApiServerOptions {
  ObjectStore::Options store;
  // How often an idle watch with allowWatchBookmarks=true gets a BOOKMARK.
  std::chrono::milliseconds bookmarkInterval{std::chrono::seconds(1)};
  // Upper bound of a watch without timeoutSeconds (kube-apiserver picks 30-60 min).
  std::chrono::seconds maxWatchDuration{std::chrono::minutes(30)};
  std::string gitVersion = "v1.32.0";
  // "namespace/name:port" of a Service -> local port, for admission webhooks named by Service.
  std::map<std::string, std::uint16_t> serviceEndpoints;
  // Added to the real clock for every time the server writes (creation and deletion timestamps),
  // so that a demo or test can run against a cluster whose objects were created, say, two days
  // ago (-48h). Ages in tables still count from the real clock, as kubectl's do.
  std::chrono::seconds clockOffset{0};
};

class ApiServer {
 public:
  explicit ApiServer(ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  void handle(const common::HttpRequest& request, common::HttpResponseWriter& writer,
              const UserInfo& user);

  ObjectStore& store() { return *store_; }
  ResourceRegistry& registry() { return *registry_; }

  // Stops background work (garbage collection) and ends open watches.
  void shutdown();

  // Called for every request before it is served; returning an error answers it instead.
  // Fault injection hooks in here.
  using RequestFilter = std::function<std::optional<ApiError>(const common::HttpRequest&,
                                                              const RequestInfo&, const UserInfo&)>;
  void setRequestFilter(RequestFilter filter);

 private:
  struct Context;

  void serveDiscovery(const RequestInfo& info, Context& ctx);
  void serveResource(const RequestInfo& info, Context& ctx);

  void get(const ResourceType& type, const RequestInfo& info, Context& ctx);
  void list(const ResourceType& type, const RequestInfo& info, Context& ctx);
  void watch(const ResourceType& type, const RequestInfo& info, Context& ctx);
  void create(const ResourceType& type, const RequestInfo& info, Context& ctx);
  void update(const ResourceType& type, const RequestInfo& info, Context& ctx);
  void patch(const ResourceType& type, const RequestInfo& info, Context& ctx);
  void remove(const ResourceType& type, const RequestInfo& info, Context& ctx);
  void removeCollection(const ResourceType& type, const RequestInfo& info, Context& ctx);

  // The write path shared by update and patch: `proposed` is the whole new object. A patch that
  // did not name a resourceVersion is `retryable`: when the object moved since the patch was
  // applied, replace answers nothing and returns false, and the patch is applied again to the
  // new state, as kube-apiserver's patcher does. Returns true once it answered.
  bool replace(const ResourceType& type, const RequestInfo& info, Context& ctx,
               web::json::value proposed, bool fromPatch, bool retryable);
  // The object an update would store, before admission: immutable metadata kept, status or
  // everything but status taken from `proposed`, generation bumped on spec changes.
  std::expected<web::json::value, ApiError> prepareUpdate(const ResourceType& type,
                                                          const web::json::value& current,
                                                          const web::json::value& proposed,
                                                          bool statusOnly,
                                                          const RequestInfo& info) const;
  // Deletes one object as DELETE does; returns the response body or an error.
  std::expected<web::json::value, ApiError> deleteObject(const ResourceType& type,
                                                         const std::string& ns,
                                                         const std::string& name,
                                                         const web::json::value& options,
                                                         bool dryRun, const UserInfo& user,
                                                         std::vector<std::string>& warnings);
  // Decodes a create or update body as kube's codec does before admission: a custom resource
  // pruned and defaulted (fieldValidation applied), a built-in kind's defaults.
  std::expected<web::json::value, ApiError> decodeRequest(const ResourceType& type,
                                                          web::json::value object,
                                                          Context& ctx) const;
  // Calls the mutating webhooks, which may change attributes.object; their warnings are added
  // to `warnings`.
  std::optional<ApiError> runMutatingWebhooks(AdmissionAttributes& attributes,
                                              std::vector<std::string>& warnings) const;
  // Calls the validating webhooks; their warnings are added to `warnings`.
  std::optional<ApiError> runWebhooks(const AdmissionAttributes& attributes,
                                      std::vector<std::string>& warnings) const;

  // Defaulting, pruning and schema validation of a custom resource; metadata checks for all.
  std::expected<web::json::value, ApiError> admit(const ResourceType& type, web::json::value object,
                                                  Context& ctx);
  // A CRD was stored or removed: start or stop serving its resources.
  void crdChanged(const web::json::value& crd, bool deleted);

  void collectGarbageLoop();
  void wakeGarbageCollector();
  // One pass: dependents of deleted owners, foreground/orphan finalizers, terminating
  // namespaces. Returns true when it changed something (another pass may be due).
  bool collectGarbage();

  ApiServerOptions options_;
  std::shared_ptr<ResourceRegistry> registry_;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<AdmissionController> admission_;
  RequestFilter requestFilter_;
  std::mutex filterMutex_;

  std::mutex gcMutex_;
  std::condition_variable gcWake_;
  bool gcPending_ = false;
  bool stopping_ = false;
  std::thread gcThread_;
};

// Helpers shared by the request layer and its tests.
// The current time plus `clockOffset`, RFC 3339 UTC with second resolution.
std::string nowTimestamp(std::chrono::seconds clockOffset = std::chrono::seconds(0));
std::string newUid();
// Accept: ...;as=Table;g=meta.k8s.io;v=v1 ...
bool wantsTable(const common::HttpRequest& request);

}  // namespace billing::apiserver
