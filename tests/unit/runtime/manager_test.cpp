#include "operator/runtime/manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "common/http_client.h"
#include "fake_client.h"
#include "test_support.h"

namespace billing::runtime {
namespace {

using testing::FakeApi;
using testing::Json;
using testing::kWait;
using testing::Signal;
using namespace std::chrono_literals;

const std::string kNs = "billing-system";
const std::string kLease = "billing-operator-leader";

ManagerOptions quickManagerOptions(bool leaderElection) {
  ManagerOptions options;
  options.logger = Logger::discard();
  if (leaderElection) {
    LeaderElectionConfig config;
    config.leaseNamespace = kNs;
    config.leaseName = kLease;
    config.identity = "replica-1";
    config.retryPeriod = 20ms;
    options.leaderElection = config;
  }
  options.events.reportingInstance = "replica-1";
  return options;
}

void addProjects(FakeApi& api, int count) {
  for (int i = 0; i < count; ++i) {
    api.put(testing::projectsResource(),
            testing::makeObject("billing.operator.dev/v1alpha1", "Project", "t",
                                "p" + std::to_string(i)));
  }
}

int statusOf(std::uint16_t port, const std::string& path) {
  common::HttpClient client;
  auto response = client.request("GET", "http://127.0.0.1:" + std::to_string(port) + path);
  return response ? response->status : -1;
}

std::string holder(FakeApi& api) {
  const auto lease = api.stored(leaseResource(), kNs, kLease);
  return lease ? stringAt(*lease, {"spec", "holderIdentity"}) : "<none>";
}

TEST(ManagerTest, StopFinishesTheInFlightReconcileReleasesTheLeaseAndReturnsInTime) {
  FakeApi api;
  addProjects(api, 3);
  Manager manager(api, quickManagerOptions(true));
  auto& informer =
      manager.informer(testing::projectsResource(), "", testing::quickInformerOptions());
  Signal signal;
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  ControllerOptions options;
  options.name = "projects";
  options.workers = 1;
  auto& controller =
      manager.addController(options, makeReconciler([&](const Request&) {
                              ++started;
                              signal.notify();
                              // A long call that listens for shutdown, then finishes its work
                              // properly.
                              std::mutex mutex;
                              std::condition_variable_any never;
                              std::unique_lock lock(mutex);
                              never.wait(lock, currentReconcile()->stopping, [] { return false; });
                              ++finished;
                              return ReconcileOutcome(Result{});
                            }));
  controller.watchPrimary(informer);

  ASSERT_TRUE(manager.start().has_value());
  ASSERT_TRUE(signal.waitUntil([&] { return started.load() == 1; }));
  EXPECT_TRUE(manager.isLeader());
  EXPECT_EQ(holder(api), "replica-1");

  const auto stopAt = std::chrono::steady_clock::now();
  manager.stop();
  const auto ended = manager.wait();
  const auto took = std::chrono::steady_clock::now() - stopAt;
  EXPECT_TRUE(ended.has_value()) << ended.error();
  EXPECT_LT(took, 10s);
  EXPECT_EQ(finished.load(), 1) << "the in-flight reconcile completed";
  EXPECT_EQ(started.load(), 1) << "no new work was taken after stop";
  EXPECT_EQ(holder(api), "") << "the lease was released";
  EXPECT_TRUE(api.waitForActiveWatches(0, kWait));
  EXPECT_FALSE(manager.isLeader());
}

TEST(ManagerTest, ReconcileOutlivingTheGracePeriodFailsTheShutdownAndKeepsTheLease) {
  FakeApi api;
  addProjects(api, 1);
  // Declared before the manager, so that they outlive the reconcile the manager's destructor
  // waits for: it wakes up after the gate opens at the end of the test.
  std::mutex mutex;
  std::condition_variable gate;
  bool open = false;
  std::atomic<bool> inside{false};
  Signal signal;
  auto managerOptions = quickManagerOptions(true);
  managerOptions.gracefulShutdownTimeout = 200ms;
  Manager manager(api, managerOptions);
  auto& informer =
      manager.informer(testing::projectsResource(), "", testing::quickInformerOptions());
  ControllerOptions options;
  options.name = "stuck";
  auto& controller =
      manager.addController(options, makeReconciler([&](const Request&) {
                              inside = true;
                              signal.notify();
                              std::unique_lock lock(mutex);
                              gate.wait(lock, [&] { return open; });  // ignores shutdown
                              return ReconcileOutcome(Result{});
                            }));
  controller.watchPrimary(informer);
  ASSERT_TRUE(manager.start().has_value());
  ASSERT_TRUE(signal.waitUntil([&] { return inside.load(); }));

  const auto stopAt = std::chrono::steady_clock::now();
  manager.stop();
  const auto ended = manager.wait();
  EXPECT_LT(std::chrono::steady_clock::now() - stopAt, 5s);
  ASSERT_FALSE(ended.has_value());
  EXPECT_NE(ended.error().find("graceful shutdown timeout"), std::string::npos);
  EXPECT_EQ(holder(api), "replica-1") << "still reconciling: the lease must not be handed over";
  {
    std::lock_guard lock(mutex);
    open = true;
  }
  gate.notify_all();
}

TEST(ManagerTest, ReadyzFollowsCacheSyncAndHealthzIncludesLeaderElection) {
  FakeApi api;
  addProjects(api, 2);
  api.holdLists(true);
  auto options = quickManagerOptions(true);
  options.healthProbeAddress = ListenAddress{"127.0.0.1", 0};
  options.metricsAddress = ListenAddress{"127.0.0.1", 0};
  Manager manager(api, options);
  auto& informer =
      manager.informer(testing::projectsResource(), "", testing::quickInformerOptions());
  EXPECT_EQ(&informer, &manager.informer(testing::projectsResource()));
  ASSERT_TRUE(manager.start().has_value());
  const auto probes = manager.healthProbePort();
  ASSERT_NE(probes, 0);
  ASSERT_NE(manager.metricsPort(), 0);
  ASSERT_NE(manager.metricsPort(), probes);
  ASSERT_TRUE(api.waitForListCalls(1, kWait));

  EXPECT_EQ(statusOf(probes, "/readyz"), 503);
  EXPECT_EQ(statusOf(probes, "/healthz"), 200);
  EXPECT_EQ(statusOf(probes, "/healthz/leaderElection"), 200);
  EXPECT_EQ(statusOf(probes, "/metrics"), 404) << "metrics live on their own port";

  api.holdLists(false);
  ASSERT_TRUE(informer.waitForSync(kWait));
  EXPECT_EQ(statusOf(probes, "/readyz"), 200);
  EXPECT_TRUE(manager.cachesSynced());

  common::HttpClient client;
  auto scraped = client.request(
      "GET", "http://127.0.0.1:" + std::to_string(manager.metricsPort()) + "/metrics");
  ASSERT_TRUE(scraped.has_value());
  EXPECT_EQ(scraped->status, 200);
  EXPECT_NE(scraped->body.find("leader_election_master_status{name=\"billing-operator-leader\"}"),
            std::string::npos);
  manager.stop();
  EXPECT_TRUE(manager.wait().has_value());
}

TEST(ManagerTest, ControllersWaitForLeadership) {
  FakeApi api;
  addProjects(api, 1);
  // Someone else holds a long lease.
  api.put(leaseResource(), testing::parse(R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
      "metadata":{"name":"billing-operator-leader","namespace":"billing-system"},
      "spec":{"holderIdentity":"replica-0","leaseDurationSeconds":3600,"leaseTransitions":0}})"));
  Manager manager(api, quickManagerOptions(true));
  auto& informer =
      manager.informer(testing::projectsResource(), "", testing::quickInformerOptions());
  std::atomic<int> reconciles{0};
  Signal signal;
  ControllerOptions options;
  options.name = "gated";
  auto& controller = manager.addController(options, makeReconciler([&](const Request&) {
                                             ++reconciles;
                                             signal.notify();
                                             return ReconcileOutcome(Result{});
                                           }));
  controller.watchPrimary(informer);
  ASSERT_TRUE(manager.start().has_value());
  ASSERT_TRUE(informer.waitForSync(kWait));
  const auto gets = api.calls("get");
  ASSERT_TRUE(api.waitForCalls("get", gets + 3, kWait));  // campaigning, in vain
  EXPECT_FALSE(manager.isLeader());
  EXPECT_EQ(reconciles.load(), 0);
  EXPECT_EQ(controller.queue().len(), 1u) << "the work waits in the queue";

  // replica-0 steps down.
  auto lease = *api.stored(leaseResource(), kNs, kLease);
  lease["spec"]["holderIdentity"] = Json::string("");
  api.put(leaseResource(), lease);
  ASSERT_TRUE(signal.waitUntil([&] { return reconciles.load() == 1; }));
  EXPECT_TRUE(manager.isLeader());
  manager.stop();
  EXPECT_TRUE(manager.wait().has_value());
}

TEST(ManagerTest, LosingLeadershipStopsTheManagerWithAnError) {
  FakeApi api;
  testing::ProxyClient proxy(api);
  auto options = quickManagerOptions(true);
  options.leaderElection->renewDeadline = 100ms;
  Manager manager(proxy, options);
  ASSERT_TRUE(manager.start().has_value());
  ASSERT_TRUE(api.waitForObject(
      leaseResource(), kNs, kLease,
      [](const std::optional<Json>& lease) { return lease.has_value(); }, kWait));
  proxy.setIntercept(
      [](std::string_view verb, const kube::ResourceRef& resource) -> std::optional<kube::Error> {
        if (resource.resource == "leases" && verb != "create") {
          return testing::makeError(kube::ErrorKind::Network, 0, "partitioned");
        }
        return std::nullopt;
      });
  const auto ended = manager.wait();
  ASSERT_FALSE(ended.has_value());
  EXPECT_EQ(ended.error(), "leader election lost");
}

Manager* gSignalled = nullptr;
extern "C" void stopOnSignal(int) {
  if (gSignalled) gSignalled->stopFromSignalHandler();
}

TEST(ManagerTest, SignalHandlerCanStopTheManager) {
  FakeApi api;
  Manager manager(api, quickManagerOptions(false));
  manager.informer(testing::projectsResource(), "", testing::quickInformerOptions());
  ASSERT_TRUE(manager.start().has_value());
  gSignalled = &manager;
  auto previous = std::signal(SIGUSR1, stopOnSignal);
  std::raise(SIGUSR1);
  const auto ended = manager.wait();
  std::signal(SIGUSR1, previous);
  gSignalled = nullptr;
  EXPECT_TRUE(ended.has_value());
}

TEST(ManagerTest, WithoutLeaderElectionControllersStartOnceCachesSync) {
  FakeApi api;
  addProjects(api, 2);
  Manager manager(api, quickManagerOptions(false));
  auto& informer =
      manager.informer(testing::projectsResource(), "", testing::quickInformerOptions());
  std::atomic<int> reconciles{0};
  Signal signal;
  ControllerOptions options;
  options.name = "solo";
  options.workers = 2;
  manager
      .addController(options, makeReconciler([&](const Request&) {
                       ++reconciles;
                       signal.notify();
                       return ReconcileOutcome(Result{});
                     }))
      .watchPrimary(informer);
  ASSERT_TRUE(manager.start().has_value());
  ASSERT_TRUE(signal.waitUntil([&] { return reconciles.load() == 2; }));
  manager.stop();
  EXPECT_TRUE(manager.wait().has_value());
  // Counted once each reconcile returned; the workers have been joined.
  EXPECT_EQ(manager.metrics().reconcileTotal.withLabels({"solo", "success"}).value(), 2);
}

}  // namespace
}  // namespace billing::runtime
