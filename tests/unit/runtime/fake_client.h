// An in-memory Kubernetes API for the runtime's tests: objects per resource, one resourceVersion
// counter, the full event history (so watches resume from any resourceVersion), and the faults a
// real API server produces: watch streams cut mid-stream, 410 for compacted resourceVersions,
// paginated lists whose continue tokens expire, failing calls.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "operator/kube/client.h"
#include "operator/runtime/object.h"

namespace billing::runtime::testing {

using Json = web::json::value;

inline kube::Error makeError(kube::ErrorKind kind, int status, std::string message,
                             std::string reason = {}) {
  kube::Error error;
  error.kind = kind;
  error.httpStatus = status;
  error.message = std::move(message);
  error.reason = std::move(reason);
  return error;
}

inline Json parse(std::string_view text) {
  auto parsed = common::parseJson(text);
  return parsed ? *parsed : Json();
}

// A minimal namespaced object of the given kind.
inline Json makeObject(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                       std::string_view name) {
  Json object = Json::object();
  object["apiVersion"] = Json::string(std::string(apiVersion));
  object["kind"] = Json::string(std::string(kind));
  object["metadata"] = Json::object();
  object["metadata"]["name"] = Json::string(std::string(name));
  if (!ns.empty()) object["metadata"]["namespace"] = Json::string(std::string(ns));
  object["spec"] = Json::object();
  return object;
}

// RFC 7386.
inline Json mergePatch(const Json& target, const Json& patch) {
  if (!patch.is_object()) return patch;
  Json result = target.is_object() ? target : Json::object();
  for (const auto& [key, value] : patch.as_object()) {
    if (value.is_null()) {
      if (result.has_field(key)) result.erase(key);
    } else {
      result[key] = mergePatch(result.has_field(key) ? result.at(key) : Json(), value);
    }
  }
  return result;
}

class FakeApi final : public kube::Client {
 public:
  // ---- what tests do to the "cluster" directly ------------------------------------------------

  // Creates or replaces, whatever the resourceVersion; returns the stored object.
  Json put(const kube::ResourceRef& resource, Json object) {
    std::lock_guard lock(mutex_);
    const std::string ns = objectNamespace(object);
    const std::string name = objectName(object);
    auto& objects = objects_[resourceKey(resource)];
    const auto found = objects.find(objectKey(ns, name));
    if (found == objects.end()) return createLocked(resource, ns, std::move(object));
    return writeLocked(resource, found->second, std::move(object));
  }

  bool erase(const kube::ResourceRef& resource, const std::string& ns, const std::string& name) {
    std::lock_guard lock(mutex_);
    return eraseLocked(resource, ns, name).has_value();
  }

  std::optional<Json> stored(const kube::ResourceRef& resource, const std::string& ns,
                             const std::string& name) const {
    std::lock_guard lock(mutex_);
    const auto objects = objects_.find(resourceKey(resource));
    if (objects == objects_.end()) return std::nullopt;
    const auto found = objects->second.find(objectKey(ns, name));
    if (found == objects->second.end()) return std::nullopt;
    return found->second;
  }

  std::vector<Json> storedAll(const kube::ResourceRef& resource) const {
    std::lock_guard lock(mutex_);
    std::vector<Json> all;
    const auto objects = objects_.find(resourceKey(resource));
    if (objects == objects_.end()) return all;
    for (const auto& [key, object] : objects->second) all.push_back(object);
    return all;
  }

  std::int64_t resourceVersion() const {
    std::lock_guard lock(mutex_);
    return resourceVersion_;
  }

  // Watches from a resourceVersion older than now get 410 Gone (etcd compaction).
  void compact() {
    std::lock_guard lock(mutex_);
    compactedBelow_ = resourceVersion_ + 1;
  }

  // Every watch open now ends, as when the server or a proxy drops the connection.
  void cutWatches() {
    std::lock_guard lock(mutex_);
    ++cutGeneration_;
    changed_.notify_all();
  }

  // The watch delivering the next `events` events ends right after the last of them.
  void cutWatchAfter(int events) {
    std::lock_guard lock(mutex_);
    cutAfter_ = events;
  }

