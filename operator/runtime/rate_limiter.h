// Rate limiters for the work queue, as client-go's util/workqueue has them. The controller
// default is the larger of a per-item exponential backoff (5 ms doubling to 1000 s) and an overall
// token bucket (10 per second, bursts of 100), so one failing object backs off on its own while a
// storm of failures cannot hammer the API server.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/token_bucket.h"

namespace billing::runtime {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // How long the item should wait before its next attempt; counts a failure.
  virtual std::chrono::nanoseconds when(const std::string& item) = 0;
  // The item succeeded: forget its failures.
  virtual void forget(const std::string& item) = 0;
  virtual int numRequeues(const std::string& item) const = 0;
};

// base * 2^failures, capped at max.
class ItemExponentialFailureRateLimiter final : public RateLimiter {
 public:
  ItemExponentialFailureRateLimiter(std::chrono::nanoseconds base, std::chrono::nanoseconds max);
  std::chrono::nanoseconds when(const std::string& item) override;
  void forget(const std::string& item) override;
  int numRequeues(const std::string& item) const override;

 private:
  std::chrono::nanoseconds base_;
  std::chrono::nanoseconds max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int> failures_;
};

// A token bucket shared by all items (golang.org/x/time/rate's reservations): each call takes a
// token and waits until it would have been available.
class BucketRateLimiter final : public RateLimiter {
 public:
  BucketRateLimiter(double perSecond, int burst,
                    const common::Clock& clock = *common::systemClock());
  std::chrono::nanoseconds when(const std::string& item) override;
  void forget(const std::string&) override {}
  int numRequeues(const std::string&) const override { return 0; }

 private:
  const common::Clock& clock_;
  std::mutex mutex_;
  common::TokenBucket bucket_;  // guarded by mutex_
};

// The longest delay of its limiters.
class MaxOfRateLimiter final : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::shared_ptr<RateLimiter>> limiters);
  std::chrono::nanoseconds when(const std::string& item) override;
  void forget(const std::string& item) override;
  int numRequeues(const std::string& item) const override;

 private:
  std::vector<std::shared_ptr<RateLimiter>> limiters_;
};

struct ControllerRateLimiterOptions {
  std::chrono::nanoseconds baseDelay = std::chrono::milliseconds(5);
  std::chrono::nanoseconds maxDelay = std::chrono::seconds(1000);
  double perSecond = 10;
  int burst = 100;
};

// controller-runtime's default: MaxOf(ItemExponentialFailure(5 ms, 1000 s), Bucket(10, 100)).
std::shared_ptr<RateLimiter> defaultControllerRateLimiter(
    ControllerRateLimiterOptions options = {}, const common::Clock& clock = *common::systemClock());

}  // namespace billing::runtime
