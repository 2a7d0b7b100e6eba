#include "operator/runtime/events.h"

#include <algorithm>
#include <cstdio>

#include "operator/runtime/object.h"

namespace billing::runtime {

namespace {

constexpr std::size_t kMaxNoteBytes = 1024;

std::string truncateUtf8(std::string_view text, std::size_t maxBytes) {
  if (text.size() <= maxBytes) return std::string(text);
  std::size_t end = maxBytes;
  // Do not cut a multi-byte sequence in half.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

web::json::value objectReference(const web::json::value& object) {
  web::json::value ref = web::json::value::object();
  const auto set = [&ref](const char* field, const std::string& value) {
    if (!value.empty()) ref[field] = web::json::value::string(value);
  };
  set("apiVersion", stringAt(object, {"apiVersion"}));
  set("kind", stringAt(object, {"kind"}));
  set("namespace", objectNamespace(object));
  set("name", objectName(object));
  set("uid", objectUid(object));
  set("resourceVersion", objectResourceVersion(object));
  return ref;
}

web::json::value seriesValue(std::int64_t count, const std::string& lastObservedTime) {
  web::json::value series = web::json::value::object();
  series["count"] = web::json::value::number(count);
  series["lastObservedTime"] = web::json::value::string(lastObservedTime);
  return series;
}

}  // namespace

kube::ResourceRef eventResource() {
  return kube::ResourceRef{"events.k8s.io", "v1", "events", "Event", true};
}

EventRecorder::EventRecorder(kube::Client& client, EventRecorderOptions options)
    : client_(client),
      options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : *common::systemClock()),
      log_(options_.logger.withName("events")) {
  sender_ = std::thread([this] { runSender(); });
}

EventRecorder::~EventRecorder() { stop(); }

std::uint64_t EventRecorder::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

bool EventRecorder::takeTokenLocked(const std::string& objectKey,
                                    std::chrono::steady_clock::time_point now) {
  auto [entry, inserted] = buckets_.try_emplace(objectKey);
  Bucket& bucket = entry->second;
  if (inserted) {
    bucket.tokens = options_.burstPerObject;
    bucket.last = now;
  } else if (now > bucket.last) {
    const double elapsed = std::chrono::duration<double>(now - bucket.last).count();
    bucket.tokens = std::min<double>(options_.burstPerObject,
                                     bucket.tokens + elapsed * options_.refillPerSecondPerObject);
    bucket.last = now;
  }
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

std::string EventRecorder::uniqueNameLocked(const std::string& objectName) {
  std::int64_t nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.wallNow().time_since_epoch())
          .count();
  if (nanos <= lastNameNanos_) nanos = lastNameNanos_ + 1;
  lastNameNanos_ = nanos;
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "%llx", static_cast<unsigned long long>(nanos));
  return objectName + "." + suffix;
}

