// Time as the client sees it: a steady clock for rate limits, backoff and token-file refresh, the
// wall clock for credential expiry, and sleeps that a stop_token interrupts. Injectable so that
// tests prove "waited at least Retry-After" or "re-read the token after a minute" without
// sleeping.
#pragma once

#include <chrono>
#include <memory>
#include <stop_token>

namespace billing::kube {

class Clock {
 public:
  virtual ~Clock() = default;

  virtual std::chrono::steady_clock::time_point now() const = 0;
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
  // Waits for `duration`; false when `stop` was requested first (at once if it already was).
  virtual bool sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override;
  std::chrono::system_clock::time_point wallNow() const override;
  bool sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) override;
};

// One SystemClock shared by everything that was not given another clock.
std::shared_ptr<Clock> systemClock();

}  // namespace billing::kube
