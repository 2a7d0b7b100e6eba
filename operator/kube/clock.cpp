#include "operator/kube/clock.h"

#include <condition_variable>
#include <mutex>

namespace billing::kube {

std::chrono::steady_clock::time_point SystemClock::now() const {
  return std::chrono::steady_clock::now();
}

std::chrono::system_clock::time_point SystemClock::wallNow() const {
  return std::chrono::system_clock::now();
}

bool SystemClock::sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) {
  if (stop.stop_requested()) return false;
  if (duration <= std::chrono::nanoseconds::zero()) return true;
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  // Nothing notifies `wake`: the wait ends after `duration` or when `stop` is requested.
  wake.wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

std::shared_ptr<Clock> systemClock() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SystemClock>();
  return clock;
}

}  // namespace billing::kube