  void failWatches(std::optional<kube::Error> error) {
    std::lock_guard lock(mutex_);
    watchFailure_ = std::move(error);
  }
  void failLists(std::optional<kube::Error> error) {
    std::lock_guard lock(mutex_);
    listFailure_ = std::move(error);
  }
  // 410 as the watch call's result instead of an ERROR event on an open stream.
  void goneAsCallError(bool value) {
    std::lock_guard lock(mutex_);
    goneAsError_ = value;
  }
  // List calls block until released.
  void holdLists(bool hold) {
    std::lock_guard lock(mutex_);
    holdLists_ = hold;
    changed_.notify_all();
  }
  void expireContinueTokens() {
    std::lock_guard lock(mutex_);
    snapshots_.clear();
  }

  // A BOOKMARK at the current resourceVersion for watches of `resource`.
  std::int64_t bookmark(const kube::ResourceRef& resource) {
    std::lock_guard lock(mutex_);
    Json object = Json::object();
    object["kind"] = Json::string(resource.kind);
    object["apiVersion"] = Json::string(resource.apiVersion());
    object["metadata"] = Json::object();
    object["metadata"]["resourceVersion"] = Json::string(std::to_string(resourceVersion_));
    history_.push_back(
        Entry{resourceVersion_, resourceKey(resource), "", kube::WatchEventType::Bookmark, object});
    changed_.notify_all();
    return resourceVersion_;
  }

