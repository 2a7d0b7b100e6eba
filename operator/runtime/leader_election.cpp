#include "operator/runtime/leader_election.h"

#include <random>

#include "operator/runtime/object.h"

namespace billing::runtime {

namespace {

struct LeaseRecord {
  std::string holder;
  std::int64_t durationSeconds = 0;
  std::string acquireTime;
  std::string renewTime;
  std::int64_t transitions = 0;
};

std::int64_t intAt(const web::json::value& spec, const char* field) {
  if (!spec.is_object()) return 0;
  const auto found = spec.as_object().find(field);
  if (found == spec.as_object().end() || !found->second.is_number()) return 0;
  return found->second.as_number().to_int64();
}

const web::json::value& specOf(const web::json::value& lease) {
  static const web::json::value kEmpty = web::json::value::object();
  if (!lease.is_object()) return kEmpty;
  const auto found = lease.as_object().find("spec");
  return found == lease.as_object().end() ? kEmpty : found->second;
}

LeaseRecord recordOf(const web::json::value& spec) {
  LeaseRecord record;
  record.holder = stringAt(spec, {"holderIdentity"});
  record.durationSeconds = intAt(spec, "leaseDurationSeconds");
  record.acquireTime = stringAt(spec, {"acquireTime"});
  record.renewTime = stringAt(spec, {"renewTime"});
  record.transitions = intAt(spec, "leaseTransitions");
  return record;
}

}  // namespace

kube::ResourceRef leaseResource() {
  return kube::ResourceRef{"coordination.k8s.io", "v1", "leases", "Lease", true};
}

LeaderElector::LeaderElector(kube::Client& client, LeaderElectionConfig config)
    : client_(client),
      config_(std::move(config)),
      clock_(config_.clock ? *config_.clock : *common::systemClock()),
      log_(config_.logger.withName("leaderelection")
               .withValues({{"lease", objectKey(config_.leaseNamespace, config_.leaseName)},
                            {"identity", config_.identity}})),
      releaseOnCancel_(config_.releaseOnCancel) {
  if (config_.metrics) {
    masterStatus_ = &config_.metrics->leaderElectionMasterStatus.withLabels({config_.leaseName});
    masterStatus_->set(0);
  }
}

std::string LeaderElector::observedLeader() const {
  std::lock_guard lock(mutex_);
  return observedLeader_;
}

std::optional<std::string> LeaderElector::check(
    std::chrono::milliseconds maxTolerableExpiredLease) const {
  if (!isLeader()) return std::nullopt;
  std::lock_guard lock(mutex_);
  if (clock_.now() - observedTime_ > config_.leaseDuration + maxTolerableExpiredLease) {
    return "failed election to renew leadership on lease " + config_.leaseName;
  }
  return std::nullopt;
}

bool LeaderElector::sleepFor(std::chrono::milliseconds delay, const std::stop_token& stop) {
  // Waits are real: the injected clock decides what is due, not how long a thread sleeps.
  return common::systemClock()->sleepFor(delay, stop);
}

std::chrono::milliseconds LeaderElector::jittered(std::chrono::milliseconds period) {
  // wait.JitterUntil with factor 1.2: [period, period * 2.2).
  thread_local std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> spread(1.0, 2.2);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(period.count()) * spread(random)));
}

web::json::value LeaderElector::leaseSpec(const std::string& holder, std::int64_t durationSeconds,
                                          const std::string& acquireTime,
                                          const std::string& renewTime,
                                          std::int64_t transitions) const {
  web::json::value spec = web::json::value::object();
  spec["holderIdentity"] = web::json::value::string(holder);
  spec["leaseDurationSeconds"] = web::json::value::number(durationSeconds);
  spec["acquireTime"] = web::json::value::string(acquireTime);
  spec["renewTime"] = web::json::value::string(renewTime);
  spec["leaseTransitions"] = web::json::value::number(transitions);
  return spec;
}

