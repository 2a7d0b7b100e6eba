// Small synchronisation helpers for the runtime tests: they wait on conditions with generous
// timeouts and never sleep to let time pass.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "operator/kube/client.h"
#include "operator/runtime/informer.h"

namespace billing::runtime::testing {

// Long enough never to fire on a loaded CI machine (or under ThreadSanitizer), short enough for a
// hung test to fail rather than time out.
inline constexpr std::chrono::milliseconds kWait{10000};

inline kube::ResourceRef projectsResource() {
  return kube::ResourceRef{"billing.operator.dev", "v1alpha1", "projects", "Project", true};
}
inline kube::ResourceRef billingGroupsResource() {
  return kube::ResourceRef{"billing.operator.dev", "v1alpha1", "billinggroups", "BillingGroup",
                           true};
}

// Informer options for tests: quick backoff, no resync unless asked, silent.
inline InformerOptions quickInformerOptions() {
  InformerOptions options;
  options.backoff.initial = std::chrono::milliseconds(5);
  options.backoff.max = std::chrono::milliseconds(50);
  options.backoff.jitter = 0;
  options.minWatchDuration = std::chrono::milliseconds(0);
  options.resyncPeriod = std::chrono::milliseconds(0);
  options.logger = Logger::discard();
  return options;
}

// Records informer events as "Added ns/name rv" lines.
class EventLog {
 public:
  InformerHandler handler() {
    return [this](const InformerEvent& event) { add(describe(event)); };
  }

  static std::string describe(const InformerEvent& event) {
    static const char* const kNames[] = {"Added", "Modified", "Deleted", "Resync"};
    std::string line = kNames[static_cast<int>(event.type)];
    line += " " + objectKey(*event.object) + " " + objectResourceVersion(*event.object);
    if (event.finalStateUnknown) line += " (last known)";
    return line;
  }

  void add(std::string line) {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::move(line));
    changed_.notify_all();
  }

  bool waitForCount(std::size_t count, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return lines_.size() >= count; });
  }

  // Waits until some line starts with `prefix`.
  bool waitFor(const std::string& prefix, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      for (const auto& line : lines_) {
        if (line.rfind(prefix, 0) == 0) return true;
      }
      return false;
    });
  }

  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

// Waits on a predicate that other threads make true, re-checked whenever notify() is called.
class Signal {
 public:
  void notify() {
    std::lock_guard lock(mutex_);
    ++version_;
    changed_.notify_all();
  }
  bool waitUntil(const std::function<bool()>& predicate,
                 std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, predicate);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t version_ = 0;
};

}  // namespace billing::runtime::testing
