// The test API server's etcd: objects keyed by resource, namespace and name, one global
// revision counter that becomes metadata.resourceVersion, a bounded history of changes for
// watches, and an optional append-only log so state survives a restart.
//
// The store knows nothing of Kubernetes semantics beyond resourceVersion: generation, finalizers,
// garbage collection and admission live in the request layer above it, as in kube-apiserver.
#pragma once

#include <cpprest/json.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace billing::apiserver {

enum class StoreError { NotFound, AlreadyExists, Conflict };

enum class EventType { Added, Modified, Deleted };

struct StoredEvent {
  EventType type = EventType::Added;
  std::string resource;  // group resource, e.g. "leases.coordination.k8s.io"
  std::string ns;
  std::string name;
  std::uint64_t revision = 0;
  web::json::value object;                   // after the change (the last state for Deleted)
  std::optional<web::json::value> previous;  // before the change (Modified and Deleted)
};

// Which changes a watcher wants. `matches` sees an object state; the watcher turns a change
// into ADDED/MODIFIED/DELETED from whether the previous and the new state match, as
// kube-apiserver does for label and field selectors.
struct WatchFilter {
  std::string resource;
  std::optional<std::string> ns;  // nullopt: all namespaces
  std::function<bool(const web::json::value&)> matches;
};

// One watch connection's queue. Thread-safe; the store pushes, the HTTP handler pops.
class Watcher {
 public:
  explicit Watcher(WatchFilter filter, std::size_t capacity)
      : filter_(std::move(filter)), capacity_(capacity) {}

  // The next event, or nullopt after `timeout` or once the watcher was stopped.
  std::optional<StoredEvent> next(std::chrono::milliseconds timeout);
  // Ends the watch: the store drops it (fault injection, shutdown, a client too slow to keep up).
  void stop();
  bool stopped() const;
  // True when the watcher was stopped because its queue overflowed.
  bool overflowed() const;

 private:
  friend class ObjectStore;
  // Filters and enqueues; called with the store lock held.
  void offer(const StoredEvent& event);

  WatchFilter filter_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<StoredEvent> queue_;
  bool stopped_ = false;
  bool overflowed_ = false;
};

struct WatchStart {
  std::shared_ptr<Watcher> watcher;
  std::vector<web::json::value> initial;  // current state, when asked for (watch from "0")
  std::uint64_t revision = 0;             // the revision the watch starts after
};

// The requested revision is older than the kept history: the client must relist (410 Gone).
struct WatchExpired {
  std::uint64_t oldestAvailable = 0;
};

class ObjectStore {
 public:
  struct Options {
    std::size_t historySize = 10000;
    std::size_t watcherQueueCapacity = 100000;
    std::optional<std::filesystem::path> dataDir;  // persist to dataDir/objects.log
  };

  explicit ObjectStore(Options options);
  ~ObjectStore();
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  std::uint64_t revision() const;

  std::expected<web::json::value, StoreError> get(const std::string& resource,
                                                  const std::string& ns,
                                                  const std::string& name) const;

  struct ListResult {
    std::vector<web::json::value> items;  // ordered by namespace, then name
    std::uint64_t revision = 0;
  };
  // All objects of a resource (in one namespace when `ns` is set), at one consistent revision.
  ListResult list(const std::string& resource, const std::optional<std::string>& ns) const;

  // Visits a resource's objects (in one namespace when `ns` is set) in list order, namespace then
  // name, starting after `after` (namespace, name) when given, under the store lock and without
  // copying them; `visit` returns false to stop. Returns the revision the scan saw.
  using Key2 = std::pair<std::string, std::string>;  // namespace, name
  std::uint64_t scan(const std::string& resource, const std::optional<std::string>& ns,
                     const std::optional<Key2>& after,
                     const std::function<bool(const web::json::value&)>& visit) const;

  // What a read-modify-write callback decides, given the current object (nullopt when absent).
  struct Mutation {
    enum class Action { Put, Delete, Keep };
    Action action = Action::Keep;
    web::json::value object;  // for Put
  };
  using Mutator = std::function<std::expected<Mutation, std::string>(
      const std::optional<web::json::value>& current)>;
  struct MutationResult {
    Mutation::Action action = Mutation::Action::Keep;
    web::json::value object;  // the stored object (Put), the removed one (Delete), or current
    bool created = false;
  };
  // Atomic read-modify-write of one key under the store lock, like etcd's guaranteed update.
  // Put stores the object with a new revision; errors from the mutator are passed through.
  std::expected<MutationResult, std::string> mutate(const std::string& resource,
                                                    const std::string& ns, const std::string& name,
                                                    const Mutator& mutator);

  std::expected<web::json::value, StoreError> create(const std::string& resource,
                                                     web::json::value object);
  // Replaces an existing object; with `expectedRevision`, only if it is still at that revision.
  std::expected<web::json::value, StoreError> update(
      const std::string& resource, web::json::value object,
      std::optional<std::uint64_t> expectedRevision = std::nullopt);
  std::expected<web::json::value, StoreError> remove(
      const std::string& resource, const std::string& ns, const std::string& name,
      std::optional<std::uint64_t> expectedRevision = std::nullopt);

  // Starts a watch after `fromRevision` (replaying kept history), or, when `fromRevision` is
  // nullopt, at the current revision with the current state returned in `initial`.
  std::expected<WatchStart, WatchExpired> watch(WatchFilter filter,
                                                std::optional<std::uint64_t> fromRevision);
  // Fault injection: end every open watch (clients see their streams close).
  void stopAllWatchers();
  // Fault injection: forget the history so every watch from an older revision gets 410.
  void compactHistory();
  // The oldest revision a watch may start from.
  std::uint64_t oldestWatchableRevision() const;
  std::size_t watcherCount() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // resource, ns, name

  void load();
  void record(StoredEvent event);  // history, watchers, log; store lock held
  web::json::value withRevision(web::json::value object, std::uint64_t revision) const;

  Options options_;
  mutable std::mutex mutex_;
  std::map<Key, web::json::value> objects_;
  std::uint64_t revision_ = 0;
  std::deque<StoredEvent> history_;
  std::uint64_t compactedRevision_ = 0;  // events up to here are gone from history
  std::vector<std::shared_ptr<Watcher>> watchers_;
  std::ofstream log_;
};

// metadata.resourceVersion as a number; nullopt when absent or not a decimal number.
std::optional<std::uint64_t> parseRevision(const std::string& text);

}  // namespace billing::apiserver
