#include "operator/runtime/clock.h"

#include <cstdio>
#include <ctime>

namespace billing::runtime {

namespace {

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace

const Clock& systemClock() {
  static const SystemClock clock;
  return clock;
}

ManualClock::ManualClock()
    : steady_(std::chrono::steady_clock::time_point{} + std::chrono::hours(1)),
      wall_(std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + std::chrono::hours(10)) {}

std::chrono::steady_clock::time_point ManualClock::now() const {
  std::lock_guard lock(mutex_);
  return steady_;
}

std::chrono::system_clock::time_point ManualClock::wallNow() const {
  std::lock_guard lock(mutex_);
  return wall_;
}

void ManualClock::advance(std::chrono::nanoseconds by) {
  std::lock_guard lock(mutex_);
  steady_ += by;
  wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
}

void ManualClock::setWall(std::chrono::system_clock::time_point wall) {
  std::lock_guard lock(mutex_);
  wall_ = wall;
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

}  // namespace billing::runtime
