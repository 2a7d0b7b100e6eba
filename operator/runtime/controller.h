// A controller: informer events are mapped to request keys, deduplicated in a WorkQueue, and
// reconciled by a pool of workers; one key is never reconciled by two workers at once. The
// reconcile contract is controller-runtime's (level-triggered, idempotent):
//
//   Result{}                         done; the key's failure history is forgotten
//   Result{.requeue = true}          again, after the rate limiter's delay
//   Result{.requeueAfter = 30s}      again after 30 s (history forgotten)
//   std::unexpected(ReconcileError)  again with per-key exponential backoff (5 ms .. 1000 s)
//
// An exception escaping reconcile() fails that attempt like an error (counted in
// controller_runtime_reconcile_panics_total too); it never reaches the worker thread's top.
#pragma once

#include <chrono>
#include <condition_variable>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "operator/runtime/informer.h"
#include "operator/runtime/log.h"
#include "operator/runtime/metrics.h"
#include "operator/runtime/workqueue.h"

namespace billing::runtime {

struct Request {
  std::string ns;  // empty for cluster-scoped objects
  std::string name;

  std::string key() const { return objectKey(ns, name); }
  // "ns/name" or "name".
  static Request fromKey(std::string_view key);
  bool operator==(const Request&) const = default;
};

struct Result {
  bool requeue = false;
  std::chrono::milliseconds requeueAfter{0};
};

struct ReconcileError {
  std::string message;
};

using ReconcileOutcome = std::expected<Result, ReconcileError>;

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  virtual ReconcileOutcome reconcile(const Request& request) = 0;
};

std::shared_ptr<Reconciler> makeReconciler(
    std::function<ReconcileOutcome(const Request&)> function);

// What a running reconcile may want to know; valid on the worker's thread during reconcile().
struct ReconcileContext {
  std::string controller;
  Request request;
  std::string reconcileID;  // a random UUID per attempt, also in every log line of the attempt
  Logger logger;            // with controller, namespace, name and reconcileID
  // Requested when the controller stops (controller-runtime cancels the reconcile's context): a
  // long reconcile may cut its waits short and return; it is still allowed to finish.
  std::stop_token stopping;
};
// A random version 4 UUID (reconcile IDs, leader election identities).
std::string randomUuid();

// The reconcile running on this thread, or nullptr.
const ReconcileContext* currentReconcile();

// Maps an object of a watched kind to the keys to reconcile.
using Mapper = std::function<std::vector<Request>(const web::json::value& object)>;
// Lets an event through (true) or drops it.
using Predicate = std::function<bool(const InformerEvent& event)>;

// The object itself (controller-runtime's For()).
Mapper mapToSelf();
// The owners of the given group and kind, in the object's namespace (EnqueueRequestForOwner);
// with controllerOnly, only the owner reference marked controller=true.
Mapper mapToOwner(std::string ownerGroup, std::string ownerKind, bool controllerOnly = true);
// Drops Modified events that leave metadata.generation unchanged (status-only writes); every
// other event passes. Objects without a generation always pass.
Predicate generationChanged();

struct ControllerOptions {
  std::string name;  // label of the controller_runtime_* and workqueue_* metrics, logger values
  int workers = 1;   // MaxConcurrentReconciles
  std::shared_ptr<RateLimiter> rateLimiter;  // default: defaultControllerRateLimiter()
  Logger logger;
  RuntimeMetrics* metrics = nullptr;  // optional
  // Keys that events of secondary kinds (watch(), not watchPrimary()) map to are enqueued this
  // long after the first such event, and later events within the window join it: a burst (the
  // hundreds of Projects of one group written during a cold start) costs one reconcile of the
  // group instead of one per event, and the group's own status write has reached the cache by
  // then (no 409 Conflict from a stale read). It delays what such an event shows by at most this
  // much. Zero enqueues at once, as controller-runtime does.
  std::chrono::milliseconds secondaryEventDelay{100};
};

class Controller {
 public:
  Controller(ControllerOptions options, std::shared_ptr<Reconciler> reconciler);
  // Shuts the queue down and joins the workers, however long their reconciles take.
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  const std::string& name() const { return name_; }

  // Reconcile the informer's objects themselves.
  void watchPrimary(Informer& informer, Predicate predicate = {});
  // Reconcile what `mapper` returns for each event's object (and its old state on updates).
  void watch(Informer& informer, Mapper mapper, Predicate predicate = {});
  // The informers registered through watchPrimary/watch.
  const std::vector<Informer*>& informers() const { return informers_; }

  void enqueue(const Request& request);
  void enqueueAfter(const Request& request, std::chrono::nanoseconds delay);

  // Starts the workers; once.
  void start();
  // Stops taking work and waits until `deadline` for in-flight reconciles. True when every worker
  // has returned (they are joined then); false when some are still reconciling.
  bool stop(std::chrono::steady_clock::time_point deadline);

  WorkQueue& queue() { return *queue_; }

 private:
  void addHandler(Informer& informer, Mapper mapper, Predicate predicate,
                  std::chrono::milliseconds delay);
  void runWorker();
  void processItem(const std::string& key);

  std::string name_;
  int workers_;
  std::chrono::milliseconds secondaryEventDelay_;
  Logger log_;
  RuntimeMetrics* metrics_;
  std::shared_ptr<Reconciler> reconciler_;
  // Shared with informer handlers, which may outlive this controller's workers.
  std::shared_ptr<WorkQueue> queue_;
  std::vector<Informer*> informers_;

  std::stop_source stopping_;
  std::mutex mutex_;
  std::condition_variable workersExited_;
  int running_ = 0;
  bool started_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace billing::runtime
