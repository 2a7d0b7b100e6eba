// The shared clock and token bucket (common/clock.h, common/token_bucket.h) that the client's
// request limiter and the runtime's work-queue limiter and leases both stand on.
#include "common/clock.h"

#include <gtest/gtest.h>

#include <stop_token>
#include <thread>

#include "common/token_bucket.h"

namespace billing::common {
namespace {

using namespace std::chrono_literals;

TEST(ManualClockTest, SleepsReturnAtOnceMoveTimeAndAreRecorded) {
  ManualClock clock;
  const auto steady = clock.now();
  const auto wall = clock.wallNow();
  EXPECT_EQ(formatMicroTime(wall), "2024-05-01T10:00:00.000000Z");
  EXPECT_TRUE(clock.sleepFor(3s, {}));
  EXPECT_TRUE(clock.sleepFor(500ms, {}));
  EXPECT_EQ(clock.now() - steady, 3500ms);
  EXPECT_EQ(clock.wallNow() - wall, 3500ms);
  EXPECT_EQ(clock.sleeps(), (std::vector<std::chrono::nanoseconds>{3s, 500ms}));
  EXPECT_EQ(clock.totalSlept(), 3500ms);
  std::stop_source stopped;
  stopped.request_stop();
  EXPECT_FALSE(clock.sleepFor(1s, stopped.get_token()));
  EXPECT_EQ(clock.sleeps().size(), 2u);
}

TEST(SystemClockTest, AStopRequestEndsASleepEarly) {
  std::stop_source stop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(50ms);
    stop.request_stop();
  });
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(systemClock()->sleepFor(30s, stop.get_token()));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_TRUE(systemClock()->sleepFor(1ms, {}));
}

TEST(TokenBucketTest, BurstThenOneTokenPerIntervalWithReservations) {
  ManualClock clock;
  TokenBucket bucket(2, 3, clock.now());  // 2 per second, burst 3
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.take(clock.now()), 0ns);
  EXPECT_EQ(bucket.take(clock.now()), 500ms);   // the fourth waits for its token
  EXPECT_EQ(bucket.take(clock.now()), 1000ms);  // the fifth queues behind it
  bucket.giveBack(clock.now());                 // the fifth gave up
  EXPECT_EQ(bucket.take(clock.now()), 1000ms);
  clock.advance(10s);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(bucket.take(clock.now()), 0ns) << "refilled to burst";
  EXPECT_GT(bucket.take(clock.now()), 0ns);
}

TEST(TokenBucketTest, ZeroRateNeverWaits) {
  ManualClock clock;
  TokenBucket bucket(0, 1, clock.now());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(bucket.take(clock.now()), 0ns);
}

}  // namespace
}  // namespace billing::common
