#include "operator/kube/rate_limiter.h"

#include <algorithm>
#include <cassert>
#include <chrono>

namespace billing::kube {

TokenBucketRateLimiter::TokenBucketRateLimiter(double qps, int burst, std::shared_ptr<Clock> clock)
    : qps_(qps),
      burst_(static_cast<double>(std::max(burst, 1))),
      clock_(std::move(clock)),
      tokens_(burst_),
      last_(clock_->now()) {
  assert(qps > 0);
}

void TokenBucketRateLimiter::refill(std::chrono::steady_clock::time_point now) {
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
  last_ = now;
}

bool TokenBucketRateLimiter::acquire(std::stop_token stop) {
  if (stop.stop_requested()) return false;
  std::chrono::duration<double> wait{0};
  {
    std::lock_guard lock(mutex_);
    refill(clock_->now());
    tokens_ -= 1;
    if (tokens_ < 0) wait = std::chrono::duration<double>(-tokens_ / qps_);
  }
  if (wait.count() <= 0) return true;
  if (clock_->sleepFor(std::chrono::duration_cast<std::chrono::nanoseconds>(wait), stop)) {
    return true;
  }
  // Give the reservation back so that the requests queued behind this one do not wait for it.
  std::lock_guard lock(mutex_);
  refill(clock_->now());
  tokens_ = std::min(burst_, tokens_ + 1);
  return false;
}

}  // namespace billing::kube
