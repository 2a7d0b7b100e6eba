// An informer keeps a Store in step with the API server and tells handlers what changed: list,
// then watch from the list's resourceVersion with bookmarks, resuming from the last
// resourceVersion it saw whenever a watch ends. A 410 (the resourceVersion was compacted away)
// makes it relist and diff the new list against the store: objects that changed come out as
// Modified, new ones as Added, vanished ones as Deleted carrying their last known state, and
// unchanged objects produce nothing. Failures back off (800 ms doubling to 30 s, forgotten after
// two healthy minutes). A periodic resync (10 h, jittered by +-10 %) re-delivers every object.
//
// Threads: one watcher thread (list, watch, store writes, handler calls) and one resync thread.
// Handlers are called one event at a time, in order, under the informer's dispatch lock: they must
// be quick (enqueue a key and return) and must not call back into addHandler().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "operator/kube/client.h"
#include "operator/runtime/backoff.h"
#include "operator/runtime/log.h"
#include "operator/runtime/store.h"

namespace billing::runtime {

enum class InformerEventType { Added, Modified, Deleted, Resync };

struct InformerEvent {
  InformerEventType type = InformerEventType::Added;
  // The new state; for Deleted the final state (or, after a relist, the last known state).
  ObjectPtr object;
  // Modified and Resync: the state before. Deleted: what the store held, if anything.
  ObjectPtr oldObject;
  // Deleted found by a relist rather than by a watch event (client-go's
  // DeletedFinalStateUnknown): the object may have changed after `object` before it went.
  bool finalStateUnknown = false;
};

using InformerHandler = std::function<void(const InformerEvent&)>;

struct InformerOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::int64_t pageSize = 500;  // 0: one unpaginated list
  // Re-delivers every object as a Resync event; 0 disables it.
  std::chrono::milliseconds resyncPeriod{std::chrono::hours(10)};
  double resyncJitter = 0.1;  // the period is drawn from [p * (1 - j), p * (1 + j))
  BackoffOptions backoff;
  // The server ends each watch after a time drawn from [watchTimeout, 2 * watchTimeout).
  std::chrono::seconds watchTimeout{std::chrono::minutes(5)};
  // A watch that ends cleanly this soon without delivering anything counts as a failure, so a
  // server closing watches at once cannot make the informer spin.
  std::chrono::milliseconds minWatchDuration{std::chrono::seconds(1)};
  Indexers indexers = defaultIndexers();
  Logger logger;
  const common::Clock* clock = nullptr;  // default: *common::systemClock()
};

class Informer {
 public:
  // `ns` empty: all namespaces (or a cluster-scoped resource).
  Informer(kube::Client& client, kube::ResourceRef resource, std::string ns,
           InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  const kube::ResourceRef& resource() const { return resource_; }
  const std::string& watchedNamespace() const { return ns_; }
  Store& store() { return store_; }
  const Store& store() const { return store_; }

  // A handler added after the informer has listed first gets an Added event per stored object.
  void addHandler(InformerHandler handler);

  // Starts the watcher (and resync) threads; once.
  void start();
  // Ends the watch and joins the threads. Idempotent.
  void stop();

  // True once the first list has been stored and its events delivered.
  bool hasSynced() const { return synced_.load(std::memory_order_acquire); }
  bool waitForSync(std::chrono::milliseconds timeout) const;
  // Waits until synced or `stop` is requested; returns hasSynced().
  bool waitForSync(std::stop_token stop) const;
  // Both: until synced, `stop` is requested or `timeout` passes.
  bool waitForSync(std::stop_token stop, std::chrono::milliseconds timeout) const;

  // The resourceVersion the next watch would start from.
  std::string lastSyncResourceVersion() const;
  // Lists made after the first one (410 Gone, expired continue tokens).
  std::uint64_t relists() const { return relists_.load(); }

 private:
  struct ListOutcome {
    std::vector<web::json::value> items;
    std::string resourceVersion;
  };
  void runWatcher(std::stop_token stop);
  void runResync(std::stop_token stop);
  kube::Result<ListOutcome> listAll(const std::stop_token& stop);
  void applyList(std::vector<web::json::value> items);
  void applyWatchEvent(kube::WatchEventType type, ObjectPtr object,
                       const std::string& resourceVersion);
  void dispatchLocked(const InformerEvent& event);
  void setResourceVersion(const std::string& resourceVersion);
  // False when `stop` was requested before the delay ran out.
  bool sleepFor(std::chrono::milliseconds delay, const std::stop_token& stop);

  kube::Client& client_;
  kube::ResourceRef resource_;
  std::string ns_;
  InformerOptions options_;
  const common::Clock& clock_;
  Logger log_;
  Store store_;

  std::mutex dispatchMutex_;  // store writes + handler calls, in event order
  std::vector<InformerHandler> handlers_;

  mutable std::mutex syncMutex_;
  mutable std::condition_variable_any syncChanged_;
  std::atomic<bool> synced_{false};
  std::string resourceVersion_;  // guarded by syncMutex_
  std::atomic<std::uint64_t> relists_{0};

  std::mutex lifecycleMutex_;
  bool started_ = false;
  std::jthread watcher_;
  std::jthread resync_;
};

}  // namespace billing::runtime
