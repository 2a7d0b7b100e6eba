#include "operator/runtime/manager.h"

#include <unistd.h>

#include <cerrno>

namespace billing::runtime {

namespace {

std::string informerKey(const kube::ResourceRef& resource, const std::string& ns) {
  return resource.group + "/" + resource.version + "/" + resource.resource + "@" + ns;
}

std::string resourceName(const kube::ResourceRef& resource) {
  return resource.group.empty() ? resource.resource : resource.resource + "." + resource.group;
}

std::string hostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "billing-operator";
  return name;
}

}  // namespace

Manager::Manager(kube::Client& client, ManagerOptions options)
    : client_(client),
      options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : *common::systemClock()),
      log_(options_.logger.withName("manager")),
      registry_(options_.registry ? options_.registry : std::make_shared<Registry>()),
      metrics_(std::make_unique<RuntimeMetrics>(registry_)),
      healthz_(std::make_shared<HealthChecks>("healthz")),
      readyz_(std::make_shared<HealthChecks>("readyz")) {
  ::sem_init(&stopSemaphore_, 0, 0);
  EventRecorderOptions eventOptions = options_.events;
  if (eventOptions.reportingInstance.empty()) {
    eventOptions.reportingInstance =
        options_.leaderElection ? options_.leaderElection->identity : hostName();
  }
  eventOptions.logger = options_.logger;
  if (!eventOptions.clock) eventOptions.clock = &clock_;
  events_ = std::make_unique<EventRecorder>(client_, std::move(eventOptions));

  healthz_->add("ping", [] { return std::nullopt; });
  readyz_->add("ping", [] { return std::nullopt; });
  readyz_->add("informers", [this]() -> std::optional<std::string> {
    std::lock_guard lock(mutex_);
    for (const auto& [key, informer] : informers_) {
      if (!informer->hasSynced()) {
        return "cache for " + resourceName(informer->resource()) + " has not synced";
      }
    }
    return std::nullopt;
  });

  if (options_.leaderElection) {
    LeaderElectionConfig config = *options_.leaderElection;
    config.logger = options_.logger;
    config.metrics = metrics_.get();
    if (!config.clock) config.clock = &clock_;
    auto userStarted = std::move(config.onStartedLeading);
    auto userStopped = std::move(config.onStoppedLeading);
    config.onStartedLeading = [this, userStarted] {
      {
        std::lock_guard lock(mutex_);
        leading_.store(true);
      }
      changed_.notify_all();
      if (userStarted) userStarted();
    };
    config.onStoppedLeading = [this, userStopped] {
      leading_.store(false);
      if (elector_->lostLeadership()) fail("leader election lost");
      if (userStopped) userStopped();
    };
    elector_ = std::make_unique<LeaderElector>(client_, std::move(config));
    const auto timeout = options_.leaderElectionHealthTimeout;
    healthz_->add("leaderElection", [this, timeout] { return elector_->check(timeout); });
  }
}

Manager::~Manager() {
  bool running = false;
  {
    std::lock_guard lock(mutex_);
    running = started_ && !finished_;
  }
  if (running) {
    stop();
    (void)wait();
  }
  runShutdownHooks();
  if (stopWatcher_.joinable()) {
    stopRequested_.store(true);
    ::sem_post(&stopSemaphore_);
    stopWatcher_.join();
  }
  ::sem_destroy(&stopSemaphore_);
}

Informer& Manager::informer(const kube::ResourceRef& resource, const std::string& ns,
                            InformerOptions options) {
  std::lock_guard lock(mutex_);
  auto& slot = informers_[informerKey(resource, ns)];
  if (!slot) {
    options.logger = options_.logger;
    if (!options.clock) options.clock = &clock_;
    slot = std::make_unique<Informer>(client_, resource, ns, std::move(options));
    if (started_ && !finished_) slot->start();
  }
  return *slot;
}

