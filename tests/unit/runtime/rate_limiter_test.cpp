#include "operator/runtime/rate_limiter.h"

#include <gtest/gtest.h>

#include "operator/runtime/backoff.h"

namespace billing::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(RateLimiterTest, PerItemBackoffDoublesFromFiveMillisecondsAndCapsAtThousandSeconds) {
  ItemExponentialFailureRateLimiter limiter(milliseconds(5), seconds(1000));
  EXPECT_EQ(limiter.when("a"), milliseconds(5));
  EXPECT_EQ(limiter.when("a"), milliseconds(10));
  EXPECT_EQ(limiter.when("a"), milliseconds(20));
  EXPECT_EQ(limiter.when("a"), milliseconds(40));
  EXPECT_EQ(limiter.numRequeues("a"), 4);
  // Other items have their own history.
  EXPECT_EQ(limiter.when("b"), milliseconds(5));
  // 5 ms * 2^17 = 655.36 s, then 1310.72 s is capped.
  for (int i = 4; i < 17; ++i) limiter.when("a");
  EXPECT_EQ(limiter.when("a"), nanoseconds(655360000000));
  EXPECT_EQ(limiter.when("a"), seconds(1000));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.when("a"), seconds(1000));
  limiter.forget("a");
  EXPECT_EQ(limiter.numRequeues("a"), 0);
  EXPECT_EQ(limiter.when("a"), milliseconds(5));
}

TEST(RateLimiterTest, BucketAllowsBurstThenTenPerSecond) {
  common::ManualClock clock;
  BucketRateLimiter bucket(10, 100, clock);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(bucket.when("x"), nanoseconds(0)) << i;
  EXPECT_EQ(bucket.when("x"), milliseconds(100));
  EXPECT_EQ(bucket.when("y"), milliseconds(200));  // shared by all items
  clock.advance(seconds(1));                       // 10 tokens back, 2 owed
  for (int i = 0; i < 8; ++i) ASSERT_EQ(bucket.when("x"), nanoseconds(0)) << i;
  EXPECT_EQ(bucket.when("x"), milliseconds(100));
  clock.advance(seconds(3600));  // refills to the burst, not beyond
  for (int i = 0; i < 100; ++i) ASSERT_EQ(bucket.when("x"), nanoseconds(0)) << i;
  EXPECT_GT(bucket.when("x"), nanoseconds(0));
}

TEST(RateLimiterTest, ControllerDefaultIsTheLargerOfBothLimiters) {
  common::ManualClock clock;
  auto limiter = defaultControllerRateLimiter({}, clock);
  EXPECT_EQ(limiter->when("a"), milliseconds(5));
  EXPECT_EQ(limiter->when("a"), milliseconds(10));
  // Exhaust the bucket with other items: the bucket's wait now dominates a fresh item's 5 ms.
  for (int i = 0; i < 98; ++i) limiter->when("item-" + std::to_string(i));
  EXPECT_EQ(limiter->when("fresh"), milliseconds(100));
  EXPECT_EQ(limiter->numRequeues("a"), 2);
  limiter->forget("a");
  EXPECT_EQ(limiter->numRequeues("a"), 0);
}

TEST(BackoffTest, DoublesFrom800MillisecondsToThirtySecondsWithoutJitter) {
  BackoffOptions options;
  options.jitter = 0;
  Backoff backoff(options, 1);
  const auto start = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  std::vector<std::int64_t> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(backoff.next(start + seconds(i)).count());
  EXPECT_EQ(delays, (std::vector<std::int64_t>{800, 1600, 3200, 6400, 12800, 25600, 30000, 30000}));
}

TEST(BackoffTest, ForgetsFailuresAfterAHealthyPeriod) {
  BackoffOptions options;
  options.jitter = 0;
  Backoff backoff(options, 1);
  const auto start = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  backoff.next(start);
  backoff.next(start + seconds(1));
  EXPECT_EQ(backoff.next(start + seconds(2)), milliseconds(3200));
  // Healthy for longer than resetAfter (120 s): back to the start.
  EXPECT_EQ(backoff.next(start + seconds(200)), milliseconds(800));
}

TEST(BackoffTest, JitterStaysWithinItsBoundsAndTheCap) {
  BackoffOptions options;
  options.jitter = 0.2;
  Backoff backoff(options, 42);
  const auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  double nominal = 800;
  for (int i = 0; i < 20; ++i) {
    const auto delay = static_cast<double>(backoff.next(now).count());
    EXPECT_GE(delay, nominal * 0.8 - 1) << i;
    EXPECT_LE(delay, std::min(nominal * 1.2, 30000.0)) << i;
    nominal = std::min(nominal * 2, 30000.0);
  }
}

}  // namespace
}  // namespace billing::runtime
