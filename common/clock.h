// Time as the operator reads it: a steady clock for durations, deadlines, rate limits and lease
// expiry; the wall clock for what is written into objects (Lease renewTime, Event eventTime),
// credential expiry and logs; and sleeps that a stop_token interrupts. Injectable, so that tests
// prove "waited at least Retry-After" or "the lease expired after 15 s" without sleeping.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

namespace billing::common {

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic time for durations and deadlines.
  virtual std::chrono::steady_clock::time_point now() const = 0;
  // Wall time.
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
  // Waits for `duration`; false when `stop` was requested first (at once if it already was).
  virtual bool sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override;
  std::chrono::system_clock::time_point wallNow() const override;
  bool sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) const override;
};

// One SystemClock shared by everything that was not given another clock.
const std::shared_ptr<Clock>& systemClock();

// A clock that moves only when told to, for tests; thread-safe. sleepFor() returns at once, moves
// the clock forward by the duration and records it.
class ManualClock final : public Clock {
 public:
  // The wall clock starts at 2024-05-01T10:00:00Z unless given.
  ManualClock();
  explicit ManualClock(std::chrono::system_clock::time_point wallStart);

  std::chrono::steady_clock::time_point now() const override;
  std::chrono::system_clock::time_point wallNow() const override;
  bool sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) const override;

  // Moves both clocks forward.
  void advance(std::chrono::nanoseconds by);
  void setWall(std::chrono::system_clock::time_point wall);
  // Every sleepFor() duration so far, and their sum.
  std::vector<std::chrono::nanoseconds> sleeps() const;
  std::chrono::nanoseconds totalSlept() const;

 private:
  void advanceLocked(std::chrono::nanoseconds by) const;

  mutable std::mutex mutex_;
  mutable std::chrono::steady_clock::time_point steady_;
  mutable std::chrono::system_clock::time_point wall_;
  mutable std::vector<std::chrono::nanoseconds> sleeps_;
};

// Kubernetes MicroTime, RFC 3339 in UTC with exactly six fractional digits:
// "2024-05-01T10:00:00.123456Z".
std::string formatMicroTime(std::chrono::system_clock::time_point time);

}  // namespace billing::common
