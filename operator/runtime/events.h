// Kubernetes Events (events.k8s.io/v1) for users to read with `kubectl describe` / `kubectl
// events`. Recording is asynchronous: event() returns at once and a sender thread writes.
//
// Aggregation, as Kubernetes' recorders do it: the same action, reason, type and note about the
// same object within seriesWindow (6 min) is one Event whose series.count grows (a merge patch of
// `series`) instead of a new Event each time. Repeats that arrive before the sender got to the
// previous write are coalesced into one write. Each object gets a token bucket (burst 25, then one
// new write per 5 minutes, like client-go's spam filter); writes beyond it are dropped, though the
// count of a series keeps growing and is written with its next accepted write.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/clock.h"
#include "operator/kube/client.h"
#include "operator/runtime/log.h"

namespace billing::runtime {

kube::ResourceRef eventResource();

enum class EventType { Normal, Warning };

struct EventRecorderOptions {
  std::string reportingController = "billing.operator.dev/billing-operator";
  std::string reportingInstance;  // the pod name; required by the API
  std::chrono::milliseconds seriesWindow{std::chrono::minutes(6)};
  int burstPerObject = 25;
  double refillPerSecondPerObject = 1.0 / 300.0;
  std::size_t maxQueued = 1000;  // beyond it, new events are dropped
  std::size_t maxCached = 4096;  // series remembered for aggregation
  Logger logger;
  const common::Clock* clock = nullptr;  // default: *common::systemClock()
};

class EventRecorder {
 public:
  EventRecorder(kube::Client& client, EventRecorderOptions options);
  // Stops the sender; events not yet written are dropped (call flush() first to keep them).
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // `regarding` is the object the event is about (apiVersion, kind and metadata are read).
  // `reason` is CamelCase ("InvoiceFinalized"), `action` what was done ("Reconcile"), `note` a
  // human-readable sentence (at most 1 kB is kept). Thread-safe, non-blocking.
  void event(const web::json::value& regarding, EventType type, std::string_view reason,
             std::string_view action, std::string_view note);

  // Waits until everything recorded so far is written (or failed); false on timeout.
  bool flush(std::chrono::milliseconds timeout);
  // Stops the sender thread; later events are dropped. Idempotent.
  void stop();

  std::uint64_t dropped() const;

 private:
  struct Series {
    std::string objectKey;  // the rate-limit bucket
    std::string name;
    std::string ns;
    web::json::value event;
    std::int64_t count = 1;
    std::chrono::steady_clock::time_point lastObserved;
    std::string lastObservedWall;
    bool created = false;
    bool queued = false;
  };
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  bool takeTokenLocked(const std::string& objectKey, std::chrono::steady_clock::time_point now);
  std::string uniqueNameLocked(const std::string& objectName);
  void evictLocked(std::chrono::steady_clock::time_point now);
  void runSender();

  kube::Client& client_;
  EventRecorderOptions options_;
  const common::Clock& clock_;
  Logger log_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::unordered_map<std::string, Series> series_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::deque<std::string> pending_;
  std::size_t inFlight_ = 0;
  std::uint64_t dropped_ = 0;
  std::int64_t lastNameNanos_ = 0;
  bool stopping_ = false;
  std::thread sender_;
};

}  // namespace billing::runtime
