#include "operator/runtime/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace billing::runtime {

ItemExponentialFailureRateLimiter::ItemExponentialFailureRateLimiter(std::chrono::nanoseconds base,
                                                                     std::chrono::nanoseconds max)
    : base_(base), max_(max) {}

std::chrono::nanoseconds ItemExponentialFailureRateLimiter::when(const std::string& item) {
  int exponent = 0;
  {
    std::lock_guard lock(mutex_);
    exponent = failures_[item]++;
  }
  // In floating point, so large exponents saturate at max instead of overflowing.
  const double delay = static_cast<double>(base_.count()) * std::pow(2.0, exponent);
  if (delay >= static_cast<double>(max_.count())) return max_;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(delay));
}

void ItemExponentialFailureRateLimiter::forget(const std::string& item) {
  std::lock_guard lock(mutex_);
  failures_.erase(item);
}

int ItemExponentialFailureRateLimiter::numRequeues(const std::string& item) const {
  std::lock_guard lock(mutex_);
  const auto found = failures_.find(item);
  return found == failures_.end() ? 0 : found->second;
}

BucketRateLimiter::BucketRateLimiter(double perSecond, int burst, const common::Clock& clock)
    : clock_(clock), bucket_(perSecond, static_cast<double>(burst), clock.now()) {}

std::chrono::nanoseconds BucketRateLimiter::when(const std::string&) {
  std::lock_guard lock(mutex_);
  return bucket_.take(clock_.now());
}

MaxOfRateLimiter::MaxOfRateLimiter(std::vector<std::shared_ptr<RateLimiter>> limiters)
    : limiters_(std::move(limiters)) {}

std::chrono::nanoseconds MaxOfRateLimiter::when(const std::string& item) {
  std::chrono::nanoseconds longest{0};
  for (const auto& limiter : limiters_) longest = std::max(longest, limiter->when(item));
  return longest;
}

void MaxOfRateLimiter::forget(const std::string& item) {
  for (const auto& limiter : limiters_) limiter->forget(item);
}

int MaxOfRateLimiter::numRequeues(const std::string& item) const {
  int most = 0;
  for (const auto& limiter : limiters_) most = std::max(most, limiter->numRequeues(item));
  return most;
}

std::shared_ptr<RateLimiter> defaultControllerRateLimiter(ControllerRateLimiterOptions options,
                                                          const common::Clock& clock) {
  return std::make_shared<MaxOfRateLimiter>(std::vector<std::shared_ptr<RateLimiter>>{
      std::make_shared<ItemExponentialFailureRateLimiter>(options.baseDelay, options.maxDelay),
      std::make_shared<BucketRateLimiter>(options.perSecond, options.burst, clock)});
}

}  // namespace billing::runtime