  // Waits until watch callbacks have returned for `count` events in total.
  bool waitForDelivered(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return delivered_ >= count; });
  }
  std::size_t delivered() const {
    std::lock_guard lock(mutex_);
    return delivered_;
  }
  bool waitForWatchCalls(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return watchCalls_.size() >= count; });
  }
  bool waitForListCalls(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return listCalls_.size() >= count; });
  }
  bool waitForActiveWatches(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return activeWatches_ == count; });
  }
  bool waitForCalls(std::string_view verb, std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      const auto found = calls_.find(std::string(verb));
      return found != calls_.end() && found->second >= count;
    });
  }
  // Waits until the stored object (nullopt when absent) satisfies `predicate`.
  bool waitForObject(const kube::ResourceRef& resource, const std::string& ns,
                     const std::string& name,
                     const std::function<bool(const std::optional<Json>&)>& predicate,
                     std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      const auto& objects = objects_[resourceKey(resource)];
      const auto found = objects.find(objectKey(ns, name));
      return predicate(found == objects.end() ? std::nullopt : std::optional<Json>(found->second));
    });
  }
  // The resourceVersion each watch call asked for, in order.
  std::vector<std::string> watchResourceVersions() const {
    std::lock_guard lock(mutex_);
    return watchCalls_;
  }
  std::vector<kube::ListOptions> listCalls() const {
    std::lock_guard lock(mutex_);
    return listCalls_;
  }
  std::size_t calls(std::string_view verb) const {
    std::lock_guard lock(mutex_);
    const auto found = calls_.find(std::string(verb));
    return found == calls_.end() ? 0 : found->second;
  }

  // ---- kube::Client ----------------------------------------------------------------------------

  kube::Result<Json> get(const kube::ResourceRef& resource, const std::string& ns,
                         const std::string& name) override {
    std::lock_guard lock(mutex_);
    ++calls_["get"];
    changed_.notify_all();
    const auto& objects = objects_[resourceKey(resource)];
    const auto found = objects.find(objectKey(ns, name));
    if (found == objects.end()) return notFound(resource, name);
    return found->second;
  }

  kube::Result<kube::ListResult> list(const kube::ResourceRef& resource, const std::string& ns,
                                      const kube::ListOptions& options) override {
    std::unique_lock lock(mutex_);
    ++calls_["list"];
    listCalls_.push_back(options);
    changed_.notify_all();
    changed_.wait(lock, [this] { return !holdLists_; });
    if (listFailure_) return std::unexpected(*listFailure_);
    Snapshot snapshot;
    if (!options.continueToken.empty()) {
      const auto found = snapshots_.find(options.continueToken);
      if (found == snapshots_.end()) {
        return std::unexpected(makeError(kube::ErrorKind::Gone, 410,
                                         "the provided continue parameter is too old", "Expired"));
      }
      snapshot = found->second;
      snapshots_.erase(found);
    } else {
      snapshot.resourceVersion = resourceVersion_;
      for (const auto& [key, object] : objects_[resourceKey(resource)]) {
        if (!ns.empty() && objectNamespace(object) != ns) continue;
        snapshot.items.push_back(object);
      }
    }
    kube::ListResult result;
    result.resourceVersion = std::to_string(snapshot.resourceVersion);
    const std::size_t end =
        options.limit > 0 ? std::min(snapshot.items.size(),
                                     snapshot.offset + static_cast<std::size_t>(options.limit))
                          : snapshot.items.size();
    for (std::size_t i = snapshot.offset; i < end; ++i) result.items.push_back(snapshot.items[i]);
    if (end < snapshot.items.size()) {
      snapshot.offset = end;
      result.continueToken = "continue-" + std::to_string(++continueCounter_);
      result.remainingItemCount = static_cast<std::int64_t>(snapshot.items.size() - end);
      snapshots_[result.continueToken] = std::move(snapshot);
    }
    return result;
  }

  kube::Result<Json> create(const kube::ResourceRef& resource, const std::string& ns,
                            const Json& object, const kube::WriteOptions& = {}) override {
    std::lock_guard lock(mutex_);
    ++calls_["create"];
    const std::string name = objectName(object);
    if (objects_[resourceKey(resource)].contains(objectKey(ns, name))) {
      return std::unexpected(makeError(kube::ErrorKind::AlreadyExists, 409,
                                       resource.resource + " \"" + name + "\" already exists",
                                       "AlreadyExists"));
    }
    return createLocked(resource, ns, object);
  }

  kube::Result<Json> update(const kube::ResourceRef& resource, const std::string& ns,
                            const Json& object, const kube::WriteOptions& = {}) override {
    std::lock_guard lock(mutex_);
    ++calls_["update"];
    changed_.notify_all();
    auto& objects = objects_[resourceKey(resource)];
    const std::string name = objectName(object);
    const auto found = objects.find(objectKey(ns, name));
    if (found == objects.end()) return notFound(resource, name);
    const std::string expected = objectResourceVersion(object);
    if (!expected.empty() && expected != objectResourceVersion(found->second)) {
      return std::unexpected(makeError(
          kube::ErrorKind::Conflict, 409,
          "Operation cannot be fulfilled on " + resource.resource + " \"" + name +
              "\": the object has been modified; please apply your changes to the latest version "
              "and try again",
          "Conflict"));
    }
    return writeLocked(resource, found->second, object);
  }

  kube::Result<Json> updateStatus(const kube::ResourceRef& resource, const std::string& ns,
                                  const Json& object,
                                  const kube::WriteOptions& options = {}) override {
    return update(resource, ns, object, options);
  }

  kube::Result<Json> patch(const kube::ResourceRef& resource, const std::string& ns,
                           const std::string& name, kube::PatchType type, const Json& patch,
                           bool = false, const kube::WriteOptions& = {}) override {
    std::lock_guard lock(mutex_);
    ++calls_["patch"];
    if (type != kube::PatchType::Merge) {
      return std::unexpected(makeError(kube::ErrorKind::UnsupportedMediaType, 415, "merge only"));
    }
    auto& objects = objects_[resourceKey(resource)];
    const auto found = objects.find(objectKey(ns, name));
    if (found == objects.end()) return notFound(resource, name);
    return writeLocked(resource, found->second, mergePatch(found->second, patch));
  }

  kube::Result<std::optional<Json>> remove(const kube::ResourceRef& resource, const std::string& ns,
                                           const std::string& name,
                                           const kube::DeleteOptions& = {}) override {
    std::lock_guard lock(mutex_);
    ++calls_["delete"];
    if (!eraseLocked(resource, ns, name)) return std::unexpected(notFound(resource, name).error());
    return std::optional<Json>();
  }

  kube::Result<void> watch(const kube::ResourceRef& resource, const std::string& ns,
                           const kube::WatchOptions& options,
                           const std::function<bool(const kube::WatchEvent&)>& onEvent,
                           std::stop_token stop) override {
    std::unique_lock lock(mutex_);
    ++calls_["watch"];
    watchCalls_.push_back(options.resourceVersion);
    changed_.notify_all();
    if (watchFailure_) return std::unexpected(*watchFailure_);
    const std::int64_t from =
        options.resourceVersion.empty() ? resourceVersion_ : std::stoll(options.resourceVersion);
    if (from + 1 < compactedBelow_) {
      if (goneAsError_) {
        return std::unexpected(
            makeError(kube::ErrorKind::Gone, 410, "too old resource version", "Expired"));
      }
      kube::WatchEvent expired;
      expired.type = kube::WatchEventType::Error;
      expired.object = parse(
          R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410,)"
          R"("message":"too old resource version"})");
      lock.unlock();
      onEvent(expired);
      return {};
    }
    const std::uint64_t generation = cutGeneration_;
    std::size_t cursor = 0;
    while (cursor < history_.size() && history_[cursor].resourceVersion <= from) ++cursor;
    ++activeWatches_;
    changed_.notify_all();
    const std::string key = resourceKey(resource);
    while (true) {
      changed_.wait(lock, stop,
                    [&] { return cutGeneration_ != generation || cursor < history_.size(); });
      if (stop.stop_requested() || cutGeneration_ != generation) break;
      const Entry entry = history_[cursor++];
      if (entry.resource != key || (!ns.empty() && !entry.ns.empty() && entry.ns != ns)) continue;
      if (entry.type == kube::WatchEventType::Bookmark && !options.allowBookmarks) continue;
      lock.unlock();
      const bool more = onEvent(kube::WatchEvent{entry.type, entry.object});
      lock.lock();
      ++delivered_;
      changed_.notify_all();
      if (cutAfter_ > 0 && --cutAfter_ == 0) break;
      if (!more) break;
    }
    --activeWatches_;
    changed_.notify_all();
    return {};
  }

 private:
  struct Entry {
    std::int64_t resourceVersion;
    std::string resource;
    std::string ns;
    kube::WatchEventType type;
    Json object;
  };
  struct Snapshot {
    std::vector<Json> items;
    std::int64_t resourceVersion = 0;
    std::size_t offset = 0;
  };

  static std::string resourceKey(const kube::ResourceRef& resource) {
    return resource.group + "/" + resource.resource;
  }

  static kube::Result<Json> notFound(const kube::ResourceRef& resource, const std::string& name) {
    return std::unexpected(makeError(kube::ErrorKind::NotFound, 404,
                                     resource.resource + " \"" + name + "\" not found",
                                     "NotFound"));
  }

  void record(const kube::ResourceRef& resource, kube::WatchEventType type, const Json& object) {
    history_.push_back(
        Entry{resourceVersion_, resourceKey(resource), objectNamespace(object), type, object});
    changed_.notify_all();
  }

  Json createLocked(const kube::ResourceRef& resource, const std::string& ns, Json object) {
    ++resourceVersion_;
    if (!object.has_field("metadata")) object["metadata"] = Json::object();
    auto& metadata = object["metadata"];
    if (resource.namespaced) metadata["namespace"] = Json::string(ns);
    metadata["resourceVersion"] = Json::string(std::to_string(resourceVersion_));
    metadata["uid"] = Json::string("uid-" + std::to_string(++uidCounter_));
    metadata["generation"] = Json::number(1);
    objects_[resourceKey(resource)][objectKey(ns, objectName(object))] = object;
    record(resource, kube::WatchEventType::Added, object);
    return object;
  }

  Json writeLocked(const kube::ResourceRef& resource, Json& slot, Json object) {
    ++resourceVersion_;
    if (!object.has_field("metadata")) object["metadata"] = Json::object();
    auto& metadata = object["metadata"];
    metadata["uid"] = slot["metadata"]["uid"];
    if (slot["metadata"].has_field("namespace")) {
      metadata["namespace"] = slot["metadata"]["namespace"];
    }
    const std::int64_t generation = objectGeneration(slot);
    const bool specChanged =
        !common::jsonEqual(slot.has_field("spec") ? slot.at("spec") : Json(),
                           object.has_field("spec") ? object.at("spec") : Json());
    metadata["generation"] = Json::number(specChanged ? generation + 1 : generation);
    metadata["resourceVersion"] = Json::string(std::to_string(resourceVersion_));
    slot = object;
    record(resource, kube::WatchEventType::Modified, object);
    return object;
  }

  std::optional<Json> eraseLocked(const kube::ResourceRef& resource, const std::string& ns,
                                  const std::string& name) {
    auto& objects = objects_[resourceKey(resource)];
    const auto found = objects.find(objectKey(ns, name));
    if (found == objects.end()) return std::nullopt;
    Json object = std::move(found->second);
    objects.erase(found);
    ++resourceVersion_;
    object["metadata"]["resourceVersion"] = Json::string(std::to_string(resourceVersion_));
    record(resource, kube::WatchEventType::Deleted, object);
    return object;
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable_any changed_;
  std::map<std::string, std::map<std::string, Json>> objects_;
  std::int64_t resourceVersion_ = 100;
  std::int64_t uidCounter_ = 0;
  std::vector<Entry> history_;
  std::int64_t compactedBelow_ = 0;
  std::uint64_t cutGeneration_ = 0;
  int cutAfter_ = 0;
  std::optional<kube::Error> watchFailure_;
  std::optional<kube::Error> listFailure_;
  bool goneAsError_ = false;
  bool holdLists_ = false;
  std::map<std::string, Snapshot> snapshots_;
  std::int64_t continueCounter_ = 0;
  std::size_t delivered_ = 0;
  std::size_t activeWatches_ = 0;
  std::vector<std::string> watchCalls_;
  std::vector<kube::ListOptions> listCalls_;
  std::map<std::string, std::size_t> calls_;
};

