#include "operator/runtime/workqueue.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <map>
#include <thread>

#include "test_support.h"

namespace billing::runtime {
namespace {

using testing::kWait;

TEST(WorkQueueTest, AddingAKeyTwiceBeforeItIsTakenQueuesItOnce) {
  WorkQueue queue;
  queue.add("a");
  queue.add("b");
  queue.add("a");
  queue.add("a");
  EXPECT_EQ(queue.len(), 2u);
  EXPECT_EQ(queue.get(), "a");
  EXPECT_EQ(queue.get(), "b");
  EXPECT_EQ(queue.len(), 0u);
}

TEST(WorkQueueTest, KeyAddedWhileProcessingComesBackOnlyAfterDone) {
  WorkQueue queue;
  queue.add("a");
  ASSERT_EQ(queue.get(), "a");
  queue.add("a");
  queue.add("a");
  EXPECT_EQ(queue.len(), 0u) << "a is being processed; no second worker may take it";
  queue.done("a");
  EXPECT_EQ(queue.len(), 1u);
  EXPECT_EQ(queue.get(), "a");
  queue.done("a");
  EXPECT_EQ(queue.len(), 0u);
}

TEST(WorkQueueTest, ShutDownStopsHandingOutWorkEvenWithItemsWaiting) {
  WorkQueue queue;
  queue.add("a");
  queue.add("b");
  std::optional<std::string> blocked = "unset";
  std::thread waiter;
  {
    WorkQueue empty;
    waiter = std::thread([&] { blocked = empty.get(); });
    empty.shutDown();
    waiter.join();
  }
  EXPECT_EQ(blocked, std::nullopt);
  queue.shutDown();
  EXPECT_EQ(queue.get(), std::nullopt);
  queue.add("c");
  EXPECT_EQ(queue.len(), 2u);
}

TEST(WorkQueueTest, AddAfterDeliversNoEarlierThanAskedAndKeepsTheEarliestTime) {
  WorkQueue queue;
  const auto start = std::chrono::steady_clock::now();
  queue.addAfter("late", std::chrono::milliseconds(5000));
  queue.addAfter("late", std::chrono::milliseconds(40));  // earlier time wins
  queue.addAfter("late", std::chrono::milliseconds(8000));
  EXPECT_EQ(queue.delayedLen(), 1u);
  EXPECT_EQ(queue.len(), 0u);
  const auto item = queue.get();
  EXPECT_EQ(item, "late");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(40));
  EXPECT_EQ(queue.delayedLen(), 0u);
}

TEST(WorkQueueTest, FourWorkersNeverHoldTheSameKeyAtOnce) {
  WorkQueue queue;
  constexpr int kKeys = 5;
  std::array<std::atomic<int>, kKeys> inFlight{};
  std::array<std::atomic<int>, kKeys> processed{};
  std::atomic<int> maxPerKey{0};
  testing::Signal signal;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto item = queue.get()) {
        const int key = std::stoi(*item);
        const int now = ++inFlight[key];
        int seen = maxPerKey.load();
        while (now > seen && !maxPerKey.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --inFlight[key];
        ++processed[key];
        queue.done(*item);
        signal.notify();
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) queue.add(std::to_string(i % kKeys));
    });
  }
  for (auto& producer : producers) producer.join();
  // Every key is processed at least once after its last add.
  EXPECT_TRUE(signal.waitUntil([&] {
    if (queue.len() != 0) return false;
    for (const auto& count : processed) {
      if (count == 0) return false;
    }
    return true;
  }));
  queue.shutDown();
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(maxPerKey.load(), 1);
}

TEST(WorkQueueTest, MetricsCountAddsRetriesDepthAndDurations) {
  auto registry = std::make_shared<Registry>();
  RuntimeMetrics metrics(registry);
  WorkQueueOptions options;
  options.name = "projects";
  options.metrics = &metrics;
  options.rateLimiter = std::make_shared<ItemExponentialFailureRateLimiter>(
      std::chrono::milliseconds(1), std::chrono::milliseconds(1));
  WorkQueue queue(options);
  queue.add("a");
  queue.add("a");
  queue.add("b");
  EXPECT_EQ(metrics.workqueueAdds.withLabels({"projects"}).value(), 2);
  EXPECT_EQ(metrics.workqueueDepth.withLabels({"projects"}).value(), 2);
  ASSERT_EQ(queue.get(), "a");
  EXPECT_EQ(metrics.workqueueDepth.withLabels({"projects"}).value(), 1);
  queue.done("a");
  queue.addRateLimited("a");
  EXPECT_EQ(metrics.workqueueRetries.withLabels({"projects"}).value(), 1);
  ASSERT_EQ(queue.get(), "b");
  ASSERT_EQ(queue.get(), "a");
  EXPECT_EQ(metrics.workqueueQueueDuration.withLabels({"projects"}).snapshot().count, 3u);
  EXPECT_EQ(metrics.workqueueWorkDuration.withLabels({"projects"}).snapshot().count, 1u);
}

}  // namespace
}  // namespace billing::runtime
