// Leader election over a coordination.k8s.io/v1 Lease, with client-go's algorithm and defaults
// (leaseDuration 15 s, renewDeadline 10 s, retryPeriod 2 s):
//
// - A candidate reads the Lease. If another holder renewed it less than leaseDurationSeconds ago
//   (measured on our own monotonic clock from when we last saw the record change, so clock skew
//   between replicas does not matter), it waits retryPeriod (jittered) and tries again.
// - Otherwise it writes itself as holderIdentity with an update carrying the resourceVersion it
//   read, so of two candidates racing for an expired lease exactly one wins (the other gets a
//   409). Taking over from another holder sets acquireTime and increments leaseTransitions.
// - The leader renews every retryPeriod; when it cannot renew for renewDeadline it steps down
//   (onStoppedLeading) before anyone else may take over.
// - On stop, with releaseOnCancel, the leader clears holderIdentity (leaseDurationSeconds 1) so a
//   successor takes over at its next retry instead of waiting for the lease to expire.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "common/clock.h"
#include "operator/kube/client.h"
#include "operator/runtime/log.h"
#include "operator/runtime/metrics.h"

namespace billing::runtime {

// The Lease resource.
kube::ResourceRef leaseResource();

struct LeaderElectionConfig {
  std::string leaseNamespace;
  std::string leaseName;
  std::string identity;  // unique per replica, e.g. the pod name plus a random suffix
  std::chrono::milliseconds leaseDuration{std::chrono::seconds(15)};
  std::chrono::milliseconds renewDeadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retryPeriod{std::chrono::seconds(2)};
  bool releaseOnCancel = true;
  // All three run on the elector's thread; keep them short.
  std::function<void()> onStartedLeading;
  std::function<void()> onStoppedLeading;
  std::function<void(const std::string& identity)> onNewLeader;  // a holder we have not seen
  Logger logger;
  RuntimeMetrics* metrics = nullptr;     // leader_election_master_status{name=leaseName}
  const common::Clock* clock = nullptr;  // default: *common::systemClock()
};

class LeaderElector {
 public:
  LeaderElector(kube::Client& client, LeaderElectionConfig config);
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Campaigns until it leads, then renews until leadership is lost or `stop` is requested, and
  // returns (after releasing the lease if configured and still leading). Blocking.
  void run(std::stop_token stop);

  bool isLeader() const { return leading_.load(); }
  // The holder we last observed ("" when none).
  std::string observedLeader() const;
  // True when the last run() ended because renewals failed for renewDeadline.
  bool lostLeadership() const { return lost_.load(); }
  // Whether run() releases the lease when stopped; the Manager turns it off when reconciles are
  // still running at its shutdown deadline.
  void setReleaseOnCancel(bool release) { releaseOnCancel_.store(release); }

  // client-go's HealthzAdaptor: an error while we believe we lead but have not renewed for
  // leaseDuration + maxTolerableExpiredLease; nullopt otherwise.
  std::optional<std::string> check(std::chrono::milliseconds maxTolerableExpiredLease) const;

 private:
  bool tryAcquireOrRenew();
  bool release();
  bool sleepFor(std::chrono::milliseconds delay, const std::stop_token& stop);
  std::chrono::milliseconds jittered(std::chrono::milliseconds period);
  web::json::value leaseSpec(const std::string& holder, std::int64_t durationSeconds,
                             const std::string& acquireTime, const std::string& renewTime,
                             std::int64_t transitions) const;

  kube::Client& client_;
  LeaderElectionConfig config_;
  const common::Clock& clock_;
  Logger log_;
  Gauge* masterStatus_ = nullptr;
  std::atomic<bool> leading_{false};
  std::atomic<bool> lost_{false};
  std::atomic<bool> releaseOnCancel_;

  mutable std::mutex mutex_;
  std::optional<web::json::value> observedSpec_;
  std::chrono::steady_clock::time_point observedTime_{};
  std::string observedLeader_;
};

}  // namespace billing::runtime