// Forwards to another client; `intercept` runs first and may fail the call or change the world.
class ProxyClient final : public kube::Client {
 public:
  using Intercept =
      std::function<std::optional<kube::Error>(std::string_view verb, const kube::ResourceRef&)>;

  explicit ProxyClient(kube::Client& target) : target_(target) {}

  void setIntercept(Intercept intercept) {
    std::lock_guard lock(mutex_);
    intercept_ = std::move(intercept);
  }

  kube::Result<Json> get(const kube::ResourceRef& r, const std::string& ns,
                         const std::string& name) override {
    if (auto error = check("get", r)) return std::unexpected(*error);
    return target_.get(r, ns, name);
  }
  kube::Result<kube::ListResult> list(const kube::ResourceRef& r, const std::string& ns,
                                      const kube::ListOptions& o) override {
    if (auto error = check("list", r)) return std::unexpected(*error);
    return target_.list(r, ns, o);
  }
  kube::Result<Json> create(const kube::ResourceRef& r, const std::string& ns, const Json& object,
                            const kube::WriteOptions& o = {}) override {
    if (auto error = check("create", r)) return std::unexpected(*error);
    return target_.create(r, ns, object, o);
  }
  kube::Result<Json> update(const kube::ResourceRef& r, const std::string& ns, const Json& object,
                            const kube::WriteOptions& o = {}) override {
    if (auto error = check("update", r)) return std::unexpected(*error);
    return target_.update(r, ns, object, o);
  }
  kube::Result<Json> updateStatus(const kube::ResourceRef& r, const std::string& ns,
                                  const Json& object, const kube::WriteOptions& o = {}) override {
    if (auto error = check("updateStatus", r)) return std::unexpected(*error);
    return target_.updateStatus(r, ns, object, o);
  }
  kube::Result<Json> patch(const kube::ResourceRef& r, const std::string& ns,
                           const std::string& name, kube::PatchType type, const Json& patch,
                           bool status = false, const kube::WriteOptions& o = {}) override {
    if (auto error = check("patch", r)) return std::unexpected(*error);
    return target_.patch(r, ns, name, type, patch, status, o);
  }
  kube::Result<std::optional<Json>> remove(const kube::ResourceRef& r, const std::string& ns,
                                           const std::string& name,
                                           const kube::DeleteOptions& o = {}) override {
    if (auto error = check("delete", r)) return std::unexpected(*error);
    return target_.remove(r, ns, name, o);
  }
  kube::Result<void> watch(const kube::ResourceRef& r, const std::string& ns,
                           const kube::WatchOptions& o,
                           const std::function<bool(const kube::WatchEvent&)>& onEvent,
                           std::stop_token stop) override {
    if (auto error = check("watch", r)) return std::unexpected(*error);
    return target_.watch(r, ns, o, onEvent, std::move(stop));
  }

 private:
  std::optional<kube::Error> check(std::string_view verb, const kube::ResourceRef& resource) {
    Intercept intercept;
    {
      std::lock_guard lock(mutex_);
      intercept = intercept_;
    }
    return intercept ? intercept(verb, resource) : std::nullopt;
  }

  kube::Client& target_;
  std::mutex mutex_;
  Intercept intercept_;
};

}  // namespace billing::runtime::testing
