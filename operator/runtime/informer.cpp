#include "operator/runtime/informer.h"

#include <random>
#include <unordered_set>

namespace billing::runtime {

namespace {

std::string resourceName(const kube::ResourceRef& resource) {
  return resource.group.empty() ? resource.resource : resource.resource + "." + resource.group;
}

}  // namespace

Informer::Informer(kube::Client& client, kube::ResourceRef resource, std::string ns,
                   InformerOptions options)
    : client_(client),
      resource_(std::move(resource)),
      ns_(std::move(ns)),
      options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : *common::systemClock()),
      log_(options_.logger.withName("informer")
               .withValues({{"resource", resourceName(resource_)}, {"namespace", ns_}})),
      store_(options_.indexers) {}

Informer::~Informer() { stop(); }

void Informer::addHandler(InformerHandler handler) {
  std::lock_guard lock(dispatchMutex_);
  if (hasSynced()) {
    for (const auto& object : store_.list()) {
      InformerEvent event;
      event.type = InformerEventType::Added;
      event.object = object;
      try {
        handler(event);
      } catch (const std::exception& error) {
        log_.error("Event handler failed", {{"error", error.what()}});
      }
    }
  }
  handlers_.push_back(std::move(handler));
}

void Informer::start() {
  std::lock_guard lock(lifecycleMutex_);
  if (started_) return;
  started_ = true;
  watcher_ = std::jthread([this](std::stop_token stop) { runWatcher(std::move(stop)); });
  if (options_.resyncPeriod.count() > 0) {
    resync_ = std::jthread([this](std::stop_token stop) { runResync(std::move(stop)); });
  }
}

void Informer::stop() {
  std::lock_guard lock(lifecycleMutex_);
  for (auto* thread : {&watcher_, &resync_}) {
    if (!thread->joinable()) continue;
    thread->request_stop();
    thread->join();
  }
}

bool Informer::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(syncMutex_);
  return syncChanged_.wait_for(lock, timeout, [this] { return hasSynced(); });
}

bool Informer::waitForSync(std::stop_token stop) const {
  std::unique_lock lock(syncMutex_);
  return syncChanged_.wait(lock, stop, [this] { return hasSynced(); });
}

bool Informer::waitForSync(std::stop_token stop, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(syncMutex_);
  return syncChanged_.wait_for(lock, stop, timeout, [this] { return hasSynced(); });
}

std::string Informer::lastSyncResourceVersion() const {
  std::lock_guard lock(syncMutex_);
  return resourceVersion_;
}

void Informer::setResourceVersion(const std::string& resourceVersion) {
  std::lock_guard lock(syncMutex_);
  resourceVersion_ = resourceVersion;
}

bool Informer::sleepFor(std::chrono::milliseconds delay, const std::stop_token& stop) {
  // Waits are real: the injected clock decides what is due, not how long a thread sleeps.
  return common::systemClock()->sleepFor(delay, stop);
}

kube::Result<Informer::ListOutcome> Informer::listAll(const std::stop_token& stop) {
  kube::ListOptions request;
  request.labelSelector = options_.labelSelector;
  request.fieldSelector = options_.fieldSelector;
  request.limit = options_.pageSize;
  ListOutcome outcome;
  bool fellBack = false;
  while (true) {
    auto page = client_.list(resource_, ns_, request);
    if (!page) {
      // An expired continue token: list everything at once, as client-go's pager does.
      if (page.error().kind == kube::ErrorKind::Gone && !request.continueToken.empty() &&
          !fellBack) {
        log_.info("Continue token expired, listing without pages");
        fellBack = true;
        request.continueToken.clear();
        request.limit = 0;
        outcome.items.clear();
        continue;
      }
      return std::unexpected(page.error());
    }
    for (auto& item : page->items) outcome.items.push_back(std::move(item));
    outcome.resourceVersion = page->resourceVersion;
    if (page->continueToken.empty()) return outcome;
    if (stop.stop_requested()) {
      kube::Error cancelled;
      cancelled.kind = kube::ErrorKind::Cancelled;
      cancelled.message = "stopped while listing";
      return std::unexpected(cancelled);
    }
    request.continueToken = page->continueToken;
  }
}

void Informer::dispatchLocked(const InformerEvent& event) {
  for (const auto& handler : handlers_) {
    try {
      handler(event);
    } catch (const std::exception& error) {
      log_.error("Event handler failed", {{"error", error.what()}});
    } catch (...) {
      log_.error("Event handler failed", {{"error", "unknown exception"}});
    }
  }
}

void Informer::applyList(std::vector<web::json::value> items) {
  std::lock_guard lock(dispatchMutex_);
  std::vector<InformerEvent> events;
  std::unordered_set<std::string> listed;
  for (auto& item : items) {
    auto object = std::make_shared<const web::json::value>(std::move(item));
    std::string key = objectKey(*object);
    const ObjectPtr old = store_.get(key);
    listed.insert(std::move(key));
    InformerEvent event;
    event.object = object;
    if (!old) {
      event.type = InformerEventType::Added;
    } else if (objectResourceVersion(*old) != objectResourceVersion(*object)) {
      event.type = InformerEventType::Modified;
      event.oldObject = old;
    } else {
      continue;  // unchanged since we last saw it: nothing to tell
    }
    store_.upsert(object);
    events.push_back(std::move(event));
  }
  for (const auto& key : store_.keys()) {
    if (listed.contains(key)) continue;
    // Deleted while we were not watching: we only know the state we saw last.
    InformerEvent event;
    event.type = InformerEventType::Deleted;
    event.object = store_.erase(key);
    event.oldObject = event.object;
    event.finalStateUnknown = true;
    events.push_back(std::move(event));
  }
  for (const auto& event : events) dispatchLocked(event);
  // Under the dispatch lock, so a handler added now either saw these events or gets a replay.
  synced_.store(true, std::memory_order_release);
}