bool LeaderElector::tryAcquireOrRenew() {
  const std::int64_t durationSeconds =
      std::max<std::int64_t>(1, (config_.leaseDuration.count() + 999) / 1000);
  const auto resource = leaseResource();

  auto current = client_.get(resource, config_.leaseNamespace, config_.leaseName);
  if (!current) {
    if (current.error().kind != kube::ErrorKind::NotFound) {
      log_.warn("Error retrieving lease", {{"error", describeError(current.error())}});
      return false;
    }
    const std::string nowText = common::formatMicroTime(clock_.wallNow());
    web::json::value lease = web::json::value::object();
    lease["apiVersion"] = web::json::value::string("coordination.k8s.io/v1");
    lease["kind"] = web::json::value::string("Lease");
    lease["metadata"] = web::json::value::object();
    lease["metadata"]["name"] = web::json::value::string(config_.leaseName);
    lease["metadata"]["namespace"] = web::json::value::string(config_.leaseNamespace);
    lease["spec"] = leaseSpec(config_.identity, durationSeconds, nowText, nowText, 0);
    auto created = client_.create(resource, config_.leaseNamespace, lease);
    if (!created) {
      log_.info("Could not create lease", {{"error", describeError(created.error())}});
      return false;
    }
    std::lock_guard lock(mutex_);
    observedSpec_ = specOf(*created);
    observedTime_ = clock_.now();
    observedLeader_ = config_.identity;
    return true;
  }

  const web::json::value& spec = specOf(*current);
  const LeaseRecord old = recordOf(spec);
  std::chrono::steady_clock::time_point observedTime;
  {
    std::unique_lock lock(mutex_);
    if (!observedSpec_ || !common::jsonEqual(*observedSpec_, spec)) {
      observedSpec_ = spec;
      observedTime_ = clock_.now();
      const bool newLeader = old.holder != observedLeader_;
      observedLeader_ = old.holder;
      lock.unlock();
      if (newLeader && !old.holder.empty() && old.holder != config_.identity) {
        log_.info("New leader observed", {{"leader", old.holder}});
        if (config_.onNewLeader) config_.onNewLeader(old.holder);
      }
      lock.lock();
    }
    observedTime = observedTime_;
  }
  const std::chrono::milliseconds leaseDuration =
      old.durationSeconds > 0 ? std::chrono::seconds(old.durationSeconds) : config_.leaseDuration;
  if (!old.holder.empty() && old.holder != config_.identity &&
      observedTime + leaseDuration > clock_.now()) {
    return false;  // held by someone else and not expired
  }

  // Read after the expiry decision, so acquireTime is never earlier than the expiry it follows.
  const std::string nowText = common::formatMicroTime(clock_.wallNow());
  const bool renewing = old.holder == config_.identity;
  web::json::value updated = *current;  // keeps metadata.resourceVersion: optimistic concurrency
  updated["spec"] =
      leaseSpec(config_.identity, durationSeconds, renewing ? old.acquireTime : nowText, nowText,
                renewing ? old.transitions : old.transitions + 1);
  auto written = client_.update(resource, config_.leaseNamespace, updated);
  if (!written) {
    log_.info(renewing ? "Failed to renew lease" : "Failed to acquire lease",
              {{"error", describeError(written.error())}});
    return false;
  }
  std::lock_guard lock(mutex_);
  observedSpec_ = specOf(*written);
  observedTime_ = clock_.now();
  observedLeader_ = config_.identity;
  return true;
}

bool LeaderElector::release() {
  const auto resource = leaseResource();
  auto current = client_.get(resource, config_.leaseNamespace, config_.leaseName);
  if (!current) {
    log_.warn("Could not read lease to release it", {{"error", describeError(current.error())}});
    return false;
  }
  const LeaseRecord old = recordOf(specOf(*current));
  if (old.holder != config_.identity) return true;  // not ours any more
  const std::string nowText = common::formatMicroTime(clock_.wallNow());
  web::json::value updated = *current;
  updated["spec"] = leaseSpec("", 1, nowText, nowText, old.transitions);
  auto written = client_.update(resource, config_.leaseNamespace, updated);
  if (!written) {
    log_.warn("Failed to release lease", {{"error", describeError(written.error())}});
    return false;
  }
  log_.info("Released lease");
  std::lock_guard lock(mutex_);
  observedSpec_ = specOf(*written);
  observedTime_ = clock_.now();
  observedLeader_.clear();
  return true;
}

void LeaderElector::run(std::stop_token stop) {
  lost_.store(false);
  log_.info("Attempting to acquire leader lease");
  bool acquired = false;
  while (!stop.stop_requested()) {
    acquired = tryAcquireOrRenew();
    if (acquired) break;
    if (!sleepFor(jittered(config_.retryPeriod), stop)) return;
  }
  if (!acquired) return;
  if (stop.stop_requested()) {
    // Won just as we were told to stop: hand the lease back rather than sit on it.
    if (releaseOnCancel_.load()) release();
    return;
  }
  leading_.store(true);
  if (masterStatus_) masterStatus_->set(1);
  log_.info("Successfully acquired lease");
  if (config_.onStartedLeading) config_.onStartedLeading();

  auto lastRenew = clock_.now();
  bool lost = false;
  while (sleepFor(config_.retryPeriod, stop)) {
    bool renewed = false;
    while (true) {
      if (tryAcquireOrRenew()) {
        renewed = true;
        break;
      }
      if (clock_.now() - lastRenew >= config_.renewDeadline) break;
      if (!sleepFor(config_.retryPeriod, stop)) break;
    }
    if (renewed) {
      lastRenew = clock_.now();
      continue;
    }
    if (stop.stop_requested()) break;
    lost = true;
    break;
  }

  leading_.store(false);
  if (masterStatus_) masterStatus_->set(0);
  if (lost) {
    lost_.store(true);
    log_.error("Leader election lost: could not renew the lease within the renew deadline");
  } else if (releaseOnCancel_.load()) {
    release();
  }
  if (config_.onStoppedLeading) config_.onStoppedLeading();
}

}  // namespace billing::runtime