Controller& Manager::addController(ControllerOptions options,
                                   std::shared_ptr<Reconciler> reconciler) {
  options.logger = options_.logger;
  options.metrics = metrics_.get();
  auto controller = std::make_unique<Controller>(std::move(options), std::move(reconciler));
  std::lock_guard lock(mutex_);
  controllers_.push_back(std::move(controller));
  if (controllersStarted_) controllers_.back()->start();
  return *controllers_.back();
}

void Manager::addHealthzCheck(std::string name, HealthCheck check) {
  healthz_->add(std::move(name), std::move(check));
}

void Manager::addReadyzCheck(std::string name, HealthCheck check) {
  readyz_->add(std::move(name), std::move(check));
}

void Manager::addShutdownHook(std::function<void()> hook) {
  std::lock_guard lock(mutex_);
  shutdownHooks_.push_back(std::move(hook));
}

void Manager::runShutdownHooks() {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(mutex_);
    hooks.swap(shutdownHooks_);
  }
  for (auto& hook : hooks) hook();
}

bool Manager::cachesSynced() const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, informer] : informers_) {
    if (!informer->hasSynced()) return false;
  }
  return true;
}

std::uint16_t Manager::metricsPort() const { return metricsServer_ ? metricsServer_->port() : 0; }

std::uint16_t Manager::healthProbePort() const {
  if (probeServer_) return probeServer_->port();
  // One server for both.
  return options_.healthProbeAddress && metricsServer_ ? metricsServer_->port() : 0;
}

void Manager::stop() noexcept { stopFromSignalHandler(); }

void Manager::stopFromSignalHandler() noexcept {
  if (!stopRequested_.exchange(true)) ::sem_post(&stopSemaphore_);
}

void Manager::fail(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (failure_.empty()) failure_ = reason;
  }
  log_.error("Manager stopping", {{"reason", reason}});
  stop();
}

std::expected<void, std::string> Manager::run() {
  if (auto started = start(); !started) return started;
  return wait();
}

std::expected<void, std::string> Manager::start() {
  {
    std::lock_guard lock(mutex_);
    if (started_) return std::unexpected(std::string("manager already started"));
    started_ = true;
  }
  // Whatever wakes the semaphore (stop(), a signal) ends up as a stop request everyone watches.
  stopWatcher_ = std::thread([this] {
    while (::sem_wait(&stopSemaphore_) != 0 && errno == EINTR) {
    }
    stopSource_.request_stop();
    { std::lock_guard lock(mutex_); }
    changed_.notify_all();
  });

  const bool shared = options_.metricsAddress && options_.healthProbeAddress &&
                      options_.metricsAddress->port != 0 &&
                      options_.metricsAddress->host == options_.healthProbeAddress->host &&
                      options_.metricsAddress->port == options_.healthProbeAddress->port;
  if (options_.metricsAddress) {
    MonitoringServerOptions serverOptions;
    serverOptions.host = options_.metricsAddress->host;
    serverOptions.port = options_.metricsAddress->port;
    serverOptions.metrics = registry_;
    if (shared) {
      serverOptions.healthz = healthz_;
      serverOptions.readyz = readyz_;
    }
    serverOptions.logger = options_.logger;
    metricsServer_ = std::make_unique<MonitoringServer>(std::move(serverOptions));
    if (auto started = metricsServer_->start(); !started) {
      fail("metrics server: " + started.error());
    }
  }
  if (options_.healthProbeAddress && !shared) {
    MonitoringServerOptions serverOptions;
    serverOptions.host = options_.healthProbeAddress->host;
    serverOptions.port = options_.healthProbeAddress->port;
    serverOptions.healthz = healthz_;
    serverOptions.readyz = readyz_;
    serverOptions.logger = options_.logger;
    probeServer_ = std::make_unique<MonitoringServer>(std::move(serverOptions));
    if (auto started = probeServer_->start(); !started) {
      fail("health probe server: " + started.error());
    }
  }

  {
    std::lock_guard lock(mutex_);
    for (auto& [key, informer] : informers_) informer->start();
  }
  if (elector_) {
    electorThread_ = std::jthread([this](std::stop_token stop) { elector_->run(std::move(stop)); });
  } else {
    leading_.store(true);
  }
  coordinator_ = std::jthread([this](std::stop_token stop) { runCoordinator(std::move(stop)); });
  log_.info("Started", {{"leaderElection", elector_ != nullptr}});
  return {};
}

