// The controller work queue, with client-go's guarantees: an item added many times before a
// worker takes it is processed once (dirty set); an item being processed is never handed to a
// second worker, and if it is added meanwhile it comes back once done() is called (processing
// set). Delayed adds (requeue-after, rate-limited retries) wait on a timer thread and keep only the
// earliest time per item.
//
// Unlike client-go, get() returns nothing as soon as shutDown() is called, even if items are
// still waiting: shutting down means "stop taking work"; in-flight items finish normally.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "operator/runtime/metrics.h"
#include "operator/runtime/rate_limiter.h"

namespace billing::runtime {

struct WorkQueueOptions {
  std::string name;                          // the "name" label of the workqueue_* metrics
  std::shared_ptr<RateLimiter> rateLimiter;  // default: defaultControllerRateLimiter()
  RuntimeMetrics* metrics = nullptr;         // optional
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& item);
  // Adds after `delay` (now when it is not positive); an item already waiting keeps the earlier
  // of both times.
  void addAfter(const std::string& item, std::chrono::nanoseconds delay);
  // Adds after the rate limiter's delay for this item (counts a retry).
  void addRateLimited(const std::string& item);
  // Clears the item's failure history in the rate limiter.
  void forget(const std::string& item);
  int numRequeues(const std::string& item) const;

  // Blocks until an item is ready (and marks it processing) or the queue shuts down (nullopt).
  std::optional<std::string> get();
  // Ends processing of an item from get(); re-queues it if it was added meanwhile.
  void done(const std::string& item);

  void shutDown();
  bool shuttingDown() const;

  std::size_t len() const;         // items ready to be taken
  std::size_t delayedLen() const;  // items waiting for their time

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Delayed {
    TimePoint readyAt;
    std::uint64_t sequence;
    std::string item;
    bool operator>(const Delayed& other) const {
      return readyAt != other.readyAt ? readyAt > other.readyAt : sequence > other.sequence;
    }
  };
  void runDelays(std::stop_token stop);
  void pushLocked(const std::string& item);

  std::string name_;
  std::shared_ptr<RateLimiter> rateLimiter_;
  Gauge* depth_ = nullptr;
  Counter* adds_ = nullptr;
  Counter* retries_ = nullptr;
  Histogram* queueDuration_ = nullptr;
  Histogram* workDuration_ = nullptr;

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_set<std::string> processing_;
  std::unordered_map<std::string, TimePoint> addedAt_;
  std::unordered_map<std::string, TimePoint> startedAt_;
  bool shuttingDown_ = false;

  mutable std::mutex delayMutex_;
  std::condition_variable_any delayChanged_;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> delayed_;
  std::unordered_map<std::string, TimePoint> delayedReadyAt_;
  std::uint64_t delaySequence_ = 0;
  bool delaysChanged_ = false;
  std::jthread delayThread_;
};

}  // namespace billing::runtime
