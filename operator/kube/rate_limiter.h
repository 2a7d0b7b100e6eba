// Client-side rate limiting, as client-go's flowcontrol.NewTokenBucketRateLimiter: a bucket of
// `burst` tokens refilled at `qps` per second; each request takes one and waits when none is
// left. Requests queue behind each other (a caller that waits has reserved its token), so N
// requests after an idle period take (N - burst) / qps seconds.
#pragma once

#include <memory>
#include <mutex>
#include <stop_token>

#include "common/clock.h"
#include "common/token_bucket.h"

namespace billing::kube {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Waits for permission to send one request; false when `stop` was requested while waiting.
  virtual bool acquire(std::stop_token stop) = 0;
};

class TokenBucketRateLimiter final : public RateLimiter {
 public:
  // qps > 0, burst >= 1. The bucket starts full.
  TokenBucketRateLimiter(double qps, int burst, std::shared_ptr<common::Clock> clock);

  bool acquire(std::stop_token stop) override;

 private:
  const std::shared_ptr<common::Clock> clock_;
  std::mutex mutex_;
  common::TokenBucket bucket_;  // guarded by mutex_
};

// Lets everything through: a negative QPS in RestConfig, as in client-go.
class UnlimitedRateLimiter final : public RateLimiter {
 public:
  bool acquire(std::stop_token stop) override { return !stop.stop_requested(); }
};

}  // namespace billing::kube
