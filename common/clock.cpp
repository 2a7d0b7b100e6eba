#include "common/clock.h"

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace billing::common {

std::chrono::steady_clock::time_point SystemClock::now() const {
  return std::chrono::steady_clock::now();
}

std::chrono::system_clock::time_point SystemClock::wallNow() const {
  return std::chrono::system_clock::now();
}

bool SystemClock::sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) const {
  if (stop.stop_requested()) return false;
  if (duration <= std::chrono::nanoseconds::zero()) return true;
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  // Nothing notifies `wake`: the wait ends after `duration` or when `stop` is requested.
  wake.wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

const std::shared_ptr<Clock>& systemClock() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SystemClock>();
  return clock;
}

ManualClock::ManualClock()
    : ManualClock(std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + std::chrono::hours(10)) {
}

ManualClock::ManualClock(std::chrono::system_clock::time_point wallStart)
    : steady_(std::chrono::steady_clock::time_point{} + std::chrono::hours(1)), wall_(wallStart) {}

std::chrono::steady_clock::time_point ManualClock::now() const {
  std::lock_guard lock(mutex_);
  return steady_;
}

std::chrono::system_clock::time_point ManualClock::wallNow() const {
  std::lock_guard lock(mutex_);
  return wall_;
}

bool ManualClock::sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) const {
  if (stop.stop_requested()) return false;
  std::lock_guard lock(mutex_);
  sleeps_.push_back(duration);
  if (duration > std::chrono::nanoseconds::zero()) advanceLocked(duration);
  return true;
}

void ManualClock::advance(std::chrono::nanoseconds by) {
  std::lock_guard lock(mutex_);
  advanceLocked(by);
}

void ManualClock::advanceLocked(std::chrono::nanoseconds by) const {
  steady_ += by;
  wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
}

void ManualClock::setWall(std::chrono::system_clock::time_point wall) {
  std::lock_guard lock(mutex_);
  wall_ = wall;
}

std::vector<std::chrono::nanoseconds> ManualClock::sleeps() const {
  std::lock_guard lock(mutex_);
  return sleeps_;
}

std::chrono::nanoseconds ManualClock::totalSlept() const {
  std::lock_guard lock(mutex_);
  std::chrono::nanoseconds total{0};
  for (auto sleep : sleeps_) total += sleep;
  return total;
}

std::string formatMicroTime(std::chrono::system_clock::time_point time) {
  const auto micros =
      std::chrono::floor<std::chrono::microseconds>(time.time_since_epoch()).count();
  std::int64_t seconds = micros / 1000000;
  std::int64_t fraction = micros % 1000000;
  if (fraction < 0) {
    fraction += 1000000;
    seconds -= 1;
  }
  const std::time_t asTimeT = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&asTimeT, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>(fraction));
  return buffer;
}

}  // namespace billing::common
