#include "operator/runtime/controller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <map>
#include <thread>

#include "fake_client.h"
#include "test_support.h"

namespace billing::runtime {
namespace {

using testing::FakeApi;
using testing::Json;
using testing::kWait;
using testing::Signal;
using Clock = std::chrono::steady_clock;

// Records every reconcile: the key and when it started.
class Recorder {
 public:
  void record(const Request& request) {
    {
      std::lock_guard lock(mutex_);
      calls_.emplace_back(request.key(), Clock::now());
    }
    signal_.notify();
  }
  bool waitForCalls(std::size_t count) {
    return signal_.waitUntil([&] {
      std::lock_guard lock(mutex_);
      return calls_.size() >= count;
    });
  }
  bool waitForKey(const std::string& key) {
    return signal_.waitUntil([&] {
      std::lock_guard lock(mutex_);
      for (const auto& call : calls_) {
        if (call.first == key) return true;
      }
      return false;
    });
  }
  std::vector<std::string> keys() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> keys;
    for (const auto& call : calls_) keys.push_back(call.first);
    return keys;
  }
  std::vector<Clock::time_point> times() const {
    std::lock_guard lock(mutex_);
    std::vector<Clock::time_point> times;
    for (const auto& call : calls_) times.push_back(call.second);
    return times;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Clock::time_point>> calls_;
  Signal signal_;
};

ControllerOptions quickOptions(std::string name, RuntimeMetrics* metrics = nullptr,
                               int workers = 1) {
  ControllerOptions options;
  options.name = std::move(name);
  options.workers = workers;
  options.logger = Logger::discard();
  options.metrics = metrics;
  return options;
}

TEST(ControllerTest, KeysQueuedManyTimesBeforeStartAreReconciledOnce) {
  Recorder recorder;
  Controller controller(quickOptions("dedup"), makeReconciler([&](const Request& request) {
                          recorder.record(request);
                          return ReconcileOutcome(Result{});
                        }));
  for (int i = 0; i < 10; ++i) controller.enqueue(Request{"team", "a"});
  controller.start();
  ASSERT_TRUE(recorder.waitForKey("team/a"));
  // One worker, FIFO: any duplicate of a would come before this sentinel.
  controller.enqueue(Request{"team", "sentinel"});
  ASSERT_TRUE(recorder.waitForKey("team/sentinel"));
  EXPECT_EQ(recorder.keys(), (std::vector<std::string>{"team/a", "team/sentinel"}));
}

TEST(ControllerTest, FourWorkersNeverReconcileOneKeyConcurrently) {
  constexpr int kKeys = 6;
  std::array<std::atomic<int>, kKeys> inFlight{};
  std::array<std::atomic<int>, kKeys> done{};
  std::atomic<int> maxPerKey{0};
  std::atomic<int> running{0};
  std::atomic<int> maxRunning{0};
  std::atomic<bool> first{true};
  Signal signal;
  Controller controller(quickOptions("concurrency", nullptr, 4),
                        makeReconciler([&](const Request& request) {
                          const int key = std::stoi(request.name);
                          const int now = ++inFlight[key];
                          int seen = maxPerKey.load();
                          while (now > seen && !maxPerKey.compare_exchange_weak(seen, now)) {
                          }
                          const int all = ++running;
                          int seenAll = maxRunning.load();
                          while (all > seenAll && !maxRunning.compare_exchange_weak(seenAll, all)) {
                          }
                          signal.notify();
                          // The first reconcile holds on until another worker runs too, so the
                          // workers provably overlap.
                          if (first.exchange(false)) signal.waitUntil([&] { return running >= 2; });
                          std::this_thread::sleep_for(std::chrono::microseconds(200));
                          --running;
                          --inFlight[key];
                          ++done[key];
                          signal.notify();
                          return ReconcileOutcome(Result{});
                        }));
  controller.start();
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        controller.enqueue(Request{"ns", std::to_string(i % kKeys)});
        if (i % 10 == 0) std::this_thread::yield();
      }
    });
  }
  for (auto& producer : producers) producer.join();
  ASSERT_TRUE(signal.waitUntil([&] {
    for (const auto& count : done) {
      if (count == 0) return false;
    }
    return true;
  }));
  EXPECT_TRUE(controller.stop(Clock::now() + kWait));
  EXPECT_EQ(maxPerKey.load(), 1);
  EXPECT_GE(maxRunning.load(), 2);
}

