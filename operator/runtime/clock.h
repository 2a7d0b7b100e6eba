// Time as the runtime reads it. Decisions that depend on time (token buckets, lease expiry, event
// series windows) read a Clock so tests can move time by hand; waiting itself always uses the
// real steady clock with short, configurable intervals.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

namespace billing::runtime {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time for durations and deadlines.
  virtual std::chrono::steady_clock::time_point now() const = 0;
  // Wall time for what is written into objects (Lease renewTime, Event eventTime) and logs.
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
};

// The process clocks.
const Clock& systemClock();

// A clock that moves only when told to; thread-safe.
class ManualClock final : public Clock {
 public:
  ManualClock();
  std::chrono::steady_clock::time_point now() const override;
  std::chrono::system_clock::time_point wallNow() const override;
  // Moves both clocks forward.
  void advance(std::chrono::nanoseconds by);
  void setWall(std::chrono::system_clock::time_point wall);

 private:
  mutable std::mutex mutex_;
  std::chrono::steady_clock::time_point steady_;
  std::chrono::system_clock::time_point wall_;
};

// Kubernetes MicroTime, RFC 3339 in UTC with exactly six fractional digits:
// "2024-05-01T10:00:00.123456Z".
std::string formatMicroTime(std::chrono::system_clock::time_point time);

}  // namespace billing::runtime
