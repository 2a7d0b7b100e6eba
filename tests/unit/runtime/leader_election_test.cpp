#include "operator/runtime/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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

// One candidate: its elector runs on its own thread; tests wait on its callbacks.
class Candidate {
 public:
  Candidate(kube::Client& client, std::string identity, const common::Clock* clock,
            void (*configure)(LeaderElectionConfig&) = nullptr)
      : registry_(std::make_shared<Registry>()), metrics_(registry_) {
    LeaderElectionConfig config;
    config.leaseNamespace = kNs;
    config.leaseName = kLease;
    config.identity = std::move(identity);
    config.retryPeriod = 10ms;
    config.clock = clock;
    config.logger = Logger::discard();
    config.metrics = &metrics_;
    config.onStartedLeading = [this] {
      started_ = true;
      signal_.notify();
    };
    config.onStoppedLeading = [this] {
      stopped_ = true;
      signal_.notify();
    };
    config.onNewLeader = [this](const std::string& leader) {
      {
        std::lock_guard lock(mutex_);
        leaders_.push_back(leader);
      }
      signal_.notify();
    };
    if (configure) configure(config);
    elector_ = std::make_unique<LeaderElector>(client, std::move(config));
  }
  ~Candidate() { stop(); }

  void start() {
    thread_ = std::jthread([this](std::stop_token stop) {
      elector_->run(stop);
      finished_ = true;
      signal_.notify();
    });
  }
  void stop() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
  }
  bool waitLeading() {
    return signal_.waitUntil([&] { return started_.load(); });
  }
  bool waitStopped() {
    return signal_.waitUntil([&] { return stopped_.load(); });
  }
  bool waitObserved(const std::string& leader) {
    return signal_.waitUntil([&] {
      std::lock_guard lock(mutex_);
      return std::find(leaders_.begin(), leaders_.end(), leader) != leaders_.end();
    });
  }
  LeaderElector& elector() { return *elector_; }
  double masterStatus() { return metrics_.leaderElectionMasterStatus.withLabels({kLease}).value(); }

 private:
  std::shared_ptr<Registry> registry_;
  RuntimeMetrics metrics_;
  std::unique_ptr<LeaderElector> elector_;
  Signal signal_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> finished_{false};
  std::mutex mutex_;
  std::vector<std::string> leaders_;
  std::jthread thread_;
};

std::string spec(const Json& lease, std::string_view field) {
  return stringAt(lease, {"spec", field});
}
std::int64_t specInt(const Json& lease, const char* field) {
  return lease.at("spec").at(field).as_number().to_int64();
}

bool holderIs(FakeApi& api, const std::string& holder) {
  return api.waitForObject(
      leaseResource(), kNs, kLease,
      [&](const std::optional<Json>& lease) {
        return lease && spec(*lease, "holderIdentity") == holder;
      },
      kWait);
}

TEST(LeaderElectionTest, AcquiringCreatesTheLeaseWithMicroTimesAndZeroTransitions) {
  FakeApi api;
  common::ManualClock clock;
  clock.setWall(std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 10h + 123456us);
  Candidate a(api, "replica-a", &clock);
  a.start();
  ASSERT_TRUE(a.waitLeading());
  EXPECT_TRUE(a.elector().isLeader());
  EXPECT_EQ(a.masterStatus(), 1);

  const auto lease = api.stored(leaseResource(), kNs, kLease);
  ASSERT_TRUE(lease);
  EXPECT_EQ(stringAt(*lease, {"apiVersion"}), "coordination.k8s.io/v1");
  EXPECT_EQ(stringAt(*lease, {"kind"}), "Lease");
  EXPECT_EQ(spec(*lease, "holderIdentity"), "replica-a");
  EXPECT_EQ(specInt(*lease, "leaseDurationSeconds"), 15);
  EXPECT_EQ(spec(*lease, "acquireTime"), "2024-05-01T10:00:00.123456Z");
  EXPECT_EQ(spec(*lease, "renewTime"), "2024-05-01T10:00:00.123456Z");
  EXPECT_EQ(specInt(*lease, "leaseTransitions"), 0);

  // Renewals move renewTime only.
  clock.advance(2s);
  ASSERT_TRUE(api.waitForObject(
      leaseResource(), kNs, kLease,
      [](const std::optional<Json>& current) {
        return current && spec(*current, "renewTime") == "2024-05-01T10:00:02.123456Z";
      },
      kWait));
  const auto renewed = api.stored(leaseResource(), kNs, kLease);
  EXPECT_EQ(spec(*renewed, "acquireTime"), "2024-05-01T10:00:00.123456Z");
  EXPECT_EQ(specInt(*renewed, "leaseTransitions"), 0);
  EXPECT_EQ(spec(*renewed, "holderIdentity"), "replica-a");
}