TEST(ControllerTest, ErrorsRetryWithGrowingBackoffAndSuccessForgetsTheHistory) {
  Recorder recorder;
  std::atomic<int> calls{0};
  Controller controller(
      quickOptions("backoff"), makeReconciler([&](const Request& request) {
        recorder.record(request);
        if (++calls <= 4) return ReconcileOutcome(std::unexpected(ReconcileError{"backend down"}));
        return ReconcileOutcome(Result{});
      }));
  controller.start();
  controller.enqueue(Request{"t", "x"});
  ASSERT_TRUE(recorder.waitForCalls(5));
  const auto times = recorder.times();
  // 5, 10, 20, 40 ms: each retry waits at least its backoff.
  const std::array<int, 4> minimumMs{5, 10, 20, 40};
  for (std::size_t i = 0; i < minimumMs.size(); ++i) {
    EXPECT_GE(times[i + 1] - times[i], std::chrono::milliseconds(minimumMs[i])) << i;
  }
  controller.stop(Clock::now() + kWait);
  EXPECT_EQ(controller.queue().numRequeues("t/x"), 0);
}

TEST(ControllerTest, RequeueAfterComesBackAfterTheDelay) {
  auto registry = std::make_shared<Registry>();
  RuntimeMetrics metrics(registry);
  Recorder recorder;
  std::atomic<int> calls{0};
  Controller controller(quickOptions("later", &metrics),
                        makeReconciler([&](const Request& request) {
                          recorder.record(request);
                          if (++calls == 1) {
                            return ReconcileOutcome(Result{false, std::chrono::milliseconds(80)});
                          }
                          return ReconcileOutcome(Result{});
                        }));
  controller.start();
  controller.enqueue(Request{"t", "x"});
  ASSERT_TRUE(recorder.waitForCalls(2));
  const auto times = recorder.times();
  EXPECT_GE(times[1] - times[0], std::chrono::milliseconds(80));
  controller.stop(Clock::now() + kWait);
  EXPECT_EQ(metrics.reconcileTotal.withLabels({"later", "requeue_after"}).value(), 1);
  EXPECT_EQ(metrics.reconcileTotal.withLabels({"later", "success"}).value(), 1);
  EXPECT_EQ(metrics.reconcileErrors.withLabels({"later"}).value(), 0);
}

TEST(ControllerTest, RequeueTrueRetriesThroughTheRateLimiter) {
  auto registry = std::make_shared<Registry>();
  RuntimeMetrics metrics(registry);
  Recorder recorder;
  std::atomic<int> calls{0};
  Controller controller(quickOptions("again", &metrics),
                        makeReconciler([&](const Request& request) {
                          recorder.record(request);
                          return ReconcileOutcome(Result{++calls < 3, {}});
                        }));
  controller.start();
  controller.enqueue(Request{"t", "x"});
  ASSERT_TRUE(recorder.waitForCalls(3));
  controller.stop(Clock::now() + kWait);
  EXPECT_EQ(metrics.reconcileTotal.withLabels({"again", "requeue"}).value(), 2);
  EXPECT_EQ(metrics.workqueueRetries.withLabels({"again"}).value(), 2);
}

