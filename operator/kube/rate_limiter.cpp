#include "operator/kube/rate_limiter.h"

#include <algorithm>
#include <cassert>
#include <chrono>

namespace billing::kube {

TokenBucketRateLimiter::TokenBucketRateLimiter(double qps, int burst,
                                               std::shared_ptr<common::Clock> clock)
    : clock_(std::move(clock)),
      bucket_(qps, static_cast<double>(std::max(burst, 1)), clock_->now()) {
  assert(qps > 0);
}

bool TokenBucketRateLimiter::acquire(std::stop_token stop) {
  if (stop.stop_requested()) return false;
  std::chrono::nanoseconds wait{0};
  {
    std::lock_guard lock(mutex_);
    wait = bucket_.take(clock_->now());
  }
  if (wait.count() <= 0) return true;
  if (clock_->sleepFor(wait, stop)) return true;
  // Give the reservation back so that the requests queued behind this one do not wait for it.
  std::lock_guard lock(mutex_);
  bucket_.giveBack(clock_->now());
  return false;
}

}  // namespace billing::kube