TEST(LeaderElectionTest, FollowerTakesOverOnlyAfterTheLeaderStopsRenewingForALeaseDuration) {
  FakeApi api;
  common::ManualClock clock;
  Candidate a(api, "replica-a", &clock, [](LeaderElectionConfig& config) {
    config.releaseOnCancel = false;  // a crash: the lease is left as it was
  });
  Candidate b(api, "replica-b", &clock);
  a.start();
  ASSERT_TRUE(a.waitLeading());
  b.start();
  ASSERT_TRUE(b.waitObserved("replica-a"));
  // b keeps trying; with time standing still the lease never expires for it.
  const auto attempts = api.calls("get");
  ASSERT_TRUE(api.waitForCalls("get", attempts + 6, kWait));
  EXPECT_FALSE(b.elector().isLeader());

  a.stop();
  ASSERT_TRUE(a.waitStopped());
  EXPECT_FALSE(a.elector().lostLeadership());
  EXPECT_TRUE(holderIs(api, "replica-a"));
  clock.advance(14s);
  const auto more = api.calls("get");
  ASSERT_TRUE(api.waitForCalls("get", more + 3, kWait));
  EXPECT_FALSE(b.elector().isLeader()) << "the lease has not expired yet";

  clock.advance(2s);  // 16 s since b last saw the record change
  ASSERT_TRUE(b.waitLeading());
  const auto lease = api.stored(leaseResource(), kNs, kLease);
  EXPECT_EQ(spec(*lease, "holderIdentity"), "replica-b");
  EXPECT_EQ(specInt(*lease, "leaseTransitions"), 1);
  EXPECT_EQ(spec(*lease, "acquireTime"), common::formatMicroTime(clock.wallNow()));
}

TEST(LeaderElectionTest, ReleaseOnShutdownLetsTheFollowerTakeOverAtOnce) {
  FakeApi api;
  // Real time and an hour-long lease: only a release can explain a quick takeover.
  const auto longLease = [](LeaderElectionConfig& config) {
    config.leaseDuration = 1h;
    config.renewDeadline = 50min;
  };
  Candidate a(api, "replica-a", nullptr, longLease);
  Candidate b(api, "replica-b", nullptr, longLease);
  a.start();
  ASSERT_TRUE(a.waitLeading());
  b.start();
  ASSERT_TRUE(b.waitObserved("replica-a"));

  a.stop();
  ASSERT_TRUE(a.waitStopped());
  EXPECT_FALSE(a.elector().isLeader());
  EXPECT_EQ(a.masterStatus(), 0);
  ASSERT_TRUE(b.waitLeading());
  const auto lease = api.stored(leaseResource(), kNs, kLease);
  EXPECT_EQ(spec(*lease, "holderIdentity"), "replica-b");
  EXPECT_EQ(specInt(*lease, "leaseTransitions"), 1);
  EXPECT_EQ(specInt(*lease, "leaseDurationSeconds"), 3600);
}

TEST(LeaderElectionTest, ReleaseClearsTheHolderAndShortensTheLease) {
  FakeApi api;
  Candidate a(api, "replica-a", nullptr);
  a.start();
  ASSERT_TRUE(a.waitLeading());
  a.stop();
  const auto lease = api.stored(leaseResource(), kNs, kLease);
  ASSERT_TRUE(lease);
  EXPECT_EQ(spec(*lease, "holderIdentity"), "");
  EXPECT_EQ(specInt(*lease, "leaseDurationSeconds"), 1);
  EXPECT_EQ(specInt(*lease, "leaseTransitions"), 0);
}