TEST(ControllerTest, ExceptionInReconcileFailsThatAttemptOnlyAndIsRetried) {
  auto registry = std::make_shared<Registry>();
  RuntimeMetrics metrics(registry);
  Recorder recorder;
  std::atomic<int> calls{0};
  std::vector<std::string> lines;
  std::mutex linesMutex;
  auto options = quickOptions("throws", &metrics);
  options.logger = Logger(LogConfig{LogLevel::Info, LogFormat::Json,
                                    [&](std::string_view line) {
                                      std::lock_guard lock(linesMutex);
                                      lines.emplace_back(line);
                                    },
                                    nullptr});
  Controller controller(options, makeReconciler([&](const Request& request) -> ReconcileOutcome {
                          recorder.record(request);
                          const int call = ++calls;
                          if (call == 1) throw std::runtime_error("nil pointer, so to speak");
                          if (call == 2) throw 42;
                          return Result{};
                        }));
  controller.start();
  controller.enqueue(Request{"team", "boom"});
  ASSERT_TRUE(recorder.waitForCalls(3));
  controller.stop(Clock::now() + kWait);
  EXPECT_EQ(metrics.reconcilePanics.withLabels({"throws"}).value(), 2);
  EXPECT_EQ(metrics.reconcileErrors.withLabels({"throws"}).value(), 2);
  EXPECT_EQ(metrics.reconcileTotal.withLabels({"throws", "error"}).value(), 2);
  EXPECT_EQ(metrics.reconcileTotal.withLabels({"throws", "success"}).value(), 1);
  EXPECT_EQ(metrics.reconcileTime.withLabels({"throws"}).snapshot().count, 3u);

  std::lock_guard lock(linesMutex);
  ASSERT_FALSE(lines.empty());
  // Reconciler failures are logged with the object and the attempt's reconcile id.
  const auto isPanic = [](const Json& line) {
    return stringAt(line, {"msg"}) == "Observed a panic in reconciler";
  };
  int panics = 0;
  for (const auto& text : lines) {
    const auto line = testing::parse(text);
    if (!isPanic(line)) continue;
    ++panics;
    EXPECT_EQ(stringAt(line, {"level"}), "error");
    EXPECT_EQ(stringAt(line, {"controller"}), "throws");
    EXPECT_EQ(stringAt(line, {"namespace"}), "team");
    EXPECT_EQ(stringAt(line, {"name"}), "boom");
    EXPECT_EQ(stringAt(line, {"reconcileID"}).size(), 36u);
  }
  EXPECT_EQ(panics, 2);
}

TEST(ControllerTest, CurrentReconcileDescribesTheRunningAttempt) {
  std::mutex mutex;
  std::vector<std::string> ids;
  Signal signal;
  Controller controller(
      quickOptions("context"), makeReconciler([&](const Request& request) {
        const auto* context = currentReconcile();
        {
          std::lock_guard lock(mutex);
          if (context && context->request == request && context->controller == "context") {
            ids.push_back(context->reconcileID);
          }
        }
        signal.notify();
        return ReconcileOutcome(Result{});
      }));
  EXPECT_EQ(currentReconcile(), nullptr);
  controller.start();
  controller.enqueue(Request{"a", "1"});
  controller.enqueue(Request{"a", "2"});
  ASSERT_TRUE(signal.waitUntil([&] {
    std::lock_guard lock(mutex);
    return ids.size() == 2;
  }));
  controller.stop(Clock::now() + kWait);
  EXPECT_NE(ids[0], ids[1]);
}

TEST(ControllerTest, SecondaryObjectsMapToTheirOwnersAndPredicatesFilterEvents) {
  FakeApi api;
  Informer groups(api, testing::billingGroupsResource(), "", testing::quickInformerOptions());
  Informer projects(api, testing::projectsResource(), "", testing::quickInformerOptions());
  Recorder recorder;
  Controller controller(quickOptions("groups"), makeReconciler([&](const Request& request) {
                          recorder.record(request);
                          return ReconcileOutcome(Result{});
                        }));
  controller.watchPrimary(groups, generationChanged());
  controller.watch(projects, mapToOwner("billing.operator.dev", "BillingGroup"));
  EXPECT_EQ(controller.informers().size(), 2u);
  groups.start();
  projects.start();
  controller.start();
  ASSERT_TRUE(groups.waitForSync(kWait));
  ASSERT_TRUE(projects.waitForSync(kWait));
  ASSERT_TRUE(api.waitForActiveWatches(2, kWait));

  Json group =
      api.put(testing::billingGroupsResource(),
              testing::makeObject("billing.operator.dev/v1alpha1", "BillingGroup", "t", "g"));
  ASSERT_TRUE(recorder.waitForCalls(1));

  // A status-only write keeps the generation: filtered. A project owned by g maps to g.
  group["status"] = testing::parse(R"({"projectCount":1})");
  group = api.put(testing::billingGroupsResource(), group);
  Json owned = testing::makeObject("billing.operator.dev/v1alpha1", "Project", "t", "p");
  owned["metadata"]["ownerReferences"] = testing::parse(
      R"([{"apiVersion":"billing.operator.dev/v1alpha1","kind":"BillingGroup","name":"g",)"
      R"("uid":"u","controller":true},{"apiVersion":"v1","kind":"ConfigMap","name":"cm","uid":"c"}])");
  api.put(testing::projectsResource(), owned);
  ASSERT_TRUE(recorder.waitForCalls(2));
  // A spec change bumps the generation and passes.
  group["spec"]["displayName"] = Json::string("G");
  api.put(testing::billingGroupsResource(), group);
  ASSERT_TRUE(recorder.waitForCalls(3));
  controller.enqueue(Request{"t", "sentinel"});
  ASSERT_TRUE(recorder.waitForKey("t/sentinel"));
  EXPECT_EQ(recorder.keys(), (std::vector<std::string>{"t/g", "t/g", "t/g", "t/sentinel"}));
  controller.stop(Clock::now() + kWait);
}