void EventRecorder::evictLocked(std::chrono::steady_clock::time_point now) {
  if (series_.size() <= options_.maxCached) return;
  for (auto it = series_.begin(); it != series_.end();) {
    if (!it->second.queued && now - it->second.lastObserved > options_.seriesWindow) {
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
  while (series_.size() > options_.maxCached) {
    auto oldest = series_.end();
    for (auto it = series_.begin(); it != series_.end(); ++it) {
      if (it->second.queued) continue;
      if (oldest == series_.end() || it->second.lastObserved < oldest->second.lastObserved) {
        oldest = it;
      }
    }
    if (oldest == series_.end()) break;
    series_.erase(oldest);
  }
}

void EventRecorder::event(const web::json::value& regarding, EventType type,
                          std::string_view reason, std::string_view action, std::string_view note) {
  const std::string typeText = type == EventType::Warning ? "Warning" : "Normal";
  const std::string noteText = truncateUtf8(note, kMaxNoteBytes);
  const std::string ns = objectNamespace(regarding);
  const std::string name = objectName(regarding);
  const std::string uid = objectUid(regarding);
  const std::string kind = stringAt(regarding, {"kind"});
  const std::string objectId = uid.empty() ? kind + "/" + objectKey(ns, name) : uid;
  std::string key = objectId;
  for (const auto& part :
       {std::string_view(typeText), reason, action, std::string_view(noteText)}) {
    key.push_back('\x1f');
    key.append(part);
  }

  std::unique_lock lock(mutex_);
  if (stopping_) {
    ++dropped_;
    return;
  }
  const auto now = clock_.now();
  const std::string nowWall = common::formatMicroTime(clock_.wallNow());
  const auto found = series_.find(key);
  if (found != series_.end() && now - found->second.lastObserved <= options_.seriesWindow) {
    Series& series = found->second;
    ++series.count;
    series.lastObserved = now;
    series.lastObservedWall = nowWall;
    if (series.queued) return;  // the pending write will carry the new count
    if (!takeTokenLocked(objectId, now)) {
      ++dropped_;
      return;
    }
    series.queued = true;
    pending_.push_back(key);
    wake_.notify_one();
    return;
  }
  if (pending_.size() >= options_.maxQueued || !takeTokenLocked(objectId, now)) {
    ++dropped_;
    log_.debug("Event dropped", {{"reason", std::string(reason)}, {"object", objectId}});
    return;
  }
  Series series;
  series.objectKey = objectId;
  series.name = uniqueNameLocked(name.empty() ? std::string("unknown") : name);
  series.ns = ns.empty() ? std::string("default") : ns;
  series.lastObserved = now;
  series.lastObservedWall = nowWall;
  series.queued = true;
  web::json::value& event = series.event;
  event = web::json::value::object();
  event["apiVersion"] = web::json::value::string("events.k8s.io/v1");
  event["kind"] = web::json::value::string("Event");
  event["metadata"] = web::json::value::object();
  event["metadata"]["name"] = web::json::value::string(series.name);
  event["metadata"]["namespace"] = web::json::value::string(series.ns);
  event["eventTime"] = web::json::value::string(nowWall);
  event["reportingController"] = web::json::value::string(options_.reportingController);
  event["reportingInstance"] = web::json::value::string(options_.reportingInstance);
  event["action"] = web::json::value::string(std::string(action));
  event["reason"] = web::json::value::string(std::string(reason));
  event["note"] = web::json::value::string(noteText);
  event["type"] = web::json::value::string(typeText);
  event["regarding"] = objectReference(regarding);
  series_[key] = std::move(series);
  pending_.push_back(std::move(key));
  evictLocked(now);
  wake_.notify_one();
}

bool EventRecorder::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] {
    return (pending_.empty() && inFlight_ == 0) || (stopping_ && inFlight_ == 0);
  });
}

void EventRecorder::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    dropped_ += pending_.size();
    pending_.clear();
  }
  wake_.notify_all();
  idle_.notify_all();
  if (sender_.joinable()) sender_.join();
}

void EventRecorder::runSender() {
  const auto resource = eventResource();
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return !pending_.empty() || stopping_; });
    if (stopping_) break;
    const std::string key = std::move(pending_.front());
    pending_.pop_front();
    const auto found = series_.find(key);
    if (found == series_.end()) continue;
    Series& series = found->second;
    series.queued = false;
    const bool created = series.created;
    const std::string name = series.name;
    const std::string ns = series.ns;
    const std::int64_t count = series.count;
    web::json::value event = series.event;
    const std::string lastObservedWall = series.lastObservedWall;
    ++inFlight_;
    lock.unlock();

    bool written = false;
    bool create = !created;
    if (created) {
      web::json::value patch = web::json::value::object();
      patch["series"] = seriesValue(count, lastObservedWall);
      auto patched = client_.patch(resource, ns, name, kube::PatchType::Merge, patch);
      written = patched.has_value();
      if (!patched) {
        // Garbage-collected since (Events live an hour by default): start it again.
        create = patched.error().kind == kube::ErrorKind::NotFound;
        if (!create) {
          log_.warn("Could not update event series",
                    {{"event", name}, {"error", describeError(patched.error())}});
        }
      }
    }
    if (create) {
      if (count > 1) event["series"] = seriesValue(count, lastObservedWall);
      auto createdEvent = client_.create(resource, ns, event);
      written = createdEvent.has_value();
      if (!createdEvent) {
        log_.warn("Could not create event",
                  {{"event", name}, {"error", describeError(createdEvent.error())}});
      }
    }

    lock.lock();
    if (written) {
      const auto again = series_.find(key);
      if (again != series_.end() && again->second.name == name) again->second.created = true;
    }
    --inFlight_;
    if (pending_.empty() && inFlight_ == 0) idle_.notify_all();
  }
  idle_.notify_all();
}

}  // namespace billing::runtime
