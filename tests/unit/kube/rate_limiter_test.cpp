#include "operator/kube/rate_limiter.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/unit/kube/test_support.h"

namespace billing::kube {
namespace {

using testing::FakeClock;
using namespace std::chrono_literals;

TEST(TokenBucketTest, TheBurstPassesAtOnceThenOnePerInterval) {
  auto clock = std::make_shared<FakeClock>();
  TokenBucketRateLimiter limiter(2, 3, clock);  // 2 per second, burst 3
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.acquire({}));
  EXPECT_TRUE(clock->sleeps().empty());
  ASSERT_TRUE(limiter.acquire({}));
  ASSERT_EQ(clock->sleeps().size(), 1u);
  EXPECT_NEAR(std::chrono::duration<double>(clock->sleeps()[0]).count(), 0.5, 1e-6);
  ASSERT_TRUE(limiter.acquire({}));
  EXPECT_NEAR(std::chrono::duration<double>(clock->sleeps()[1]).count(), 0.5, 1e-6);
}

TEST(TokenBucketTest, SustainedRateIsQps) {
  auto clock = std::make_shared<FakeClock>();
  TokenBucketRateLimiter limiter(20, 30, clock);  // controller-runtime's defaults
  const auto start = clock->now();
  for (int i = 0; i < 230; ++i) ASSERT_TRUE(limiter.acquire({}));
  // 30 from the bucket, then 200 at 20 per second.
  EXPECT_NEAR(std::chrono::duration<double>(clock->now() - start).count(), 10.0, 1e-3);
}

TEST(TokenBucketTest, IdleTimeRefillsUpToTheBurstOnly) {
  auto clock = std::make_shared<FakeClock>();
  TokenBucketRateLimiter limiter(1, 2, clock);
  ASSERT_TRUE(limiter.acquire({}));
  ASSERT_TRUE(limiter.acquire({}));
  clock->advance(1h);
  const auto before = clock->sleeps().size();
  ASSERT_TRUE(limiter.acquire({}));
  ASSERT_TRUE(limiter.acquire({}));
  EXPECT_EQ(clock->sleeps().size(), before);
  ASSERT_TRUE(limiter.acquire({}));
  EXPECT_EQ(clock->sleeps().size(), before + 1);
}

TEST(TokenBucketTest, QueuedCallersWaitBehindEachOther) {
  // A clock whose sleeps do not move time: each caller reserves behind the previous one, so the
  // waits grow by 1/qps each.
  auto clock = std::make_shared<FakeClock>();
  class NoSleepClock final : public common::Clock {
   public:
    explicit NoSleepClock(std::shared_ptr<FakeClock> inner) : inner_(std::move(inner)) {}
    std::chrono::steady_clock::time_point now() const override { return inner_->now(); }
    std::chrono::system_clock::time_point wallNow() const override { return inner_->wallNow(); }
    bool sleepFor(std::chrono::nanoseconds duration, std::stop_token) const override {
      waits.push_back(duration);
      return true;
    }
    mutable std::vector<std::chrono::nanoseconds> waits;

   private:
    std::shared_ptr<FakeClock> inner_;
  };
  auto frozen = std::make_shared<NoSleepClock>(clock);
  TokenBucketRateLimiter queued(10, 1, frozen);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(queued.acquire({}));
  ASSERT_EQ(frozen->waits.size(), 3u);
  EXPECT_NEAR(std::chrono::duration<double>(frozen->waits[0]).count(), 0.1, 1e-6);
  EXPECT_NEAR(std::chrono::duration<double>(frozen->waits[1]).count(), 0.2, 1e-6);
  EXPECT_NEAR(std::chrono::duration<double>(frozen->waits[2]).count(), 0.3, 1e-6);
}

TEST(TokenBucketTest, AStopTokenEndsTheWaitAndReturnsTheReservation) {
  TokenBucketRateLimiter limiter(0.5, 1, common::systemClock());  // one token per two seconds
  ASSERT_TRUE(limiter.acquire({}));
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    stop.request_stop();
  });
  auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(limiter.acquire(stop.get_token()));
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST(TokenBucketTest, RealTimeWaitsForTheNextToken) {
  TokenBucketRateLimiter limiter(10, 1, common::systemClock());
  ASSERT_TRUE(limiter.acquire({}));
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(limiter.acquire({}));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 90ms);
}

}  // namespace
}  // namespace billing::kube