TEST(LeaderElectionTest, StepsDownWhenRenewalsFailPastTheRenewDeadline) {
  FakeApi api;
  testing::ProxyClient proxy(api);
  common::ManualClock clock;
  // Declared before the candidate, whose elector thread calls the intercept below until the
  // candidate is destroyed.
  std::atomic<int> rejected{0};
  Signal signal;
  Candidate a(proxy, "replica-a", &clock);
  a.start();
  ASSERT_TRUE(a.waitLeading());
  proxy.setIntercept(
      [&](std::string_view verb, const kube::ResourceRef&) -> std::optional<kube::Error> {
        if (verb != "update") return std::nullopt;
        ++rejected;
        signal.notify();
        return testing::makeError(kube::ErrorKind::ServerError, 500, "etcd timeout");
      });
  // Once a renewal has failed, none that started before the fault can still succeed.
  ASSERT_TRUE(signal.waitUntil([&] { return rejected > 0; }));
  EXPECT_TRUE(a.elector().isLeader()) << "one failed renewal is not the end";
  clock.advance(11s);
  ASSERT_TRUE(a.waitStopped());
  EXPECT_TRUE(a.elector().lostLeadership());
  EXPECT_FALSE(a.elector().isLeader());
  EXPECT_EQ(a.masterStatus(), 0);
  EXPECT_TRUE(holderIs(api, "replica-a")) << "a lost lease is not released";
}

TEST(LeaderElectionTest, HealthCheckFailsWhileRenewalIsOverdue) {
  FakeApi api;
  testing::ProxyClient proxy(api);
  common::ManualClock clock;
  // Declared before the candidate, whose elector thread calls the intercept below until the
  // candidate is destroyed.
  std::atomic<int> rejected{0};
  Signal signal;
  Candidate a(proxy, "replica-a", &clock, [](LeaderElectionConfig& config) {
    config.renewDeadline = 1h;  // keep trying rather than step down
  });
  EXPECT_EQ(a.elector().check(20s), std::nullopt) << "not leading: nothing to report";
  a.start();
  ASSERT_TRUE(a.waitLeading());
  EXPECT_EQ(a.elector().check(20s), std::nullopt);
  proxy.setIntercept(
      [&](std::string_view verb, const kube::ResourceRef&) -> std::optional<kube::Error> {
        if (verb != "get") return std::nullopt;
        ++rejected;
        signal.notify();
        return testing::makeError(kube::ErrorKind::Network, 0, "connection refused");
      });
  ASSERT_TRUE(signal.waitUntil([&] { return rejected > 0; }));
  clock.advance(30s);
  EXPECT_EQ(a.elector().check(20s), std::nullopt) << "15 s + 20 s have not passed";
  clock.advance(6s);
  const auto failure = a.elector().check(20s);
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->find(kLease), std::string::npos);
  EXPECT_TRUE(a.elector().isLeader());
}

TEST(LeaderElectionTest, ConcurrentWriterWinsAndTheLoserDoesNotOverwriteIt) {
  FakeApi api;
  // A released lease: anyone may take it.
  Json lease = testing::parse(R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
      "metadata":{"name":"billing-operator-leader","namespace":"billing-system"},
      "spec":{"holderIdentity":"","leaseDurationSeconds":1,"leaseTransitions":3}})");
  api.put(leaseResource(), lease);
  testing::ProxyClient proxy(api);
  std::atomic<bool> raced{false};
  proxy.setIntercept([&](std::string_view verb,
                         const kube::ResourceRef&) -> std::optional<kube::Error> {
    if (verb == "update" && !raced.exchange(true)) {
      // Between our read and our write, replica-c takes the lease.
      Json theirs = *api.stored(leaseResource(), kNs, kLease);
      theirs["spec"] = testing::parse(R"({"holderIdentity":"replica-c","leaseDurationSeconds":3600,
          "renewTime":"2024-05-01T10:00:00.000000Z","leaseTransitions":4})");
      api.put(leaseResource(), theirs);
    }
    return std::nullopt;
  });
  common::ManualClock clock;
  Candidate a(proxy, "replica-a", &clock);
  a.start();
  ASSERT_TRUE(a.waitObserved("replica-c"));
  EXPECT_FALSE(a.elector().isLeader());
  const auto current = api.stored(leaseResource(), kNs, kLease);
  EXPECT_EQ(spec(*current, "holderIdentity"), "replica-c");
  EXPECT_EQ(specInt(*current, "leaseTransitions"), 4);
}

}  // namespace
}  // namespace billing::runtime