TEST(ControllerTest, ABurstOfSecondaryEventsCostsOneReconcileThatSeesThemAll) {
  FakeApi api;
  Informer groups(api, testing::billingGroupsResource(), "", testing::quickInformerOptions());
  Informer projects(api, testing::projectsResource(), "", testing::quickInformerOptions());
  Recorder recorder;
  std::atomic<std::size_t> projectsSeen{0};
  ControllerOptions options = quickOptions("groups");
  // Long enough that the burst below always fits in the window, even on a loaded machine.
  options.secondaryEventDelay = std::chrono::seconds(2);
  Controller controller(options, makeReconciler([&](const Request& request) {
                          if (request.name == "g") projectsSeen = projects.store().list().size();
                          recorder.record(request);
                          return ReconcileOutcome(Result{});
                        }));
  controller.watchPrimary(groups);
  controller.watch(projects, [](const Json&) { return std::vector<Request>{{"t", "g"}}; });
  groups.start();
  projects.start();
  controller.start();
  ASSERT_TRUE(groups.waitForSync(kWait));
  ASSERT_TRUE(projects.waitForSync(kWait));
  ASSERT_TRUE(api.waitForActiveWatches(2, kWait));

  constexpr std::size_t kProjects = 20;
  for (std::size_t i = 0; i < kProjects; ++i) {
    api.put(testing::projectsResource(),
            testing::makeObject("billing.operator.dev/v1alpha1", "Project", "t",
                                "p" + std::to_string(i)));
  }
  ASSERT_TRUE(recorder.waitForCalls(1));
  // The group's own events are not delayed: the sentinel group is reconciled when it arrives.
  api.put(testing::billingGroupsResource(),
          testing::makeObject("billing.operator.dev/v1alpha1", "BillingGroup", "t", "sentinel"));
  ASSERT_TRUE(recorder.waitForKey("t/sentinel"));
  EXPECT_EQ(recorder.keys(), (std::vector<std::string>{"t/g", "t/sentinel"}));
  EXPECT_EQ(projectsSeen.load(), kProjects);  // the one reconcile came after every event
  controller.stop(Clock::now() + kWait);
}

TEST(ControllerTest, StopWaitsForTheInFlightReconcileAndReportsStragglers) {
  std::mutex mutex;
  std::condition_variable_any release;
  bool released = false;
  Signal entered;
  std::atomic<bool> inside{false};
  std::atomic<bool> sawStopping{false};
  Controller controller(quickOptions("slow"), makeReconciler([&](const Request&) {
                          inside = true;
                          entered.notify();
                          std::unique_lock lock(mutex);
                          const auto* context = currentReconcile();
                          release.wait(lock, context->stopping, [&] { return released; });
                          sawStopping = context->stopping.stop_requested();
                          release.wait(lock, [&] { return released; });
                          return ReconcileOutcome(Result{});
                        }));
  controller.start();
  controller.enqueue(Request{"t", "x"});
  ASSERT_TRUE(entered.waitUntil([&] { return inside.load(); }));
  // Deadline already passed: the reconcile is still running, stop() says so.
  EXPECT_FALSE(controller.stop(Clock::now()));
  {
    std::lock_guard lock(mutex);
    released = true;
  }
  release.notify_all();
  EXPECT_TRUE(controller.stop(Clock::now() + kWait));
  EXPECT_TRUE(sawStopping.load());
}

}  // namespace
}  // namespace billing::runtime