void Manager::runCoordinator(std::stop_token stop) {
  {
    std::unique_lock lock(mutex_);
    if (!changed_.wait(lock, stop, [this] { return leading_.load(); })) return;
  }
  std::vector<Informer*> informers;
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, informer] : informers_) informers.push_back(informer.get());
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.cacheSyncTimeout;
  for (auto* informer : informers) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (informer->waitForSync(stop, std::max(remaining, std::chrono::milliseconds(0)))) continue;
    if (stop.stop_requested()) return;
    fail("timed out waiting for the cache of " + resourceName(informer->resource()) + " to sync");
    return;
  }
  std::lock_guard lock(mutex_);
  if (stop.stop_requested()) return;
  controllersStarted_ = true;
  for (auto& controller : controllers_) controller->start();
}

std::expected<void, std::string> Manager::wait() {
  {
    std::unique_lock lock(mutex_);
    if (!started_) return std::unexpected(std::string("manager not started"));
    if (finished_) return std::unexpected(std::string("manager already stopped"));
    changed_.wait(lock, stopSource_.get_token(), [] { return false; });
  }
  return shutdown();
}

std::expected<void, std::string> Manager::shutdown() {
  const auto began = std::chrono::steady_clock::now();
  const auto deadline = began + options_.gracefulShutdownTimeout;
  log_.info("Stopping; waiting for in-flight reconciles",
            {{"timeoutMs", static_cast<std::int64_t>(options_.gracefulShutdownTimeout.count())}});
  runShutdownHooks();
  coordinator_.request_stop();
  if (coordinator_.joinable()) coordinator_.join();

  // Stop taking work everywhere first, then wait for what is in flight.
  std::vector<Controller*> controllers;
  std::vector<Informer*> informers;
  {
    std::lock_guard lock(mutex_);
    for (auto& controller : controllers_) controllers.push_back(controller.get());
    for (auto& [key, informer] : informers_) informers.push_back(informer.get());
  }
  for (auto* controller : controllers) controller->queue().shutDown();
  bool drained = true;
  for (auto* controller : controllers) drained = controller->stop(deadline) && drained;

  // Only now may another replica take over: our reconciles are done. With reconciles still
  // running, keep the lease and let it expire instead.
  if (elector_) {
    if (!drained) elector_->setReleaseOnCancel(false);
    electorThread_.request_stop();
    if (electorThread_.joinable()) electorThread_.join();
  }
  leading_.store(false);
  for (auto* informer : informers) informer->stop();
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  events_->flush(std::max(left, std::chrono::milliseconds(0)));
  events_->stop();
  if (metricsServer_) metricsServer_->stop();
  if (probeServer_) probeServer_->stop();

  std::string failure;
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
    failure = failure_;
  }
  const auto tookMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - began)
                          .count();
  if (!drained) {
    log_.error("Reconciles still running after the graceful shutdown timeout",
               {{"tookMs", static_cast<std::int64_t>(tookMs)}});
    return std::unexpected("reconciles still running after the graceful shutdown timeout of " +
                           std::to_string(options_.gracefulShutdownTimeout.count()) + " ms");
  }
  log_.info("Stopped", {{"tookMs", static_cast<std::int64_t>(tookMs)}});
  if (!failure.empty()) return std::unexpected(failure);
  return {};
}

}  // namespace billing::runtime
