// The arithmetic of a token bucket with reservations (golang.org/x/time/rate, client-go's
// flowcontrol): `burst` tokens refilled at `rate` per second; taking a token when none is left
// drives the count negative and says how long the taker must wait for its token. Not
// thread-safe and never waits: the client's request limiter and the work queue's retry limiter
// wrap it with their own lock and their own way of waiting.
#pragma once

#include <chrono>

namespace billing::common {

class TokenBucket {
 public:
  // The bucket starts full. rate <= 0: taking never waits.
  TokenBucket(double rate, double burst, std::chrono::steady_clock::time_point now);

  // Takes one token; how long until it is available (zero when it is now).
  std::chrono::nanoseconds take(std::chrono::steady_clock::time_point now);
  // Returns a token taken by a caller that gave up waiting, so later takers need not wait for it.
  void giveBack(std::chrono::steady_clock::time_point now);

 private:
  void refill(std::chrono::steady_clock::time_point now);

  double rate_;
  double burst_;
  double tokens_;  // negative: takers are waiting for tokens not yet there
  std::chrono::steady_clock::time_point last_;
};

}  // namespace billing::common
