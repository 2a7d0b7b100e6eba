// The Manager runs everything an operator process needs and shuts it down cleanly, as
// controller-runtime's manager does:
//
//   start(): the metrics and probe servers, every informer (caches fill whether or not we lead),
//            leader election; once leading and every cache has synced, the controllers' workers.
//   stop():  stop taking work, let in-flight reconciles finish, release the Lease, stop watches,
//            flush events, stop the servers; all within gracefulShutdownTimeout (10 s).
//
// The library installs no signal handlers. main does, and calls stopFromSignalHandler() (which is
// async-signal-safe) from its SIGTERM/SIGINT handler:
//
//   billing::runtime::Manager* gManager = nullptr;
//   extern "C" void onTerminate(int) { if (gManager) gManager->stopFromSignalHandler(); }
//   ...
//   gManager = &manager;
//   std::signal(SIGTERM, onTerminate);
//   auto ended = manager.run();  // returns after the clean shutdown
//
// If reconciles are still running at the deadline, wait()/run() returns an error without
// releasing the Lease; main should then exit the process (std::_Exit) rather than destroy the
// Manager, whose destructor would wait for them.
#pragma once

#include <semaphore.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "operator/runtime/controller.h"
#include "operator/runtime/events.h"
#include "operator/runtime/health.h"
#include "operator/runtime/informer.h"
#include "operator/runtime/leader_election.h"
#include "operator/runtime/log.h"
#include "operator/runtime/metrics.h"

namespace billing::runtime {

struct ListenAddress {
  std::string host = "0.0.0.0";
  std::uint16_t port = 0;  // 0: ephemeral (tests)
};

struct ManagerOptions {
  Logger logger;
  // Unset: this process always leads (one replica, or tests).
  std::optional<LeaderElectionConfig> leaderElection;
  // controller-runtime serves metrics on :8080 and probes on :8081. Unset: not served. The same
  // host and non-zero port for both: one server.
  std::optional<ListenAddress> metricsAddress;
  std::optional<ListenAddress> healthProbeAddress;
  std::chrono::milliseconds gracefulShutdownTimeout{std::chrono::seconds(10)};
  std::chrono::milliseconds cacheSyncTimeout{std::chrono::minutes(2)};
  // /healthz fails when we lead but have not renewed for leaseDuration + this.
  std::chrono::milliseconds leaderElectionHealthTimeout{std::chrono::seconds(20)};
  EventRecorderOptions events;
  std::shared_ptr<Registry> registry;    // default: a new one
  const common::Clock* clock = nullptr;  // default: *common::systemClock()
};

class Manager {
 public:
  Manager(kube::Client& client, ManagerOptions options);
  // Stops (as stop() + wait()) if still running.
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // The shared informer for a resource in a namespace ("" = all): created on first use, later
  // calls return the same one (and ignore `options`). The informer logs through the manager.
  Informer& informer(const kube::ResourceRef& resource, const std::string& ns = "",
                     InformerOptions options = {});
  // Controllers are started once this process leads and the caches have synced.
  Controller& addController(ControllerOptions options, std::shared_ptr<Reconciler> reconciler);
  EventRecorder& events() { return *events_; }
  RuntimeMetrics& metrics() { return *metrics_; }
  Registry& registry() { return *registry_; }
  const Logger& logger() const { return log_; }
  kube::Client& client() { return client_; }
  void addHealthzCheck(std::string name, HealthCheck check);
  void addReadyzCheck(std::string name, HealthCheck check);
  // Runs `hook` once when the Manager shuts down, before anything else stops (or when it is
  // destroyed without having run): for what is started next to it and reads its caches, such as
  // the admission webhook server. The hook (and what it holds) is released after it ran.
  void addShutdownHook(std::function<void()> hook);

  // Starts everything and returns; once.
  std::expected<void, std::string> start();
  // Blocks until stop is requested (or leadership is lost, or the caches do not sync), then shuts
  // down. An error says why the manager stopped abnormally or that the shutdown timed out.
  std::expected<void, std::string> wait();
  std::expected<void, std::string> run();

  // Requests the shutdown; thread-safe, returns at once.
  void stop() noexcept;
  // The same, async-signal-safe (an atomic store and sem_post).
  void stopFromSignalHandler() noexcept;

  bool isLeader() const { return leading_.load(); }
  bool cachesSynced() const;
  // The bound ports, after start().
  std::uint16_t metricsPort() const;
  std::uint16_t healthProbePort() const;

 private:
  void fail(const std::string& reason);
  void runCoordinator(std::stop_token stop);
  std::expected<void, std::string> shutdown();
  void runShutdownHooks();

  kube::Client& client_;
  ManagerOptions options_;
  const common::Clock& clock_;
  Logger log_;
  std::shared_ptr<Registry> registry_;
  std::unique_ptr<RuntimeMetrics> metrics_;
  std::shared_ptr<HealthChecks> healthz_;
  std::shared_ptr<HealthChecks> readyz_;
  std::unique_ptr<EventRecorder> events_;
  std::unique_ptr<LeaderElector> elector_;

  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  std::map<std::string, std::unique_ptr<Informer>> informers_;
  std::deque<std::unique_ptr<Controller>> controllers_;
  std::vector<std::function<void()>> shutdownHooks_;
  bool started_ = false;
  bool finished_ = false;
  bool controllersStarted_ = false;
  std::string failure_;
  std::atomic<bool> leading_{false};

  sem_t stopSemaphore_;
  std::atomic<bool> stopRequested_{false};
  std::stop_source stopSource_;
  std::thread stopWatcher_;

  std::unique_ptr<MonitoringServer> metricsServer_;
  std::unique_ptr<MonitoringServer> probeServer_;
  std::jthread electorThread_;
  std::jthread coordinator_;
};

}  // namespace billing::runtime