void Informer::applyWatchEvent(kube::WatchEventType type, ObjectPtr object,
                               const std::string& resourceVersion) {
  std::lock_guard lock(dispatchMutex_);
  InformerEvent event;
  event.object = object;
  if (type == kube::WatchEventType::Deleted) {
    event.type = InformerEventType::Deleted;
    event.oldObject = store_.erase(objectKey(*object));
  } else {
    event.oldObject = store_.upsert(object);
    event.type = event.oldObject ? InformerEventType::Modified : InformerEventType::Added;
  }
  // Before the handlers run: what they see in the store is at least this version.
  setResourceVersion(resourceVersion);
  dispatchLocked(event);
}

void Informer::runWatcher(std::stop_token stop) {
  Backoff backoff(options_.backoff);
  std::mt19937_64 random(std::random_device{}());
  bool needList = true;
  std::string resourceVersion;
  while (!stop.stop_requested()) {
    if (needList) {
      auto listed = listAll(stop);
      if (stop.stop_requested()) break;
      if (!listed) {
        const auto delay = backoff.next(clock_.now());
        log_.warn("Failed to list", {{"error", describeError(listed.error())},
                                     {"retryAfterMs", static_cast<std::int64_t>(delay.count())}});
        if (!sleepFor(delay, stop)) break;
        continue;
      }
      resourceVersion = listed->resourceVersion;
      const bool firstSync = !hasSynced();
      applyList(std::move(listed->items));
      setResourceVersion(resourceVersion);  // takes syncMutex_: waiters see synced_ after it
      syncChanged_.notify_all();
      needList = false;
      if (firstSync) {
        log_.info("Synced", {{"resourceVersion", resourceVersion}, {"objects", store_.size()}});
      }
    }

    kube::WatchOptions request;
    request.resourceVersion = resourceVersion;
    request.labelSelector = options_.labelSelector;
    request.fieldSelector = options_.fieldSelector;
    request.allowBookmarks = true;
    {
      const auto base = options_.watchTimeout.count();
      std::uniform_int_distribution<std::int64_t> spread(base,
                                                         2 * base > base ? 2 * base - 1 : base);
      request.timeout = std::chrono::seconds(spread(random));
    }
    bool gone = false;
    std::string errorMessage;
    std::size_t delivered = 0;
    const auto started = clock_.now();
    auto result = client_.watch(
        resource_, ns_, request,
        [&](const kube::WatchEvent& event) {
          if (stop.stop_requested()) return false;
          if (event.type == kube::WatchEventType::Error) {
            if (isGoneStatus(event.object)) {
              gone = true;
            } else {
              errorMessage = stringAt(event.object, {"message"});
              if (errorMessage.empty()) errorMessage = common::toJson(event.object);
            }
            return false;
          }
          ++delivered;
          const std::string eventVersion = objectResourceVersion(event.object);
          if (!eventVersion.empty()) resourceVersion = eventVersion;
          if (event.type == kube::WatchEventType::Bookmark) {
            setResourceVersion(resourceVersion);
          } else {
            applyWatchEvent(event.type, std::make_shared<const web::json::value>(event.object),
                            resourceVersion);
          }
          return true;
        },
        stop);
    if (stop.stop_requested()) break;
    if (gone || (!result && result.error().kind == kube::ErrorKind::Gone)) {
      log_.info("Watch expired, relisting", {{"resourceVersion", resourceVersion}});
      relists_.fetch_add(1);
      needList = true;
      continue;
    }
    std::string failure;
    if (!result) {
      failure = describeError(result.error());
    } else if (!errorMessage.empty()) {
      failure = errorMessage;
    } else if (delivered == 0 && clock_.now() - started < options_.minWatchDuration) {
      failure = "watch ended at once without events";
    }
    if (!failure.empty()) {
      const auto delay = backoff.next(clock_.now());
      log_.warn("Watch failed", {{"error", failure},
                                 {"resourceVersion", resourceVersion},
                                 {"retryAfterMs", static_cast<std::int64_t>(delay.count())}});
      if (!sleepFor(delay, stop)) break;
    }
  }
}

void Informer::runResync(std::stop_token stop) {
  std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> spread(1.0 - options_.resyncJitter,
                                                1.0 + options_.resyncJitter);
  while (!stop.stop_requested()) {
    const auto period = std::chrono::milliseconds(static_cast<std::int64_t>(
        static_cast<double>(options_.resyncPeriod.count()) * spread(random)));
    if (!sleepFor(std::max(period, std::chrono::milliseconds(1)), stop)) return;
    if (!hasSynced()) continue;
    std::lock_guard lock(dispatchMutex_);
    for (const auto& object : store_.list()) {
      InformerEvent event;
      event.type = InformerEventType::Resync;
      event.object = object;
      event.oldObject = object;
      dispatchLocked(event);
    }
  }
}

}  // namespace billing::runtime
